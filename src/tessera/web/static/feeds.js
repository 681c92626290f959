// The sensor feeds' status in the bar (GET /api/v1/feeds, every few seconds): how many
// are connected, and per feed its state, messages per second, errors and last message.
import { apiFetch } from "/static/auth.js";

const POLL_MS = 5000;

export function describeFeed(feed) {
  const last = feed.last_message_at ? new Date(feed.last_message_at).toLocaleTimeString() : "never";
  const problems = Object.entries(feed.problems || {})
    .map(([kind, count]) => `${kind} ×${count}`)
    .join(", ");
  return (
    `${feed.name} (${feed.kind}): ${feed.state}, ${feed.messages_per_s} msg/s, ` +
    `${feed.errors} errors${problems ? ` (${problems})` : ""}, last message ${last}` +
    (feed.last_error ? `; last error: ${feed.last_error}` : "")
  );
}

export function watchFeeds(element) {
  let timer = null;
  async function poll() {
    try {
      const response = await apiFetch("/api/v1/feeds");
      if (response.status === 401) return; // signed out: the next sign-in starts again
      if (response.ok) {
        const { feeds } = await response.json();
        element.hidden = feeds.length === 0;
        const connected = feeds.filter((feed) => feed.connected).length;
        element.textContent = `feeds ${connected}/${feeds.length}`;
        element.className = `status ${connected === feeds.length ? "connected" : "reconnecting"}`;
        element.title = feeds.map(describeFeed).join("\n");
      }
    } catch {
      // The connection indicator already says the server cannot be reached.
    }
    timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => clearTimeout(timer);
}
