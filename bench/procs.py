"""Process and HTTP helpers shared by the serving benchmarks: launch, probe, stream, measure memory."""
from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.005


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Launched:
    proc: subprocess.Popen
    t_exec: float
    """time.monotonic() just before the exec."""
    port: int | None = None
    url: str = ""
    marks: dict[str, float] = field(default_factory=dict)

    def since_exec(self, name: str) -> float:
        return self.marks[name] - self.t_exec


def launch(argv: list[str], port: int | None = None, env: dict | None = None, stdout=subprocess.DEVNULL) -> Launched:
    env = {**os.environ, **(env or {})}
    # A deployed server runs compiled bytecode (pip compiles a wheel's modules at install; a checkout
    # writes __pycache__ on its first run). Without this, a PYTHONDONTWRITEBYTECODE=1 environment (as
    # on our dev VM and in the Dockerfile's build stages) recompiles the package's sources at every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
    return Launched(proc, t0, port, f"http://127.0.0.1:{port}" if port else "")


def serve_argv(bundle: Path, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "emotivoice_srv", "serve", "--bundle", str(bundle), "--host", "127.0.0.1",
            "--port", str(port), "--device", "cpu", "--log-level", "warning", *extra]


def wait_port(run: Launched, timeout: float = 120.0) -> float:
    """Seconds from exec until the port accepts a TCP connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.proc.poll() is not None:
            raise RuntimeError(f"process exited with {run.proc.returncode} before opening its port")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", run.port)) == 0:
                run.marks["port"] = time.monotonic()
                return run.since_exec("port")
        time.sleep(POLL_S)
    raise TimeoutError("port never opened")


def wait_200(run: Launched, path: str, mark: str, timeout: float = 300.0, period: float = 0.01) -> float:
    """Seconds from exec until GET ``path`` answers 200 (connection errors are retried)."""
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=run.url, timeout=10) as c:
        while time.monotonic() < deadline:
            try:
                if c.get(path).status_code == 200:
                    run.marks[mark] = time.monotonic()
                    return run.since_exec(mark)
            except httpx.TransportError:
                pass
            time.sleep(period)
    raise TimeoutError(f"{path} never answered 200")


@dataclass
class Streamed:
    status: int
    first_byte_s: float | None
    """From ``t_ref`` to the first body byte of audio."""
    total_s: float
    audio_bytes: int
    tier: str | None


def stream_post(url: str, path: str, body: dict, t_ref: float | None = None, retry_connect_s: float = 0.0,
                timeout: float = 120.0, headers: dict | None = None) -> Streamed:
    """POST and read the body as it arrives. ``retry_connect_s`` > 0: keep retrying a refused
    connection that long (a request fired at exec, before the port opens)."""
    import httpx

    t_ref = time.monotonic() if t_ref is None else t_ref
    give_up = time.monotonic() + retry_connect_s
    with httpx.Client(base_url=url, timeout=timeout, headers=headers) as c:
        while True:
            try:
                with c.stream("POST", path, json=body) as r:
                    first, size = None, 0
                    for chunk in r.iter_bytes():
                        if chunk and first is None:
                            first = time.monotonic() - t_ref
                        size += len(chunk)
                    return Streamed(r.status_code, first, time.monotonic() - t_ref, size,
                                    r.headers.get("x-model-tier"))
            except httpx.ConnectError:
                if time.monotonic() > give_up:
                    raise
                time.sleep(POLL_S)


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def stop(run: Launched, timeout: float = 60.0) -> None:
    if run.proc.poll() is None:
        run.proc.send_signal(signal.SIGTERM)
        try:
            run.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.proc.wait()


def spread(values: list[float]) -> dict:
    """Median with min/max over repeated runs (seconds or MiB, 3 decimals)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def percentiles(values: list[float], qs=(0.5, 0.95, 0.99)) -> dict:
    values = sorted(values)
    if not values:
        return {f"p{int(q * 100)}": None for q in qs}
    return {f"p{int(q * 100)}": round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 4)
            for q in qs}
