// A field's value between the API and a form control, by the kind groups.json gives it.

// datetime-local shows local time without a zone; the API wants an instant with one.
export function localInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function instant(local) {
  return local ? new Date(local).toISOString() : null;
}

export const lines = (text) => text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);

// What the form holds for `field`, as the API takes it.
export function fromControl(field, control) {
  switch (field.kind) {
    case "boolean":
      return control.checked;
    case "choices":
      return [...control.querySelectorAll("input:checked")].map((box) => box.value);
    case "lines":
      return lines(control.value);
    case "integer":
      return control.value === "" ? null : Number(control.value);
    case "instant":
      return instant(control.value);
    default: // choice, line, text
      return control.value === "" && field.nullable ? null : control.value;
  }
}

export function toControl(field, control, value) {
  switch (field.kind) {
    case "boolean":
      control.checked = Boolean(value);
      break;
    case "choices":
      for (const box of control.querySelectorAll("input")) box.checked = (value || []).includes(box.value);
      break;
    case "lines":
      control.value = (value || []).join("\n");
      break;
    case "instant":
      control.value = localInput(value);
      break;
    default:
      control.value = value === null || value === undefined ? "" : String(value);
  }
}
