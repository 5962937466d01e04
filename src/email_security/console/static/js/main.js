// The console's shell: sign-in, navigation and the page each address (#/...) shows.

import { ApiError, call, forgetSession, SESSION_ENDED, saveSession, session } from "./api.js";
import { alertBox, clear, h, status, uid } from "./dom.js";
import * as audit from "./audit.js";
import * as group from "./group.js";
import * as tester from "./tester.js";

const app = document.getElementById("app");
let manifest = null;

// Pages beside the settings groups, after them in the navigation.
const PAGES = [
  { name: "audit_log", label: "Audit log", page: audit },
  { name: "tester", label: "Message tester", page: tester },
];

// "#/block_senders/ID?search=x" → { name: "block_senders", id: "ID", params }
function parseHash() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, id] = path.split("/").map(decodeURIComponent);
  return { name: name || "", id: id || null, params: new URLSearchParams(search || "") };
}

export function navigate(name, { id = null, params = null } = {}) {
  const query = params && params.toString() ? `?${params}` : "";
  location.hash = `#/${encodeURIComponent(name)}${id ? `/${encodeURIComponent(id)}` : ""}${query}`;
}

function field(label, attributes) {
  const id = uid("field");
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, ...attributes }));
}

function signInPage(message) {
  const problem = h("div", { class: "problem" }, message ? alertBox(message) : null);
  const form = h("form", { class: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Email Security Settings"),
    h("p", {}, "Sign in with an account ID and an API token for it."),
    field("Account ID", { name: "account", required: true, autocomplete: "username", spellcheck: "false" }),
    field("API token", { name: "token", type: "password", required: true, autocomplete: "current-password" }),
    problem,
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const credentials = { account: data.get("account").trim(), token: data.get("token").trim() };
    const button = form.querySelector("button");
    button.disabled = true;
    clear(problem).append(status("Signing in…"));
    try {
      const answer = await call("GET", "/tokens/verify", { credentials });
      saveSession({ ...credentials, readOnly: answer.result.read_only });
      await start();
    } catch (error) {
      const text = error instanceof ApiError && [401, 403].includes(error.status)
        ? "That account ID and API token do not go together."
        : error.message;
      clear(problem).append(alertBox(text));
      button.disabled = false;
    }
  });
  clear(app).append(h("main", { id: "main", class: "narrow" }, form));
  form.querySelector("input").focus();
}

function signOut(message) {
  forgetSession();
  history.replaceState(null, "", location.pathname);
  signInPage(typeof message === "string" ? message : undefined);
}

// Any answer 401 to the signed-in token (revoked, or the database reset): sign in again.
window.addEventListener(SESSION_ENDED, () => {
  if (session()) signOut("The token is no longer accepted: sign in again.");
});

function entries() {
  return [
    ...manifest.groups.map((g) => ({ name: g.name, label: g.label, page: group, group: g })),
    ...PAGES,
  ];
}

function layout() {
  const signedIn = session();
  const links = entries().map((entry) =>
    h("li", {}, h("a", { href: `#/${entry.name}`, "data-page": entry.name }, entry.label)));
  clear(app).append(
    h("header", { class: "top" },
      h("span", { class: "brand" }, "Email Security Settings"),
      h("span", { class: "who" }, `Account ${signedIn.account}`,
        signedIn.readOnly ? h("span", { class: "badge" }, "read-only") : null),
      h("button", { type: "button", onclick: signOut }, "Sign out")),
    h("div", { class: "frame" },
      h("nav", { class: "sections", "aria-label": "Sections" }, h("ul", {}, links)),
      h("main", { id: "main", tabindex: "-1" })));
}

let rendering = 0;

async function show() {
  const where = parseHash();
  const all = entries();
  const entry = all.find((candidate) => candidate.name === where.name);
  if (!entry) {
    navigate(all[0].name);
    return;
  }
  for (const link of app.querySelectorAll("nav a")) {
    if (link.dataset.page === entry.name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  // A dialog of the page left behind (an entry opened from a link) is cancelled with it.
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.dispatchEvent(new Event("cancel"));
  const main = clear(document.getElementById("main"));
  document.title = `${entry.label} · Email Security Settings`;
  const turn = ++rendering;
  const context = {
    group: entry.group,
    groups: manifest.groups,
    id: where.id,
    params: where.params,
    readOnly: session().readOnly,
    navigate,
    reload: show, // the same address again, after a change
    current: () => turn === rendering, // false once another page has been asked for
  };
  try {
    await entry.page.render(main, context);
  } catch (error) {
    if (context.current() && !(error instanceof ApiError && error.status === 401)) {
      main.append(alertBox(error.message));
    }
  }
}

async function start() {
  if (!manifest) {
    const response = await fetch("groups.json", { cache: "no-store" });
    manifest = (await response.json()).result;
  }
  layout();
  await show();
}

window.addEventListener("hashchange", () => {
  if (session()) show();
});

if (session()) start();
else signInPage();
