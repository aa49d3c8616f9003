// The run page: the plan as a live DAG, one lane per sub-task, the synthesis, a Gantt
// timeline, and what a person can do with the run (approve or reject its plan, cancel it,
// replay it). It follows GET /v1/runs/{id}/events from the first event, so a finished run
// replays from its log and a live one continues; a dropped connection resumes with
// Last-Event-ID (api.js followRun).

import { getJSON, postJSON, followRun } from "./api.js";
import { newRun, apply, planOf } from "./runstate.js";
import { dag, gantt, lossCurve } from "./graphics.js";
import { h, pill, clear, seconds } from "./dom.js";

const LIVE = new Set(["running", "awaiting_approval", "paused"]);
const MAX_TEXT = 20000; // characters of a lane's text kept on screen
const REPLAY_SPEED = 4;
const REPLAY_MAX_GAP_S = 0.4;

// What a worker sends reaches the page only as a web link or an inline PNG/JPEG image:
// a javascript:, file: or other data: URL is never put in an href or src (the relay refuses
// such artifacts too; this is the page's own check, and the CSP its last line).
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const INLINE_IMAGE = /^data:image\/(png|jpeg);base64,[A-Za-z0-9+/]*={0,2}$/i;
const IMAGE_TYPES = new Set(["image/png", "image/jpeg"]);

export function safeLink(url) {
  if (typeof url !== "string") return null;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

export function imageSrc(a) {
  if (typeof a.data_base64 === "string" && IMAGE_TYPES.has(a.content_type) && BASE64.test(a.data_base64)) {
    return `data:${a.content_type};base64,${a.data_base64}`;
  }
  return typeof a.url === "string" && INLINE_IMAGE.test(a.url) ? a.url : null;
}

function artifactName(a) {
  const href = safeLink(a.url);
  return href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, a.name) : a.name;
}

function preview(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.length > 4000 ? text.slice(0, 4000) + "\n…" : text;
}

class Lane {
  constructor(node) {
    this.id = node.id;
    this.status = h("span");
    this.who = h("span", { class: "muted small" });
    this.time = h("span", { class: "muted small num" });
    this.iteration = h("span", { class: "tag iteration", hidden: true });
    this.retries = h("ul", { class: "retries" });
    this.previous = h("div", { class: "previous" });
    this.text = h("pre", { class: "tokens", "aria-live": "off" });
    this.messages = h("ol", { class: "messages" });
    this.bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": `${node.id} progress` });
    this.barLabel = h("span", { class: "muted small num" });
    this.loss = h("div", { class: "loss-wrap" });
    this.artifacts = h("div", { class: "artifacts" });
    this.output = h("details", { class: "output", hidden: true }, h("summary", {}, "output"), h("pre"));
    this.error = h("p", { class: "error", hidden: true });
    this.shown = { messages: 0, artifacts: 0, losses: -1, retries: -1, previous: -1, condition: null };
    this.el = h(
      "article",
      { class: "lane", id: `lane-${node.id}`, tabindex: -1, "data-task": node.id, "aria-label": `lane ${node.id}` },
      h(
        "header",
        {},
        h("h3", {}, node.id),
        h("span", { class: "tag" }, node.capability),
        this.status,
        this.iteration,
        this.who,
        this.time,
      ),
      h("p", { class: "desc small" }, node.description),
      this.retries,
      this.previous,
      h("div", { class: "progress-row" }, this.bar, this.barLabel),
      this.loss,
      this.text,
      this.messages,
      this.artifacts,
      this.output,
      this.error,
    );
  }

