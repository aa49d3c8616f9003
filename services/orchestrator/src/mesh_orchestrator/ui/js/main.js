// The dashboard's entry: the token field, the connection badge and a hash router over the
// four views (#/agents, #/runs, #/run/<id>, #/thread/<id>). Each view returns a function that stops its
// polls and streams when another view opens.

import { config, token, setToken } from "./api.js";
import { registryView } from "./registry.js";
import { runsView } from "./runs.js";
import { runView } from "./run.js";
import { threadView } from "./thread.js";
import { clear } from "./dom.js";

const main = document.getElementById("main");
const connEl = document.getElementById("conn");
const tokenInput = document.getElementById("token");
let leave = () => {};

const ui = {
  config: { auth: false, jaeger_url: null },
  ok() {
    if (connEl.dataset.kind === "error") {
      connEl.dataset.kind = "";
      connEl.textContent = "";
    }
  },
  fail(err) {
    connEl.dataset.kind = "error";
    if (err?.status === 401) connEl.textContent = "401: this mesh needs a token (field above)";
    else if (err?.status === 403) connEl.textContent = "403: this token may not do that";
    else connEl.textContent = err?.message || String(err);
  },
  note(text) {
    connEl.dataset.kind = "note";
    connEl.textContent = text;
  },
};

function route() {
  leave();
  clear(main);
  const hash = location.hash.replace(/^#\/?/, "");
  const [view, id] = hash.split("/");
  for (const a of document.querySelectorAll("[data-nav]")) {
    const nav = view === "run" || view === "thread" ? "runs" : view || "agents";
    a.toggleAttribute("aria-current", a.dataset.nav === nav);
  }
  if (view === "run" && id) {
    document.title = `run ${id.slice(0, 8)} · agent mesh`;
    leave = runView(main, ui, decodeURIComponent(id));
  } else if (view === "thread" && id) {
    document.title = `thread ${id.slice(0, 8)} · agent mesh`;
    leave = threadView(main, ui, decodeURIComponent(id));
  } else if (view === "runs") {
    document.title = "runs · agent mesh";
    leave = runsView(main, ui);
  } else {
    document.title = "agents · agent mesh";
    leave = registryView(main, ui);
  }
}

document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken(tokenInput.value);
  tokenInput.value = "";
  tokenInput.placeholder = token() ? "token set for this tab" : "Bearer token (kept in this tab only)";
  route();
});
document.getElementById("token-clear").addEventListener("click", () => {
  setToken("");
  tokenInput.placeholder = "Bearer token (kept in this tab only)";
  route();
});
window.addEventListener("hashchange", route);

ui.config = await config();
if (token()) tokenInput.placeholder = "token set for this tab";
document.querySelector(".token").hidden = !ui.config.auth && !token();
route();
