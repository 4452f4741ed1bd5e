"""``python -m bench swap``: latency and memory around a hot swap of the main model under steady load.

One server (2 workers, an admin key) serves version A of the bundle; version B is the same graphs under
another version (bench/bundle_copies.py: a swap does all its work whatever changed). Two clients keep
a steady load the whole time, each sending a request then pausing as long as it took (~50 % duty): a
short whole-response request and a streamed one in turn. Each round: ``window`` seconds of steady
load (before), POST /admin/models/main (during: from the request to its answer, old version drained
and unloaded), ``window`` seconds after. Per phase, pooled over the rounds: p50/p99 latency of the
short requests and time to first audio of the streams (during: every request in flight at any moment
of a swap; before/after: the requests wholly inside the window); the swap's own timings (request -> switched);
the server's RSS (sampled every 50 ms): steady median vs the peak while swapping.
"""
from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from .bundle_copies import bumped
from .procs import free_port, launch, percentiles, serve_argv, stop, stream_post, wait_200

ADMIN = "bench-admin"
SHORT = {"text": "Hello there, thank you for calling.", "voice": "en_male_1", "format": "pcm"}
STREAMED = {"text": "The first sentence is short. The second one is a little longer than that.",
            "voice": "en_female_1", "format": "pcm", "stream": True}
SERVER_ARGS = ("--workers", "2", "--admin-keys", f"ops:{ADMIN}", "--api-keys", "user:bench-user")
USER_HEADERS = {"Authorization": "Bearer bench-user"}
QUIET_S = 8.0
"""Idle seconds after start: the cloning warm-up and the serving version's canary renders run in the
first quiet moments, as on a deployed server, and are not counted as the swap's."""


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Load:
    """Clients sending short and streamed requests in turn, each pausing as long as its last request took."""

    def __init__(self, url: str, clients: int = 2) -> None:
        self.url, self.stop = url, threading.Event()
        self.samples: list[tuple[float, float, str, float, int]] = []
        """(start, end, kind short|stream, seconds: total for short, first audio for streams, status)."""
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)]

    def _client(self, index: int) -> None:
        import httpx

        stream = bool(index % 2)
        with httpx.Client(base_url=self.url, timeout=120, headers=USER_HEADERS) as c:
            while not self.stop.is_set():
                t0 = time.monotonic()
                try:
                    with c.stream("POST", "/v1/tts", json=STREAMED if stream else SHORT) as r:
                        first = None
                        for chunk in r.iter_bytes():
                            if chunk and first is None:
                                first = time.monotonic() - t0
                        status = r.status_code
                except httpx.HTTPError:
                    first, status = None, 0
                took = time.monotonic() - t0
                self.samples.append((t0, t0 + took, "stream" if stream else "short",
                                     (first or took) if stream else took, status))
                stream = not stream
                self.stop.wait(took)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(120)

    def overlapping(self, t0: float, t1: float, kind: str) -> list[float]:
        """The requests of ``kind`` that were in flight at any moment of [t0, t1)."""
        return [s for start, end, k, s, status in self.samples
                if start < t1 and end > t0 and k == kind and status == 200]

    def within(self, t0: float, t1: float, kind: str) -> list[float]:
        """The requests of ``kind`` that started and ended inside [t0, t1)."""
        return [s for start, end, k, s, status in self.samples
                if t0 <= start and end <= t1 and k == kind and status == 200]


def _sample_rss(pid: int, stop: threading.Event, out: list[tuple[float, float]]) -> None:
    while not stop.wait(0.05):
        rss = _rss_mib(pid)
        if rss is not None:
            out.append((time.monotonic(), rss))


def _swap(url: str, bundle: Path) -> tuple[dict, float]:
    import httpx

    t0 = time.monotonic()
    r = httpx.post(f"{url}/admin/models/main", json={"bundle": str(bundle)}, timeout=300,
                   headers={"Authorization": f"Bearer {ADMIN}"})
    took = time.monotonic() - t0
    if r.status_code != 200:
        raise RuntimeError(f"swap failed: {r.status_code} {r.text}")
    return r.json(), took


