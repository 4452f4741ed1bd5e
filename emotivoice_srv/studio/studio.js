// The studio page: wires the controls to the API. State the browser tests read is kept on
// window.studio (timings of the last synthesis, the statuses a clone went through, readiness).
import { api, apiKey, ApiError, getJson } from "./api.js";
import { StreamPlayer, toWav, wavDataOffset } from "./audio.js";
import { setupVerify } from "./verify.js";

const $ = (id) => document.getElementById(id);
const studio = (window.studio = { interactive: false, speak: null, clone: { history: [] }, status: null });
let config = null;
let audioContext = null;
let lastTiers = [];
let speaking = null;  // { controller, player }
let cloneSource = null;  // { blob, filename, control }

const ERROR_FIELDS = {
  text_empty: "text", text_too_long: "text", unknown_voice: "voice", voice_pending: "voice",
  unknown_emotion: "emotion", intensity_out_of_range: "emotion", speed_out_of_range: "speed",
  pitch_out_of_range: "pitch", unknown_format: "format", unsupported_stream_format: "format",
  unsupported_sample_rate: "format", unauthorized: "api-key",
};
const PLAIN_AUDIO_REASONS = {
  audio_too_short: () => `Too short: the voice needs at least ${config.reference.min_s} s of speech.`,
  audio_too_long: () => `Too long: at most ${config.reference.max_s} s of speech are used.`,
  audio_silent: () => "The recording is silent: check the microphone or the file.",
  audio_clipped: () => "The recording is clipped (too loud): record a little further from the microphone.",
  audio_not_speech: () => "No speech was found in the recording.",
  audio_unreadable: () => "This file is not audio the server can read (WAV, FLAC, OGG or MP3).",
  audio_empty: () => "The file is empty.",
  audio_too_large: () => `The file is too large (at most ${Math.round(config.reference.max_bytes / 1048576)} MiB).`,
  missing_file: () => "Choose a file or record from the microphone first.",
};

// ---- errors shown next to the control that caused them ---------------------------------------
function showError(field, message) {
  const el = $(field + "-error");
  el.textContent = message;
  const control = $(field);
  if (control) control.setAttribute("aria-invalid", message ? "true" : "false");
}

