// The dashboard in a real browser (headless Chromium through playwright-core), against a
// running mesh. Started by tests/ui/test_dashboard.py, which starts the mesh and reads the
// JSON line this prints last; run alone with
//   ORCH_URL=http://127.0.0.1:8000 SHOTS_DIR=var/ui-screenshots node tests/ui/dashboard.mjs
//
// The browser talks to the orchestrator through a proxy in this script, which cuts the run
// page's event stream once, right after it forwarded the second `progress` frame: the page
// must reconnect by itself with Last-Event-ID and still end with every event exactly once.
// Every wait has a deadline; the script exits 1 with the reason on the first failure.

import http from "node:http";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const ORCH = new URL(process.env.ORCH_URL || "http://127.0.0.1:8000");
const SHOTS = process.env.SHOTS_DIR || "var/ui-screenshots";
const TOKEN = process.env.MESH_TOKEN || "";
const QUERY = process.env.QUERY || "Look up what the discovery service does and draw a lighthouse";
const AGENTS = (process.env.EXPECT_AGENTS || "lookup").split(",");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = Number(process.env.WAIT_MS || 30000);

// --- the proxy -------------------------------------------------------------------------
// The run to cut is the one the page starts: the proxy learns its id from the
// Content-Location of the POST /orchestrate/stream answer, before the page does.
const proxy = { cuts: 0, eventRequests: [], armed: true, target: null };

const server = http.createServer((req, res) => {
  const isEvents = req.method === "GET" && /^\/v1\/runs\/[^/]+\/events/.test(req.url);
  if (isEvents) proxy.eventRequests.push({ url: req.url, lastEventId: req.headers["last-event-id"] ?? null });
  const up = http.request(
    { host: ORCH.hostname, port: ORCH.port, method: req.method, path: req.url, headers: { ...req.headers, host: ORCH.host } },
    (upRes) => {
      if (req.method === "POST" && req.url === "/orchestrate/stream" && upRes.headers["content-location"]) {
        proxy.target = upRes.headers["content-location"].split("/").pop();
      }
      res.writeHead(upRes.statusCode, upRes.headers);
      const cuttable = isEvents && proxy.target !== null && req.url.includes(proxy.target);
      let progress = 0;
      upRes.on("data", (chunk) => {
        res.write(chunk);
        if (!cuttable || !proxy.armed) return;
        progress += (chunk.toString().match(/"type":"progress"/g) || []).length;
        if (progress >= 2) {
          proxy.armed = false;
          proxy.cuts += 1;
          res.socket?.destroy(); // the browser sees the connection drop mid-stream
          up.destroy();
        }
      });
      upRes.on("end", () => res.end());
      upRes.on("error", () => res.destroy());
    },
  );
  up.on("error", () => res.destroy());
  res.on("close", () => up.destroy());
  req.pipe(up);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const BASE = `http://127.0.0.1:${server.address().port}`;

// --- the browser -----------------------------------------------------------------------
mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ], // launch() gives the browser a fresh temporary profile, removed on close

});
const result = { shots: [], consoleErrors: [] };
let failed = null;

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    result[name] = { ok: true, ms: Date.now() - t };
  } catch (err) {
    failed = `${name}: ${err.message.split("\n")[0]}`;
    throw err;
  }
}

