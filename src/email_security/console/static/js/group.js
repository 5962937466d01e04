// A settings group's page: its entries as a table, searched, filtered, sorted and paged by
// the server, with adding, editing, deleting, import and export.

import { ApiError, call, settingsPath } from "./api.js";
import { alertBox, clear, confirmDialog, display, h, status, uid, when } from "./dom.js";
import { entryDialog } from "./entry_form.js";
import { exchangeTools } from "./exchange.js";
import { instant, lines, localInput } from "./values.js";

const PER_PAGE = ["20", "50", "100"];
const INSTANT_COLUMNS = new Set(["expires_at", "last_hit_at"]);

// What names an entry for people: its first column ("example.com", "bad@evil.example").
const entryName = (group, entry) => display(entry[group.columns[0].name]);

function labelled(label, control) {
  control.id = control.id || uid("filter");
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}

function filterControl(filter, value) {
  if (filter.kind === "boolean" || filter.kind === "choice") {
    const choices = filter.kind === "boolean"
      ? [["true", "Yes"], ["false", "No"]]
      : filter.choices.map((choice) => [choice, choice]);
    return h("select", { name: filter.name },
      h("option", { value: "" }, "Any"),
      choices.map(([key, text]) => h("option", { value: key, selected: key === value }, text)));
  }
  if (filter.kind === "instant") {
    return h("input", { name: filter.name, type: "datetime-local", value: localInput(value) });
  }
  return h("input", { name: filter.name, type: "text", value: value || "", spellcheck: "false" });
}

// A search typed but not yet applied: one at a time, cancelled by any newer page.
let searchTimer = null;

// The filters, search, order and page size; they live in the address (#/group?...).
function queryForm(group, params, apply) {
  const search = h("input", { type: "search", name: "search", value: params.get("search") || "" });
  const controls = group.filters.map((filter) =>
    labelled(filter.label, filterControl(filter, params.getAll(filter.name).join(" "))));
  const order = h("select", { name: "order" }, group.orders.map((o) =>
    h("option", { value: o.name, selected: o.name === (params.get("order") || "created_at") }, o.label)));
  const direction = h("select", { name: "direction" },
    [["asc", "Ascending"], ["desc", "Descending"]].map(([key, text]) =>
      h("option", { value: key, selected: key === (params.get("direction") || "asc") }, text)));
  const perPage = h("select", { name: "per_page" }, PER_PAGE.map((n) =>
    h("option", { value: n, selected: n === (params.get("per_page") || "20") }, n)));
  const form = h("form", { class: "query", role: "search", "aria-label": `Find ${group.label.toLowerCase()}` },
    h("div", { class: "toolbar" },
      labelled("Search", search), ...controls,
      labelled("Sort by", order), labelled("Direction", direction), labelled("Per page", perPage),
      h("div", { class: "actions" },
        h("button", { type: "submit" }, "Apply"),
        h("button", { type: "button", onclick: () => apply(new URLSearchParams()) }, "Reset"))));
  const read = () => {
    const next = new URLSearchParams();
    const data = new FormData(form);
    for (const [name, value] of data) {
      if (value === "" || (name === "order" && value === "created_at") || (name === "direction" && value === "asc")
        || (name === "per_page" && value === "20")) continue;
      const filter = group.filters.find((candidate) => candidate.name === name);
      if (filter?.kind === "instant") next.set(name, instant(value));
      else if (filter?.kind === "lines") for (const item of lines(value.replace(/[\s,]+/g, "\n"))) next.append(name, item);
      else next.set(name, String(value).trim());
    }
    return next;
  };
  // Typing applies the search after a pause; applying sooner cancels that.
  const applyNow = () => { clearTimeout(searchTimer); apply(read()); };
  form.addEventListener("submit", (event) => { event.preventDefault(); applyNow(); });
  for (const select of form.querySelectorAll("select")) select.addEventListener("change", applyNow);
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(applyNow, 400);
  });
  return form;
}

function cell(column, entry) {
  const value = entry[column.name];
  if (INSTANT_COLUMNS.has(column.name)) return h("td", {}, value ? when(value) : "—");
  return h("td", { class: column.name === "hit_count" ? "number" : null }, display(value));
}

function table(group, entries, { readOnly, open, remove, selection }) {
  const selectAll = h("input", { type: "checkbox", "aria-label": "All entries on this page" });
  const boxes = [];
  const rows = entries.map((entry) => {
    const name = entryName(group, entry);
    const box = h("input", { type: "checkbox", "aria-label": `Select ${name}`, value: entry.id });
    box.addEventListener("change", () => {
      if (box.checked) selection.add(entry.id);
      else selection.delete(entry.id);
      selectAll.checked = boxes.every((b) => b.checked);
      selection.changed();
    });
    boxes.push(box);
    const actions = readOnly
      ? [h("button", { type: "button", onclick: () => open(entry), "aria-label": `View ${name}` }, "View")]
      : [h("button", { type: "button", onclick: () => open(entry), "aria-label": `Edit ${name}` }, "Edit"),
         h("button", { type: "button", class: "danger", onclick: () => remove([entry]), "aria-label": `Delete ${name}` }, "Delete")];
    return h("tr", { "data-id": entry.id },
      readOnly ? null : h("td", { class: "select" }, box),
      group.columns.map((column) => cell(column, entry)),
      h("td", { class: "row-actions" }, actions));
  });
  selectAll.addEventListener("change", () => {
    for (const box of boxes) {
      box.checked = selectAll.checked;
      if (box.checked) selection.add(box.value);
      else selection.delete(box.value);
    }
    selection.changed();
  });
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `${group.label} table` },
    h("table", {},
      h("caption", { class: "visually-hidden" }, group.label),
      h("thead", {}, h("tr", {},
        readOnly ? null : h("th", { scope: "col", class: "select" }, selectAll),
        group.columns.map((column) => h("th", { scope: "col" }, column.label)),
        h("th", { scope: "col" }, "Actions"))),
      h("tbody", {}, rows)));
}

