// The form for a new overlay (after it is drawn) or for editing one: name, size, remarks and
// security label; Save sends it, and what the server refuses is shown by the field it names.
import { createOverlay, newIdempotencyKey, replaceOverlay } from "/static/overlay-api.js";

const $ = (id) => document.getElementById(id);

// Which input a server error's field belongs to (null: the form as a whole).
function inputFor(field) {
  if (field === "name" || field === "remarks") return field;
  if (field.startsWith("radius_m")) return "radius_m";
  if (field.startsWith("width_m")) return "width_m";
  if (field.startsWith("label.releasable_to")) return "releasable_to";
  if (field === "label" || field.startsWith("label.")) return "classification";
  return null;
}

const INPUTS = {
  name: "overlay-name",
  remarks: "overlay-remarks",
  radius_m: "overlay-radius",
  width_m: "overlay-width",
  classification: "overlay-classification",
  releasable_to: "overlay-releasable",
};

function communities(text) {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((community) => community.toUpperCase());
}

// The label a new overlay starts with when its sender has no default label of its own:
// the lowest classification (the server lists levels lowest first), releasable to the
// picture's community, else to the sender's own communities. The server takes it (no
// level is below the sender's clearance, and the sender belongs to what it is releasable
// to) and the picture shows it, so Save works without touching the label.
function startingLabel({ principal, picture, levels }) {
  const releasable = picture?.releasable_to
    ? [picture.releasable_to]
    : (principal?.communities ?? []);
  return { classification: levels[0] ?? "", releasable_to: releasable };
}

