"""What Content Credentials cost per response: signing time (p50/p99) and bytes, per format.

A ~5 s utterance is rendered once by the real engine and encoded in every response format; then, in
interleaved rounds, each format is encoded (the baseline: work every response already does) and sealed
as the server seals it (embedded C2PA manifest for wav/flac/mp3, detached manifest over the whole body
for pcm/ogg/opus and for a streamed WAV). The signing identity is the development one (same algorithm,
ES256, and chain length as a typical operator certificate). Timings are wall-clock on one thread; the
machine state is recorded with them, so compare the same run's ratios.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

TEXT = ("Content credentials tell a listener that this speech was made by a machine, "
        "and which model made it, without changing a single sample.")
FORMATS = ("wav", "flac", "mp3", "pcm", "ogg", "opus", "wav-stream")
TARGET_P50_MS = 10.0
"""The issue's target for a 5 s WAV."""


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def startup(bundle: Path, cache: Path, starts: int) -> dict:
    """exec -> port open / ready / cold first audio byte with marking on vs off, interleaved starts
    (the identity check, the c2pa library's load and a probe signature happen before the port opens)."""
    from .coldstart import _ours

    _ours(bundle, ("--cache-dir", str(cache)))  # first use: the student's bundle and the dev certificate
    runs: dict[str, list[dict]] = {"on": [], "off": []}
    for _ in range(starts):
        for mode in ("on", "off"):
            runs[mode].append(_ours(bundle, ("--cache-dir", str(cache), "--provenance", mode)))
    out = {}
    for mode, results in runs.items():
        out[mode] = {key: round(float(np.median([r[key] for r in results])), 3)
                     for key in ("port_open_s", "readyz_s", "cold_ttfa_s")}
    out["port_open_on_over_off"] = round(out["on"]["port_open_s"] / out["off"]["port_open_s"], 3)
    out["starts_each"] = starts
    return out


