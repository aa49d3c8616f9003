// The thread view (#/thread/<id>): a thread's runs, oldest first, each with its status,
// request and the start of its answer, linked to its run page; polled every 2 s while a
// run of it is in progress (a queued follow-up starts when the one before it ends).

import { getJSON } from "./api.js";
import { h, pill, clear, age, seconds } from "./dom.js";

const EVERY_MS = 2000;

function clip(text, n) {
  const t = String(text || "");
  return t.length > n ? t.slice(0, n - 1) + "…" : t;
}

function runRow(r, n) {
  const took = r.finished_at ? seconds(r.finished_at - r.created_at) : "";
  return h(
    "tr",
    { "data-run": r.run_id, "data-status": r.status },
    h("td", {}, String(n)),
    h("td", {}, pill(r.status)),
    h("td", { class: "q" }, h("a", { href: `#/run/${r.run_id}` }, r.query || "(a client plan)"), h("div", { class: "muted small" }, r.run_id)),
    h("td", { class: "small" }, clip(r.answer, 160)),
    h("td", {}, age(r.created_at)),
    h("td", {}, took),
  );
}

export function threadView(root, ui, threadId) {
  const status = h("p", { class: "muted", role: "status" }, "loading…");
  const body = h("tbody");
  const table = h(
    "table",
    { class: "grid", "aria-label": "thread runs" },
    h("thead", {}, h("tr", {}, ["#", "status", "request", "answer", "started", "took"].map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
  root.append(h("section", { class: "panel" }, h("h2", {}, `Thread ${threadId}`), status, table));
  let timer = null;
  let stopped = false;
  const abort = new AbortController();

  async function poll() {
    let live = false;
    try {
      const thread = (await getJSON(`/v1/threads/${encodeURIComponent(threadId)}`, { signal: abort.signal })).body;
      const runs = thread.runs || [];
      clear(body).append(...runs.map((r, i) => runRow(r, i + 1)));
      live = runs.some((r) => r.status === "running" || r.status === "awaiting_approval");
      status.textContent = `${runs.length} run(s)${live ? " · live" : ""}`;
      ui.ok();
    } catch (err) {
      if (stopped) return;
      status.textContent = `could not read the thread: ${err.message}`;
      ui.fail(err);
      live = true; // try again
    }
    if (!stopped && live) timer = setTimeout(poll, EVERY_MS);
  }
  poll();
  return () => {
    stopped = true;
    abort.abort();
    clearTimeout(timer);
  };
}
