// Export: the current picture as NVG, GeoJSON, KML or KMZ. A plain link cannot carry the
// bearer token, so the file is fetched with it and saved from a Blob URL.
import { apiFetch } from "/static/auth.js";

const $ = (id) => document.getElementById(id);
// Long enough for the browser to start saving; then the Blob is let go.
const REVOKE_AFTER_MS = 60000;

function status(text) {
  $("export-status").textContent = text;
}

function setMenu(open) {
  $("export-menu").hidden = !open;
  $("export-button").setAttribute("aria-expanded", String(open));
}

function fileName(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const match = /filename="?([^";]+)"?/i.exec(disposition);
  return match ? match[1] : fallback;
}

async function download(picture, format) {
  status(`exporting ${format.toUpperCase()}…`);
  $("export-button").disabled = true;
  try {
    const query = new URLSearchParams({ picture, format });
    let response;
    try {
      response = await apiFetch(`/api/v1/export?${query}`);
    } catch {
      status("export failed: the server cannot be reached");
      return;
    }
    if (!response.ok) {
      let reason = "";
      try {
        reason = (await response.json()).error ?? "";
      } catch {
        reason = "";
      }
      status(`export failed (${response.status}${reason ? `: ${reason}` : ""})`);
      return;
    }
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName(response, `${picture}.${format}`);
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
    status("");
  } finally {
    $("export-button").disabled = false;
  }
}

// `picture()` gives the picture shown now (null when there is none).
export function setUpExport(picture) {
  $("export-button").addEventListener("click", () => setMenu($("export-menu").hidden));
  for (const item of $("export-menu").querySelectorAll("[data-format]")) {
    item.addEventListener("click", () => {
      setMenu(false);
      const name = picture();
      if (name) download(name, item.dataset.format);
    });
  }
  document.addEventListener("click", (event) => {
    if (!$("export").contains(event.target)) setMenu(false);
  });
  $("export").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      setMenu(false);
      $("export-button").focus();
    }
  });
}