def run(rounds: int = 200, starts: int = 5) -> dict:
    from emotivoice_srv import Engine, EngineConfig
    from emotivoice_srv import __version__ as version
    from emotivoice_srv.audio.encode import encode, to_int16, wav_stream_header
    from emotivoice_srv.provenance import ModelFacts, Provenance, SynthesisFacts, load_identity, verify_bytes
    from emotivoice_srv.provenance.verify import MEDIA_TYPES
    from export import build_bundle

    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "kokoro-82m"
        build_bundle(bundle, ("int8",), progress=False)
        engine = Engine.load(EngineConfig(bundle_dir=bundle, device="cpu"))
        t0 = time.perf_counter()
        audio = engine.synthesize(TEXT, voice="en_female_1", emotion="happy").audio
        render_s = time.perf_counter() - t0
        rate = engine.sample_rate
        audio = np.resize(audio, 5 * rate) if len(audio) < 5 * rate else audio[: 5 * rate]  # exactly 5.0 s
        provenance = Provenance(load_identity(None, None, Path(tmp) / "cache"), version)

        def body_of(fmt: str) -> bytes:
            if fmt == "wav-stream":
                return wav_stream_header(rate) + to_int16(audio).tobytes()
            return encode(audio, rate, fmt)

        def facts(fmt: str) -> SynthesisFacts:
            return SynthesisFacts(ModelFacts("kokoro-82m", "1.0.0", "0" * 16, "main", "int8"), "built-in",
                                  "en_female_1", {"emotion": "happy"}, "bench", fmt.split("-")[0], rate, "/v1/tts")

        def seal(fmt: str, body: bytes) -> tuple[bytes, bytes | None]:
            if fmt == "wav-stream":
                key = provenance.reserve()
                provenance.finish_stream(key, body, facts(fmt))
                return body, provenance.store.get(key).result()
            out, key = provenance.seal(body, facts(fmt))
            return out, provenance.store.get(key).result() if key else None

        encode_ms: dict[str, list[float]] = {f: [] for f in FORMATS}
        seal_ms: dict[str, list[float]] = {f: [] for f in FORMATS}
        sizes: dict[str, dict] = {}
        for fmt in FORMATS:  # warm both paths once, check the result validates
            body = body_of(fmt)
            out, manifest = seal(fmt, body)
            verdict = verify_bytes(out, MEDIA_TYPES.get(fmt), manifest=manifest)
            if not verdict.valid:
                raise RuntimeError(f"the sealed {fmt} body does not validate: {verdict}")
            sizes[fmt] = {"body_bytes": len(body), "added_to_body_bytes": len(out) - len(body),
                          "detached_manifest_bytes": len(manifest) if manifest else 0,
                          "kind": "detached (Link)" if manifest else "embedded"}
        for _ in range(rounds):
            for fmt in FORMATS:
                t = time.perf_counter()
                body = body_of(fmt)
                encode_ms[fmt].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                seal(fmt, body)
                seal_ms[fmt].append((time.perf_counter() - t) * 1000)
        start = startup(bundle, Path(tmp) / "serve-cache", starts) if starts else None
    per_format = {}
    for fmt in FORMATS:
        p50, p99 = _percentile(seal_ms[fmt], 50), _percentile(seal_ms[fmt], 99)
        enc = _percentile(encode_ms[fmt], 50)
        per_format[fmt] = {"sign_ms_p50": round(p50, 2), "sign_ms_p99": round(p99, 2),
                           "encode_ms_p50": round(enc, 2), "sign_over_encode": round(p50 / max(enc, 1e-9), 2),
                           **sizes[fmt]}
    wav = per_format["wav"]
    return {"audio_seconds": 5.0, "sample_rate": rate, "rounds": rounds, "render_seconds_context": round(render_s, 3),
            "signing": {"alg": provenance.identity.alg, "identity": "development (EC P-256 CA + signing cert)"},
            "per_format": per_format, "startup_median": start,
            "target": {"wav_sign_ms_p50_max": TARGET_P50_MS, "met": wav["sign_ms_p50"] <= TARGET_P50_MS},
            "machine_state": ("shared: 2 cores with other helpers' builds and tests running; load average "
                              f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")}


def to_markdown(report: dict) -> str:
    r = report["results"]
    m = report["machine"]
    lines = [f"# Provenance (C2PA) cost per response -- {report['date']}", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {r['machine_state']}.",
             f"{r['audio_seconds']} s of real speech at {r['sample_rate']} Hz, {r['rounds']} interleaved rounds; "
             f"signing {r['signing']['alg']} with the {r['signing']['identity']}. "
             f"(Rendering the utterance took {r['render_seconds_context']} s.)", "",
             "| format | how | sign p50 ms | sign p99 ms | encode p50 ms | sign/encode | body bytes | added to body | "
             "detached manifest |", "|---|---|---|---|---|---|---|---|---|"]
    for fmt, row in r["per_format"].items():
        lines.append(f"| {fmt} | {row['kind']} | {row['sign_ms_p50']} | {row['sign_ms_p99']} | {row['encode_ms_p50']} | "
                     f"{row['sign_over_encode']} | {row['body_bytes']} | {row['added_to_body_bytes']} | "
                     f"{row['detached_manifest_bytes']} |")
    if r.get("startup_median"):
        s = r["startup_median"]
        lines += ["", f"Start-up with marking on vs off ({s['starts_each']} interleaved starts each, medians; "
                  "`serve` with the default student fallback):", "",
                  "| marking | port open s | ready s | cold TTFA s |", "|---|---|---|---|"]
        for mode in ("on", "off"):
            lines.append(f"| {mode} | {s[mode]['port_open_s']} | {s[mode]['readyz_s']} | {s[mode]['cold_ttfa_s']} |")
        lines.append(f"\nport open on/off: {s['port_open_on_over_off']}")
    t = r["target"]
    lines += ["", f"Target: 5 s WAV signed in <= {t['wav_sign_ms_p50_max']} ms p50 -- "
              f"{'met' if t['met'] else 'NOT met'}.", "", "Reproduce: `python -m bench provenance`.", ""]
    return "\n".join(lines)
