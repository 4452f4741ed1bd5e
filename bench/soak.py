"""``python -m bench soak --requests N --concurrency C``: a long mixed load on one real server process.

The mix (seeded, so two runs send the same requests): short and long texts, all seven emotions, streamed
and whole responses in every format, built-in voices and a voice cloned at the start, the OpenAI route,
the fast tier, and ~5 % invalid requests of six kinds. Reported: status counts, 5xx (must be 0), 4xx
only for the invalid requests (a valid one answered 4xx is a failure; 429 is counted apart), latency
p50/p95/p99 of the valid ones, and the server's RSS and open file descriptors sampled over time, with
their growth after warm-up (the first ``warmup`` share of the requests).
"""
from __future__ import annotations

import io
import json
import os
import random
import signal
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .procs import free_port, launch, percentiles, serve_argv, stop, wait_200
from .texts import eval_sentences

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")
VOICES = ("en_female_1", "en_male_1", "jf_alpha")
FORMATS = ("wav", "mp3", "flac", "opus", "ogg", "pcm")
CLONE = "soak_clone"
INVALID_SHARE = 0.05
SAMPLE_PERIOD_S = 2.0
REFERENCE = ("The old lighthouse keeper climbed the stairs every evening. "
             "He said the sea was calm, but the wind would change before morning.")


@dataclass(frozen=True)
class Planned:
    kind: str
    """A label: tts/speech/invalid:<what>."""
    path: str
    json: dict | None = None
    raw: bytes | None = None
    stream: bool = False
    valid: bool = True


@dataclass(frozen=True)
class Outcome:
    kind: str
    valid: bool
    status: int
    seconds: float
    error_code: str | None


def _invalid(rng: random.Random) -> Planned:
    what = rng.choice(("empty_text", "unknown_voice", "unknown_emotion", "bad_json", "speed", "format"))
    body = {"text": "This request is wrong on purpose.", "voice": "en_female_1"}
    if what == "bad_json":
        return Planned("invalid:bad_json", "/v1/tts", raw=b'{"text": "unterminated', valid=False)
    body.update({"empty_text": {"text": ""}, "unknown_voice": {"voice": "nobody_at_all"},
                 "unknown_emotion": {"emotion": "bored"}, "speed": {"speed": 9.0},
                 "format": {"format": "aiff"}}[what])
    return Planned(f"invalid:{what}", "/v1/tts", json=body, valid=False)


def plan(n: int, seed: int = 22) -> list[Planned]:
    """The request mix, deterministic for a seed."""
    rng = random.Random(seed)
    sentences = eval_sentences()
    short = [s for s in sentences if len(s) <= 90] or sentences
    out = []
    for i in range(n):
        if rng.random() < INVALID_SHARE:
            out.append(_invalid(rng))
            continue
        long_text = rng.random() < 0.1
        text = " ".join(rng.sample(sentences, 4)) if long_text else rng.choice(short)
        voice = CLONE if rng.random() < 0.2 else rng.choice(VOICES)
        emotion = EMOTIONS[i % len(EMOTIONS)]
        if rng.random() < 0.25:  # OpenAI route: wav/pcm stream, the others are whole
            fmt = rng.choice(("mp3", "wav", "opus", "pcm", "flac"))
            body = {"model": rng.choice(("tts-1", "kokoro-82m", "kokoro-82m-student")), "input": text,
                    "voice": voice if voice == CLONE else rng.choice(("alloy", "onyx", "nova", voice)),
                    "response_format": fmt, "emotion": emotion}
            if rng.random() < 0.3:  # a delivery description instead of the emotion
                body["instructions"] = "sound a bit sad"
                del body["emotion"]
            out.append(Planned("speech" + ("-long" if long_text else ""), "/v1/audio/speech", json=body,
                               stream=fmt in ("wav", "pcm")))
            continue
        stream = rng.random() < 0.4
        fmt = rng.choice(("wav", "pcm")) if stream else rng.choice(FORMATS)
        body = {"text": text, "voice": voice, "emotion": f"{emotion}:{rng.choice((0.4, 0.8, 1.0))}", "format": fmt,
                "stream": stream}
        if rng.random() < 0.1:
            body["quality"] = "fast"
        out.append(Planned("tts" + ("-stream" if stream else "") + ("-long" if long_text else ""), "/v1/tts",
                           json=body, stream=stream))
    return out


def _send(client, p: Planned) -> Outcome:
    t0 = time.monotonic()
    kwargs = {"json": p.json} if p.json is not None else {"content": p.raw,
                                                          "headers": {"content-type": "application/json"}}
    with client.stream("POST", p.path, **kwargs) as r:
        body = b"".join(r.iter_bytes())
        code = None
        if r.status_code >= 400:
            try:
                code = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = body[:80].decode(errors="replace")
    return Outcome(p.kind, p.valid, r.status_code, time.monotonic() - t0, code)


