// The federation links' status in the bar (GET /api/v1/federation, every few seconds):
// how many links are up, and per link its state, how far the partner is behind, what was
// sent, received and refused.
import { apiFetch } from "/static/auth.js";

const POLL_MS = 5000;

export function describeLink(link) {
  const up = link.connected || link.inbound_connections > 0;
  const last = link.last_ack_at ? new Date(link.last_ack_at).toLocaleTimeString() : "never";
  return (
    `${link.name}${link.peer_node ? ` (${link.peer_node})` : ""}: ${up ? "up" : link.state}, ` +
    `${link.behind} behind, ${link.acked} sent, ${link.received} received, ` +
    `${link.refused_above_ceiling} refused above the ceiling, last acknowledged ${last}` +
    (link.last_error ? `; last error: ${link.last_error}` : "")
  );
}

export function watchFederation(element) {
  let timer = null;
  async function poll() {
    try {
      const response = await apiFetch("/api/v1/federation");
      // Signed out (the next sign-in starts again), or not an operator: links stay unseen.
      if (response.status === 401 || response.status === 403) return;
      if (response.ok) {
        const { links } = await response.json();
        element.hidden = links.length === 0;
        const up = links.filter((link) => link.connected || link.inbound_connections > 0).length;
        element.textContent = `links ${up}/${links.length}`;
        element.className = `status ${up === links.length ? "connected" : "reconnecting"}`;
        element.title = links.map(describeLink).join("\n");
      }
    } catch {
      // The connection indicator already says the server cannot be reached.
    }
    timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => clearTimeout(timer);
}
