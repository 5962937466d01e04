// The audit log (#/audit_log): every change to a settings entry, newest first, and a way to
// undo one. Filters and the page number live in the address, so back, forward and reload
// show the same records.

import { ApiError, call } from "./api.js";
import { alertBox, append, clear, confirmDialog, display, h, status, uid, when } from "./dom.js";

const LOG = "/email-security/audit_log";
const FILTERS = ["resource", "action", "entry_id", "actor", "since", "until"];
// The API's action names, and how a person reads them.
const ACTIONS = { create: "created", update: "updated", delete: "deleted" };
// Bookkeeping every update touches: listing it would hide the change itself.
const BOOKKEEPING = new Set(["modified_at", "last_modified"]);

export async function render(main, context) {
  const view = {
    context,
    // Focus lands here after a revert: the row's button is gone with the old table.
    notice: h("div", { class: "notice audit-notice", tabindex: "-1" }),
    results: h("div", { class: "audit-results" }, status("Loading…")),
  };
  view.form = filterForm(view);
  main.append(
    h("h1", {}, "Audit log"),
    h("p", { class: "muted" }, "Every change to a settings entry, newest first."),
    view.form, view.notice, view.results);
  await refresh(view);
}

// The records again, the page around them kept: first, after a revert (its notice then
// replaces "Reverting…", so one status at a time), or on an Apply that changes nothing.
async function refresh(view, notice = null) {
  const { context, form, results } = view;
  let answer;
  try {
    answer = await call("GET", LOG, { params: query(context.params) });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401 || !context.current()) throw error;
    append(clear(view.notice), [notice]); // a revert that was done stays said
    clear(results).append(alertBox(error.errors.map((e) => e.message)));
    markFilters(form, error);
    return;
  }
  if (!context.current()) return;
  unmarkFilters(form);
  append(clear(view.notice), [notice]);
  append(clear(results), [recordsView(answer, view)]);
}

// The hash's parameters the API knows, with the page (1 unless the address says).
function query(params) {
  const out = { page: params.get("page") || 1 };
  if (params.get("per_page")) out.per_page = params.get("per_page");
  for (const name of FILTERS) if (params.get(name)) out[name] = params.get(name);
  return out;
}

// A refresh started by a click: its errors shown here, as main.js only sees render's.
function refreshFromEvent(view, notice) {
  return refresh(view, notice).catch((error) => {
    if (view.context.current()) clear(view.results).append(alertBox(error.message));
  });
}

// --- filters ------------------------------------------------------------------------------

function control(label, element) {
  element.id = uid("audit");
  return h("div", { class: "field" }, h("label", { for: element.id }, label), element);
}

function options(choices, chosen) {
  return choices.map(([value, text]) => h("option", { value, selected: value === chosen }, text));
}

function filterForm(view) {
  const { context } = view;
  const params = context.params;
  const groups = context.groups.map((g) => [g.name, g.label]);
  const form = h("form", { class: "toolbar audit-filters", "aria-label": "Filters", novalidate: true },
    control("Resource", h("select", { name: "resource" },
      options([["", "Any"], ...groups], params.get("resource") || ""))),
    control("Action", h("select", { name: "action" },
      options([["", "Any"], ...Object.entries(ACTIONS)], params.get("action") || ""))),
    control("Entry ID", h("input", { name: "entry_id", value: params.get("entry_id") || "", spellcheck: "false" })),
    control("Actor", h("input", {
      name: "actor", value: params.get("actor") || "", spellcheck: "false", placeholder: "a token ID",
    })),
    control("Since", h("input", { name: "since", type: "datetime-local", value: localInput(params.get("since")) })),
    control("Until", h("input", { name: "until", type: "datetime-local", value: localInput(params.get("until")) })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = filterParams(new FormData(form), params);
    if (next.toString() !== params.toString()) context.navigate("audit_log", { params: next });
    else {
      clear(view.results).append(status("Loading…"));
      refreshFromEvent(view);
    }
  });
  return form;
}

// The form's filters as the hash's query; a new filter starts again at page 1.
function filterParams(data, current) {
  const next = new URLSearchParams();
  for (const name of FILTERS) {
    let value = (data.get(name) || "").trim();
    if (value && (name === "since" || name === "until")) value = isoInstant(value);
    if (value) next.set(name, value);
  }
  if (current.get("per_page")) next.set("per_page", current.get("per_page"));
  return next;
}

