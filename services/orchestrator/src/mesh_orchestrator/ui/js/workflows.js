// Saved workflows on the runs page: pick one of GET /v1/workflows, fill its arguments (JSON,
// shown with the parameters it declares) and start it: POST /v1/workflows/{name}/runs, then
// the run's own view. A 422 (arguments that do not fit) is shown under the form.

import { getJSON, postJSON } from "./api.js";
import { h, clear } from "./dom.js";

function example(w) {
  const props = (w.parameters && w.parameters.properties) || {};
  const out = {};
  for (const [k, p] of Object.entries(props)) {
    if (p && "default" in p) out[k] = p.default;
    else if (p && p.type === "boolean") out[k] = false;
    else if (p && (p.type === "integer" || p.type === "number")) out[k] = 0;
    else out[k] = "";
  }
  return JSON.stringify(out, null, 1);
}

export function workflowForm(ui) {
  const select = h("select", { id: "workflow", "aria-label": "workflow" });
  const args = h("textarea", { id: "workflow-args", rows: 3, spellcheck: "false", "aria-label": "arguments (JSON)" });
  const about = h("p", { class: "muted small", id: "workflow-about" });
  const msg = h("p", { class: "form-msg", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", id: "start-workflow" }, "Start workflow");
  let workflows = [];
  const pick = () => {
    const w = workflows.find((x) => x.name === select.value);
    if (!w) return;
    const params = Object.keys((w.parameters && w.parameters.properties) || {});
    about.textContent = `v${w.version}${w.description ? " · " + w.description : ""}` +
      (params.length ? ` · parameters: ${params.join(", ")}` : "");
    args.value = example(w);
  };
  select.addEventListener("change", pick);
  const form = h(
    "form",
    { class: "panel start", "aria-label": "start a saved workflow", hidden: true },
    h("h2", {}, "Saved workflows"),
    h("div", { class: "row" }, select, submit),
    about,
    h("label", { for: "workflow-args" }, "Arguments (JSON)"),
    args,
    msg,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    let body;
    try {
      body = { arguments: JSON.parse(args.value || "{}") };
    } catch (err) {
      msg.textContent = `the arguments are not JSON: ${err.message}`;
      return;
    }
    submit.disabled = true;
    try {
      const started = await postJSON(`/v1/workflows/${encodeURIComponent(select.value)}/runs`, body);
      location.hash = `#/run/${started.run_id}`;
    } catch (err) {
      msg.textContent = `not started: ${err.message}`;
      if (err.status !== 422) ui.fail(err);
    } finally {
      submit.disabled = false;
    }
  });
  getJSON("/v1/workflows")
    .then(({ body }) => {
      workflows = body;
      form.hidden = !workflows.length; // nothing saved: nothing to show
      clear(select).append(...workflows.map((w) => h("option", { value: w.name }, `${w.name} (v${w.version})`)));
      pick();
    })
    .catch(() => {}); // an orchestrator without workflows: the form stays hidden
  return form;
}
