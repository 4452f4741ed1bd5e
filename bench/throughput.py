"""Throughput at concurrency 1, 2, 4, 8 (closed loop: each client sends its next request when the
last one ends), then an overload burst that must be answered with fast 429s, never 5xx.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .procs import (
    free_port,
    launch,
    peak_rss_mb,
    percentiles,
    serve_argv,
    stop,
    stream_post,
    wait_200,
)

TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home."
BODY = {"text": TEXT, "voice": "en_female_1", "format": "pcm"}


def _level(url: str, concurrency: int, per_client: int) -> dict:
    def client(_):
        return [stream_post(url, "/v1/tts", BODY) for _ in range(per_client)]

    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        results = [r for batch in pool.map(client, range(concurrency)) for r in batch]
    wall = time.monotonic() - t0
    ok = [r for r in results if r.status == 200]
    audio_s = sum(r.audio_bytes for r in ok) / 2 / 24000
    return {"requests": len(results), "errors": len(results) - len(ok),
            "statuses": sorted({r.status for r in results}), "wall_s": round(wall, 3),
            "requests_per_s": round(len(ok) / wall, 3), "audio_s_per_s": round(audio_s / wall, 3),
            "latency_s": percentiles([r.total_s for r in ok])}


def _overload(url: str, burst: int) -> dict:
    with ThreadPoolExecutor(burst) as pool:
        results = list(pool.map(lambda _: stream_post(url, "/v1/tts", BODY), range(burst)))
    by_status: dict[int, list[float]] = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r.total_s)
    return {"burst": burst, "statuses": {str(k): len(v) for k, v in sorted(by_status.items())},
            "latency_429_s": percentiles(by_status.get(429, []), (0.5, 0.99)),
            "server_errors": sum(len(v) for k, v in by_status.items() if k >= 500)}


PER_SESSION = ("--session-memory", "per-session")
VARIANTS = (("--concurrent-threads", "0"), PER_SESSION, ("--concurrent-threads", "0", *PER_SESSION))
"""Server settings measured after the defaults: without the second session set for overlapping
syntheses (throughput's baseline), and with onnxruntime's per-session memory (peak RSS's baseline)."""


def run(bundle: Path, per_client: int = 6, levels=(1, 2, 4, 8), burst: int = 48,
        extra: tuple[str, ...] = ()) -> dict:
    port = free_port()
    srv = launch(serve_argv(bundle, port, *extra), port)
    try:
        wait_200(srv, "/readyz", "readyz")
        stream_post(srv.url, "/v1/tts", BODY)
        out = {f"concurrency_{c}": _level(srv.url, c, per_client if c <= 2 else max(2, per_client * 2 // c))
               for c in levels}
        out["overload"] = _overload(srv.url, burst)
        out["peak_rss_mb"] = peak_rss_mb(srv.proc.pid)
    finally:
        stop(srv)
    one, two = out["concurrency_1"]["audio_s_per_s"], out["concurrency_2"]["audio_s_per_s"]
    out["ratios"] = {"audio_s_per_s_c2_over_c1": round(two / one, 2)}
    out["text"] = TEXT
    out["server_args"] = list(extra)
    return out