// A datetime-local value (the person's time zone) as an instant the API reads.
function isoInstant(local) {
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

// An instant as a datetime-local value, in the person's time zone.
function localInput(iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// A filter the API refused is marked, its message beside it.
function markFilters(form, error) {
  unmarkFilters(form);
  for (const detail of error.errors) {
    const element = detail.source?.parameter && form.elements.namedItem(detail.source.parameter);
    if (!(element instanceof HTMLElement)) continue;
    const note = h("span", { class: "field-error", id: `${element.id}-error` }, detail.message);
    element.after(note);
    element.setAttribute("aria-invalid", "true");
    const described = element.getAttribute("aria-describedby");
    element.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
  }
}

function unmarkFilters(form) {
  for (const note of form.querySelectorAll(".field-error")) {
    const element = document.getElementById(note.id.replace(/-error$/, ""));
    const rest = (element.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== note.id);
    if (rest.length) element.setAttribute("aria-describedby", rest.join(" "));
    else element.removeAttribute("aria-describedby");
    element.removeAttribute("aria-invalid");
    note.remove();
  }
}

// --- the records --------------------------------------------------------------------------

function recordsView(answer, view) {
  const { context } = view;
  const info = answer.result_info;
  const records = answer.result;
  if (!info.total_count) {
    const filtered = FILTERS.some((name) => context.params.get(name));
    return [h("p", { class: "empty" }, "No changes recorded"),
      filtered ? h("p", { class: "muted" }, "None match these filters.") : null];
  }
  const labels = new Map(context.groups.map((g) => [g.name, g]));
  const headings = ["When", "Actor", "Action", "Resource", "Entry", "Changes"];
  if (!context.readOnly) headings.push(h("span", { class: "visually-hidden" }, "Revert"));
  const rows = records.map((record) => recordRow(record, labels.get(record.resource), view));
  return [
    records.length
      ? h("div", { class: "table-wrap" },
        h("table", { class: "audit-table" },
          h("caption", { class: "visually-hidden" }, "Changes, newest first"),
          h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
          h("tbody", {}, rows)))
      : h("p", { class: "empty" }, "No changes on this page"),
    pager(info, context),
  ];
}

// The entry's most telling value: its pattern, domain or name (the group's first column).
function headline(record, group) {
  const entry = record.after || record.before || {};
  const first = group?.columns?.[0]?.name;
  return first && entry[first] !== undefined ? display(entry[first]) : "";
}

function actorText(actor) {
  if (actor.kind === "token") return ["token ", h("a", {
    class: "token-id", href: `#/audit_log?actor=${encodeURIComponent(actor.token_id)}`,
    title: `${actor.token_id}: only the changes made with this token`,
  }, actor.token_id)];
  return actor.kind; // "cli" or "expiry"
}

function recordRow(record, group, view) {
  const label = group?.label || record.resource;
  const ids = { action: uid("action"), resource: uid("resource"), entry: uid("entry") };
  const entryHref = `#/${encodeURIComponent(record.resource)}/${encodeURIComponent(record.entry_id)}`;
  const cells = [
    h("td", {}, when(record.at)),
    h("td", {}, actorText(record.actor)),
    h("td", { id: ids.action },
      h("span", { class: `badge audit-${record.action}` }, ACTIONS[record.action] || record.action)),
    h("td", { id: ids.resource },
      record.action === "delete" ? label : h("a", { href: entryHref }, label)),
    h("td", { id: ids.entry },
      h("span", { class: "entry-headline" }, headline(record, group)), " ",
      h("a", {
        class: "entry-id", href: `#/audit_log?entry_id=${encodeURIComponent(record.entry_id)}`,
        title: `${record.entry_id}: only the changes to this entry`,
      }, record.entry_id)),
    h("td", {}, changesView(record, group)),
  ];
  if (!view.context.readOnly) {
    const describedBy = `${ids.action} ${ids.resource} ${ids.entry}`;
    cells.push(h("td", { class: "row-actions" }, h("button", {
      type: "button", "aria-describedby": describedBy,
      onclick: () => revert(record, group, view),
    }, "Revert")));
  }
  return h("tr", {}, cells);
}

// --- what changed -------------------------------------------------------------------------

function words(name) {
  const text = name.replace(/_/g, " ");
  return text[0].toUpperCase() + text.slice(1);
}

function fieldLabel(group, name) {
  const known = [...(group?.fields || []), ...(group?.columns || [])].find((f) => f.name === name);
  return known?.label || words(name);
}

// The field names of an update whose values differ, bookkeeping aside.
function changedFields(before, after) {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) =>
    !BOOKKEEPING.has(name) && JSON.stringify(before[name]) !== JSON.stringify(after[name]));
}

