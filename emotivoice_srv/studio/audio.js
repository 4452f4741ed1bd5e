// Audio in the browser: play 16-bit PCM as it arrives (Web Audio, one buffer per network chunk, queued
// back to back), build the whole result as a WAV file for download, and turn a microphone recording
// into a WAV the server accepts.

/** Schedules little-endian 16-bit mono PCM chunks on an AudioContext as they arrive. */
export class StreamPlayer {
  constructor(context, sampleRate) {
    this.context = context;
    this.sampleRate = sampleRate;
    this.nextStart = 0;
    this.sources = [];
    this.pcm = [];           // Uint8Array chunks, for the download
    this.samples = 0;
    this.odd = null;         // a byte left over when a chunk ends mid-sample
    this.firstStart = null;  // context time at which the first samples play
    this.firstQueuedAt = null; // performance.now() when the first samples reached the audio graph
  }

  push(bytes) {
    if (this.odd) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.odd; joined.set(bytes, 1);
      bytes = joined; this.odd = null;
    }
    const n = bytes.length >> 1;
    if (bytes.length & 1) this.odd = bytes[bytes.length - 1];
    if (!n) return;
    const whole = bytes.subarray(0, 2 * n);
    this.pcm.push(whole.slice());
    const view = new DataView(whole.buffer, whole.byteOffset, whole.byteLength);
    const floats = new Float32Array(n);
    for (let i = 0; i < n; i++) floats[i] = view.getInt16(2 * i, true) / 32768;
    const buffer = this.context.createBuffer(1, n, this.sampleRate);
    buffer.copyToChannel(floats, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const earliest = this.context.currentTime + 0.03;
    if (this.nextStart < earliest) this.nextStart = earliest;  // first chunk, or the network fell behind
    source.start(this.nextStart);
    if (this.firstStart === null) {
      this.firstStart = this.nextStart;
      this.firstQueuedAt = performance.now();
    }
    this.nextStart += buffer.duration;
    this.samples += n;
    this.sources.push(source);
    source.onended = () => { this.sources = this.sources.filter((s) => s !== source); };
  }

  /** Context time the queued audio has played up to. */
  played() {
    return this.firstStart === null ? 0 : Math.max(0, this.context.currentTime - this.firstStart);
  }

  stop() {
    for (const s of this.sources) { try { s.stop(); } catch (_) { /* not started */ } }
    this.sources = [];
  }

  wav() {
    return new Blob([wavHeader(this.samples, this.sampleRate), ...this.pcm], { type: "audio/wav" });
  }
}

/** A 44-byte header of a 16-bit mono PCM WAV file. */
export function wavHeader(samples, sampleRate) {
  const h = new DataView(new ArrayBuffer(44));
  const text = (at, s) => { for (let i = 0; i < 4; i++) h.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); h.setUint32(4, 36 + 2 * samples, true); text(8, "WAVE");
  text(12, "fmt "); h.setUint32(16, 16, true); h.setUint16(20, 1, true); h.setUint16(22, 1, true);
  h.setUint32(24, sampleRate, true); h.setUint32(28, 2 * sampleRate, true); h.setUint16(32, 2, true);
  h.setUint16(34, 16, true); text(36, "data"); h.setUint32(40, 2 * samples, true);
  return h.buffer;
}

/** Offset of the sample data in a WAV stream's first bytes, or -1 while the header is incomplete. */
export function wavDataOffset(bytes) {
  let at = 12;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (at + 8 <= bytes.length) {
    const id = String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
    if (id === "data") return at + 8;
    at += 8 + view.getUint32(at + 4, true);
  }
  return -1;
}

/** Any recording the browser can decode -> a mono 16-bit WAV Blob (what the server's intake reads). */
export async function toWav(blob, context) {
  const decoded = await context.decodeAudioData(await blob.arrayBuffer());
  const mono = new Float32Array(decoded.length);
  for (let c = 0; c < decoded.numberOfChannels; c++) {
    const data = decoded.getChannelData(c);
    for (let i = 0; i < data.length; i++) mono[i] += data[i] / decoded.numberOfChannels;
  }
  const pcm = new DataView(new ArrayBuffer(2 * mono.length));
  for (let i = 0; i < mono.length; i++) {
    pcm.setInt16(2 * i, Math.round(Math.max(-1, Math.min(1, mono[i])) * 32767), true);
  }
  return new Blob([wavHeader(mono.length, decoded.sampleRate), pcm.buffer], { type: "audio/wav" });
}