function clearErrors(form) {
  for (const el of form.querySelectorAll(".error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function speakErrorField(err) {
  if (ERROR_FIELDS[err.code]) return ERROR_FIELDS[err.code];
  const m = /field '(\w+)'|^(\w+) /.exec(err.message || "");
  const name = m && (m[1] || m[2]);
  if (name === "prompt" || /prompt/.test(err.message)) return modeIsPrompt() ? "prompt" : "emotion";
  if (["speed", "pitch", "text", "voice", "format"].includes(name)) return name;
  if (/emotion|intensity/.test(err.message)) return "emotion";
  return "speak";
}

function reportAuth(err) {
  if (err instanceof ApiError && err.status === 401) {
    $("key-section").hidden = false;
    showError("api-key", err.message);
    return true;
  }
  return false;
}

// ---- configuration and controls --------------------------------------------------------------
function fillSelect(select, values, label = (v) => v) {
  select.replaceChildren(...values.map((v) => new Option(label(v), v)));
}

function setupControls() {
  $("version").textContent = config.version;
  const fmts = config.formats;
  fillSelect($("format"), fmts, (f) => (f === "wav" || f === "pcm") ? `${f} (streamed)` : f);
  if (fmts.includes("wav")) $("format").value = "wav";
  const chips = $("emotions");
  chips.replaceChildren(...config.emotions.map((name, i) => {
    const label = document.createElement("label");
    const input = Object.assign(document.createElement("input"),
      { type: "radio", name: "emotion", value: name, id: "emotion-" + name, checked: name === "happy" || (i === 0 && !config.emotions.includes("happy")) });
    label.append(input, " " + name);
    return label;
  }));
  fillSelect($("mix-emotion"), config.emotions);
  $("mix-emotion").value = config.emotions.includes("surprised") ? "surprised" : config.emotions[0];
  Object.assign($("speed"), { min: config.speed_range[0], max: config.speed_range[1] });
  Object.assign($("pitch"), { min: config.pitch_range[0], max: config.pitch_range[1] });
  $("speed").value = 1; $("pitch").value = 0;
  const r = config.reference;
  $("clone-file-hint").textContent = `WAV, FLAC, OGG or MP3 with ${r.min_s}–${r.max_s} s of one person speaking.`;
  if (!config.cloning) {
    $("clone-section").hidden = true;
  }
  if (config.auth) {
    $("key-section").hidden = false;
    $("api-key").value = apiKey.get();
  }
  const outputs = [["intensity", (v) => (+v).toFixed(2)], ["speed", (v) => (+v).toFixed(2) + "×"],
    ["pitch", (v) => (v > 0 ? "+" : "") + (+v).toFixed(1)], ["mix-weight", (v) => Math.round(v * 100) + " %"]];
  for (const [id, fmt] of outputs) {
    const out = $(id === "mix-weight" ? "mix-out" : id + "-out");
    const update = () => { out.textContent = fmt($(id).value); };
    $(id).addEventListener("input", update);
    update();
  }
  const count = () => {
    const n = $("text").value.length;
    $("text-count").textContent = `${n.toLocaleString()} / ${config.max_text_chars.toLocaleString()} characters`;
    $("text-count").classList.toggle("over", n > config.max_text_chars);
  };
  $("text").addEventListener("input", count);
  count();
  const formatHint = () => {
    const f = $("format").value;
    $("format-hint").textContent = (f === "wav" || f === "pcm")
      ? "Plays while the rest is still rendering." : "Plays once the whole file has arrived.";
  };
  $("format").addEventListener("change", formatHint);
  formatHint();
  for (const radio of document.querySelectorAll("input[name=emotion-mode]")) {
    radio.addEventListener("change", () => {
      $("preset-controls").hidden = modeIsPrompt();
      $("prompt-controls").hidden = !modeIsPrompt();
    });
  }
  $("mix-on").addEventListener("change", () => { $("mix-controls").hidden = !$("mix-on").checked; });
}

const modeIsPrompt = () => $("mode-prompt").checked;

/** One context at the model's rate: streamed chunks are queued without resampling each one (no seams). */
function newAudioContext() {
  try {
    return new AudioContext({ sampleRate: config.sample_rate });
  } catch (_) {
    return new AudioContext();  // a browser that refuses the rate resamples each buffer instead
  }
}

// ---- status strip ----------------------------------------------------------------------------
function describeTier(t) {
  if (!t) return "";
  const what = [t.bundle, t.version && "v" + t.version].filter(Boolean).join(" ");
  const how = [t.precision, t.device].filter(Boolean).join(", ");
  return `${what}${how ? ` (${how})` : ""}`;
}

function statusOf(body, httpOk) {
  const tiers = body.tiers || [];
  const main = tiers.find((t) => t.role === "main");
  const fallback = tiers.find((t) => t.role === "fallback");
  const fallbackServes = fallback && (fallback.state === "ready" || fallback.state === "warming");
  if (httpOk) {
    return { state: "ready", text: `Ready · main ${describeTier(main)}` };
  }
  if ((body.reason || "").startsWith("draining")) return { state: "down", text: "Shutting down (draining)" };
  if (main && main.state === "failed") {
    return { state: "failed", text: `Main model failed${fallbackServes ? "; the fallback model answers" : ""}: ${main.error || body.reason}` };
  }
  if (fallbackServes) {
    return { state: "fallback", text: `Main model ${main ? main.state : "loading"}… the fallback model answers meanwhile (lower quality)` };
  }
  return { state: "loading", text: `Not ready: ${body.reason || "loading"}` };
}

async function pollStatus() {
  let next = 2000;
  try {
    const response = await fetch("/readyz", { cache: "no-store" });
    const body = await response.json();
    lastTiers = body.tiers || [];
    const s = statusOf(body, response.ok);
    if (!response.ok) next = 1000;
    setStatus(s.state, s.text);
  } catch (err) {
    setStatus("down", "The server cannot be reached");
    next = 3000;
  }
  setTimeout(pollStatus, next);
}

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status-text").textContent = text;
  studio.status = { state, text };
}

// ---- voices ----------------------------------------------------------------------------------
async function loadVoices(select) {
  let voices;
  try {
    voices = (await getJson("/v1/voices")).data;
  } catch (err) {
    if (!reportAuth(err)) showError("voice", err.message);
    return false;
  }
  showError("api-key", "");
  const keep = select || $("voice").value || config.default_voice;
  const builtin = voices.filter((v) => v.kind !== "enrolled");
  const enrolled = voices.filter((v) => v.kind === "enrolled");
  const group = (label, list) => {
    const g = document.createElement("optgroup");
    g.label = label;
    for (const v of list) {
      const text = v.kind === "enrolled" ? `${v.name || v.id}${v.status === "ready" ? "" : ` (${v.status})`}`
        : `${v.id}${v.gender ? ` · ${v.gender}` : ""}${v.language ? ` · ${v.language}` : ""}`;
      const opt = new Option(text, v.id);
      opt.disabled = v.status !== "ready";
      g.append(opt);
    }
    return g;
  };
  const groups = [group("Built-in", builtin)];
  if (enrolled.length) groups.push(group("Your voices", enrolled));
  $("voice").replaceChildren(...groups);
  if ([...$("voice").options].some((o) => o.value === keep && !o.disabled)) $("voice").value = keep;
  renderMyVoices(enrolled);
  return true;
}

function renderMyVoices(enrolled) {
  $("my-voices-empty").hidden = enrolled.length > 0;
  $("my-voices").replaceChildren(...enrolled.map((v) => {
    const li = document.createElement("li");
    li.dataset.voice = v.id;
    const name = Object.assign(document.createElement("span"), { className: "name", textContent: v.name || v.id });
    const badge = Object.assign(document.createElement("span"), { className: "badge " + v.status, textContent: v.status });
    const use = Object.assign(document.createElement("button"), { type: "button", textContent: "Use", disabled: v.status !== "ready" });
    use.setAttribute("aria-label", `Use the voice ${v.name || v.id}`);
    use.addEventListener("click", () => { $("voice").value = v.id; $("voice").focus(); });
    const del = Object.assign(document.createElement("button"), { type: "button", className: "quiet", textContent: "Delete" });
    del.setAttribute("aria-label", `Delete the voice ${v.name || v.id}`);
    const error = Object.assign(document.createElement("p"), { className: "error", id: "voice-" + v.id + "-error" });
    error.setAttribute("role", "alert");
    del.addEventListener("click", async () => {
      error.textContent = "";
      try {
        await api(`/v1/voices/${encodeURIComponent(v.id)}`, { method: "DELETE" });
        await loadVoices();
      } catch (err) {
        error.textContent = err.message;
      }
    });
    li.append(name, badge, use, del, error);
    if (v.error) error.textContent = plainAudioReason(v.error.code, v.error.message);
    return li;
  }));
}

// ---- speak -----------------------------------------------------------------------------------
function requestBody() {
  const body = {
    text: $("text").value, voice: $("voice").value, format: $("format").value,
    speed: +$("speed").value, pitch: +$("pitch").value,
  };
  if (modeIsPrompt()) {
    body.prompt = $("prompt").value;
  } else {
    const first = (document.querySelector("input[name=emotion]:checked") || {}).value || "neutral";
    const intensity = +$("intensity").value;
    if ($("mix-on").checked && $("mix-emotion").value !== first) {
      const w = +$("mix-weight").value;
      body.emotion_mix = { [first]: +(1 - w).toFixed(3), [$("mix-emotion").value]: +w.toFixed(3) };
    } else {
      body.emotion = first;
    }
    body.intensity = intensity;
  }
  body.stream = body.format === "wav" || body.format === "pcm";
  return body;
}

async function speak(event) {
  event.preventDefault();
  const form = $("speak-form");
  clearErrors(form);
  showError("api-key", "");
  stopSpeaking();
  if (modeIsPrompt() && !$("prompt").value.trim()) {
    showError("prompt", "Describe the delivery (e.g. “a little sad”), or choose Preset.");
    return;
  }
  audioContext = audioContext || newAudioContext();
  await audioContext.resume();
  const body = requestBody();
  const controller = new AbortController();
  const t0 = performance.now();
  const run = studio.speak = { clickedAt: t0, format: body.format, voice: body.voice, done: false, error: null };
  $("speak").disabled = true; $("stop").disabled = false;
  $("download").hidden = true;
  for (const id of ["ttfa", "duration", "tier"]) $(id).textContent = "…";
  speaking = { controller, player: null };
  try {
    const response = await api("/v1/tts", { method: "POST", json: body, signal: controller.signal });
    run.responseAt = performance.now();  // headers arrive with the first audio bytes
    run.tier = response.headers.get("X-Model-Tier");
    const rate = +(response.headers.get("X-Sample-Rate") || config.sample_rate);
    const tierInfo = lastTiers.find((t) => t.role === run.tier);
    $("tier").textContent = `${run.tier}${tierInfo ? ` · ${describeTier(tierInfo)}` : ""}` +
      (run.tier === "fallback" ? " (the fallback model, while main loads)" : "");
    let blob, seconds;
    if (body.stream) {
      const player = speaking.player = new StreamPlayer(audioContext, rate);
      await readStream(response, player, body.format === "wav", run, t0);
      run.responseEndAt = performance.now();
      run.playedAtEnd = player.played();
      run.samples = player.samples;
      seconds = player.samples / rate;
      blob = body.format === "wav" ? player.wav() : new Blob(player.pcm, { type: "application/octet-stream" });
    } else {
      const bytes = await response.arrayBuffer();
      run.responseEndAt = performance.now();
      blob = new Blob([bytes], { type: response.headers.get("Content-Type") || "application/octet-stream" });
      const decoded = await audioContext.decodeAudioData(bytes.slice(0));
      const source = audioContext.createBufferSource();
      source.buffer = decoded;
      source.connect(audioContext.destination);
      source.start();
      speaking.player = { stop: () => { try { source.stop(); } catch (_) { /* done */ } } };
      run.firstQueuedAt = performance.now();
      $("ttfa").textContent = `${Math.round(run.firstQueuedAt - t0)} ms (whole file first)`;
      seconds = decoded.duration;
    }
    run.ttfaMs = run.firstQueuedAt - t0;
    run.seconds = seconds;
    $("duration").textContent = `${seconds.toFixed(2)} s in ${((run.responseEndAt - t0) / 1000).toFixed(2)} s`;
    const link = $("download");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = `speech.${body.format}`;
    link.hidden = false;
  } catch (err) {
    if (err.name === "AbortError") {
      run.error = "stopped";
    } else {
      run.error = err.code || "error";
      if (!reportAuth(err)) showError(speakErrorField(err), err.message);
      for (const id of ["ttfa", "duration", "tier"]) if ($(id).textContent === "…") $(id).textContent = "–";
    }
  } finally {
    run.done = true;
    $("speak").disabled = false; $("stop").disabled = true;
  }
}

async function readStream(response, player, isWav, run, t0) {
  const reader = response.body.getReader();
  let head = isWav ? new Uint8Array(0) : null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    let bytes = value;
    if (head) {  // strip the WAV header (its sizes are placeholders while streaming)
      const joined = new Uint8Array(head.length + bytes.length);
      joined.set(head); joined.set(bytes, head.length);
      const at = wavDataOffset(joined);
      if (at < 0) { head = joined; continue; }
      head = null;
      bytes = joined.subarray(at);
    }
    player.push(bytes);
    if (run.firstQueuedAt === undefined && player.firstQueuedAt !== null) {
      run.firstQueuedAt = player.firstQueuedAt;
      run.firstStart = player.firstStart;
      $("ttfa").textContent = `${Math.round(run.firstQueuedAt - t0)} ms`;
    }
  }
}