def _proc_sample(pid: int) -> tuple[float | None, int | None]:
    """(RSS MiB, open file descriptors) of a process."""
    rss = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = round(int(line.split()[1]) / 1024, 1)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return rss, None
    return rss, fds


def _enroll_clone(url: str) -> None:
    import httpx

    with httpx.Client(base_url=url, timeout=600) as c:
        ref = c.post("/v1/tts", json={"text": REFERENCE, "voice": "en_male_1", "pitch": -2.0, "format": "wav"})
        ref.raise_for_status()
        r = c.post("/v1/voices", files={"file": ("ref.wav", io.BytesIO(ref.content), "audio/wav")},
                   data={"name": CLONE})
        if r.status_code not in (200, 201, 202):
            raise RuntimeError(f"enrollment failed: {r.status_code} {r.text}")
        deadline = time.monotonic() + 600
        while c.get(f"/v1/voices/{CLONE}").json().get("status") != "ready":
            if time.monotonic() > deadline:
                raise TimeoutError("the soak's cloned voice never became ready")
            time.sleep(0.5)


def drive(url: str, pid: int, requests: int, concurrency: int, warmup: float = 0.2, seed: int = 22,
          progress: Path | None = None) -> dict:
    """Send the mix to a running server; outcomes and resource samples (``progress``: a JSON file rewritten
    with the summary so far at every sample, for a run that may be cut short)."""
    import httpx

    planned = plan(requests, seed)
    outcomes: list[Outcome] = []
    samples: list[dict] = []
    lock = threading.Lock()
    done = threading.Event()
    t_start = time.monotonic()

    def sampler() -> None:
        while not done.is_set():
            rss, fds = _proc_sample(pid)
            with lock:
                samples.append({"t_s": round(time.monotonic() - t_start, 1), "completed": len(outcomes),
                                "rss_mib": rss, "fds": fds})
                so_far = (list(outcomes), list(samples))
            if progress is not None:
                progress.write_text(json.dumps(summarize(*so_far, requests, warmup, time.monotonic() - t_start)))
            done.wait(SAMPLE_PERIOD_S)

    local = threading.local()
    stopping = threading.Event()  # Ctrl-C / SIGTERM: no new requests; the ones sent are reported

    def one(p: Planned) -> None:
        if stopping.is_set():
            return
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=900)
        try:
            outcome = _send(local.client, p)
        except httpx.HTTPError as exc:
            outcome = Outcome(p.kind, p.valid, 0, 0.0, f"{type(exc).__name__}: {exc}")
        with lock:
            outcomes.append(outcome)

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            futures = [pool.submit(one, p) for p in planned]
            try:
                for future in futures:
                    future.result()
            except KeyboardInterrupt:
                stopping.set()
    finally:
        signal.signal(signal.SIGTERM, previous)
    done.set()
    watcher.join()
    rss, fds = _proc_sample(pid)
    samples.append({"t_s": round(time.monotonic() - t_start, 1), "completed": len(outcomes), "rss_mib": rss,
                    "fds": fds})
    return summarize(outcomes, samples, requests, warmup, time.monotonic() - t_start)


def summarize(outcomes: list[Outcome], samples: list[dict], requests: int, warmup: float, wall_s: float) -> dict:
    statuses = Counter(o.status for o in outcomes)
    valid = [o for o in outcomes if o.valid]
    invalid = [o for o in outcomes if not o.valid]
    after = [s for s in samples if s["completed"] >= warmup * requests and s["rss_mib"] is not None]
    base = after[0] if after else (samples[0] if samples else {"rss_mib": None, "fds": None})
    rss_values = [s["rss_mib"] for s in after]
    fd_values = [s["fds"] for s in after if s["fds"] is not None]
    end = samples[-1] if samples else base
    return {
        "requests": len(outcomes), "planned": requests, "cut_short": len(outcomes) < requests, "wall_s": round(wall_s, 1), "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors_5xx": sum(1 for o in outcomes if o.status >= 500),
        "transport_errors": sum(1 for o in outcomes if o.status == 0),
        "valid": len(valid), "invalid": len(invalid),
        "valid_answered_4xx_not_429": sum(1 for o in valid if 400 <= o.status < 500 and o.status != 429),
        "valid_429": sum(1 for o in valid if o.status == 429),
        "invalid_answered_not_4xx": sum(1 for o in invalid if not 400 <= o.status < 500),
        "error_codes": dict(Counter(f"{o.kind} -> {o.status} {o.error_code}" for o in outcomes if o.status >= 400
                                    or o.status == 0)),
        "latency_valid_ok_s": percentiles([o.seconds for o in valid if o.status == 200]),
        "latency_by_kind_p50_s": {k: percentiles([o.seconds for o in valid if o.kind == k and o.status == 200],
                                                 (0.5,))["p50"] for k in sorted({o.kind for o in valid})},
        "rss_mib": {"after_warmup": base.get("rss_mib"), "end": end.get("rss_mib"),
                    "max_after_warmup": max(rss_values) if rss_values else None,
                    "growth_after_warmup_pct": _pct(base.get("rss_mib"), end.get("rss_mib"))},
        "fds": {"after_warmup": base.get("fds"), "end": end.get("fds"),
                "max_after_warmup": max(fd_values) if fd_values else None},
        "samples": samples,
    }