try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("console", (m) => m.type() === "error" && result.consoleErrors.push(m.text()));
  page.on("pageerror", (e) => result.consoleErrors.push(String(e)));
  const shot = async (name, full = false) => {
    const file = path.join(SHOTS, name);
    await page.screenshot({ path: file, fullPage: full });
    result.shots.push(file);
  };

  await step("agents_listed", async () => {
    await page.goto(`${BASE}/ui/`);
    if (TOKEN) {
      await page.fill("#token", TOKEN);
      await page.press("#token", "Enter");
    }
    for (const a of AGENTS) await page.waitForSelector(`tr[data-agent="${a}"][data-status="passing"]`);
    if (page.url().includes(TOKEN.slice(0, 12)) && TOKEN) throw new Error("the token is in the URL");
    await shot("agents.png");
  });

  let runId = "";
  await step("run_started", async () => {
    await page.click('a[data-nav="runs"]');
    await page.fill("#query", QUERY);
    await page.press("#query", "Control+Enter"); // the keyboard path
    await page.waitForURL(/#\/run\/[0-9a-f]+$/);
    runId = page.url().split("/").pop();
    result.runId = runId;
  });

  await step("lanes_streamed", async () => {
    // At least two sub-tasks on different workers, each lane receiving several events.
    await page.waitForFunction((n) => document.querySelectorAll(".lane").length >= n, AGENTS.length);
    await page.waitForFunction(() => {
      const busy = [...document.querySelectorAll(".lane")].filter((l) => Number(l.dataset.events) >= 3);
      return busy.length >= 2;
    });
    await shot("run-live.png");
  });

  await step("run_completed", async () => {
    await page.waitForFunction(() => document.querySelector(".run-page")?.dataset.conn === "ended", null, { timeout: WAIT * 3 });
    await page.waitForFunction(() => {
      const nodes = [...document.querySelectorAll(".dag .node")];
      return nodes.length > 0 && nodes.every((n) => n.dataset.status === "completed");
    });
    const d = await page.$eval(".run-page", (el) => ({ ...el.dataset }));
    result.page = d;
    if (d.status !== "completed") throw new Error(`run ended ${d.status}`);
    if (proxy.cuts !== 1) throw new Error(`the proxy cut ${proxy.cuts} streams, not 1`);
    if (Number(d.reconnects) < 1) throw new Error("the page never reconnected");
    if (d.gaps !== "0") throw new Error(`the page missed ${d.gaps} events`);
    const resumed = proxy.eventRequests.filter((r) => r.url.includes(runId) && r.lastEventId);
    if (!resumed.length) throw new Error("no reconnect sent Last-Event-ID");
    result.resumedFrom = resumed.map((r) => r.lastEventId);
    // The page counted exactly the events the server stored (no loss, no duplicate).
    const server = await page.evaluate(async (id) => {
      const t = sessionStorage.getItem("mesh.token");
      const r = await fetch(`/v1/runs/${id}`, { headers: t ? { Authorization: `Bearer ${t}` } : {} });
      return r.json();
    }, runId);
    result.serverLastSeq = server.last_seq;
    if (Number(d.seq) !== server.last_seq || Number(d.events) !== server.last_seq) {
      throw new Error(`page saw ${d.events} events up to ${d.seq}, the server stored ${server.last_seq}`);
    }
  });

  await step("image_shown", async () => {
    const img = await page.waitForSelector(".lane img.artifact-img");
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, img);
    result.image = await img.evaluate((el) => ({ w: el.naturalWidth, h: el.naturalHeight, inline: el.src.startsWith("data:") }));
  });

  await step("answer_shown", async () => {
    const text = await page.textContent(".synthesis-text");
    if (!text || text.length < 20) throw new Error(`answer too short: ${JSON.stringify(text)}`);
    result.answerChars = text.length;
    await shot("run-done.png");
    await shot("run-done-full.png", true);
  });

  await step("keyboard_dag", async () => {
    const first = await page.$eval(".dag .node", (n) => n.dataset.task);
    await page.focus(`.dag .node[data-task="${first}"]`);
    await page.keyboard.press("Enter");
    await page.waitForFunction((id) => document.activeElement?.id === `lane-${id}`, first);
  });

  await step("replayed", async () => {
    await page.click("#replay");
    await page.waitForSelector("#replay-stop");
    await page.waitForSelector("#replay", { timeout: WAIT * 2 });
    const d = await page.$eval(".run-page", (el) => ({ ...el.dataset }));
    if (d.status !== "completed" || Number(d.events) !== result.serverLastSeq) {
      throw new Error(`replay ended ${d.status} with ${d.events} events`);
    }
  });

  await step("no_approval_buttons", async () => {
    // This run never waited for approval: the approval panel stays hidden.
    if (await page.isVisible("#approve")) throw new Error("approve button shown");
  });

  await step("runs_listed", async () => {
    await page.click('a[data-nav="runs"]');
    await page.waitForSelector(`tr[data-run="${runId}"][data-status="completed"]`);
    await page.waitForFunction((id) => {
      const row = document.querySelector(`tr[data-run="${id}"]`);
      return row && row.children[2].textContent && !row.children[2].textContent.includes("…");
    }, runId);
    result.planner = await page.$eval(`tr[data-run="${runId}"]`, (r) => r.children[2].textContent);
    await shot("runs.png");
  });
  await step("approval", async () => {
    // A run asked to wait for approval: the page shows the plan with Approve/Reject, and
    // approving runs it. An orchestrator without approval refuses the option (422) and the
    // page says so instead; the result names which of the two happened.
    await page.fill("#query", "Look up what the discovery service does");
    await page.check("#approval");
    await page.click("#start");
    const which = await Promise.race([
      page.waitForURL(/#\/run\/[0-9a-f]+$/).then(() => "started"),
      page.waitForFunction(() => /approval/.test(document.querySelector(".form-msg")?.textContent || "")).then(() => "unsupported"),
    ]);
    if (which === "unsupported") {
      result.approvalOutcome = "unsupported";
      return;
    }
    await page.waitForSelector("#approve", { state: "visible" });
    await shot("approval.png");
    await page.click("#approve");
    await page.waitForFunction(() => document.querySelector(".run-page")?.dataset.conn === "ended", null, { timeout: WAIT * 2 });
    await page.waitForSelector("#approve", { state: "hidden" });
    const status = await page.$eval(".run-page", (el) => el.dataset.status);
    if (status !== "completed") throw new Error(`the approved run ended ${status}`);
    result.approvalOutcome = "approved";
  });

  if (result.consoleErrors.length) {
    // A dropped stream logs a network error; anything else is the page's fault.
    const real = result.consoleErrors.filter((e) => !/ERR_(EMPTY_RESPONSE|CONNECTION|INCOMPLETE_CHUNKED|NETWORK)|network error|Failed to load resource/i.test(e));
    if (real.length) {
      failed = `console errors: ${real.join(" | ")}`;
    }
  }
} catch (err) {
  failed ||= err.message.split("\n")[0];
} finally {
  await browser.close();
  server.close();
}
result.proxy = { cuts: proxy.cuts, eventRequests: proxy.eventRequests.length };
result.ok = !failed;
if (failed) result.error = failed;
console.log(JSON.stringify(result));
process.exit(failed ? 1 : 0);
