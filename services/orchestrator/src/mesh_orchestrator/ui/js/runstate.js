// A run's state, folded from its events (the typed payloads of
// mesh_contracts/run_events.py and the relayed worker events of mesh_contracts/events.py).
// Pure data, no DOM: the run page renders it, and replay feeds it the same events again.

export const SYNTHESIS = "synthesis";

export function newRun(runId) {
  return {
    runId,
    query: "",
    traceId: null,
    status: "running",
    planner: null,
    reason: "",
    phases: [], // planning attempts, rejections, replans
    usage: null, // the last `budget` status: what the run used (every run), its limits
    notes: [], // resumed by another replica, approvals
    nodes: new Map(), // task_id -> node, in plan order
    synthesis: { text: "", answer: null, kind: null, status: null },
    errors: [], // run-level errors
    awaitingApproval: false,
    everAwaited: false,
    lastSeq: 0,
    events: 0,
    gaps: 0, // seqs skipped that no `resumed` event explains
    t0: null,
    tEnd: null,
    tLast: null,
    done: false,
  };
}

function newNode(task, index) {
  return {
    id: task.task_id,
    index,
    description: task.description || "",
    capability: task.capability || "",
    deps: task.depends_on || [],
    input: task.input || {},
    status: task.status || "pending",
    agent: task.assigned_agent || null,
    instance: task.assigned_instance || null,
    attempt: 1,
    startedAt: task.started_at || null,
    finishedAt: task.finished_at || null,
    text: "", // streamed tokens
    messages: [],
    progress: null, // {step, total, message}
    losses: [], // [step, loss] from LoRA training progress
    artifacts: [],
    output: task.output ?? null,
    error: task.error || null,
    reason: null,
    retries: [], // {attempt, reason, failed, next, ts}
    previous: [], // what earlier attempts had streamed (given up)
    condition: task.condition || null, // the last when / repeat_until evaluated
    iteration: task.iteration || null, // a loop's iteration
    maxIterations: task.max_iterations || null, // its bound, as the plan or the loop says
    question: null, // a worker's open question: {question, choices, answer_schema, input_id}
    events: 0,
  };
}

export function setPlan(run, tasks) {
  const old = run.nodes;
  run.nodes = new Map();
  tasks.forEach((t, i) => {
    const node = old.get(t.task_id) || newNode(t, i);
    Object.assign(node, {
      index: i,
      description: t.description || node.description,
      capability: t.capability || node.capability,
      deps: t.depends_on || [],
      input: t.input || node.input,
    });
    run.nodes.set(t.task_id, node);
  });
}

function stale(node, data) {
  const a = data && typeof data.attempt === "number" ? data.attempt : null;
  return a !== null && a < node.attempt;
}

function restart(node, data, ts) {
  node.retries.push({
    attempt: data.attempt,
    reason: data.reason || "",
    failed: data.failed_instance || null,
    next: data.next_instance || null,
    ts,
  });
  if (node.text || node.messages.length || node.progress) {
    node.previous.push({ attempt: node.attempt, text: node.text, messages: node.messages });
  }
  node.attempt = data.attempt;
  node.status = "retrying";
  node.text = "";
  node.messages = [];
  node.progress = null;
  node.losses = [];
  node.artifacts = [];
  node.error = null;
}

function taskStatus(run, node, data, ts) {
  if (stale(node, data)) return;
  node.status = data.status;
  if (data.reason) node.reason = data.reason;
  if (data.status === "running") {
    node.agent = data.agent_id || node.agent;
    node.instance = data.instance_id || node.instance;
    if (typeof data.attempt === "number") node.attempt = data.attempt;
    node.startedAt = node.startedAt || data.started_at || ts;
    node.finishedAt = null;
    node.candidates = data.candidates || null;
  } else if (["completed", "failed", "skipped"].includes(data.status)) {
    node.finishedAt = ts;
  }
}

// options.approval = "required": status events with phase "approval" say the run waits
// (awaiting_approval), was approved (edited: with a new plan) or rejected.
function approval(run, d, ts) {
  if (d.status === "awaiting_approval") {
    run.awaitingApproval = true;
    run.everAwaited = true;
    run.status = "awaiting_approval";
    // Parked by a replica that took the run over: these tasks may have run (in doubt).
    run.inDoubt = d.in_doubt || null;
    if (d.plan?.tasks) setPlan(run, d.plan.tasks);
    return;
  }
  run.awaitingApproval = false;
  run.inDoubt = null;
  if (run.status === "awaiting_approval") run.status = d.status === "rejected" ? "rejected" : "running";
  let kind = d.status === "approved" && d.edited ? "approved with an edited plan" : d.status;
  if (d.decision) kind = `${kind}: tasks in doubt ${d.decision === "fail" ? "marked failed" : "run again"}`;
  run.notes.push({ kind, ts, reason: d.reason });
}

