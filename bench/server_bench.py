"""Server benchmark: start-up ordering and request latency of `emotivoice-srv serve`, measured from outside.

Start-up (fresh process each run): exec -> port accepts -> /readyz 200, and a short request fired
the moment the port opens (cold first request). Warm (one server, default workers): non-streamed
latency and streamed time-to-first-audio at concurrency 1 and 4. Baseline in the same run: the same
text synthesized in-process by the engine, so the HTTP/pool overhead is a ratio, not a guess.
"""
from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SHORT = "The quick brown fox jumps over the lazy dog."
MEDIUM = ("Streaming starts with the first sentence. The rest of this paragraph is rendered while the first "
          "part already plays. A third sentence makes the request long enough to matter.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start(bundle: Path, *args: str) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "emotivoice_srv", "serve", "--bundle", str(bundle),
                             "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning",
                             *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}", t0


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(60)


def cold_start(bundle: Path, runs: int) -> dict:
    import httpx

    samples = []
    for _ in range(runs):
        proc, url, t0 = _start(bundle)
        port = int(url.rsplit(":", 1)[1])
        while not _port_open(port):
            time.sleep(0.005)
        port_s = time.monotonic() - t0
        with httpx.Client(base_url=url, timeout=120) as c:
            t1 = time.monotonic()
            r = c.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1"})
            first_s = time.monotonic() - t1
            assert r.status_code == 200, r.text
            while c.get("/readyz").status_code != 200:
                time.sleep(0.01)
            ready_s = time.monotonic() - t0
        samples.append({"port_open_s": port_s, "first_request_s": first_s,
                        "first_audio_since_exec_s": t1 - t0 + first_s, "ready_s": ready_s})
        _stop(proc)
    return {key: {"median": round(statistics.median(s[key] for s in samples), 3),
                  "min": round(min(s[key] for s in samples), 3), "max": round(max(s[key] for s in samples), 3)}
            for key in samples[0]} | {"runs": runs}


def _streamed(client, text: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = None
    with client.stream("POST", "/v1/tts", json={"text": text, "voice": "en_female_1", "stream": True}) as r:
        for chunk in r.iter_bytes():
            if first is None and chunk:
                first = time.perf_counter() - t0
    return first, time.perf_counter() - t0


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 3)


def warm(bundle: Path, requests: int) -> dict:
    import httpx

    proc, url, _ = _start(bundle)
    try:
        with httpx.Client(base_url=url, timeout=120) as c:
            while True:
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            lat = []
            for _ in range(requests):
                t0 = time.perf_counter()
                assert c.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1"}).status_code == 200
                lat.append(time.perf_counter() - t0)
            out = {"latency_short_s": {"p50": _pct(lat, 0.5), "p95": _pct(lat, 0.95)}}
            for conc in (1, 4):
                def client_run(_):
                    with httpx.Client(base_url=url, timeout=120) as cc:
                        return [_streamed(cc, MEDIUM) for _ in range(max(1, requests // conc))]

                with ThreadPoolExecutor(conc) as pool:
                    results = [x for batch in pool.map(client_run, range(conc)) for x in batch]
                ttfa = [r[0] for r in results]
                total = [r[1] for r in results]
                out[f"stream_concurrency_{conc}"] = {"ttfa_p50_s": _pct(ttfa, 0.5), "ttfa_p95_s": _pct(ttfa, 0.95),
                                                      "total_p50_s": _pct(total, 0.5), "requests": len(results)}
    finally:
        _stop(proc)
    return out


def in_process_baseline(bundle: Path, requests: int) -> dict:
    from emotivoice_srv import Engine, EngineConfig

    engine = Engine.load(EngineConfig(bundle, device="cpu"))
    engine.synthesize(SHORT, voice="en_female_1")
    lat = []
    for _ in range(requests):
        t0 = time.perf_counter()
        engine.synthesize(SHORT, voice="en_female_1")
        lat.append(time.perf_counter() - t0)
    first = []
    for _ in range(max(1, requests // 2)):
        t0 = time.perf_counter()
        next(iter(engine.stream(MEDIUM, __import__("emotivoice_srv").SynthesisOptions(voice="en_female_1"))))
        first.append(time.perf_counter() - t0)
    return {"latency_short_s": {"p50": _pct(lat, 0.5)}, "first_chunk_medium_s": {"p50": _pct(first, 0.5)}}


def run(runs: int = 3, requests: int = 12) -> dict:
    from export import build_bundle

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "kokoro-82m"
        build_bundle(bundle, ("int8",), progress=False)
        result = {"cold_start": cold_start(bundle, runs), "warm": warm(bundle, requests),
                  "in_process_engine": in_process_baseline(bundle, requests)}
    w, e = result["warm"], result["in_process_engine"]
    result["ratios"] = {
        "http_latency_over_engine": round(w["latency_short_s"]["p50"] / e["latency_short_s"]["p50"], 2),
        "http_ttfa_over_engine_first_chunk": round(w["stream_concurrency_1"]["ttfa_p50_s"]
                                                   / e["first_chunk_medium_s"]["p50"], 2),
    }
    return result


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    cs, w, e = r["cold_start"], r["warm"], r["in_process_engine"]
    lines = [
        f"# Server benchmark ({report['date']})", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, GPU: {m['gpu']}; "
        f"onnxruntime {m['onnxruntime']}, int8 CPU bundle. Command: `python -m bench server`.", "",
        f"## Start-up (fresh process, {cs['runs']} runs: median [min-max])", "",
        "| step | seconds since exec |", "|---|---|",
    ]
    for key, label in (("port_open_s", "port accepts connections (model already loaded)"),
                       ("first_audio_since_exec_s", "first request (fired at port open) answered"),
                       ("ready_s", "/readyz 200 (after warm-up)")):
        lines.append(f"| {label} | {cs[key]['median']} [{cs[key]['min']}-{cs[key]['max']}] |")
    lines += ["", f"Cold first request latency (from send): {cs['first_request_s']['median']} s.", "",
              "## Warm", "", "| measure | server (HTTP) | in-process engine | ratio |", "|---|---|---|---|",
              f"| short sentence, not streamed, p50 | {w['latency_short_s']['p50']} s | {e['latency_short_s']['p50']} s "
              f"| {r['ratios']['http_latency_over_engine']} |",
              f"| 3-sentence text, streamed TTFA p50 (concurrency 1) | {w['stream_concurrency_1']['ttfa_p50_s']} s "
              f"| {e['first_chunk_medium_s']['p50']} s | {r['ratios']['http_ttfa_over_engine_first_chunk']} |", "",
              "| concurrency | TTFA p50 | TTFA p95 | total p50 | requests |", "|---|---|---|---|---|"]
    for conc in (1, 4):
        s = w[f"stream_concurrency_{conc}"]
        lines.append(f"| {conc} | {s['ttfa_p50_s']} s | {s['ttfa_p95_s']} s | {s['total_p50_s']} s | {s['requests']} |")
    return "\n".join(lines) + "\n"
