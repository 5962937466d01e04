// The message tester (#/tester): what the policy engine would do with a message, and which
// settings entries decided it. Nothing is recorded: evaluate is a what-if.

import { ApiError, call } from "./api.js";
import { alertBox, append, clear, display, h, status, uid } from "./dom.js";

const AUTH_RESULTS = ["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"];
const EVALUATE = "/email-security/evaluate";

export async function render(main, context) {
  // Filled by each evaluation; polite, so a screen reader hears the verdict once it is there.
  const verdict = h("section", { class: "verdict", "aria-live": "polite" });
  const show = { verdict, context };
  main.append(
    h("h1", {}, "Message tester"),
    h("p", { class: "muted" },
      "See what would happen to a message and which settings entries decided it. ",
      "Nothing is delivered or recorded."),
    h("div", { class: "tester-forms" }, rawForm(show), fieldsForm(show)),
    verdict);
}

// --- form parts ---------------------------------------------------------------------------

// A labelled control with a place for the server's complaint about it.
function field(label, control, hint) {
  const id = uid("tester");
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const help = hint ? h("p", { class: "help", id: `${id}-hint` }, hint) : null;
  if (help) control.setAttribute("aria-describedby", help.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, help, error);
}

function select(name, choices) {
  return h("select", { name },
    choices.map(([value, text]) => h("option", { value }, text)));
}

const authSelect = (name) => select(name, [["", "Not given"], ...AUTH_RESULTS.map((r) => [r, r])]);

