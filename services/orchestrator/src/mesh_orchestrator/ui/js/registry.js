// The registry view: every instance the orchestrator routes by, with health, capabilities,
// streaming mode, GPU facts, live load (from heartbeats) and its circuit breaker, polled
// every 1.5 s while the view is open (the orchestrator's own cache follows discovery's
// blocking watch, so a poll costs it nothing but the JSON).

import { getJSON } from "./api.js";
import { h, pill, clear, age } from "./dom.js";

const EVERY_MS = 1500;

function gpu(res) {
  if (!res || !res.gpu) return h("span", { class: "muted" }, res?.device || "cpu");
  const parts = [`${res.gpu_count || 1}× ${res.gpu_model || "GPU"}`];
  if (res.vram_mb) parts.push(`${Math.round(res.vram_mb / 1024)} GiB`);
  if (res.cuda_version) parts.push(`CUDA ${res.cuda_version}`);
  return h("span", {}, parts.join(", "));
}

function load(rec) {
  const l = rec.load;
  const max = l?.max_concurrency ?? rec.descriptor.max_concurrency;
  const used = l?.slots_in_use ?? 0;
  const bits = [h("span", { class: "num" }, `${used}/${max ?? "∞"}`)];
  if (max) {
    bits.push(
      h("meter", { min: 0, max, value: used, "aria-label": `slots in use ${used} of ${max}` }),
    );
  }
  if (l?.queue_depth) bits.push(h("span", { class: "muted" }, ` queue ${l.queue_depth}`));
  if (l?.gpu_free_mb != null) bits.push(h("span", { class: "muted" }, ` ${l.gpu_free_mb} MB free`));
  if (rec.inflight) bits.push(h("span", { class: "muted" }, ` · ${rec.inflight} from here`));
  return h("span", { class: "load" }, bits);
}

function breaker(b) {
  if (!b) return "";
  const kind = b.state === "closed" ? "closed" : b.state === "open" ? "open" : "half";
  const title = b.last_failure ? `last failure: ${b.last_failure}` : `${b.failures ?? 0} failures`;
  return h("span", { title }, pill(b.state.replace("_", "-"), kind), b.failures ? ` ${b.failures}` : "");
}

function row(rec) {
  const d = rec.descriptor;
  return h(
    "tr",
    { "data-agent": d.agent_id, "data-instance": d.instance_id, "data-status": rec.status },
    h("td", {}, h("strong", {}, d.agent_id), h("div", { class: "muted small" }, d.instance_id)),
    h("td", {}, pill(rec.status)),
    h("td", {}, (d.capabilities || []).map((c) => h("span", { class: "tag" }, c))),
    h("td", {}, d.streaming_mode),
    h("td", {}, gpu(d.resources)),
    h("td", {}, load(rec)),
    h("td", {}, breaker(rec.breaker)),
    h("td", { class: "small" }, h("code", {}, d.endpoint), h("div", { class: "muted" }, `heartbeat ${age(rec.last_heartbeat)}`)),
  );
}

export function registryView(root, ui) {
  const status = h("p", { class: "muted", role: "status" }, "loading…");
  const body = h("tbody");
  const table = h(
    "table",
    { class: "grid", "aria-label": "registered instances" },
    h(
      "thead",
      {},
      h("tr", {}, ["agent", "health", "capabilities", "streaming", "device", "load", "breaker", "endpoint"].map((t) => h("th", { scope: "col" }, t))),
    ),
    body,
  );
  root.append(h("section", { class: "panel" }, h("h2", {}, "Agents"), status, table));
  let timer = null;
  let stopped = false;
  const abort = new AbortController();

  async function poll() {
    try {
      const { body: records, headers } = await getJSON("/v1/agents", { signal: abort.signal });
      records.sort((a, b) =>
        a.descriptor.agent_id.localeCompare(b.descriptor.agent_id) ||
        a.descriptor.instance_id.localeCompare(b.descriptor.instance_id),
      );
      clear(body).append(...records.map(row));
      const agents = new Set(records.map((r) => r.descriptor.agent_id)).size;
      const passing = records.filter((r) => r.status === "passing").length;
      status.textContent = `${agents} agents, ${records.length} instances (${passing} passing) · registry index ${headers.get("X-Mesh-Index") ?? "?"} · live`;
      ui.ok();
    } catch (err) {
      if (stopped) return;
      status.textContent = `could not read the registry: ${err.message}`;
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
