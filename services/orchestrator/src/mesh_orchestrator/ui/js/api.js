// The orchestrator's HTTP API as the page uses it. The bearer token lives in sessionStorage
// (this tab only; never in a URL) and goes with every request as an Authorization header.
// The page is served by the orchestrator, so the API is on the same origin; `?api=` is not
// read on purpose: a URL never says where requests (and the token) go.

const TOKEN_KEY = "mesh.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function headers(extra = {}) {
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

export class ApiError extends Error {
  constructor(status, detail, code) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
    this.code = code;
  }
}

async function failure(resp) {
  let detail = resp.statusText;
  let code;
  try {
    const body = await resp.json();
    code = body.error;
    detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    /* not JSON */
  }
  return new ApiError(resp.status, detail, code);
}

export async function getJSON(path, { signal } = {}) {
  const resp = await fetch(path, { headers: headers(), signal, cache: "no-store" });
  if (!resp.ok) throw await failure(resp);
  return { body: await resp.json(), headers: resp.headers };
}

export async function postJSON(path, body) {
  const resp = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!resp.ok) throw await failure(resp);
  const text = await resp.text();
  return text ? JSON.parse(text) : {};
}

export async function config() {
  try {
    return (await getJSON("/ui/config.json")).body;
  } catch {
    return { auth: false, jaeger_url: null };
  }
}

// Start a run and return its id. The run is started with on_disconnect "continue": the page
// reads the run's events from /v1/runs/{id}/events (one code path for live and finished
// runs), so it drops this first stream as soon as the response names the run.
export async function startRun(body) {
  const resp = await fetch("/orchestrate/stream", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({ ...body, options: { ...(body.options || {}), on_disconnect: "continue" } }),
  });
  if (!resp.ok) throw await failure(resp);
  const where = resp.headers.get("Content-Location") || "";
  let runId = where.split("/").pop();
  if (!runId) {
    // No header (a proxy dropped it): the first frame is the run event.
    const reader = resp.body.getReader();
    const parser = new SSEParser();
    while (!runId) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const msg of parser.push(value)) runId = JSON.parse(msg.data).run_id;
    }
  }
  resp.body?.cancel().catch(() => {});
  if (!runId) throw new ApiError(502, "the orchestrator did not name the run");
  return runId;
}

// Incremental SSE decoding (WHATWG rules: fields per line, a blank line ends a message,
// comments start with ':').
export class SSEParser {
  constructor() {
    this.decoder = new TextDecoder();
    this.buf = "";
    this.data = [];
    this.id = null;
    this.retry = null;
  }

  push(chunk) {
    this.buf += this.decoder.decode(chunk, { stream: true });
    const out = [];
    let nl;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const width = this.buf.startsWith("\r\n", nl) ? 2 : 1;
      this.buf = this.buf.slice(nl + width);
      if (line === "") {
        if (this.data.length) out.push({ id: this.id, data: this.data.join("\n") });
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "id") this.id = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    }
    return out;
  }
}

// Follow a run's events from `after` (0: the whole log, which is how a finished run is
// replayed) until its `done` event. EventSource cannot send an Authorization header, so
// this reads the stream with fetch() and does what EventSource does itself: on a dropped
// connection (or a stream that ends without `done`, as the orchestrator ends a reader that
// fell behind) it reconnects after the server's `retry` delay, sending Last-Event-ID, the
// seq of the last event it handled. One code path with and without a token.
//
// onEvent(event) is called once per event, in seq order; onState("live" | "reconnecting" |
// "ended" | "error", detail) reports the connection. Returns { stop() }.
export function followRun(runId, after, { onEvent, onState }) {
  const ctl = { stopped: false, abort: null, reconnects: 0 };
  let last = after;
  let delay = 1000;

  async function once(live) {
    const abort = new AbortController();
    ctl.abort = abort;
    const h = headers({ Accept: "text/event-stream" });
    if (last > 0) h["Last-Event-ID"] = String(last);
    const resp = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events`, {
      headers: h,
      signal: abort.signal,
      cache: "no-store",
    });
    if (!resp.ok) throw await failure(resp);
    live();
    onState("live", ctl.reconnects);
    const reader = resp.body.getReader();
    const parser = new SSEParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      for (const msg of parser.push(value)) {
        const ev = JSON.parse(msg.data);
        if (typeof ev.seq === "number" && ev.seq <= last) continue; // already handled
        last = typeof ev.seq === "number" ? ev.seq : last;
        onEvent(ev);
        if (ev.type === "done") return true;
      }
      if (parser.retry !== null) delay = parser.retry;
    }
  }

  (async () => {
    let tries = 0;
    while (!ctl.stopped) {
      let wasLive = false;
      try {
        if (await once(() => (wasLive = true))) {
          onState("ended", ctl.reconnects);
          return;
        }
      } catch (err) {
        if (ctl.stopped) return;
        if (err instanceof ApiError && err.status < 500 && err.status !== 429) {
          onState("error", err.message); // 401/403/404: reconnecting would not help
          return;
        }
      }
      if (ctl.stopped) return;
      ctl.reconnects += 1;
      onState("reconnecting", ctl.reconnects);
      // Bounded back-off: the server's retry (1 s by default), doubling to 15 s at most.
      tries = wasLive ? 0 : tries + 1;
      const wait = Math.min(delay * 2 ** Math.min(tries, 4), 15000);
      await new Promise((r) => setTimeout(r, wait));
    }
  })();

  return {
    get reconnects() {
      return ctl.reconnects;
    },
    stop() {
      ctl.stopped = true;
      ctl.abort?.abort();
    },
  };
}