export class OverlayForm {
  // `onPreview({radius_m, width_m})` as the size fields change; `onSaved(id)` once stored;
  // `onClose()` when the form closes, saved or not.
  constructor({ onPreview, onSaved, onClose }) {
    this.onPreview = onPreview;
    this.onSaved = onSaved;
    this.onClose = onClose;
    this.target = null;
    this.saving = false;
    $("overlay-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("overlay-cancel").addEventListener("click", () => this.close());
    $("overlay-form").addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
    for (const id of ["overlay-radius", "overlay-width"]) {
      $(id).addEventListener("input", () => this.onPreview(this.sizes()));
    }
  }

  get isOpen() {
    return this.target !== null;
  }

  // A shape just drawn: {kind, coordinates, radius_m, width_m}.
  // `context`: {principal, picture (its summary), levels (known classification names)}.
  openNew(shape, context) {
    const own = context.principal?.default_label ?? null;
    const label = own ?? startingLabel(context);
    this.target = { ...shape, id: null, idempotencyKey: newIdempotencyKey() };
    this.fill(`New ${shape.kind}`, {
      name: "",
      remarks: "",
      radius_m: shape.radius_m,
      width_m: shape.width_m,
      classification: label.classification ?? "",
      releasable_to: label.releasable_to ?? [],
    });
    this.hint(context, own);
    this.show(context.levels);
  }

  // An overlay to edit: its shape is kept, its name, remarks, size and label may change.
  openEdit(feature, coordinates, context) {
    const p = feature.properties;
    this.target = {
      id: feature.id,
      kind: p.kind,
      coordinates,
      sidc: p.sidc,
      valid_from: p.valid_from,
      valid_to: p.valid_to,
      picture: context.picture.name,
    };
    this.fill(`Edit ${p.name}`, {
      name: p.name,
      remarks: p.remarks ?? "",
      radius_m: p.radius_m,
      width_m: p.width_m,
      classification: p.classification,
      releasable_to: p.releasable_to,
    });
    this.hint(context, null);
    this.show(context.levels);
  }

  close() {
    if (!this.isOpen) return;
    this.target = null;
    $("overlay-form-panel").hidden = true;
    this.onClose();
  }

  // ---- filling in ------------------------------------------------------------------------

  fill(title, values) {
    $("overlay-form-title").textContent = title;
    $("overlay-name").value = values.name;
    $("overlay-remarks").value = values.remarks;
    $("overlay-radius").value = values.radius_m ?? "";
    $("overlay-width").value = values.width_m ?? "";
    $("overlay-classification").value = values.classification;
    const releasable = values.releasable_to;
    $("overlay-releasable").value = Array.isArray(releasable) ? releasable.join(", ") : releasable;
    for (const element of document.querySelectorAll("#overlay-form [data-for-kind]")) {
      element.hidden = element.dataset.forKind !== this.target.kind;
    }
    this.clearErrors();
  }

  hint({ principal, picture }, label) {
    const parts = [];
    if (!label && !this.target.id) {
      parts.push("The label starts at the lowest classification: raise it if the overlay needs it.");
    }
    if (picture) {
      const releasable = picture.releasable_to ? ` releasable to ${picture.releasable_to}` : "";
      parts.push(`${picture.name} shows labels up to ${picture.classification}${releasable}.`);
    }
    if (principal?.clearance) parts.push(`Your clearance: ${principal.clearance}.`);
    $("overlay-label-hint").textContent = parts.join(" ");
  }

  show(levels) {
    const list = $("overlay-levels");
    list.replaceChildren(
      ...levels.map((level) => {
        const option = document.createElement("option");
        option.value = level;
        return option;
      }),
    );
    $("overlay-save").disabled = false;
    $("overlay-save").textContent = "Save";
    $("overlay-form-panel").hidden = false;
    $("overlay-name").focus();
  }

  sizes() {
    return {
      radius_m: Number.parseFloat($("overlay-radius").value),
      width_m: Number.parseFloat($("overlay-width").value),
    };
  }

  // ---- saving ------------------------------------------------------------------------------

  // The body to send, or the problems the form can see itself as [input, reason] pairs.
  body() {
    const target = this.target;
    const problems = [];
    const name = $("overlay-name").value.trim();
    if (!name) problems.push(["name", "a name is required"]);
    const body = { name, kind: target.kind, coordinates: target.coordinates };
    const { radius_m: radius, width_m: width } = this.sizes();
    if (target.kind === "circle") {
      if (!(radius > 0)) problems.push(["radius_m", "give the radius in metres, above 0"]);
      body.radius_m = radius;
    }
    if (target.kind === "corridor") {
      if (!(width > 0)) problems.push(["width_m", "give the width in metres, above 0"]);
      body.width_m = width;
    }
    const remarks = $("overlay-remarks").value.trim();
    if (remarks) body.remarks = remarks;
    for (const key of ["sidc", "valid_from", "valid_to"]) {
      if (target[key]) body[key] = target[key];
    }
    const classification = $("overlay-classification").value.trim().toUpperCase();
    const releasable = communities($("overlay-releasable").value);
    if (classification) body.label = { classification, releasable_to: releasable };
    else if (releasable.length) {
      problems.push(["classification", "choose a classification for this releasability"]);
    }
    return { body, problems };
  }

  async save() {
    if (!this.isOpen || this.saving) return;
    this.clearErrors();
    const target = this.target;
    const { body, problems } = this.body();
    if (problems.length) {
      this.showErrors(problems.map(([input, reason]) => ({ input, reason })), []);
      return;
    }
    this.saving = true;
    $("overlay-save").disabled = true;
    $("overlay-save").textContent = "Saving…";
    const result = target.id
      ? await replaceOverlay(target.picture, target.id, body)
      : await createOverlay(body, target.idempotencyKey);
    this.saving = false;
    $("overlay-save").disabled = false;
    $("overlay-save").textContent = "Save";
    if (this.target !== target) return; // Closed meanwhile.
    if (result.ok) {
      this.close();
      this.onSaved(result.body?.id ?? target.id);
      return;
    }
    this.refused(result);
  }

  refused(result) {
    const errors = [];
    const general = [];
    if (result.status === 422 && Array.isArray(result.body?.errors)) {
      for (const { field, reason } of result.body.errors) {
        const input = inputFor(String(field ?? ""));
        if (input) errors.push({ input, reason });
        else general.push(`${field}: ${reason}`);
      }
    } else if (result.status === 403 && result.body?.field === "label") {
      errors.push({ input: "classification", reason: result.body.error.replace(/^label: /, "") });
    } else {
      general.push(result.message);
    }
    this.showErrors(errors, general, `Not saved (${result.status || "no answer"}).`);
  }

  clearErrors() {
    for (const element of document.querySelectorAll("#overlay-form .field-error")) {
      element.textContent = "";
      element.hidden = true;
    }
    for (const id of Object.values(INPUTS)) $(id).removeAttribute("aria-invalid");
    $("overlay-form-errors").replaceChildren();
    $("overlay-form-errors").hidden = true;
  }

  showErrors(errors, general, heading = "Not saved.") {
    for (const { input, reason } of errors) {
      const element = document.querySelector(`#overlay-form [data-error-for="${input}"]`);
      element.textContent = element.textContent ? `${element.textContent}; ${reason}` : reason;
      element.hidden = false;
      $(INPUTS[input]).setAttribute("aria-invalid", "true");
    }
    const list = $("overlay-form-errors");
    const lines = [errors.length ? `${heading} See the marked fields.` : heading, ...general];
    list.replaceChildren(
      ...lines.map((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      }),
    );
    list.hidden = false;
    const first = errors[0];
    if (first) $(INPUTS[first.input]).focus();
  }
}
