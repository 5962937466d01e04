// Builds elements from data. Every value becomes text or an attribute, never markup: a
// comment like <img src=x onerror=alert(1)> shows as those characters.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

// A unique id for tying a label to its control.
let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// "Loading…" while `work` runs; the page's live region announces it.
export function status(text) {
  return h("p", { class: "status", role: "status" }, text);
}

// Errors go in an alert: read out at once, and found by tests and assistive technology.
export function alertBox(messages) {
  const list = Array.isArray(messages) ? messages : [messages];
  return h("div", { class: "alert", role: "alert" },
    list.length === 1 ? list[0] : h("ul", {}, list.map((message) => h("li", {}, message))));
}

// An instant for people, in their time zone; the ISO text stays in the title.
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return h("time", { datetime: iso, title: iso }, date.toLocaleString());
}

// A value of an entry as text: lists joined, booleans as Yes/No, nothing as a dash.
export function display(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// A modal dialog; resolves true when `confirm` is chosen, false on cancel or Escape.
export function confirmDialog(title, text, confirmLabel) {
  return new Promise((resolve) => {
    const heading = uid("dialog-title");
    const dialog = h("dialog", { "aria-labelledby": heading },
      h("h2", { id: heading }, title),
      h("p", {}, text),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: () => done(true) }, confirmLabel),
        h("button", { type: "button", onclick: () => done(false) }, "Cancel")));
    function done(value) {
      dialog.close();
      dialog.remove();
      resolve(value);
    }
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
