// The runs view: start a run (a query, or a pasted plan), and the list of runs with their
// status, planner, age and the replica that owns each (polled every 2 s while open).
// GET /v1/runs gives the summary; the owner comes from GET /v1/runs/{id} (its lease) and
// the planner from the run's `plan` event, each looked up once per run (the owner again
// while the run runs: a lease moves when its replica dies).

import { getJSON, startRun, SSEParser, headers } from "./api.js";
import { h, pill, clear, age, seconds } from "./dom.js";
import { workflowForm } from "./workflows.js";

const EVERY_MS = 2000;
const LIMIT = 50;
const facts = new Map(); // run_id -> {owner, planner}

async function plannerOf(runId, signal) {
  // The first events of the log, read until the plan event (a few frames), then dropped.
  const resp = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events`, {
    headers: headers({ Accept: "text/event-stream" }),
    signal,
  });
  if (!resp.ok) return null;
  const reader = resp.body.getReader();
  const parser = new SSEParser();
  try {
    for (let frames = 0; frames < 200; ) {
      const { value, done } = await reader.read();
      if (done) return null;
      for (const msg of parser.push(value)) {
        frames += 1;
        const ev = JSON.parse(msg.data);
        if (ev.type === "plan") return ev.data.planner || null;
        if (ev.type === "done") return null;
      }
    }
    return null;
  } finally {
    reader.cancel().catch(() => {});
  }
}

async function enrich(runs, signal, changed) {
  for (const r of runs) {
    if (signal.aborted) return;
    const known = facts.get(r.run_id);
    const live = r.status === "running" || r.status === "awaiting_approval";
    if (known && !live && known.planner !== undefined) continue;
    const f = known || {};
    try {
      const { body } = await getJSON(`/v1/runs/${encodeURIComponent(r.run_id)}`, { signal });
      f.owner = body.lease?.owner || null;
      // undefined: not known yet (no plan so far); null: the run has none to show.
      if (f.planner === undefined) {
        if (body.plan) f.planner = await plannerOf(r.run_id, signal);
        else if (!live) f.planner = null;
      }
    } catch {
      return; // the next poll tries again
    }
    facts.set(r.run_id, f);
    changed();
  }
}

function startForm(ui) {
  const query = h("textarea", {
    id: "query",
    rows: 3,
    placeholder: "Look up how discovery works, analyze this CSV: … and draw a lighthouse",
    "aria-describedby": "query-help",
  });
  const plan = h("textarea", {
    id: "plan",
    rows: 6,
    spellcheck: "false",
    placeholder: '{"tasks": [{"task_id": "t1", "capability": "search", "input": {"query": "…"}}]}',
  });
  const approval = h("input", { type: "checkbox", id: "approval" });
  const msg = h("p", { class: "form-msg", role: "alert" });
  const mode = { value: "query" };
  const qWrap = h("div", {}, h("label", { for: "query" }, "Ask the mesh"), query);
  const pWrap = h("div", { hidden: true }, h("label", { for: "plan" }, "Plan (JSON: an ExecutionPlan)"), plan);
  const tabs = ["query", "plan"].map((m) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        class: "tab",
        "aria-selected": m === "query" ? "true" : "false",
        onclick: (e) => {
          mode.value = m;
          for (const t of tabs) t.setAttribute("aria-selected", String(t === e.currentTarget));
          qWrap.hidden = m !== "query";
          pWrap.hidden = m !== "plan";
          (m === "query" ? query : plan).focus();
        },
      },
      m === "query" ? "Query" : "Paste a plan",
    ),
  );
  const submit = h("button", { type: "submit", class: "primary", id: "start" }, "Start run");
  const form = h(
    "form",
    { class: "panel start", "aria-label": "start a run" },
    h("div", { class: "tabs", role: "tablist" }, tabs),
    qWrap,
    pWrap,
    h(
      "div",
      { class: "row" },
      h("label", { class: "check" }, approval, " ask me to approve the plan first"),
      h("span", { id: "query-help", class: "muted small" }, "Ctrl+Enter starts the run"),
      submit,
    ),
    msg,
  );
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    const body = {};
    if (mode.value === "plan") {
      try {
        body.plan = JSON.parse(plan.value);
      } catch (err) {
        msg.textContent = `the plan is not JSON: ${err.message}`;
        return;
      }
      if (query.value.trim()) body.query = query.value.trim();
    } else {
      if (!query.value.trim()) {
        msg.textContent = "write a request first";
        query.focus();
        return;
      }
      body.query = query.value.trim();
    }
    if (approval.checked) body.options = { approval: "required" };
    submit.disabled = true;
    try {
      const runId = await startRun(body);
      location.hash = `#/run/${runId}`;
    } catch (err) {
      const noApproval = approval.checked && err.status === 422 && /approval/.test(err.detail);
      msg.textContent = noApproval
        ? "this orchestrator does not offer plan approval; untick the box"
        : `not started: ${err.message}`;
      ui.fail(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function runRow(r) {
  const f = facts.get(r.run_id) || {};
  const took = r.finished_at ? seconds(r.finished_at - r.created_at) : "";
  const link = h("a", { href: `#/run/${r.run_id}` }, r.query || "(a client plan)");
  return h(
    "tr",
    { "data-run": r.run_id, "data-status": r.status },
    h("td", {}, pill(r.status)),
    h("td", { class: "q" }, link, h("div", { class: "muted small" }, r.run_id)),
    h("td", {}, f.planner ?? h("span", { class: "muted" }, f.planner === null ? "—" : "…")),
    h("td", {}, age(r.created_at)),
    h("td", {}, took),
    h("td", { class: "small" }, f.owner ?? h("span", { class: "muted" }, r.status === "running" ? "…" : "—")),
  );
}

export function runsView(root, ui) {
  const status = h("p", { class: "muted", role: "status" }, "loading…");
  const body = h("tbody");
  const table = h(
    "table",
    { class: "grid", "aria-label": "runs" },
    h("thead", {}, h("tr", {}, ["status", "request", "planner", "started", "took", "owner"].map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
  root.append(startForm(ui), workflowForm(ui), h("section", { class: "panel" }, h("h2", {}, "Runs"), status, table));
  let timer = null;
  let stopped = false;
  let runs = [];
  let enriching = false;
  const abort = new AbortController();
  const draw = () => clear(body).append(...runs.map(runRow));

  async function poll() {
    try {
      runs = (await getJSON(`/v1/runs?limit=${LIMIT}`, { signal: abort.signal })).body;
      draw();
      status.textContent = runs.length ? `${runs.length} most recent runs · live` : "no runs yet: start one above";
      ui.ok();
      if (!enriching) {
        enriching = true;
        enrich(runs.slice(0, 20), abort.signal, draw).finally(() => (enriching = false));
      }
    } catch (err) {
      if (stopped) return;
      status.textContent = `could not list runs: ${err.message}`;
      ui.fail(err);
    }
    if (!stopped) timer = setTimeout(poll, EVERY_MS);
  }
  poll();
  return () => {
    stopped = true;
    abort.abort();
    clearTimeout(timer);
  };
}
