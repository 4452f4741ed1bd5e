"""``python -m bench overload``: the overload policies side by side, and the fast tier's quality.

Serving: one server per policy (``reject``, ``degrade``) with 2 main workers and the default queue (8),
the distilled student as the fast tier on its own pool (the defaults: 1 worker on 2 cores, 64 queued).
At each concurrency (8, 16, 48) ``rounds`` bursts of that many simultaneous requests; per level:
goodput (audio-seconds of successful responses per wall second), 429s, p50/p99 latency of the
successful ones, and which tier answered. Quality: ``bench/fast_quality.py`` (WER on held-out
sentences beside main and Piper's joe-medium through the same ASR, RTF, similarity to main).
"""
from __future__ import annotations

import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .procs import free_port, launch, percentiles, serve_argv, stop, stream_post, wait_200

TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home."
BODY = {"text": TEXT, "voice": "en_female_1", "format": "pcm"}
LEVELS = (8, 16, 48)
POLICIES = ("reject", "degrade")
BYTES_PER_AUDIO_S = 2 * 24_000


def _level(url: str, concurrency: int, rounds: int) -> dict:
    results = []
    t0 = time.monotonic()
    for _ in range(rounds):
        with ThreadPoolExecutor(concurrency) as pool:
            results += list(pool.map(lambda _: stream_post(url, "/v1/tts", BODY, timeout=600), range(concurrency)))
    wall = time.monotonic() - t0
    ok = [r for r in results if r.status == 200]
    return {"requests": len(results), "ok": len(ok), "rejected_429": sum(r.status == 429 for r in results),
            "other_errors": sum(r.status not in (200, 429) for r in results), "wall_s": round(wall, 3),
            "goodput_audio_s_per_s": round(sum(r.audio_bytes for r in ok) / BYTES_PER_AUDIO_S / wall, 3),
            "latency_ok_s": percentiles([r.total_s for r in ok], (0.5, 0.99)),
            "tiers": dict(Counter(r.tier for r in ok))}


def serving(bundle: Path, cache: Path, rounds: int) -> dict:
    out = {}
    for policy in POLICIES:
        port = free_port()
        srv = launch(serve_argv(bundle, port, "--workers", "2", "--fallback-bundle", "student", "--cache-dir",
                                str(cache), "--overload-policy", policy, "--request-timeout", "600"), port)
        try:
            wait_200(srv, "/readyz", "readyz")
            stream_post(srv.url, "/v1/tts", BODY)
            stream_post(srv.url, "/v1/tts", {**BODY, "quality": "fast"})
            out[policy] = {f"concurrency_{c}": _level(srv.url, c, rounds) for c in LEVELS}
        finally:
            stop(srv)
    out["degrade_over_reject_goodput"] = {
        f"concurrency_{c}": round(out["degrade"][f"concurrency_{c}"]["goodput_audio_s_per_s"]
                                  / max(out["reject"][f"concurrency_{c}"]["goodput_audio_s_per_s"], 1e-9), 2)
        for c in LEVELS}
    return out


def run(rounds: int = 2, quality: bool = True) -> dict:
    from export import build_bundle

    from . import fast_quality

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "kokoro-82m"
        build_bundle(bundle, ("int8",), progress=False)
        result = {"text": TEXT, "rounds": rounds, "server": "--workers 2 (queue 8), fast tier: the student, "
                  "1 worker (--fast-share 0.5 of 2 cores), queue 64", "serving": serving(bundle, Path(tmp), rounds)}
    if quality:
        result["quality"] = fast_quality.run()
    return result


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    lines = [f"# Overload: reject vs degrade, and the fast tier's quality ({report['date']})", "",
             f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB RAM, GPU: "
             f"{m.get('gpu') or 'none'}; shared with other jobs while measured (compare the same-run ratios). "
             f"Command: `python -m bench overload`. Server: {r['server']}. Each level: {r['rounds']} bursts of "
             f"that many simultaneous requests for `{r['text']}`.", "",
             "| concurrency | policy | ok | 429 | goodput audio-s/s | p50 s | p99 s | tiers |", "|---|---|---|---|---|---|---|---|"]
    s = r["serving"]
    for c in LEVELS:
        for policy in POLICIES:
            x = s[policy][f"concurrency_{c}"]
            lines.append(f"| {c} | {policy} | {x['ok']} | {x['rejected_429']} | {x['goodput_audio_s_per_s']} | "
                         f"{x['latency_ok_s']['p50']} | {x['latency_ok_s']['p99']} | {x['tiers']} |")
    lines += ["", "Goodput degrade / reject: " + ", ".join(f"{k.split('_')[1]}: {v}x"
                                                          for k, v in s["degrade_over_reject_goodput"].items()), ""]
    q = r.get("quality")
    if q:
        w, rtf, sim = q["wer"], q["rtf"], q["similarity_fast_vs_main"]
        lines += [f"Quality on {q['sentences']} held-out sentences ({q['sentence_set']}), ASR {q['asr']}:", "",
                  "| | main (int8, 2 threads) | fast tier (student, 1 thread) | yardstick (Piper joe-medium) | target (fast) |",
                  "|---|---|---|---|---|",
                  f"| WER | {w['main']['pooled']:.1%} | {w['fast']['pooled']:.1%} | {w['yardstick']['pooled']:.1%} | <= 10% |",
                  f"| RTF | {rtf['main']} | {rtf['fast']} | {rtf['yardstick']} | <= 0.02 |", "",
                  f"Fast tier vs main rendering the same voice and sentence ({sim['judge']}, mean cosine): "
                  + ", ".join(f"{v} {x}" for v, x in sim["per_voice"].items())
                  + f"; main's two English voices against each other: {sim['main_voice_a_vs_b']}.", ""]
    return "\n".join(lines) + "\n"
