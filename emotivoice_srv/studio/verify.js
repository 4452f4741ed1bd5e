// "Check a file": uploads a file (and, for pcm/ogg/opus or a stream, its detached manifest) to
// POST /v1/verify and shows its Content Credentials: the signature state, who made it, when, with
// which model and which kind of voice. The last verdict is kept on window.studio.verify for tests.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);

const STATES = {
  trusted: "Valid, and signed by a trusted certificate",
  untrusted: "Valid and unaltered — signed by a certificate this check does not trust (e.g. a development one)",
  tampered: "Tampered: the file changed after it was signed",
  unsigned: "No Content Credentials found",
};

function describe(verdict) {
  const s = verdict.synthesis || {};
  const model = s.model || {};
  const voice = s.voice || {};
  return {
    "verify-state": STATES[verdict.state] || verdict.state,
    "verify-maker": [verdict.generator, verdict.synthetic ? "(AI-generated speech)" : "",
                     s.signer === "development" ? "— development certificate" : ""].filter(Boolean).join(" ") || "–",
    "verify-when": s.created || "–",
    "verify-model": model.name ? `${model.name} ${model.version} (${model.manifest_sha256_prefix}, ${model.tier})` : "–",
    "verify-voice": voice.kind ? voice.kind + (voice.id ? ` (${voice.id})` : "") : "–",
  };
}

/** Wire the form; ``ui`` lends the page's error helpers (showError, clearErrors, reportAuth). */
export function setupVerify(ui) {
  const form = $("verify-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    ui.clearErrors(form);
    const file = $("verify-file").files[0];
    if (!file) {
      ui.showError("verify-file", "Choose an audio file to check.");
      return;
    }
    const data = new FormData();
    data.append("file", file, file.name);
    const manifest = $("verify-manifest").files[0];
    if (manifest) data.append("manifest", manifest, manifest.name);
    $("verify").disabled = true;
    try {
      const verdict = await (await api("/v1/verify", { method: "POST", form: data })).json();
      window.studio.verify = verdict;
      for (const [id, text] of Object.entries(describe(verdict))) $(id).textContent = text;
      $("verify-result").dataset.state = verdict.state;
      $("verify-result").hidden = false;
    } catch (err) {
      if (!ui.reportAuth(err)) ui.showError("verify", err.message);
    } finally {
      $("verify").disabled = false;
    }
  });
}