function lines(text) {
  return text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

// --- the raw message form -----------------------------------------------------------------

function rawForm(show) {
  const form = h("form", { "aria-label": "Raw message", class: "tester-form", novalidate: true },
    h("h2", {}, "Raw message"),
    h("p", { class: "muted" }, "Paste a whole message, headers first (RFC 5322)."),
    field("Raw message", h("textarea", { name: "raw", class: "raw-message", rows: 16, spellcheck: "false" })),
    field("Recipients", h("textarea", { name: "recipient", rows: 3, spellcheck: "false" }),
      "One address a line; empty: the message's To and Cc."),
    h("div", { class: "problem" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Evaluate")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    // A message's lines end in CRLF; a textarea gives lone LFs.
    const body = data.get("raw").replace(/\r\n|\r|\n/g, "\r\n");
    evaluate(form, show, { params: { recipient: lines(data.get("recipient")) }, body, contentType: "message/rfc822" });
  });
  return form;
}

// --- the message fields form --------------------------------------------------------------

function fieldsForm(show) {
  const input = (name, attributes = {}) => h("input", { name, spellcheck: "false", ...attributes });
  const form = h("form", { "aria-label": "Message fields", class: "tester-form", novalidate: true },
    h("h2", {}, "Message fields"),
    h("p", { class: "muted" }, "Or describe the message: a sender and one recipient at least."),
    h("div", { class: "grid" },
      field("Envelope from", input("envelope_from", { type: "email" }), "MAIL FROM"),
      field("Header from", input("header_from", { type: "email" }), "The From: address"),
      field("Header from name", input("header_from_name")),
      field("Reply to", input("reply_to", { type: "email" })),
      field("Recipients", h("textarea", { name: "recipients", rows: 3, spellcheck: "false" }), "One address a line."),
      field("Client IP", input("client_ip")),
      field("HELO", input("helo")),
      field("TLS", select("tls", [["", "Unknown"], ["true", "Yes"], ["false", "No"]])),
      field("SPF", authSelect("spf")),
      field("DKIM", authSelect("dkim")),
      field("DMARC", authSelect("dmarc")),
      field("Subject", input("subject", { spellcheck: "true" }))),
    field("Body", h("textarea", { name: "body", rows: 6 })),
    field("HTML body", h("textarea", { name: "body_html", rows: 6, spellcheck: "false" })),
    h("div", { class: "problem" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Evaluate")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    evaluate(form, show, { json: messageJson(new FormData(form)) });
  });
  return form;
}

// Only what was filled in: the server's defaults stand for the rest.
function messageJson(data) {
  const message = {};
  for (const name of ["envelope_from", "header_from", "header_from_name", "reply_to", "client_ip", "helo", "subject"]) {
    const value = data.get(name).trim();
    if (value) message[name] = value;
  }
  for (const name of ["body", "body_html"]) {
    if (data.get(name)) message[name] = data.get(name); // a body's spacing is its own
  }
  const recipients = lines(data.get("recipients"));
  if (recipients.length) message.recipients = recipients;
  if (data.get("tls")) message.tls = data.get("tls") === "true";
  const auth = {};
  if (data.get("spf")) auth.spf = { result: data.get("spf") };
  if (data.get("dkim")) auth.dkim = [{ result: data.get("dkim") }];
  if (data.get("dmarc")) auth.dmarc = { result: data.get("dmarc") };
  if (Object.keys(auth).length) message.auth = auth;
  return message;
}

// --- sending, and the server's complaints -------------------------------------------------

async function evaluate(form, show, options) {
  const { verdict, context } = show;
  const button = form.querySelector("button[type=submit]");
  const problem = form.querySelector(".problem");
  // One verdict for both forms: complaints about the other form's last try go too.
  for (const each of form.parentElement.querySelectorAll("form")) {
    clearErrors(each);
    clear(each.querySelector(".problem"));
  }
  clear(verdict).append(status("Evaluating…"));
  button.disabled = true;
  try {
    const answer = await call("POST", EVALUATE, options);
    if (!context.current()) return;
    append(clear(verdict), [verdictView(answer.result, show)]);
    verdict.scrollIntoView({ block: "start" }); // below the forms, often out of sight
  } catch (error) {
    if (!context.current()) return;
    clear(verdict);
    problem.append(alertBox(messages(error)));
    markFields(form, error);
  } finally {
    button.disabled = false;
  }
}

function messages(error) {
  return error instanceof ApiError ? error.errors.map((e) => e.message) : [error.message];
}

// "/recipients/0" → "recipients", "/auth/dkim/0/result" → "dkim"; a query parameter as is.
function fieldName(source) {
  if (!source) return null;
  if (source.parameter) return source.parameter;
  const parts = (source.pointer || "").split("/").filter(Boolean);
  return parts[0] === "auth" ? parts[1] : parts[0];
}

function markFields(form, error) {
  if (!(error instanceof ApiError)) return;
  for (const detail of error.errors) {
    const name = fieldName(detail.source);
    const control = name && form.elements.namedItem(name);
    if (!(control instanceof HTMLElement)) continue;
    const note = document.getElementById(`${control.id}-error`);
    note.textContent = note.hidden ? detail.message : `${note.textContent}; ${detail.message}`;
    note.hidden = false;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", describedBy(control, note.id, true));
  }
}

function clearErrors(form) {
  for (const note of form.querySelectorAll(".field-error")) {
    const control = document.getElementById(note.id.replace(/-error$/, ""));
    note.hidden = true;
    note.textContent = "";
    control.removeAttribute("aria-invalid");
    const rest = describedBy(control, note.id, false);
    if (rest) control.setAttribute("aria-describedby", rest);
    else control.removeAttribute("aria-describedby");
  }
}

// The control's aria-describedby with `id` added or taken out (a hint stays).
function describedBy(control, id, add) {
  const ids = (control.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== id);
  return (add ? [...ids, id] : ids).join(" ");
}

// --- the verdict --------------------------------------------------------------------------

function verdictView(result, { context }) {
  const labels = new Map(context.groups.map((g) => [g.name, g.label]));
  return [
    h("h2", {}, "Verdict"),
    h("p", { class: "muted" }, `Settings version ${result.settings_version}`),
    result.recipients.map((recipient) => recipientView(recipient, labels)),
    linksView(result.links),
    result.body_truncated
      ? h("p", { class: "note" }, "The body was longer than the engine reads: only its beginning was checked.")
      : null,
  ];
}

// "#/block_senders/ID": the entry's page in the console.
const entryHref = (resource, id) => `#/${encodeURIComponent(resource)}/${encodeURIComponent(id)}`;

function recipientView(recipient, labels) {
  const disposition = recipient.disposition;
  const facts = [
    // The protected domain's id: a link to it (its name is on its page).
    ["Protected domain", recipient.protected_domain
      ? h("a", { href: entryHref("domains", recipient.protected_domain) }, recipient.protected_domain)
      : "None"],
    ["Disposition", h("span", { class: `badge disposition disposition-${disposition.toLowerCase()}` }, disposition)],
    ["Action", h("span", { class: `action action-${recipient.action}` }, recipient.action)],
    ["Attributes", display(recipient.attributes)],
    ["Links rewritten", display(recipient.rewrite_links)],
    ["Client IP", display(recipient.client_ip)],
  ];
  return h("article", { class: "recipient-verdict" },
    h("h3", {}, recipient.recipient),
    h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    matchesView(recipient.matches, labels));
}

function matchesView(matches, labels) {
  if (!matches.length) return h("p", { class: "muted" }, "No settings entry matched.");
  const rows = matches.map((match) => h("tr", {},
    h("td", {}, labels.get(match.resource) || match.resource),
    h("td", {}, h("a", { href: entryHref(match.resource, match.id) }, match.pattern)),
    h("td", {}, match.field),
    h("td", {}, display(match.honored)),
    h("td", {}, match.reason)));
  return table(h("caption", {}, "Matches"), ["Resource", "Pattern", "Field", "Honoured", "Reason"], rows);
}

function linksView(links) {
  const heading = h("h3", { id: uid("links") }, "Links");
  if (!links.length) return [heading, h("p", { class: "muted" }, "No links found")];
  const rows = links.map((link) => h("tr", {},
    // The message's URL is untrusted: text only, never something to click.
    h("td", { class: "url" }, link.url),
    h("td", {}, display(link.rewrite)),
    h("td", {}, link.ignored_by
      ? h("a", { href: entryHref("url_ignore_patterns", link.ignored_by.id) }, link.ignored_by.pattern)
      : "—")));
  return [heading, table(null, ["URL", "Rewritten", "Ignored by"], rows, heading.id)];
}

// A table named by its caption, or by a heading above it.
function table(caption, headings, rows, labelledBy) {
  return h("div", { class: "table-wrap" },
    h("table", { "aria-labelledby": labelledBy },
      caption,
      h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows)));
}