  update(node, now) {
    this.el.dataset.status = node.status;
    this.el.dataset.events = String(node.events);
    this.el.dataset.attempt = String(node.attempt);
    this.el.className = `lane lane-${node.status}`;
    clear(this.status).append(pill(node.status));
    this.who.textContent = node.agent ? `${node.agent}${node.instance ? " · " + node.instance : ""}` : "";
    if (node.attempt > 1) this.who.textContent += ` · attempt ${node.attempt}`;
    // A loop's iteration (the one running, or the last one's when it ended).
    const iter = node.iteration || node.condition?.iteration || null;
    this.iteration.hidden = !iter;
    this.iteration.textContent = iter ? `iteration ${iter}${node.maxIterations ? " of " + node.maxIterations : ""}` : "";
    this.time.textContent = node.startedAt ? seconds((node.finishedAt || now) - node.startedAt) : "";
    const cond = node.condition ? conditionLine(node.condition) : "";
    if (this.shown.retries !== node.retries.length || this.shown.condition !== cond) {
      this.shown.retries = node.retries.length;
      this.shown.condition = cond;
      clear(this.retries).append(
        ...node.retries.map((r) =>
          h("li", { class: "retry" }, `↻ attempt ${r.attempt}: ${r.reason}`, r.failed ? ` (was ${r.failed})` : ""),
        ),
        ...(cond ? [h("li", { class: "condition" }, cond)] : []),
      );
    }
    if (this.shown.previous !== node.previous.length) {
      this.shown.previous = node.previous.length;
      clear(this.previous).append(
        ...node.previous.map((p) =>
          h(
            "details",
            { class: "given-up" },
            h("summary", {}, `attempt ${p.attempt}, given up`),
            h("pre", {}, (p.text || p.messages.join("\n")).slice(-2000)),
          ),
        ),
      );
    }
    const text = node.text.length > MAX_TEXT ? "…" + node.text.slice(-MAX_TEXT) : node.text;
    if (this.text.textContent !== text) this.text.textContent = text;
    this.text.hidden = !text;
    if (node.messages.length < this.shown.messages) {
      clear(this.messages);
      this.shown.messages = 0;
    }
    for (const m of node.messages.slice(this.shown.messages)) this.messages.append(h("li", {}, m));
    this.shown.messages = node.messages.length;
    this.messages.hidden = !node.messages.length;
    const p = node.progress;
    this.bar.hidden = !p || !p.total;
    if (p && p.total) {
      this.bar.max = p.total;
      this.bar.value = p.step ?? 0;
      this.barLabel.textContent = `${p.step ?? 0}/${p.total}${p.message ? " · " + p.message : ""}`;
    } else {
      this.barLabel.textContent = p?.message || "";
    }
    if (this.shown.losses !== node.losses.length) {
      this.shown.losses = node.losses.length;
      clear(this.loss);
      if (node.losses.length > 1) this.loss.append(lossCurve(node.losses));
    }
    if (node.artifacts.length < this.shown.artifacts) {
      clear(this.artifacts);
      this.shown.artifacts = 0;
    }
    for (const a of node.artifacts.slice(this.shown.artifacts)) {
      const src = imageSrc(a);
      this.artifacts.append(
        src
          ? h(
              "figure",
              {},
              h("img", { src, alt: `${node.id}: ${a.name}`, width: a.width, height: a.height, class: "artifact-img" }),
              h("figcaption", { class: "small muted" }, artifactName(a)),
            )
          : h("p", {}, "artifact: ", artifactName(a), a.size_bytes ? ` (${a.size_bytes} bytes)` : ""),
      );
    }
    this.shown.artifacts = node.artifacts.length;
    const streamed = node.text || node.messages.length || node.artifacts.length;
    this.output.hidden = node.output === null || node.output === undefined || Boolean(streamed);
    if (!this.output.hidden) this.output.lastChild.textContent = preview(node.output);
    if (node.status === "completed" && !streamed && !this.output.hidden) this.output.open = true;
    this.error.hidden = !node.error && !(node.status === "skipped" && node.reason);
    this.error.textContent = node.error || (node.status === "skipped" ? `skipped: ${node.reason}` : "");
  }
}