function stopSpeaking() {
  if (!speaking) return;
  speaking.controller.abort();
  if (speaking.player) speaking.player.stop();
  speaking = null;
}

// ---- clone -----------------------------------------------------------------------------------
function plainAudioReason(code, message) {
  const plain = PLAIN_AUDIO_REASONS[code];
  return plain ? `${plain()} (${message})` : message;
}

function cloneErrorField(err) {
  const code = err.code || "";
  if (code === "invalid_name" || code === "voice_exists" || code === "voice_pending") return "clone-name";
  if (code === "consent_required" || code === "invalid_consent") return "clone-consent";
  if (code.startsWith("audio_") || code === "missing_file") return cloneSource ? cloneSource.control : "clone-file";
  if (err.status === 401) return "api-key";
  return "clone";
}

function setCloneStatus(voiceId, status, text) {
  studio.clone.history.push({ voice: voiceId, status });
  $("clone-status").textContent = text;
}

async function clone(event) {
  event.preventDefault();
  const form = $("clone-form");
  clearErrors(form);
  $("clone-status").textContent = "";
  if (!cloneSource) {
    showError("clone-file", PLAIN_AUDIO_REASONS.missing_file());
    return;
  }
  const data = new FormData();
  data.append("name", $("clone-name").value);
  for (const [field, id] of [["consent", "clone-consent"], ["subject", "clone-subject"]]) {
    if ($(id).value.trim()) data.append(field, $(id).value.trim());
  }
  data.append("file", cloneSource.blob, cloneSource.filename);
  $("clone").disabled = true;
  $("clone-status").textContent = "Uploading…";
  try {
    const response = await api("/v1/voices", { method: "POST", form: data });
    let voice = await response.json();
    setCloneStatus(voice.id, voice.status, voice.status === "ready" ? "Ready" : "Pending: fitting the voice…");
    await loadVoices();
    while (voice.status === "pending") {
      await new Promise((r) => setTimeout(r, 1000));
      voice = await getJson(`/v1/voices/${encodeURIComponent(voice.id)}`);
    }
    if (voice.status === "failed") {
      setCloneStatus(voice.id, "failed", "Failed");
      const err = new ApiError(422, voice.error.code, voice.error.message);
      showError(cloneErrorField(err), plainAudioReason(err.code, err.message));
    } else {
      setCloneStatus(voice.id, "ready", `Ready: “${voice.name || voice.id}” is selected in Speak.`);
    }
    await loadVoices(voice.status === "ready" ? voice.id : undefined);
  } catch (err) {
    $("clone-status").textContent = "";
    if (!reportAuth(err)) showError(cloneErrorField(err), plainAudioReason(err.code, err.message));
  } finally {
    $("clone").disabled = false;
  }
}

