// Creating, replacing and deleting overlays: /api/v1/overlays.
//
// Each call resolves to {ok, status, body, message}: `body` is the JSON answer (if any) and
// `message` says in a sentence why it failed. A network failure is status 0.
import { apiFetch } from "/static/auth.js";

async function call(path, options) {
  let response;
  try {
    response = await apiFetch(path, options);
  } catch {
    return { ok: false, status: 0, body: null, message: "The server cannot be reached: try again." };
  }
  let body = null;
  if (response.status !== 204) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  const reason = typeof body?.error === "string" ? body.error : "";
  const message = response.ok
    ? ""
    : `The server answered ${response.status}${reason ? `: ${reason}` : ""}.`;
  return { ok: response.ok, status: response.status, body, message };
}

function json(method, body, headers = {}) {
  return {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

// A retry with the same key is stored once (the server's Idempotency-Key).
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function createOverlay(body, idempotencyKey) {
  return call("/api/v1/overlays", json("POST", body, { "Idempotency-Key": idempotencyKey }));
}

export function replaceOverlay(picture, id, body) {
  const query = new URLSearchParams({ picture });
  return call(`/api/v1/overlays/${encodeURIComponent(id)}?${query}`, json("PUT", body));
}

export function deleteOverlay(picture, id) {
  const query = new URLSearchParams({ picture });
  return call(`/api/v1/overlays/${encodeURIComponent(id)}?${query}`, { method: "DELETE" });
}
