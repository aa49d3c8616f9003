// Hostile artifacts in a real browser (headless Chromium through playwright-core): the page
// of a real orchestrator (ORCH_URL) is shown a run whose events (served here, by
// page.route, as a store that predates the relay's check would hold them) carry artifacts
// with javascript:, file: and data:text/html URLs and an SVG "image". The page must render
// none of them as a link or an image, still show the http(s) link and the inline PNG, and
// run no script: the document has the dashboard's CSP, and clicking every link sets no flag.
// Started by tests/ui/test_dashboard.py; prints one JSON line with what it saw.

import { chromium } from "playwright-core";

const ORCH = process.env.ORCH_URL || "http://127.0.0.1:8000";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const RUN = "0123456789abcdef0123456789abcdef";
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const HOSTILE = [
  { name: "js-link", url: "javascript:window.__pwned='href'" },
  { name: "js-caps", url: " JaVaScRiPt:window.__pwned='caps'" },
  { name: "file-link", url: "file:///etc/passwd" },
  { name: "html-data", url: "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0iZGF0YSI8L3NjcmlwdD4=" },
  { name: "svg-image", content_type: "image/svg+xml", data_base64: "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIG9ubG9hZD0id2luZG93Ll9fcHduZWQ9J3N2Zyci8+" },
  { name: "typed-js", content_type: "image/png", url: "javascript:window.__pwned='img'" },
];
const FINE = [
  { name: "report.zip", url: "https://example.com/report.zip", content_type: "application/zip" },
  { name: "dot.png", content_type: "image/png", data_base64: PNG },
];

function events() {
  const task = { task_id: "t1", capability: "image_generation", agent_id: "painter", input: {} };
  const rows = [
    ["run", null, { query: "draw", status: "running" }],
    ["plan", null, { plan: { tasks: [task] }, planner: "client" }],
    ["status", "t1", { status: "running", agent_id: "painter", instance_id: "painter-1" }],
    ...[...HOSTILE, ...FINE].map((a) => ["artifact", "t1", { attempt: 1, ...a }]),
    ["status", "t1", { status: "completed" }],
    ["result", null, { answer: "done", status: "completed", results: {} }],
    ["done", null, { status: "completed" }],
  ];
  return rows
    .map(([type, taskId, data], i) => {
      const ev = { run_id: RUN, seq: i + 1, type, task_id: taskId, agent_id: taskId ? "painter" : null, data, ts: 1.7e9 + i };
      return `id: ${i + 1}\ndata: ${JSON.stringify(ev)}\n\n`;
    })
    .join("");
}

const result = { ok: false };
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  await page.route(`**/v1/runs/${RUN}/events`, (route) =>
    route.fulfill({ status: 200, contentType: "text/event-stream", body: events() }),
  );
  await page.route(`**/v1/runs/${RUN}`, (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ run_id: RUN, status: "completed", plan: [], last_seq: 0 }) }),
  );
  const doc = await page.goto(`${ORCH}/ui/#/run/${RUN}`);
  result.csp = (await doc.allHeaders())["content-security-policy"] || null;
  await page.waitForFunction(() => document.querySelectorAll(".lane .artifacts > *").length >= 8);
  result.links = await page.$$eval(".lane .artifacts a", (as) => as.map((a) => a.getAttribute("href")));
  result.images = await page.$$eval(".lane .artifacts img", (is) => is.map((i) => i.getAttribute("src").slice(0, 30)));
  result.names = await page.$$eval(".lane .artifacts > *", (els) => els.map((e) => e.textContent));
  // Click every link there is (each opens a new page, which is closed again).
  for (const a of await page.$$(".lane .artifacts a")) {
    const popup = page.waitForEvent("popup", { timeout: 5000 }).catch(() => null);
    await a.click();
    (await popup)?.close();
  }
  result.pwned = await page.evaluate(() => window.__pwned ?? null);
  result.ok = true;
} catch (err) {
  result.error = String(err).split("\n")[0];
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
