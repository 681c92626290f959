// The chat panel: the picture's room (its history on opening, then live from the stream's
// `chat` messages), said in by web users and by TAK users in All Chat Rooms. A message is
// labelled: by default the signed-in user's default label when the picture admits it,
// else the picture's own level and releasability; the level can be chosen lower.
import { apiFetch } from "/static/auth.js";
import { labelText } from "/static/panel.js";

const $ = (id) => document.getElementById(id);
const HISTORY = 200;

export class ChatPanel {
  constructor() {
    this.picture = null;
    this.messages = new Map();
    this.generation = 0;
    this.releasableTo = [];
    $("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  // A new picture (or none): its room, nothing of the previous one. `info`: the picture as
  // /api/v1/pictures describes it; `levels`: the classification levels, lowest first.
  async reset(picture, account, info, levels) {
    const generation = ++this.generation;
    this.picture = picture;
    this.messages = new Map();
    this.showError(null);
    this.chooseLabel(account, info, levels ?? []);
    $("chat-form").hidden = !picture;
    this.render();
    if (!picture) return;
    const query = new URLSearchParams({ limit: String(HISTORY) });
    const response = await apiFetch(`/api/v1/pictures/${encodeURIComponent(picture)}/chat?${query}`);
    if (!response.ok || generation !== this.generation) return;
    for (const message of (await response.json()).messages) this.messages.set(message.id, message);
    this.render();
  }

  chooseLabel(account, info, levels) {
    const select = $("chat-classification");
    select.replaceChildren();
    if (!info) return;
    const top = levels.indexOf(info.classification);
    const clearance = levels.indexOf(account?.clearance);
    const highest = Math.min(top < 0 ? levels.length - 1 : top, clearance < 0 ? top : clearance);
    const own = account?.default_label;
    const admitted = own && (!info.releasable_to || own.releasable_to?.includes(info.releasable_to));
    this.releasableTo = admitted
      ? own.releasable_to ?? []
      : info.releasable_to
        ? [info.releasable_to]
        : [];
    const chosen = admitted ? own.classification : levels[highest];
    for (const level of levels.slice(0, highest + 1)) {
      const option = document.createElement("option");
      option.value = level;
      option.textContent = labelText(level, this.releasableTo);
      option.selected = level === chosen;
      select.appendChild(option);
    }
  }

  // The stream's `chat` message.
  receive(message) {
    if (message.picture !== this.picture) return;
    for (const said of message.messages) this.messages.set(said.id, said);
    this.render();
  }

  async send() {
    const text = $("chat-text").value.trim();
    if (!text || !this.picture) return;
    const label = { classification: $("chat-classification").value, releasable_to: this.releasableTo };
    $("chat-send").disabled = true;
    try {
      const response = await apiFetch(`/api/v1/pictures/${encodeURIComponent(this.picture)}/chat`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text, label }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        this.showError(body.error ?? `the server answered ${response.status}`);
        return;
      }
      this.showError(null);
      $("chat-text").value = "";
      this.messages.set(body.id, body);
      this.render();
    } catch {
      this.showError("the server cannot be reached: try again");
    } finally {
      $("chat-send").disabled = false;
    }
  }

  showError(text) {
    $("chat-error").textContent = text ?? "";
    $("chat-error").hidden = !text;
  }

  render() {
    const list = $("chat-list");
    const messages = [...this.messages.values()].sort((a, b) => a.seq - b.seq);
    list.replaceChildren(...messages.map((message) => this.item(message)));
    $("chat-count").textContent = String(messages.length);
    $("chat-empty").hidden = messages.length > 0;
    list.scrollTop = list.scrollHeight;
  }

  item(message) {
    const item = document.createElement("li");
    item.dataset.chatId = message.id;
    item.className = message.via;
    const who = document.createElement("strong");
    who.textContent = message.sender;
    const about = document.createElement("small");
    const when = new Date(message.sent_at).toISOString().slice(11, 19);
    const via = message.via === "tak" ? " · TAK" : "";
    about.textContent = ` ${when}Z${via} · ${labelText(
      message.label.classification,
      message.label.releasable_to,
    )}`;
    const text = document.createElement("p");
    text.textContent = message.text;
    item.append(who, about, text);
    return item;
  }
}
