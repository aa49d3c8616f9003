// The plan language and the runs that wait for a person, on the dashboard, in a real browser
// (headless Chromium through playwright-core) against a real orchestrator (ORCH_URL) whose
// runs tests/ui/test_dashboard_workflows.py made beforehand:
//   RUN_BRANCH  a conditional plan: the branch not taken shows as skipped, with its reason;
//   RUN_LOOP    a loop that ran out of iterations: its lane shows the iteration and why;
//   RUN_ASK     a worker's open question: the page shows a form, a click answers it, and
//               the run goes on to complete;
//   RUN_RERUN, RUN_FAIL  runs parked with a task in doubt (its replica died mid-call):
//               the in-doubt panel, "Run again" on one, "Mark failed" on the other.
// Prints one JSON line with what it saw; screenshots go to SHOTS_DIR.

import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const ORCH = process.env.ORCH_URL || "http://127.0.0.1:8000";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SHOTS_DIR || "var/ui-screenshots";
const WAIT = 30000;
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} not set`);
  return v;
};

const result = { ok: false, step: "start" };
mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});

async function open(page, runId) {
  await page.goto(`${ORCH}/ui/#/run/${runId}`);
  await page.waitForSelector(`.run-page[data-run="${runId}"]`);
}

const ended = (page) =>
  page.waitForFunction(() => document.querySelector(".run-page")?.dataset.conn === "ended", null, { timeout: WAIT * 2 });

const lane = (page, id) =>
  page.$eval(`#lane-${id}`, (el) => ({
    status: el.dataset.status,
    error: el.querySelector(".error")?.hidden ? "" : el.querySelector(".error")?.textContent || "",
    condition: el.querySelector(".retries .condition")?.textContent || "",
    iteration: el.querySelector(".tag.iteration")?.hidden ? "" : el.querySelector(".tag.iteration")?.textContent || "",
    retries: [...el.querySelectorAll(".retries .retry")].map((li) => li.textContent),
  }));

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.setDefaultTimeout(WAIT);

  result.step = "branch";
  await open(page, env("RUN_BRANCH"));
  await ended(page);
  result.branch = { taken: await lane(page, "characters"), notTaken: await lane(page, "revise") };
  await page.screenshot({ path: `${SHOTS}/branch.png`, fullPage: true });

  result.step = "loop";
  await open(page, env("RUN_LOOP"));
  await ended(page);
  result.loop = await lane(page, "review");
  await page.screenshot({ path: `${SHOTS}/loop.png`, fullPage: true });

  result.step = "question";
  await open(page, env("RUN_ASK"));
  const form = await page.waitForSelector('section.questions form[data-task="asker"]', { state: "visible" });
  result.question = {
    text: await form.$eval("p", (p) => p.textContent),
    choices: await form.$$eval("button.choice", (bs) => bs.map((b) => b.dataset.choice)),
    status: await page.$eval(".run-page", (el) => el.dataset.status),
  };
  await page.screenshot({ path: `${SHOTS}/question.png`, fullPage: true });
  await form.$eval('button[data-choice="blue"]', (b) => b.click());
  await page.waitForFunction(() => document.querySelector(".run-page")?.dataset.status === "completed", null, { timeout: WAIT });
  result.question.after = {
    formHidden: await page.$eval("section.questions", (s) => s.hidden),
    status: await page.$eval(".run-page", (el) => el.dataset.status),
  };

  result.step = "in doubt";
  result.doubt = {};
  for (const [name, button] of [["RUN_RERUN", "#rerun"], ["RUN_FAIL", "#mark-failed"]]) {
    result.step = `in doubt: ${name}: the panel`;
    await open(page, env(name));
    await page.waitForSelector("#in-doubt", { state: "visible" });
    const seen = {
      text: await page.$eval("#in-doubt", (p) => p.textContent),
      buttons: await page.$$eval(".approval button", (bs) => bs.map((b) => b.id)),
      lane: (await lane(page, "t2")).status,
    };
    if (name === "RUN_RERUN") await page.screenshot({ path: `${SHOTS}/in-doubt.png`, fullPage: true });
    result.step = `in doubt: ${name}: ${button}`;
    await page.click(button);
    await page.waitForSelector("#in-doubt", { state: "hidden" });
    result.step = `in doubt: ${name}: the end`;
    await ended(page);
    seen.after = { status: await page.$eval(".run-page", (el) => el.dataset.status), lane: await lane(page, "t2") };
    result.doubt[name] = seen;
  }
  result.ok = true;
} catch (err) {
  result.error = `${result.step}: ${String(err).split("\n")[0]}`;
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    result.notes = await page.$$eval(".notes li", (lis) => lis.map((li) => li.textContent)).catch(() => null);
    await page.screenshot({ path: `${SHOTS}/workflows-failed.png`, fullPage: true }).catch(() => null);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