function chooseFile() {
  const file = $("clone-file").files[0];
  showError("clone-file", "");
  if (file) {
    cloneSource = { blob: file, filename: file.name, control: "clone-file" };
    $("record-time").textContent = "";
    if (!$("clone-name").value) $("clone-name").value = file.name.replace(/\.[^.]*$/, "");
  }
}

let recorder = null;
async function toggleRecording() {
  showError("record", "");
  if (recorder) { recorder.stop(); return; }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    showError("record", "The microphone needs a secure page (https or localhost) and a browser with MediaRecorder.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    showError("record", "No microphone access: " + err.message);
    return;
  }
  audioContext = audioContext || newAudioContext();
  const chunks = [];
  const started = performance.now();
  recorder = new MediaRecorder(stream);
  studio.recording = { state: "recording", seconds: 0 };
  recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  const tick = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    studio.recording.seconds = s;
    $("record-time").textContent = `recording ${s.toFixed(1)} s`;
    if (s >= config.reference.max_s) recorder.stop();
  }, 200);
  recorder.onstop = async () => {
    clearInterval(tick);
    for (const track of stream.getTracks()) track.stop();
    recorder = null;
    $("record").textContent = "Record";
    $("record").classList.remove("recording");
    try {
      const wav = await toWav(new Blob(chunks, { type: chunks[0] ? chunks[0].type : "audio/webm" }), audioContext);
      cloneSource = { blob: wav, filename: "recording.wav", control: "record" };
      $("clone-file").value = "";
      const seconds = (wav.size - 44) / 2 / audioContext.sampleRate;  // decoded at the context's rate
      $("record-time").textContent = `${seconds.toFixed(1)} s recorded`;
      studio.recording = { state: "done", seconds };
    } catch (err) {
      showError("record", "The recording could not be read: " + err.message);
      studio.recording = { state: "failed" };
    }
  };
  recorder.start(250);
  $("record").textContent = "Stop recording";
  $("record").classList.add("recording");
}

// ---- API key ---------------------------------------------------------------------------------
async function saveKey(event) {
  event.preventDefault();
  apiKey.set($("api-key").value.trim());
  showError("api-key", "");
  if (await loadVoices()) $("voice-error").textContent = "";
}

function forgetKey() {
  apiKey.set("");
  $("api-key").value = "";
}

// ---- start -----------------------------------------------------------------------------------
async function start() {
  try {
    config = await getJson("/studio/config.json");
  } catch (err) {
    setStatus("down", "The server cannot be reached: " + err.message);
    return;
  }
  setupControls();
  $("speak-form").addEventListener("submit", speak);
  $("stop").addEventListener("click", stopSpeaking);
  $("clone-form").addEventListener("submit", clone);
  $("clone-file").addEventListener("change", chooseFile);
  $("record").addEventListener("click", toggleRecording);
  $("key-form").addEventListener("submit", saveKey);
  $("key-forget").addEventListener("click", forgetKey);
  setupVerify({ showError, clearErrors, reportAuth });
  pollStatus();
  await loadVoices();
  studio.interactive = performance.now();
  document.body.dataset.interactive = "true";
}

start();