// Why a branch was (not) taken or a loop went on: "⑂ when <expr>: false (path = value)".
function conditionLine(c) {
  const read = Object.entries(c.values || {}).slice(0, 4).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ");
  const at = c.iteration ? ` at iteration ${c.iteration}` : "";
  const verdict = `${c.result ? "true" : "false"}${c.exhausted ? ", max_iterations reached" : ""}`;
  return `⑂ ${c.kind} ${c.expression}${at}: ${verdict}${read ? " (" + read + ")" : ""}`;
}

export function runView(root, ui, runId) {
  let run = newRun(runId);
  let log = []; // every event received, for replay
  let record = null;
  let follow = null;
  let replaying = null;
  let dirty = false;
  let stopped = false;
  let conn = { state: "connecting", reconnects: 0 };
  const lanes = new Map();

  const title = h("h2", {}, "Run ", h("code", {}, runId));
  const statusEl = h("span");
  const meta = h("dl", { class: "meta" });
  const actions = h("div", { class: "actions" });
  const connEl = h("span", { class: "muted small", role: "status", "aria-live": "polite" });
  const notes = h("ul", { class: "notes" });
  const approval = h("section", { class: "panel approval", hidden: true, "aria-label": "plan approval" });
  const questions = h("section", { class: "panel approval questions", hidden: true, "aria-label": "open questions" });
  const dagWrap = h("div", { class: "dag-wrap" });
  const ganttWrap = h("div", { class: "gantt-wrap" });
  const lanesEl = h("div", { class: "lanes" });
  const synthText = h("pre", { class: "tokens synthesis-text" });
  const synthMeta = h("p", { class: "muted small" });
  const page = h(
    "div",
    { class: "run-page", "data-run": runId },
    h("section", { class: "panel run-head" }, h("div", { class: "row" }, title, statusEl, connEl, actions), meta, notes),
    approval,
    questions,
    h(
      "div",
      { class: "run-top" },
      h("section", { class: "panel" }, h("h2", {}, "Plan"), dagWrap),
      h("section", { class: "panel" }, h("h2", {}, "Timeline"), ganttWrap),
    ),
    h("section", { class: "panel" }, h("h2", {}, "Sub-tasks"), lanesEl),
    h("section", { class: "panel synthesis", "aria-label": "synthesis" }, h("h2", {}, "Answer"), synthMeta, synthText),
  );
  root.append(page);

  const focusLane = (id) => {
    const lane = lanes.get(id);
    if (lane) {
      lane.el.scrollIntoView({ block: "nearest", behavior: "smooth" });
      lane.el.focus({ preventScroll: true });
    }
  };

  function button(label, onclick, attrs = {}) {
    return h("button", { type: "button", onclick, ...attrs }, label);
  }

  async function act(path, body, what) {
    try {
      await postJSON(path, body);
      ui.note(`${what}: sent`);
    } catch (err) {
      ui.note(`${what} refused: ${err.message}`);
      ui.fail(err);
    }
  }

  function drawActions() {
    const live = !run.done && LIVE.has(run.status);
    const want = `${live}|${run.status}|${run.done}|${Boolean(replaying)}`;
    if (actions.dataset.want === want) return;
    actions.dataset.want = want;
    clear(actions);
    if (live && run.status === "running") {
      // Pause: nothing new starts (running sub-tasks finish, or are stopped and run again on resume).
      actions.append(
        button("Pause", () => act(`/v1/runs/${runId}/pause`, {}, "pause"), { id: "pause" }),
        button("Pause, stop running tasks", () => act(`/v1/runs/${runId}/pause`, { cancel_running: true }, "pause"), { id: "pause-stop" }),
      );
    }
    if (live && run.status === "paused") {
      actions.append(button("Resume", () => act(`/v1/runs/${runId}/resume`, undefined, "resume"), { id: "resume", class: "primary" }));
    }
    if (live) {
      actions.append(
        button("Cancel run", () => act(`/v1/runs/${runId}/cancel`, undefined, "cancel"), { id: "cancel", class: "danger" }),
      );
    }
    if (run.done && !replaying) actions.append(button("Replay", replay, { id: "replay" }));
    if (replaying) actions.append(button("Stop replay", () => replaying?.stop(), { id: "replay-stop" }));
  }

  function drawApproval() {
    approval.hidden = !run.awaitingApproval;
    if (approval.hidden) {
      approval.dataset.drawn = "";
      return;
    }
    // Redrawn when what it waits for becomes known: the record (read first) says only that
    // the run awaits approval; the tasks in doubt come with its events, or its plan's nodes.
    const want = run.inDoubt?.length ? `doubt:${run.inDoubt.join(",")}` : "plan";
    if (approval.dataset.drawn === want) return;
    approval.dataset.drawn = want;
    if (run.inDoubt?.length) {
      drawInDoubt();
      return;
    }
    const edit = h("textarea", { id: "plan-edit", rows: 10, spellcheck: "false" }, JSON.stringify(planOf(run), null, 2));
    const msg = h("p", { class: "form-msg", role: "alert" });
    const approve = async (withEdits) => {
      let body;
      if (withEdits) {
        try {
          body = { plan: JSON.parse(edit.value) };
        } catch (err) {
          msg.textContent = `the plan is not JSON: ${err.message}`;
          return;
        }
      }
      await act(`/v1/runs/${runId}/approve`, body, "approve");
    };
    clear(approval).append(
      h("h2", {}, "This plan waits for your approval"),
      h("p", { class: "muted" }, "Approve it as planned, edit the JSON and approve the edited plan, or reject the run."),
      h("label", { for: "plan-edit" }, "Plan"),
      edit,
      h(
        "div",
        { class: "row" },
        button("Approve", () => approve(false), { id: "approve", class: "primary" }),
        button("Approve edited plan", () => approve(true), { id: "approve-edited" }),
        button("Reject", () => act(`/v1/runs/${runId}/reject`, {}, "reject"), { id: "reject", class: "danger" }),
      ),
      msg,
    );
  }

  // A worker asked the user (input_required): one form per open question; a choice is a
  // button, otherwise a text field (JSON when the question has an answer schema).
  function drawQuestions() {
    const open = [...run.nodes.values()].filter((n) => n.question && n.status === "input_required");
    const want = open.map((n) => `${n.id}:${n.question.input_id}`).join("|");
    questions.hidden = !open.length;
    if (questions.dataset.want === want) return;
    questions.dataset.want = want;
    clear(questions);
    if (!open.length) return;
    questions.append(h("h2", {}, "A worker asks you"));
    for (const n of open) {
      const q = n.question;
      const msg = h("p", { class: "form-msg", role: "alert" });
      const send = async (answer) => {
        try {
          await postJSON(`/v1/runs/${runId}/input`, { task_id: n.id, answer });
          ui.note("answer: sent");
        } catch (err) {
          msg.textContent = `not accepted: ${err.message}`;
        }
      };
      const field = h("input", { type: "text", id: `answer-${n.id}`, "aria-label": `answer to ${n.id}` });
      const controls = q.choices
        ? q.choices.map((c) => button(c, () => send(c), { class: "choice", "data-choice": c }))
        : [field, button("Answer", () => {
            if (!q.answer_schema) return send(field.value);
            try {
              return send(JSON.parse(field.value));
            } catch (err) {
              msg.textContent = `the answer is not JSON: ${err.message}`;
            }
          }, { class: "primary" })];
      questions.append(
        h("form", { class: "question", "data-task": n.id, onsubmit: (e) => e.preventDefault() },
          h("p", {}, h("strong", {}, n.id), `: ${q.question}`),
          h("div", { class: "row" }, ...controls),
          msg),
      );
    }
  }

  // A run parked because tasks of an agent that is not safe to retry may have run when
  // the run changed replicas: run them again, mark them failed, or reject the run.
  function drawInDoubt() {
    const decide = (decision) => act(`/v1/runs/${runId}/approve`, { decision }, "approve");
    clear(approval).append(
      h("h2", {}, "Tasks in doubt wait for your decision"),
      h(
        "p",
        { class: "muted", id: "in-doubt" },
        `${run.inDoubt.join(", ")} may have run when the run changed replicas, and no worker knows the call. ` +
          "Run them again, mark them failed (the rest goes on without them), or reject the run.",
      ),
      h(
        "div",
        { class: "row" },
        button("Run again", () => decide("rerun"), { id: "rerun", class: "primary" }),
        button("Mark failed", () => decide("fail"), { id: "mark-failed" }),
        button("Reject", () => act(`/v1/runs/${runId}/reject`, {}, "reject"), { id: "reject", class: "danger" }),
      ),
    );
  }

  function drawMeta() {
    const rows = [["query", h("div", { class: "query" }, run.query || record?.query || "")]];
    if (run.planner) rows.push(["planner", `${run.planner}${run.reason ? " · " + run.reason : ""}`]);
    if (record?.thread_id) {
      rows.push(["thread", h("a", { href: `#/thread/${encodeURIComponent(record.thread_id)}`, id: "thread-link" }, record.thread_id)]);
    }
    const lease = record?.lease;
    if (lease?.owner) rows.push(["owner", `${lease.owner} (epoch ${lease.epoch})`]);
    if (run.t0) rows.push(["took", seconds((run.tEnd ?? run.tLast ?? run.t0) - run.t0) + (run.done ? "" : " so far")]);
    rows.push(["events", `${run.events} (last id ${run.lastSeq})`]);
    if (run.usage) {
      const { used, limits, exhausted } = run.usage;
      const use = Object.entries(used).map(([k, v]) => `${k} ${v}${limits[k] !== undefined ? " of " + limits[k] : ""}`);
      rows.push(["used", use.join(", ") + (exhausted ? ` (${exhausted} exhausted)` : "")]);
    }
    const trace = run.traceId
      ? ui.config.jaeger_url
        ? h("a", { href: `${ui.config.jaeger_url}/trace/${run.traceId}`, target: "_blank", rel: "noopener", id: "trace-link" }, run.traceId)
        : h("code", {}, run.traceId)
      : null;
    if (trace) rows.push(["trace", trace]);
    clear(meta).append(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    const items = [
      ...run.phases.filter((p) => p.status !== "running").map((p) => `planning ${p.status}${p.planner ? " (" + p.planner + ")" : ""}: ${p.reason || ""}`),
      ...run.notes.map((n) =>
        n.kind === "resumed"
          ? `resumed by ${n.owner} (epoch ${n.epoch}); kept ${n.kept?.join(", ") || "nothing"}, re-ran ${n.restarted?.join(", ") || "nothing"}`
          : `${n.kind}${n.reason ? ": " + n.reason : ""}`,
      ),
      ...run.errors.map((e) => `error ${e.code || ""}: ${e.error}`),
    ];
    clear(notes).append(...items.map((t) => h("li", {}, t)));
  }

  function render() {
    dirty = false;
    if (stopped) return;
    const now = run.done ? run.tEnd : Date.now() / 1000;
    const status = replaying ? `${run.status} (replay)` : run.status;
    clear(statusEl).append(pill(status, run.status));
    page.dataset.status = run.status;
    page.dataset.seq = String(run.lastSeq);
    page.dataset.events = String(run.events);
    page.dataset.gaps = String(run.gaps);
    page.dataset.conn = conn.state;
    page.dataset.reconnects = String(conn.reconnects);
    connEl.textContent =
      conn.state === "reconnecting"
        ? `connection lost, reconnecting (${conn.reconnects})…`
        : conn.state === "live"
          ? `live${conn.reconnects ? ` · resumed ${conn.reconnects}×` : ""}`
          : conn.state === "ended"
            ? conn.reconnects ? `complete · resumed ${conn.reconnects}×` : "complete"
            : conn.state;
    drawActions();
    drawApproval();
    drawQuestions();
    drawMeta();
    // The DAG is redrawn whole; keep the keyboard focus on the node that had it.
    const focused = document.activeElement?.closest?.(".dag .node")?.dataset.task;
    clear(dagWrap).append(run.nodes.size ? dag(run, now, focusLane) : h("p", { class: "muted" }, "planning…"));
    if (focused) dagWrap.querySelector(`.node[data-task="${CSS.escape(focused)}"]`)?.focus();
    clear(ganttWrap).append(gantt(run, now));
    for (const id of [...lanes.keys()]) {
      if (!run.nodes.has(id)) {
        lanes.get(id).el.remove();
        lanes.delete(id);
      }
    }
    const ordered = [];
    for (const node of run.nodes.values()) {
      let lane = lanes.get(node.id);
      if (!lane) {
        lane = new Lane(node);
        lanes.set(node.id, lane);
      }
      lane.update(node, now);
      ordered.push(lane.el);
    }
    if (ordered.some((el, i) => lanesEl.children[i] !== el)) lanesEl.append(...ordered);
    const syn = run.synthesis;
    const text = syn.answer ?? syn.text;
    if (synthText.textContent !== text) synthText.textContent = text;
    synthMeta.textContent =
      syn.answer !== null
        ? `${syn.kind ? syn.kind + " synthesis" : "synthesis"} · run ${run.status}`
        : syn.text
          ? "writing…"
          : run.done
            ? "no answer"
            : "waits for the sub-tasks";
  }

  function schedule() {
    if (!dirty) {
      dirty = true;
      requestAnimationFrame(render);
    }
  }

  const tick = setInterval(() => {
    if (!run.done) schedule();
  }, 500);

  function start() {
    follow = followRun(runId, 0, {
      onEvent(ev) {
        log.push(ev);
        if (!replaying) {
          apply(run, ev);
          schedule();
        }
      },
      onState(state, detail) {
        conn = { state, reconnects: follow?.reconnects ?? (typeof detail === "number" ? detail : 0) };
        if (state === "error") ui.note(`events: ${detail}`);
        if (state === "ended") refreshRecord();
        schedule();
      },
    });
  }

  async function refreshRecord() {
    try {
      record = (await getJSON(`/v1/runs/${encodeURIComponent(runId)}`)).body;
      if (record.status === "awaiting_approval" && !run.done) {
        run.awaitingApproval = true;
        run.status = "awaiting_approval";
        const doubt = (record.plan || []).filter((n) => n.status === "in_doubt").map((n) => n.task_id);
        if (doubt.length) run.inDoubt = doubt;
      }
      schedule();
    } catch (err) {
      if (err.status === 404) {
        clear(page).append(h("section", { class: "panel" }, h("h2", {}, "No such run"), h("p", {}, `${runId}: ${err.detail}`)));
        follow?.stop();
        stopped = true;
      }
      ui.fail(err);
    }
  }

  // Feed the stored events again with their original spacing (REPLAY_SPEED times faster,
  // long pauses shortened), from an empty state.
  function replay() {
    const events = log.slice();
    let i = 0;
    let timer = null;
    run = newRun(runId);
    for (const lane of lanes.values()) lane.el.remove();
    lanes.clear();
    const stop = () => {
      clearTimeout(timer);
      replaying = null;
      run = newRun(runId);
      for (const e of events) apply(run, e);
      schedule();
    };
    replaying = { stop };
    const next = () => {
      if (stopped || !replaying) return;
      if (i >= events.length) {
        replaying = null;
        schedule();
        return;
      }
      const ev = events[i++];
      apply(run, ev);
      schedule();
      const gap = i < events.length ? Math.max(0, events[i].ts - ev.ts) : 0;
      timer = setTimeout(next, (Math.min(gap, REPLAY_MAX_GAP_S * REPLAY_SPEED) / REPLAY_SPEED) * 1000);
    };
    next();
  }

  refreshRecord();
  start();
  // The lease (owner) can move while the run runs: re-read it now and then.
  const leaseTimer = setInterval(() => {
    if (!run.done) refreshRecord();
  }, 5000);

  return () => {
    stopped = true;
    follow?.stop();
    replaying?.stop();
    clearInterval(tick);
    clearInterval(leaseTimer);
  };
}
