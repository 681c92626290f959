// Signing in: the bearer token kept for this tab, and fetch with it.
//
// The token lives in sessionStorage: it belongs to this tab, survives a reload and is gone
// when the tab closes. It is never written anywhere that lasts (no localStorage, no cookie).
const KEY = "tessera.token";

export const SESSION_ENDED = "your session has ended: sign in again";

// Other pages of this origin (the API docs) ask the signed-in map for its token here; see docs.js.
export const CHANNEL = "tessera.auth";

let sessionEnded = () => {};

export function storedToken() {
  return sessionStorage.getItem(KEY);
}

export function keepToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

// What to do when the server no longer accepts the token (a 401 from any call).
export function onSessionEnded(handler) {
  sessionEnded = handler;
}

// fetch with the bearer token. A 401 ends the session (the handler shows the login screen);
// the response is returned either way, so callers only check `response.ok`.
export async function apiFetch(path, options = {}) {
  const headers = new Headers(options.headers);
  const token = storedToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) sessionEnded(SESSION_ENDED);
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return typeof body.error === "string" ? body.error : "";
  } catch {
    return "";
  }
}

// POST /api/v1/login. Resolves to {ok: true, session} or {ok: false, message} saying why not.
export async function login(token) {
  let response;
  try {
    response = await fetch("/api/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
  } catch {
    return { ok: false, message: "The server cannot be reached: try again in a moment." };
  }
  if (response.ok) return { ok: true, session: await response.json() };
  const reason = await errorText(response);
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    const when = wait ? `in ${wait} s` : "later";
    return { ok: false, message: `Too many failed sign-ins from this address: try again ${when}.` };
  }
  if (response.status === 401) {
    return { ok: false, message: `That token was not accepted${reason ? ` (${reason})` : ""}.` };
  }
  return { ok: false, message: `Sign-in failed (${response.status}${reason ? `: ${reason}` : ""}).` };
}