def run(rounds: int = 3, window_s: float = 20.0) -> dict:
    from export import build_bundle

    with tempfile.TemporaryDirectory() as tmp:
        a = Path(tmp) / "bundles" / "kokoro-82m"
        build_bundle(a, ("int8",), progress=False)
        b = bumped(a, Path(tmp) / "bundles" / "kokoro-82m-b", "1.0.0-b")
        port = free_port()
        srv = launch(serve_argv(a, port, *SERVER_ARGS, "--cache-dir", str(Path(tmp) / "cache")), port)
        rss: list[tuple[float, float]] = []
        sampler_stop = threading.Event()
        try:
            wait_200(srv, "/readyz", "readyz")
            for _ in range(3):
                stream_post(srv.url, "/v1/tts", SHORT, headers=USER_HEADERS)
            time.sleep(QUIET_S)  # the server's idle-time work (cloning warm-up, canary pre-render) happens now
            sampler = threading.Thread(target=_sample_rss, args=(srv.proc.pid, sampler_stop, rss), daemon=True)
            sampler.start()
            phases: dict[str, list[tuple[float, float]]] = {"before": [], "during": [], "after": []}
            swaps = []
            with Load(srv.url) as load:
                for i in range(rounds):
                    t_before = time.monotonic()
                    time.sleep(window_s)
                    t_swap = time.monotonic()
                    record, took = _swap(srv.url, b if i % 2 == 0 else a)
                    t_done = time.monotonic()
                    time.sleep(window_s)
                    phases["before"].append((t_before, t_swap))
                    phases["during"].append((t_swap, t_done))
                    phases["after"].append((t_done, time.monotonic()))
                    swaps.append({"client_seconds": round(took, 3), **{k: record[k] for k in (
                        "from_version", "to_version", "result", "seconds")}})
            sampler_stop.set()
            failed = sum(1 for *_, status in load.samples if status != 200)
        finally:
            sampler_stop.set()
            stop(srv)
    out: dict = {"rounds": rounds, "window_s": window_s, "requests": len(load.samples), "failed_requests": failed,
                 "short_text": SHORT["text"], "streamed_text": STREAMED["text"], "server_args": list(SERVER_ARGS),
                 "phases": {}, "swaps": swaps}
    for phase, spans in phases.items():  # during: in flight at any moment of a swap; before/after: wholly outside
        pick = load.overlapping if phase == "during" else load.within
        short = [s for t0, t1 in spans for s in pick(t0, t1, "short")]
        stream = [s for t0, t1 in spans for s in pick(t0, t1, "stream")]
        out["phases"][phase] = {"short_total_s": {**percentiles(short, (0.5, 0.99)), "n": len(short)},
                                "stream_first_audio_s": {**percentiles(stream, (0.5, 0.99)), "n": len(stream)}}
    steady = [r for t, r in rss if any(t0 <= t < t1 for t0, t1 in phases["before"])]
    during = [r for t, r in rss if any(t0 <= t < t1 for t0, t1 in phases["during"])]
    after = [r for t, r in rss if any(t0 <= t < t1 for t0, t1 in phases["after"][-1:])]
    out["rss_mib"] = {"steady_median": round(statistics.median(steady), 1) if steady else None,
                      "peak_during_swap": round(max(during), 1) if during else None,
                      "after_last_swap_median": round(statistics.median(after), 1) if after else None}
    before_p99 = out["phases"]["before"]["short_total_s"]["p99"]
    during_p99 = out["phases"]["during"]["short_total_s"]["p99"]
    out["p99_during_over_steady"] = round(during_p99 / before_p99, 2) if before_p99 and during_p99 else None
    out["to_switched_s"] = [s["seconds"].get("to_switched") for s in swaps]
    return out


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    note = m.get("note") or "shared with other jobs while measured (compare the same-run ratios)"
    lines = [f"# Hot swap of the main model under steady load ({report['date']})", "",
             f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB RAM; {note}. "
             f"Command: `python -m bench swap`. Server: `{' '.join(r['server_args'])}`; {r['rounds']} swaps, "
             f"{r['window_s']:g} s of steady load before and after each; {r['requests']} requests, "
             f"{r['failed_requests']} failed. During: every request in flight at any moment of a swap; "
             "before/after: the requests wholly inside the windows.", "",
             "| phase | short p50 s | short p99 s | n | stream first audio p50 s | p99 s | n |",
             "|---|---|---|---|---|---|---|"]
    for phase in ("before", "during", "after"):
        p = r["phases"][phase]
        s, st = p["short_total_s"], p["stream_first_audio_s"]
        lines.append(f"| {phase} | {s['p50']} | {s['p99']} | {s['n']} | {st['p50']} | {st['p99']} | {st['n']} |")
    rss = r["rss_mib"]
    lines += ["", f"p99 of short requests during a swap / steady: **{r['p99_during_over_steady']}x** (target <= 1.5x).",
              f"Request -> switched (server-side, per swap): {r['to_switched_s']} s (target <= 3 s).",
              f"RSS: steady median {rss['steady_median']} MiB, peak while swapping {rss['peak_during_swap']} MiB, "
              f"after the last swap {rss['after_last_swap_median']} MiB.", "",
              "| swap | result | verify s | load s | canary s | to switched s | drain s | client s |",
              "|---|---|---|---|---|---|---|---|"]
    for s in r["swaps"]:
        sec = s["seconds"]
        lines.append(f"| {s['from_version']} -> {s['to_version']} | {s['result']} | {sec.get('verifying')} | "
                     f"{sec.get('loading')} | {sec.get('canary')} | {sec.get('to_switched')} | {sec.get('draining')} "
                     f"| {s['client_seconds']} |")
    return "\n".join(lines) + "\n"
