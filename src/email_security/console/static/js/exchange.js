// A group's export (a file download) and import (a CSV or JSON Lines file, all or nothing).

import { ApiError, call, request, settingsPath } from "./api.js";
import { alertBox, h, uid } from "./dom.js";

const FORMATS = [["csv", "Export CSV"], ["jsonl", "Export JSON Lines"]];
const MEDIA_TYPES = { csv: "text/csv", jsonl: "application/x-ndjson" };

// The download needs the token, which a plain link could not send: fetch it, then save it.
async function download(group, format, onError) {
  const response = await request("GET", `${settingsPath(group.name)}/export`, { params: { format } });
  if (!response.ok) {
    const envelope = await response.json().catch(() => null);
    onError(alertBox(envelope?.errors?.map((e) => e.message) || `HTTP ${response.status}`));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `${group.name}.${format}`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function importForm(group, onImported, onError) {
  const id = uid("import");
  const file = h("input", { id, type: "file", name: "file", accept: ".csv,.jsonl,.ndjson,text/csv,application/x-ndjson", required: true });
  const form = h("form", { class: "import", "aria-label": `Import ${group.label.toLowerCase()}` },
    h("div", { class: "field" }, h("label", { for: id }, "Import file"), file),
    h("button", { type: "submit" }, "Import"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      onError(alertBox("Choose a CSV or JSON Lines file to import"));
      return;
    }
    const format = /\.csv$/i.test(chosen.name) || chosen.type === "text/csv" ? "csv" : "jsonl";
    try {
      const answer = await call("POST", `${settingsPath(group.name)}/import`, {
        body: await chosen.arrayBuffer(), contentType: MEDIA_TYPES[format],
      });
      form.reset();
      onImported(answer.result.created);
    } catch (error) {
      const messages = error instanceof ApiError ? error.errors.map((e) => e.message) : [error.message];
      onError(alertBox([`Nothing was imported from ${chosen.name}:`, ...messages]));
    }
  });
  return form;
}

export function exchangeTools(group, { readOnly, onImported, onError }) {
  return h("div", { class: "exchange" },
    FORMATS.map(([format, label]) =>
      h("button", { type: "button", onclick: () => download(group, format, onError) }, label)),
    readOnly ? null : importForm(group, onImported, onError));
}
