// The public API, /client/v4, with the signed-in token. The token lives in this tab's
// sessionStorage only and travels only in the Authorization header.

const API = "/client/v4";
const KEY = "email-security-console";
// Sent on `window` when the signed-in token is refused: the shell signs out.
export const SESSION_ENDED = "email-security-session-ended";

export function session() {
  const saved = sessionStorage.getItem(KEY);
  return saved ? JSON.parse(saved) : null;
}

export function saveSession(value) {
  sessionStorage.setItem(KEY, JSON.stringify(value));
}

export function forgetSession() {
  sessionStorage.removeItem(KEY);
}

// An answer that is not a success: its envelope's errors, each with `message` and, where
// it is about one field, `source.pointer` (body) or `source.parameter` (query).
export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((error) => error.message).join("; ") || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, item);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// `path` is under the account: "/email-security/settings/block_senders".
export async function request(method, path, { params, json, body, contentType, credentials } = {}) {
  const signedIn = credentials || session();
  const headers = { Authorization: `Bearer ${signedIn.token}` };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  const url = `${API}/accounts/${encodeURIComponent(signedIn.account)}${path}${query(params)}`;
  let response;
  try {
    response = await fetch(url, { method, headers, body, cache: "no-store" });
  } catch {
    throw new ApiError(0, [{ message: "The server cannot be reached" }]);
  }
  if (response.status === 401 && !credentials) window.dispatchEvent(new Event(SESSION_ENDED));
  return response;
}

// A request whose answer is the JSON envelope: resolves to it, or throws ApiError.
export async function call(method, path, options) {
  const response = await request(method, path, options);
  let envelope = null;
  try {
    envelope = await response.json();
  } catch {
    envelope = null;
  }
  if (!response.ok || !envelope || envelope.success === false) {
    const errors = envelope?.errors?.length ? envelope.errors : [{ message: `HTTP ${response.status}` }];
    throw new ApiError(response.status, errors);
  }
  return envelope;
}

export const settingsPath = (group, id) =>
  `/email-security/settings/${group}${id ? `/${encodeURIComponent(id)}` : ""}`;
