// The run page's state (ui/js/runstate.js) folded from typed events, with node's own test
// runner: retries, stale attempts, approval, resumption and gaps. Run by test_dashboard.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newRun, apply, layers, planOf } from "../../services/orchestrator/src/mesh_orchestrator/ui/js/runstate.js";

let seq = 0;
const ev = (type, data = {}, task_id = null, ts = 100 + seq) => ({ run_id: "r", seq: ++seq, type, task_id, data, ts });
const plan = {
  tasks: [
    { task_id: "a", capability: "search", depends_on: [] },
    { task_id: "b", capability: "text_generation", depends_on: ["a"] },
    { task_id: "c", capability: "image_generation", depends_on: [] },
  ],
};

test("a retried task keeps only its last attempt's output and marks the retry", () => {
  seq = 0;
  const run = newRun("r");
  for (const e of [
    ev("run", { run_id: "r", query: "q", trace_id: "ab".repeat(16) }),
    ev("plan", { plan, planner: "semantic" }),
    ev("status", { status: "running", agent_id: "w", instance_id: "w-1", attempt: 1 }, "b"),
    ev("token", { token: "lost ", attempt: 1 }, "b"),
    ev("status", { status: "retrying", attempt: 2, reason: "stalled", failed_instance: "w-1" }, "b"),
    ev("token", { token: "late", attempt: 1 }, "b"), // the given-up attempt, arriving late
    ev("status", { status: "running", agent_id: "w", instance_id: "w-2", attempt: 2 }, "b"),
    ev("token", { token: "kept", attempt: 2 }, "b"),
    ev("status", { status: "completed" }, "b"),
  ]) apply(run, e);
  const b = run.nodes.get("b");
  assert.equal(run.traceId, "ab".repeat(16));
  assert.equal(b.text, "kept");
  assert.equal(b.attempt, 2);
  assert.equal(b.instance, "w-2");
  assert.deepEqual(b.retries.map((r) => [r.attempt, r.reason, r.failed]), [[2, "stalled", "w-1"]]);
  assert.equal(b.previous[0].text, "lost ");
  assert.equal(b.status, "completed");
  assert.ok(b.finishedAt >= b.startedAt);
});

test("progress, LoRA loss, artifacts, the synthesis and done are folded in", () => {
  seq = 0;
  const run = newRun("r");
  apply(run, ev("plan", { plan, planner: "client" }));
  apply(run, ev("progress", { step: 1, total: 2, loss: 2.5 }, "c"));
  apply(run, ev("progress", { step: 2, total: 2, loss: 1.5 }, "c"));
  apply(run, ev("artifact", { name: "x.png", content_type: "image/png", data_base64: "iVBO" }, "c"));
  apply(run, ev("token", { token: "Hel" }, "synthesis"));
  apply(run, ev("token", { token: "lo" }, "synthesis"));
  assert.equal(run.synthesis.text, "Hello");
  apply(run, ev("result", { answer: "Hello.", status: "completed", synthesis: "llm", results: {} }));
  apply(run, ev("done", { status: "completed" }));
  const c = run.nodes.get("c");
  assert.deepEqual(c.progress, { step: 2, total: 2, message: undefined });
  assert.deepEqual(c.losses, [[1, 2.5], [2, 1.5]]);
  assert.equal(c.artifacts.length, 1);
  assert.equal(run.synthesis.answer, "Hello.");
  assert.equal(run.status, "completed");
  assert.ok(run.done && run.gaps === 0 && run.events === 8);
});

test("a plan awaiting approval shows until the run moves on; a resumed run's id jump is no gap", () => {
  seq = 0;
  const run = newRun("r");
  apply(run, ev("plan", { plan, planner: "semantic" }));
  apply(run, ev("status", { phase: "approval", status: "awaiting_approval" }));
  assert.ok(run.awaitingApproval && run.status === "awaiting_approval");
  assert.deepEqual(planOf(run).tasks.map((t) => t.task_id), ["a", "b", "c"]);
  apply(run, ev("status", { phase: "approval", status: "approved", edited: true }));
  assert.ok(!run.awaitingApproval && run.everAwaited && run.status === "running");
  assert.equal(run.notes.at(-1).kind, "approved with an edited plan");
  apply(run, ev("status", { status: "running", attempt: 1 }, "a"));
  assert.equal(run.phases.length, 0);
  seq += 50;
  apply(run, ev("status", { status: "resumed", owner: "o2", epoch: 2, kept: ["a"], restarted: ["b"], last_stored_seq: 3, first_seq: seq + 1 }));
  assert.equal(run.gaps, 0);
  seq += 3;
  apply(run, ev("message", { content: "hi" }, "c"));
  assert.equal(run.gaps, 3);
  assert.equal(run.notes.at(-1).owner, "o2");
});