def _pct(a: float | None, b: float | None) -> float | None:
    return None if not a or b is None else round(100.0 * (b - a) / a, 2)


def run(requests: int, concurrency: int, bundle: Path | None = None, extra: tuple[str, ...] = (),
        progress: Path | None = None) -> dict:
    """Start a server (the defaults: 2 workers, student fast tier) on a fresh cache, clone a voice, soak it."""
    with tempfile.TemporaryDirectory() as tmp:
        if bundle is None:
            from export import build_bundle

            bundle = Path(tmp) / "kokoro-82m"
            build_bundle(bundle, ("int8",), progress=False)
        port = free_port()
        argv = serve_argv(bundle, port, "--workers", "2", "--cache-dir", str(Path(tmp) / "cache"), *extra)
        srv = launch(argv, port)
        try:
            wait_200(srv, "/readyz", "readyz")
            _enroll_clone(srv.url)
            result = drive(srv.url, srv.proc.pid, requests, concurrency, progress=progress)
            result["exit_code"] = None
        finally:
            stop(srv)
        result["exit_code"] = srv.proc.returncode
    result.update(concurrency=concurrency, server=" ".join(["emotivoice-srv serve --workers 2", *extra]),
                  load_average_end=os.getloadavg())
    return result


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    lat, rss, fds = r["latency_valid_ok_s"], r["rss_mib"], r["fds"]
    cut = (f" -- **cut short** at {r['requests']} of the {r['planned']} planned (the time this session had)"
           if r.get("cut_short") else "")
    lines = [f"# Soak: {r['requests']} mixed requests at concurrency {r['concurrency']} ({report['date']}){cut}", "",
             f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB RAM, GPU: "
             f"{m.get('gpu') or 'none'}. {m.get('note', '')} Load average at the end: "
             f"{', '.join(f'{x:.1f}' for x in r['load_average_end'])}. Command: "
             f"`python -m bench soak --requests {r.get('planned', r['requests'])} --concurrency {r['concurrency']}`. "
             f"Server: `{r['server']}` (defaults otherwise: the student fast tier, queue 8).", "",
             "| what | value | target |", "|---|---|---|",
             f"| requests (valid / invalid) | {r['valid']} / {r['invalid']} | ~5 % invalid |",
             f"| 5xx | {r['server_errors_5xx']} | 0 |",
             f"| valid requests answered 4xx (429 apart) | {r['valid_answered_4xx_not_429']} | 0 |",
             f"| valid requests answered 429 | {r['valid_429']} | - |",
             f"| invalid requests not answered 4xx | {r['invalid_answered_not_4xx']} | 0 |",
             f"| transport errors | {r['transport_errors']} | 0 |",
             f"| latency of valid 200s p50 / p95 / p99 | {lat['p50']} / {lat['p95']} / {lat['p99']} s | - |",
             f"| RSS after warm-up / end / max | {rss['after_warmup']} / {rss['end']} / {rss['max_after_warmup']} MiB "
             f"(growth {rss['growth_after_warmup_pct']} %) | growth <= 5 % |",
             f"| open fds after warm-up / end / max | {fds['after_warmup']} / {fds['end']} / {fds['max_after_warmup']} "
             "| flat |",
             f"| wall time | {r['wall_s']} s | - |",
             f"| server exit code after SIGTERM | "
             f"{r['exit_code'] if r['exit_code'] is not None else 'none: the run was cut short, its server killed'}"
             " | 0 |", "",
             f"Statuses: {r['statuses']}. Error answers by kind: {r['error_codes']}.", "",
             "p50 latency by kind (s): " + ", ".join(f"{k} {v}" for k, v in r["latency_by_kind_p50_s"].items()), ""]
    return "\n".join(lines) + "\n"