function pager(info, go) {
  const first = info.total_count ? (info.page - 1) * info.per_page + 1 : 0;
  const last = (info.page - 1) * info.per_page + info.count;
  const pages = Math.max(1, Math.ceil(info.total_count / info.per_page));
  return h("nav", { class: "pager", "aria-label": "Pages of entries" },
    h("button", { type: "button", disabled: info.page <= 1, onclick: () => go(info.page - 1) }, "Previous page"),
    h("span", { role: "status" }, `${first}–${last} of ${info.total_count}`),
    h("button", { type: "button", disabled: info.page >= pages, onclick: () => go(info.page + 1) }, "Next page"));
}

// Deletes by the route the group has: a batch, a bulk DELETE, or one at a time.
async function deleteEntries(group, ids) {
  if (group.bulk_delete === "batch") {
    const body = Object.fromEntries(group.batch_operations.map((operation) => [operation, []]));
    body.deletes = ids.map((id) => ({ id }));
    await call("POST", `${settingsPath(group.name)}/batch`, { json: body });
  } else if (group.bulk_delete === "list") {
    await call("DELETE", settingsPath(group.name), { json: ids.map((id) => ({ id })) });
  } else {
    for (const id of ids) await call("DELETE", settingsPath(group.name, id));
  }
}

// What a change says ("Deleted"), shown once the page it reloads has been rendered.
let pendingNotice = null;

export async function render(main, context) {
  const { group, params, readOnly } = context;
  clearTimeout(searchTimer);
  const notice = h("div", { class: "notice" });
  const reload = (next = params, said = null) => {
    pendingNotice = said;
    if (next.toString() !== params.toString() || context.id) context.navigate(group.name, { params: next });
    else context.reload();
  };
  const selection = new Set();
  const deleteSelected = h("button", { type: "button", class: "danger", disabled: true }, "Delete selected");
  selection.changed = () => { deleteSelected.disabled = selection.size === 0; };

  async function remove(chosen) {
    const text = chosen.length === 1
      ? `“${entryName(group, chosen[0])}” will be deleted.`
      : `${chosen.length} entries will be deleted.`;
    if (!(await confirmDialog(chosen.length === 1 ? `Delete this ${group.title}?` : `Delete ${chosen.length} entries?`, text, "Delete"))) return;
    try {
      await deleteEntries(group, chosen.map((entry) => entry.id));
      reload(params, chosen.length === 1 ? "Deleted" : `Deleted ${chosen.length} entries`);
    } catch (error) {
      clear(notice).append(alertBox(error.message));
    }
  }

  async function open(entry) {
    const saved = await entryDialog(group, entry, { readOnly });
    if (!context.current()) return; // closed because another page was asked for
    if (saved || context.id) reload(params, saved ? (entry ? "Saved" : "Added") : null);
  }

  const add = readOnly ? null : h("button", { type: "button", class: "primary", onclick: () => open(null) }, `Add ${group.title}`);
  deleteSelected.addEventListener("click", () => remove(entries.filter((entry) => selection.has(entry.id))));
  const body = h("div", { class: "entries" }, status("Loading…"));
  if (pendingNotice) notice.append(status(pendingNotice));
  pendingNotice = null;
  main.append(
    h("h1", {}, group.label),
    h("div", { class: "toolbar top-actions" }, add, readOnly ? null : deleteSelected,
      exchangeTools(group, { readOnly, onImported: (count) => reload(params, `Imported ${count} entries`), onError: (node) => clear(notice).append(node) })),
    notice,
    queryForm(group, params, (next) => reload(next)),
    body);

  const query = Object.fromEntries(params);
  for (const filter of group.filters) if (filter.kind === "lines") query[filter.name] = params.getAll(filter.name);
  let entries = [];
  let answer;
  try {
    answer = await call("GET", settingsPath(group.name), { params: query });
  } catch (error) {
    if (!context.current()) return;
    if (error instanceof ApiError && error.status === 401) throw error;
    clear(body).append(alertBox(error.message));
    return;
  }
  if (!context.current()) return;
  entries = answer.result;
  const goTo = (page) => { const next = new URLSearchParams(params); next.set("page", page); reload(next); };
  clear(body).append(
    entries.length ? table(group, entries, { readOnly, open, remove, selection }) : h("p", { class: "empty" }, "No entries"),
    pager(answer.result_info, goTo));
  if (context.id) {
    try {
      const one = await call("GET", settingsPath(group.name, context.id));
      if (context.current()) open(one.result);
    } catch (error) {
      if (context.current()) clear(notice).append(alertBox(error.message));
    }
  }
}