function changesView(record, group) {
  const { before, after } = record;
  let body;
  if (before && after) {
    const names = changedFields(before, after);
    body = names.length
      ? fieldTable(["Field", "Before", "After"],
        names.map((name) => [fieldLabel(group, name), display(before[name]), display(after[name])]))
      : h("p", { class: "muted" }, "No field changed");
  } else {
    const entry = after || before || {};
    // The id is in the Entry column already.
    const names = Object.keys(entry).filter((name) => name !== "id");
    body = fieldTable(["Field", after ? "Value" : "Value before"],
      names.map((name) => [fieldLabel(group, name), display(entry[name])]));
  }
  return h("details", { class: "changes" }, h("summary", {}, "Changes"), body);
}

function fieldTable(headings, rows) {
  return h("table", { class: "changes-table" },
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map(([name, ...values]) =>
      h("tr", {}, h("th", { scope: "row" }, name), values.map((value) => h("td", {}, value))))));
}

// --- reverting ----------------------------------------------------------------------------

function revertText(record, group) {
  const title = group?.title || record.resource;
  const what = headline(record, group);
  const named = what ? `${title} "${what}"` : `${title} ${record.entry_id}`;
  if (record.action === "create") return `The ${named} was created by this change; reverting deletes it.`;
  if (record.action === "delete") return `The ${named} was deleted by this change; reverting restores it with its original ID.`;
  const names = changedFields(record.before, record.after).map((name) => fieldLabel(group, name));
  const fields = names.length ? ` (${names.join(", ")})` : "";
  return `Reverting puts the ${named} back as it was before this change${fields}.`;
}

// What the revert did, in words: the API answers the action it took.
function revertedText(result, group) {
  const title = group?.title || result.resource;
  const done = { create: "restored", update: "changed back", delete: "deleted" }[result.action] || result.action;
  return `The ${title} was ${done}.`;
}

async function revert(record, group, view) {
  const { context } = view;
  const confirmed = await confirmDialog("Revert this change?", revertText(record, group), "Revert");
  if (!confirmed || !context.current()) return;
  const notice = view.notice;
  clear(notice).append(status("Reverting…"));
  try {
    const answer = await call("POST", `${LOG}/${encodeURIComponent(record.id)}/revert`);
    if (!context.current()) return;
    await refreshFromEvent(view, [status("Reverted"), h("p", { class: "muted" }, revertedText(answer.result, group))]);
    if (context.current()) view.notice.focus();
  } catch (error) {
    if (!context.current()) return;
    clear(notice).append(alertBox(error instanceof ApiError ? error.errors.map((e) => e.message) : error.message));
  }
}

// --- paging -------------------------------------------------------------------------------

function pager(info, context) {
  const first = (info.page - 1) * info.per_page + 1;
  const last = first + info.count - 1;
  const range = info.count ? `${first}–${last} of ${info.total_count}` : `0 of ${info.total_count}`;
  const go = (page) => () => {
    const params = new URLSearchParams(context.params);
    if (page > 1) params.set("page", String(page));
    else params.delete("page");
    context.navigate("audit_log", { params });
  };
  return h("nav", { class: "pager", "aria-label": "Pages of changes" },
    h("button", { type: "button", disabled: info.page <= 1, onclick: go(info.page - 1) }, "Previous page"),
    h("span", { class: "range" }, range),
    h("button", {
      type: "button", disabled: info.page * info.per_page >= info.total_count, onclick: go(info.page + 1),
    }, "Next page"));
}