function status(run, ev, node) {
  const d = ev.data || {};
  if (d.phase === "approval" || (!ev.task_id && d.status === "awaiting_approval")) {
    approval(run, d, ev.ts);
    return;
  }
  if (d.phase === "budget") {
    run.usage = { used: d.used || {}, limits: d.limits || {}, exhausted: d.exhausted || null };
    return;
  }
  if (d.phase) {
    run.phases.push({ ...d, ts: ev.ts });
    return;
  }
  if (d.status === "resumed") {
    run.notes.push({ kind: "resumed", ts: ev.ts, ...d });
    if (run.status === "paused" || run.status === "input_required") run.status = "running";
    return;
  }
  if (d.status === "input_required" && !ev.task_id) {
    run.notes.push({ kind: "input required", ts: ev.ts, reason: (d.tasks || []).join(", ") });
    run.status = "input_required";
    return;
  }
  if (d.status === "paused" && !ev.task_id) {
    // POST /v1/runs/{id}/pause: parked until resumed (its stream ends without done).
    run.notes.push({ kind: "paused", ts: ev.ts, ...d, reason: d.stopped?.length ? `stopped ${d.stopped.join(", ")}` : "" });
    run.status = "paused";
    return;
  }
  if (!ev.task_id) {
    // approved / rejected and any later run-level status word: the wait is over.
    if (run.awaitingApproval) run.awaitingApproval = false;
    if (d.status) run.notes.push({ kind: d.status, ts: ev.ts, ...d });
    if (run.status === "awaiting_approval") run.status = "running";
    return;
  }
  if (ev.task_id === SYNTHESIS && !node) {
    run.synthesis.status = d.status;
    return;
  }
  if (!node) return;
  // The plan language: a when / repeat_until was evaluated (why a branch was or was not
  // taken, why a loop goes on), or a loop runs the task again as a new attempt.
  if (d.status === "condition") {
    node.condition = { kind: d.kind, expression: d.expression, result: d.result, values: d.values || {},
                       iteration: d.iteration ?? null, exhausted: Boolean(d.exhausted) };
    return;
  }
  if (d.status === "iterating") {
    restart(node, { ...d, reason: `iteration ${d.iteration} of at most ${d.max_iterations}: ${d.reason}` }, ev.ts);
    node.iteration = d.iteration;
    node.maxIterations = d.max_iterations;
    return;
  }
  if (d.status === "input_required") {
    node.question = { question: d.question, choices: d.choices || null, answer_schema: d.answer_schema || null, input_id: d.input_id };
  } else if (d.status === "answered") {
    node.question = null;
    node.status = "pending";
    return;
  }
  if (d.status === "retrying") restart(node, d, ev.ts);
  else taskStatus(run, node, d, ev.ts);
}

// Fold one event into the run; returns the node it touched (or null for run-level ones).
export function apply(run, ev) {
  if (typeof ev.seq === "number") {
    const resumed = ev.type === "status" && ev.data?.status === "resumed";
    if (run.lastSeq && ev.seq > run.lastSeq + 1 && !resumed) run.gaps += ev.seq - run.lastSeq - 1;
    run.lastSeq = Math.max(run.lastSeq, ev.seq);
  }
  run.events += 1;
  if (run.t0 === null) run.t0 = ev.ts;
  run.tLast = ev.ts;
  if (run.awaitingApproval && ev.task_id && ev.type === "status") run.awaitingApproval = false;
  if (run.status === "awaiting_approval" && ev.task_id) run.status = "running";
  const d = ev.data || {};
  const node = ev.task_id ? run.nodes.get(ev.task_id) : null;
  if (node) node.events += 1;
  switch (ev.type) {
    case "run":
      run.query = d.query ?? run.query;
      run.traceId = d.trace_id || run.traceId;
      return null;
    case "plan":
      run.planner = d.planner || null;
      run.reason = d.reason || "";
      setPlan(run, d.plan?.tasks || []);
      return null;
    case "status":
      status(run, ev, node);
      return node;
    case "token":
      if (ev.task_id === SYNTHESIS && !node) {
        run.synthesis.text += d.token ?? "";
        return null;
      }
      if (node && !stale(node, d)) node.text += d.token ?? "";
      return node;
    case "message":
      if (node && !stale(node, d)) node.messages.push(d.content ?? "");
      return node;
    case "progress":
      if (node && !stale(node, d)) {
        node.progress = { step: d.step, total: d.total, message: d.message };
        if (typeof d.loss === "number") node.losses.push([d.step ?? node.losses.length, d.loss]);
      }
      return node;
    case "artifact":
      if (node && !stale(node, d)) node.artifacts.push(d);
      return node;
    case "result":
      if (!ev.task_id) {
        run.synthesis.answer = d.answer ?? "";
        run.synthesis.kind = d.synthesis || null;
        if (d.status) run.status = d.status;
      } else if (node && !stale(node, d)) {
        node.output = d.output;
      }
      return node;
    case "error":
      if (!ev.task_id) run.errors.push({ error: d.error, code: d.code, ts: ev.ts });
      else if (node && !stale(node, d)) node.error = `${d.code ? d.code + ": " : ""}${d.error}`;
      return node;
    case "done":
      run.status = d.status || run.status;
      run.done = true;
      run.awaitingApproval = false;
      run.tEnd = ev.ts;
      for (const n of run.nodes.values()) {
        if (!n.finishedAt && n.startedAt) n.finishedAt = ev.ts;
      }
      return null;
    default:
      return node;
  }
}

// The plan as a client may submit it (for approve-with-edits and "run this plan again").
export function planOf(run) {
  return {
    tasks: [...run.nodes.values()].map((n) => ({
      task_id: n.id,
      description: n.description,
      capability: n.capability,
      input: n.input,
      depends_on: n.deps,
    })),
  };
}

// Layers of the DAG: each node one column right of its deepest dependency.
export function layers(run) {
  const depth = new Map();
  const visit = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0; // a cycle cannot pass validation; never loop on one
    seen.add(id);
    const node = run.nodes.get(id);
    const deps = (node?.deps || []).filter((d) => run.nodes.has(d));
    const value = deps.length ? 1 + Math.max(...deps.map((d) => visit(d, seen))) : 0;
    depth.set(id, value);
    return value;
  };
  for (const id of run.nodes.keys()) visit(id);
  const cols = [];
  for (const [id, dep] of depth) (cols[dep] ||= []).push(id);
  return cols.map((c) => c.sort((a, b) => run.nodes.get(a).index - run.nodes.get(b).index));
}
