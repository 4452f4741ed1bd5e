"""A real server process on a free port, started the way users start it (``python -m emotivoice_srv serve``)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class ServerProcess:
    def __init__(self, bundle_dir: Path, *args: str, env: dict[str, str] | None = None, log_dir: Path,
                 port: int | None = None) -> None:
        self.port = port or free_port()  # a given port: a restart where clients expect the server
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{self.port}.log"
        if "--cache-dir" not in args:  # a fresh voice registry and fit cache unless the test shares one
            args = (*args, "--cache-dir", str(log_dir / f"cache-{self.port}"))
        if "--fallback-bundle" not in args:  # main serves from the first request unless a test asks for tiers
            args = (*args, "--fallback-bundle", "none")
        cmd = [sys.executable, "-m", "emotivoice_srv", "serve", "--bundle", str(bundle_dir), "--host", "127.0.0.1",
               "--port", str(self.port), "--device", "cpu", "--threads", "2", *args]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("EMOTIVOICE_")}
        full_env.update(env or {})
        self.started_at = time.monotonic()
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_port(self, timeout: float = 60.0) -> float:
        """Seconds from spawn until the port accepts connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            if port_open(self.port):
                return time.monotonic() - self.started_at
            time.sleep(0.02)
        raise TimeoutError(f"port {self.port} not open after {timeout} s:\n{self.log()}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(self.url + "/readyz").status_code == 200:
                return
            time.sleep(0.05)
        raise TimeoutError(f"not ready after {timeout} s:\n{self.log()}")

    def post_in_background(self, path: str, payload: dict) -> Future:
        """Send a request from another thread; ``.done()`` says whether it has been answered yet."""
        def post() -> httpx.Response:
            with self.client() as c:
                return c.post(path, json=payload)

        runner = ThreadPoolExecutor(1)
        future = runner.submit(post)
        runner.shutdown(wait=False)
        return future

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 120.0), **kwargs)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60.0) -> int:
        self.terminate()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._log.close()
        return code


@pytest.fixture(scope="session")
def start_server(bundle_dir, tmp_path_factory):
    """Factory: ``start_server(*cli_args, env=...)`` -> a ServerProcess (stopped at session end)."""
    started: list[ServerProcess] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(*args: str, env: dict[str, str] | None = None, port: int | None = None) -> ServerProcess:
        server = ServerProcess(bundle_dir, *args, env=env, log_dir=log_dir, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server) -> ServerProcess:
    """The shared, ready server most API tests talk to (2 workers, default limits, the default student
    fallback tier; ready = main serves)."""
    srv = start_server("--workers", "2", "--fallback-bundle", "student")
    srv.wait_port()
    srv.wait_ready()
    return srv


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


def decode(body: bytes, fmt: str, sample_rate: int = 24000):
    """Response bytes -> (float samples, sample rate); raw pcm is 16-bit little-endian mono."""
    import io

    import numpy as np
    import soundfile as sf

    if fmt == "pcm":
        return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32767.0, sample_rate
    return sf.read(io.BytesIO(body), dtype="float32")


@pytest.fixture(scope="session")
def decode_audio():
    return decode