test("tasks in doubt park the run for a decision, and the decision is noted", () => {
  seq = 0;
  const run = newRun("r");
  apply(run, ev("plan", { plan, planner: "client" }));
  apply(run, ev("status", { status: "running", attempt: 1, instance_id: "t-1" }, "b"));
  apply(run, ev("status", { status: "in_doubt", attempt: 1, reason: "attempt 1 (key r:b:1) ..." }, "b"));
  apply(run, ev("status", { phase: "approval", status: "awaiting_approval", in_doubt: ["b"] }));
  assert.ok(run.awaitingApproval && run.status === "awaiting_approval");
  assert.deepEqual(run.inDoubt, ["b"]);
  apply(run, ev("status", { phase: "approval", status: "approved", decision: "fail" }));
  assert.ok(!run.awaitingApproval && run.inDoubt === null && run.status === "running");
  assert.equal(run.notes.at(-1).kind, "approved: tasks in doubt marked failed");
});

test("the DAG is laid out in columns by dependency depth", () => {
  seq = 0;
  const run = newRun("r");
  apply(run, ev("plan", { plan, planner: "semantic" }));
  assert.deepEqual(layers(run), [["a", "c"], ["b"]]);
});

test("a branch not taken keeps its condition, and a loop's iteration is a new attempt", () => {
  seq = 0;
  const run = newRun("r");
  for (const e of [
    ev("plan", { plan, planner: "client" }),
    ev("status", { status: "condition", kind: "when", expression: "$.a.output.ok", result: false,
                   values: { "$.a.output.ok": false } }, "b"),
    ev("status", { status: "skipped", reason: "condition false: $.a.output.ok" }, "b"),
    ev("status", { status: "running", attempt: 1 }, "c"),
    ev("token", { token: "first", attempt: 1 }, "c"),
    ev("status", { status: "completed" }, "c"),
    ev("status", { status: "condition", kind: "repeat_until", expression: "output.ok", result: false,
                   iteration: 1, values: {} }, "c"),
    ev("status", { status: "iterating", iteration: 2, max_iterations: 3, attempt: 2, loop: "c",
                   reason: "repeat_until false: output.ok" }, "c"),
    ev("status", { status: "running", attempt: 2 }, "c"),
    ev("token", { token: "second", attempt: 2 }, "c"),
  ]) apply(run, e);
  const b = run.nodes.get("b");
  assert.equal(b.status, "skipped");
  assert.equal(b.reason, "condition false: $.a.output.ok");
  assert.deepEqual([b.condition.kind, b.condition.result], ["when", false]);
  const c = run.nodes.get("c");
  assert.equal(c.iteration, 2);
  assert.equal(c.attempt, 2);
  assert.equal(c.text, "second");
  assert.equal(c.previous[0].text, "first");
  assert.match(c.retries[0].reason, /^iteration 2 of at most 3: repeat_until false/);
});

test("a paused run says so, and a resume takes it back to running", () => {
  seq = 0;
  const run = newRun("r");
  apply(run, ev("plan", { plan, planner: "client" }));
  apply(run, ev("status", { status: "paused", cancel_running: true, stopped: ["b"] }));
  assert.equal(run.status, "paused");
  assert.equal(run.notes.at(-1).kind, "paused");
  assert.equal(run.notes.at(-1).reason, "stopped b");
  apply(run, ev("status", { status: "resumed", owner: "o", epoch: 2, kept: ["a"], restarted: ["b"],
                            last_stored_seq: 2, first_seq: 3, reason: "resumed after pause" }));
  assert.equal(run.status, "running");
});

test("a worker's question is an open question until it is answered", () => {
  seq = 0;
  const run = newRun("r");
  apply(run, ev("plan", { plan, planner: "client" }));
  apply(run, ev("status", { status: "input_required", question: "Which?", choices: ["x", "y"], input_id: 1 }, "a"));
  apply(run, ev("status", { status: "input_required", tasks: ["a"] }));
  const a = run.nodes.get("a");
  assert.equal(a.status, "input_required");
  assert.deepEqual(a.question.choices, ["x", "y"]);
  assert.equal(run.status, "input_required");
  apply(run, ev("status", { status: "answered", input_id: 1, answer: "y" }, "a"));
  apply(run, ev("status", { status: "resumed", owner: "o", epoch: 2, kept: [], restarted: ["a"],
                            last_stored_seq: 3, first_seq: 5, reason: "input answered" }));
  assert.equal(a.question, null);
  assert.equal(a.status, "pending");
  assert.equal(run.status, "running");
});

test("a run's use (every run reports it) is kept apart from its planning phases", () => {
  seq = 0;
  const run = newRun("r");
  apply(run, ev("plan", { plan, planner: "semantic" }));
  apply(run, ev("status", { phase: "budget", status: "used", used: { max_tasks: 1, tokens: 12 }, limits: {} }));
  apply(run, ev("status", { phase: "budget", status: "used", used: { max_tasks: 2, tokens: 30 }, limits: { tokens: 40 } }));
  assert.equal(run.phases.length, 0);
  assert.deepEqual(run.usage, { used: { max_tasks: 2, tokens: 30 }, limits: { tokens: 40 }, exhausted: null });
});
