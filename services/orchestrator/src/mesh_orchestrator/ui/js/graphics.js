// SVG drawings of a run: the plan as a DAG, the Gantt timeline of its nodes, a loss curve.
// Each function returns a fresh <svg>; the run page replaces the old one at most once a frame.

import { layers } from "./runstate.js";
import { s, seconds } from "./dom.js";

const W = 168; // node box
const H = 54;
const GX = 56; // gaps between columns and rows
const GY = 18;
const PAD = 12;

function nodeTime(node, now) {
  if (!node.startedAt) return "";
  const end = node.finishedAt || now;
  return seconds(Math.max(0, end - node.startedAt));
}

function clip(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

// onPick(task_id) is called when a node is clicked or chosen with Enter/Space.
export function dag(run, now, onPick) {
  const cols = layers(run);
  const rows = Math.max(1, ...cols.map((c) => c.length));
  const width = PAD * 2 + cols.length * W + Math.max(0, cols.length - 1) * GX;
  const height = PAD * 2 + rows * H + (rows - 1) * GY;
  const svg = s("svg", {
    class: "dag",
    viewBox: `0 0 ${Math.max(width, 200)} ${height}`,
    width: Math.max(width, 200),
    height,
    role: "group",
    "aria-label": "plan",
  });
  const pos = new Map();
  cols.forEach((col, x) => {
    const offset = ((rows - col.length) * (H + GY)) / 2;
    col.forEach((id, y) => pos.set(id, [PAD + x * (W + GX), PAD + offset + y * (H + GY)]));
  });
  const edges = s("g", { class: "edges" });
  for (const node of run.nodes.values()) {
    const [x2, y2] = pos.get(node.id);
    for (const dep of node.deps) {
      if (!pos.has(dep)) continue;
      const [x1, y1] = pos.get(dep);
      const a = [x1 + W, y1 + H / 2];
      const b = [x2, y2 + H / 2];
      const mid = (a[0] + b[0]) / 2;
      const done = run.nodes.get(dep).status === "completed";
      edges.append(
        s("path", {
          d: `M${a[0]},${a[1]} C${mid},${a[1]} ${mid},${b[1]} ${b[0] - 4},${b[1]}`,
          class: done ? "edge edge-done" : "edge",
          "marker-end": "url(#arrow)",
        }),
      );
    }
  }
  svg.append(
    s(
      "defs",
      {},
      s(
        "marker",
        { id: "arrow", viewBox: "0 0 8 8", refX: 6, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" },
        s("path", { d: "M0,0 L8,4 L0,8 z", class: "arrowhead" }),
      ),
    ),
    edges,
  );
  for (const node of run.nodes.values()) {
    const [x, y] = pos.get(node.id);
    const label = `${node.id}: ${node.capability}, ${node.status}${node.agent ? " on " + node.agent : ""}`;
    const g = s("g", {
      class: `node node-${node.status}`,
      transform: `translate(${x},${y})`,
      tabindex: 0,
      role: "button",
      "aria-label": label,
      "data-task": node.id,
      "data-status": node.status,
    });
    g.append(
      s("title", {}, `${node.description}\n${label}`),
      s("rect", { width: W, height: H, rx: 7 }),
      s("text", { x: 10, y: 19, class: "node-id" }, clip(node.id, 12)),
      s("text", { x: W - 10, y: 19, class: "node-status", "text-anchor": "end" }, node.status),
      s("text", { x: 10, y: 36, class: "node-cap" }, clip(node.capability, 22)),
      s(
        "text",
        { x: 10, y: 49, class: "node-agent" },
        clip(node.agent || "", 14),
        node.attempt > 1 ? ` #${node.attempt}` : "",
      ),
      s("text", { x: W - 10, y: 49, class: "node-time", "text-anchor": "end" }, nodeTime(node, now)),
    );
    const pick = () => onPick(node.id);
    g.addEventListener("click", pick);
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        pick();
      }
    });
    svg.append(g);
  }
  return svg;
}

// One row per node, x from the run's first event to its end (or now).
export function gantt(run, now) {
  const nodes = [...run.nodes.values()];
  const t0 = run.t0 ?? now;
  const t1 = Math.max(run.tEnd ?? now, t0 + 0.5);
  const LABEL = 90;
  const WIDTH = 560;
  const ROW = 22;
  const span = t1 - t0;
  const x = (t) => LABEL + ((t - t0) / span) * (WIDTH - LABEL - 10);
  const height = 24 + nodes.length * ROW;
  const svg = s("svg", {
    class: "gantt",
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: WIDTH,
    height,
    role: "img",
    "aria-label": "timeline of the sub-tasks",
  });
  const step = niceStep(span);
  for (let t = 0; t <= span + 1e-9; t += step) {
    svg.append(
      s("line", { x1: x(t0 + t), x2: x(t0 + t), y1: 14, y2: height, class: "tick" }),
      s("text", { x: x(t0 + t), y: 10, class: "tick-label", "text-anchor": "middle" }, seconds(t)),
    );
  }
  nodes.forEach((n, i) => {
    const y = 18 + i * ROW;
    svg.append(s("text", { x: 4, y: y + 13, class: "gantt-label" }, clip(n.id, 14)));
    if (!n.startedAt) return;
    const end = n.finishedAt || now;
    svg.append(
      s(
        "rect",
        {
          x: x(n.startedAt),
          y: y + 2,
          width: Math.max(2, x(end) - x(n.startedAt)),
          height: ROW - 6,
          rx: 3,
          class: `bar bar-${n.status}`,
        },
        s("title", {}, `${n.id}: ${seconds(end - n.startedAt)} (${n.status})`),
      ),
    );
    for (const r of n.retries) {
      svg.append(s("line", { x1: x(r.ts), x2: x(r.ts), y1: y, y2: y + ROW - 2, class: "retry-mark" }));
    }
  });
  return svg;
}

function niceStep(span) {
  const raw = span / 6;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * pow) return m * pow;
  return 10 * pow;
}

// A small line chart of [step, loss] points.
export function lossCurve(points) {
  const w = 220;
  const hgt = 56;
  const svg = s("svg", { class: "loss", viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: "img" });
  if (points.length < 1) return svg;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const yr = y1 - y0 || 1;
  const px = (v) => 4 + ((v - x0) / (x1 - x0)) * (w - 8);
  const py = (v) => hgt - 12 - ((v - y0) / yr) * (hgt - 20);
  const d = points.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" ");
  svg.setAttribute("aria-label", `loss from ${ys[0].toFixed(3)} to ${ys.at(-1).toFixed(3)}`);
  svg.append(
    s("polyline", { points: d, class: "loss-line" }),
    s("text", { x: 4, y: hgt - 1, class: "tick-label" }, `loss ${ys.at(-1).toFixed(4)}`),
    s("text", { x: w - 4, y: hgt - 1, class: "tick-label", "text-anchor": "end" }, `step ${xs.at(-1)}`),
  );
  return svg;
}
