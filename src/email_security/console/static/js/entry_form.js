// The dialog that adds an entry to a group or edits one, with the API's own errors beside
// the fields they are about.

import { call, settingsPath } from "./api.js";
import { alertBox, clear, h, uid } from "./dom.js";
import { fromControl, toControl } from "./values.js";

function control(field, id, describedBy) {
  const common = { id, name: field.name, "aria-describedby": describedBy, "aria-required": field.needed ? "true" : null };
  switch (field.kind) {
    case "boolean":
      return h("input", { ...common, type: "checkbox" });
    case "choice":
      return h("select", common,
        field.required ? null : h("option", { value: "" }, "None"),
        field.choices.map((choice) => h("option", { value: choice }, choice)));
    case "choices":
      return h("div", { id, class: "choices" }, field.choices.map((choice) => {
        const box = uid("choice");
        return h("span", { class: "choice" },
          h("input", { type: "checkbox", id: box, value: choice }),
          h("label", { for: box }, choice));
      }));
    case "lines":
      return h("textarea", { ...common, rows: 3, spellcheck: "false" });
    case "text":
      return h("textarea", { ...common, rows: 3, maxlength: field.max_length });
    case "integer":
      return h("input", { ...common, type: "number", step: 1, min: field.minimum, max: field.maximum });
    case "instant":
      return h("input", { ...common, type: "datetime-local" });
    default:
      return h("input", { ...common, type: "text", maxlength: field.max_length, spellcheck: "false" });
  }
}

// One field: its label (a legend for a set of choices), control, help and error slot.
function fieldRow(given, disabled) {
  // A list may be left empty unless it needs items; a checkbox is always an answer.
  const needed = given.required && given.kind !== "boolean" && (!["lines", "choices"].includes(given.kind) || given.min_items);
  const field = { ...given, needed };
  const id = uid(field.name);
  const help = field.kind === "lines" ? `${field.help ? `${field.help}. ` : ""}One per line.`
    : field.kind === "instant" ? "Leave empty: never expires." : field.help;
  const helpId = help ? `${id}-help` : null;
  const errorId = `${id}-error`;
  const describedBy = [helpId, errorId].filter(Boolean).join(" ");
  const input = control(field, id, describedBy);
  const error = h("p", { id: errorId, class: "field-error" });
  const helpText = help ? h("p", { id: helpId, class: "help" }, help) : null;
  const required = needed ? h("span", { class: "required", "aria-hidden": "true" }, "(required)") : null;
  let row;
  if (field.kind === "choices") {
    row = h("fieldset", { class: "field", "aria-describedby": describedBy },
      h("legend", {}, field.label), input, helpText, error);
    if (disabled) row.disabled = true;
  } else if (field.kind === "boolean") {
    row = h("div", { class: "field check" }, input, h("label", { for: id }, field.label), helpText, error);
  } else {
    // The marker stays outside the label: the control's name is the field's name alone.
    row = h("div", { class: "field" },
      h("div", { class: "label-row" }, h("label", { for: id }, field.label), required), input, helpText, error);
  }
  if (disabled) input.disabled = true;
  return { field, row, input, error };
}

// "/posts/0/pattern" or "/ip_restrictions/2" → the field the error is about.
function pointedField(error) {
  const pointer = error.source?.pointer;
  return pointer ? pointer.split("/")[1] : null;
}

function showErrors(rows, problem, errors) {
  for (const { input, error } of rows) {
    clear(error);
    input.removeAttribute("aria-invalid");
  }
  const messages = [];
  for (const error of errors) {
    const row = rows.find((candidate) => candidate.field.name === pointedField(error));
    if (row) {
      // Beside the field, its name is said already: "pattern: 'x' is not..." → "'x' is not..."
      row.error.append(error.message.replace(new RegExp(`^${row.field.name}(\\.\\d+)?: `), ""));
      row.input.setAttribute("aria-invalid", "true");
    }
    messages.push(error.message);
  }
  clear(problem).append(alertBox(messages));
}

// Opens the form; resolves to the saved entry, or null when closed without saving.
// `entry` null: a new entry. `readOnly`: the entry's values, nothing to change.
export function entryDialog(group, entry, { readOnly = false } = {}) {
  return new Promise((resolve) => {
    const editing = Boolean(entry);
    const titleId = uid("form-title");
    const verb = readOnly ? "" : editing ? "Edit " : "Add ";
    const title = `${verb}${group.title}`;
    const rows = group.fields.map((field) => fieldRow(field, readOnly || (editing && !field.editable)));
    const problem = h("div", { class: "problem" });
    const buttons = readOnly
      ? [h("button", { type: "button", onclick: () => done(null) }, "Close")]
      : [h("button", { type: "submit", class: "primary" }, "Save"),
         h("button", { type: "button", onclick: () => done(null) }, "Cancel")];
    const form = h("form", { class: "entry-form", novalidate: true },
      h("h2", { id: titleId }, title.charAt(0).toUpperCase() + title.slice(1)),
      h("div", { class: "grid" }, rows.map(({ row }) => row)),
      problem,
      h("div", { class: "actions" }, buttons));
    const dialog = h("dialog", { "aria-labelledby": titleId, class: "wide" }, form);
    if (editing) for (const { field, input } of rows) toControl(field, input, entry[field.name]);
    const read = () => Object.fromEntries(rows.map(({ field, input }) => [field.name, fromControl(field, input)]));
    const initial = read();

    function done(saved) {
      dialog.close();
      dialog.remove();
      resolve(saved);
    }
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); done(null); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = read();
      // An edit sends what changed only: fields the entry's state forbids stay untouched.
      const body = editing
        ? Object.fromEntries(Object.entries(values).filter(
          ([name, value]) => JSON.stringify(value) !== JSON.stringify(initial[name])))
        : Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null));
      if (editing && !Object.keys(body).length) return done(entry);
      const save = form.querySelector("button[type=submit]");
      save.disabled = true;
      try {
        const answer = editing
          ? await call("PATCH", settingsPath(group.name, entry.id), { json: body })
          : await call("POST", settingsPath(group.name), { json: body });
        done(answer.result);
      } catch (error) {
        showErrors(rows, problem, error.errors || [{ message: error.message }]);
        save.disabled = false;
      }
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
