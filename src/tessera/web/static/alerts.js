// The alerts panel: the picture's open alerts (live from the stream's `alerts` messages),
// acknowledging one, a sound on each new one (muted by a box, remembered), and the
// picture's alert rules: made here by operators and administrators, listed for everyone.
import { apiFetch } from "/static/auth.js";
import { labelText } from "/static/panel.js";

const $ = (id) => document.getElementById(id);
const MUTED_KEY = "tessera.alerts.muted";
const RULE_EDITORS = ["operator", "admin"];
const AREA_KINDS = ["enter", "leave", "dwell", "new-imagery"];
// What each kind asks for beyond its name: the field and its label.
const NUMBERS = {
  dwell: ["dwell_s", "Dwell (s)"],
  proximity: ["distance_km", "Distance (km)"],
  lost: ["lost_after_s", "Lost after (s)"],
  "satellite-pass": ["lead_s", "Warn ahead (s)"],
};

export class AlertPanel {
  // `areas()` gives the picture's overlays that can be an alert's area: [{id, name}].
  constructor({ areas }) {
    this.areas = areas;
    this.picture = null;
    this.alerts = new Map();
    this.generation = 0;
    this.audio = null;
    this.editor = false;
    $("alert-mute").checked = localStorage.getItem(MUTED_KEY) === "1";
    $("alert-mute").addEventListener("change", () => {
      localStorage.setItem(MUTED_KEY, $("alert-mute").checked ? "1" : "0");
    });
    $("alert-rule-kind").addEventListener("change", () => this.showRuleFields());
    // The picture's areas change as they are drawn: listed afresh when the form is used.
    $("alert-rule-form").addEventListener("focusin", () => this.showRuleFields());
    $("alert-rule-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.makeRule();
    });
    this.showRuleFields();
  }

  // A new picture (or none): its alerts and rules, nothing of the previous one.
  async reset(picture, account) {
    const generation = ++this.generation;
    this.picture = picture;
    this.alerts = new Map();
    this.render();
    this.editor = Boolean(account?.roles?.some((role) => RULE_EDITORS.includes(role)));
    $("alert-rule-form").hidden = !this.editor;
    $("alert-rule-list").replaceChildren();
    if (!picture) return;
    const query = new URLSearchParams({ picture });
    const response = await apiFetch(`/api/v1/alerts?${query}`);
    if (!response.ok || generation !== this.generation) return;
    for (const alert of (await response.json()).alerts) this.alerts.set(alert.id, alert);
    this.render();
    await this.loadRules(generation);
  }

  // The stream's `alerts` message.
  receive(message) {
    if (message.picture !== this.picture) return;
    let raised = false;
    for (const notice of message.notices) {
      this.alerts.set(notice.alert.id, notice.alert);
      raised ||= notice.event === "raised";
    }
    this.render();
    if (raised) this.sound();
  }

  sound() {
    if ($("alert-mute").checked) return;
    try {
      this.audio ??= new AudioContext();
      const tone = this.audio.createOscillator();
      const gain = this.audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.1;
      tone.connect(gain).connect(this.audio.destination);
      tone.start();
      tone.stop(this.audio.currentTime + 0.25);
      document.body.dataset.alertSounds = String(Number(document.body.dataset.alertSounds ?? 0) + 1);
    } catch (error) {
      console.warn("alert sound:", error);
    }
  }

  render() {
    const open = [...this.alerts.values()]
      .filter((alert) => !alert.cleared_at)
      .sort((a, b) => b.raised_at.localeCompare(a.raised_at));
    const list = $("alert-list");
    list.replaceChildren();
    for (const alert of open) list.appendChild(this.item(alert));
    $("alert-count").textContent = String(open.length);
    $("alert-count").classList.toggle("unacknowledged", open.some((a) => !a.acknowledged_at));
    $("alert-empty").hidden = open.length > 0;
  }

  item(alert) {
    const item = document.createElement("li");
    item.dataset.alertId = alert.id;
    item.className = alert.acknowledged_at ? "acknowledged" : "new";
    const title = document.createElement("strong");
    title.textContent = `${alert.title}: ${alert.track_name ?? alert.track_id}`;
    const about = document.createElement("small");
    const when = new Date(alert.raised_at).toISOString().slice(11, 19);
    about.textContent = `${when}Z · ${alert.detail} · ${labelText(
      alert.label.classification,
      alert.label.releasable_to,
    )}`;
    item.append(title, about);
    if (alert.acknowledged_at) {
      const by = document.createElement("small");
      by.className = "alert-acknowledged";
      by.textContent = `acknowledged by ${alert.acknowledged_by}`;
      item.appendChild(by);
    } else {
      const ack = document.createElement("button");
      ack.type = "button";
      ack.className = "alert-ack";
      ack.textContent = "Acknowledge";
      ack.addEventListener("click", () => this.acknowledge(alert.id));
      item.appendChild(ack);
    }
    return item;
  }

  async acknowledge(id) {
    const response = await apiFetch(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    if (!response.ok) return;
    const alert = await response.json();
    this.alerts.set(alert.id, alert);
    this.render();
  }

  // ---- rules --------------------------------------------------------------------------------

  async loadRules(generation) {
    const query = new URLSearchParams({ picture: this.picture });
    const response = await apiFetch(`/api/v1/alert-rules?${query}`);
    if (!response.ok || generation !== this.generation) return;
    const list = $("alert-rule-list");
    list.replaceChildren();
    for (const rule of (await response.json()).rules) {
      const item = document.createElement("li");
      item.dataset.ruleId = rule.id;
      item.textContent = `${rule.name || rule.id} (${rule.kind})${rule.read_only ? " · settings" : ""}`;
      if (this.editor && !rule.read_only) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "alert-rule-delete";
        remove.textContent = "×";
        remove.title = "Delete this rule (its open alerts are cleared)";
        remove.addEventListener("click", () => this.deleteRule(rule.id));
        item.appendChild(remove);
      }
      list.appendChild(item);
    }
  }

  async deleteRule(id) {
    const response = await apiFetch(`/api/v1/alert-rules/${encodeURIComponent(id)}`, {
      method: "DELETE",
    });
    if (response.ok) await this.loadRules(this.generation);
  }

  showRuleFields() {
    const kind = $("alert-rule-kind").value;
    $("alert-rule-area-row").hidden = !AREA_KINDS.includes(kind);
    const number = NUMBERS[kind];
    $("alert-rule-number-row").hidden = !number;
    if (number) $("alert-rule-number-label").textContent = number[1];
    const select = $("alert-rule-area");
    const chosen = select.value;
    select.replaceChildren();
    for (const area of this.areas()) {
      const option = document.createElement("option");
      option.value = area.id;
      option.textContent = area.name;
      select.appendChild(option);
    }
    if (chosen) select.value = chosen;
  }

  async makeRule() {
    const kind = $("alert-rule-kind").value;
    const rule = { kind, picture: this.picture, name: $("alert-rule-name").value.trim() };
    if (AREA_KINDS.includes(kind)) rule.area = $("alert-rule-area").value || null;
    if (NUMBERS[kind]) rule[NUMBERS[kind][0]] = Number($("alert-rule-number").value);
    const response = await apiFetch("/api/v1/alert-rules", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(rule),
    });
    const message = $("alert-rule-message");
    if (response.ok) {
      message.hidden = true;
      $("alert-rule-name").value = "";
      await this.loadRules(this.generation);
      return;
    }
    const body = await response.json().catch(() => ({}));
    const errors = (body.errors ?? []).map((e) => `${e.field}: ${e.reason}`);
    message.textContent = errors.join("; ") || body.error || `refused (${response.status})`;
    message.hidden = false;
  }
}
