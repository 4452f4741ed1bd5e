"""``python -m bench voicestore``: what the shared voice store costs on the synthesis path, and how fast a
new voice reaches another replica.

1. Lookup: the server's own voice resolution (``server.tenant_voices.resolve``, driven without an event
   loop) for an enrolled voice, over the local store and over Redis, interleaved in rounds; a built-in
   voice as the floor; and one Redis GET per lookup (what the in-process catalog saves) for scale.
2. Propagation: two real server processes (A, B) on one redis-server: enroll on A (the fit is cached,
   so the 201 comes at once), then poll B's GET /v1/voices every 2 ms until the voice is listed (the
   list reads B's in-process catalog only, so this is the change notice arriving; a GET of the id
   itself would also read the store on a miss); the delay is A's 201 received -> B's first listing
   (an upper bound: it includes one poll period and one HTTP round trip). The same for a delete on B
   seen as 404 on A (a catalog hit until the notice removes it).
"""
from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from .procs import free_port, launch, serve_argv, wait_200

POLL_S = 0.002


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _summary_us(seconds: list[float]) -> dict:
    us = [s * 1e6 for s in seconds]
    return {"p50_us": round(_pct(us, 0.5), 2), "p99_us": round(_pct(us, 0.99), 2), "n": len(us)}


def _summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1e3 for s in seconds]
    return {"p50_ms": round(_pct(ms, 0.5), 2), "p95_ms": round(_pct(ms, 0.95), 2), "max_ms": round(max(ms), 2),
            "n": len(ms)}


class _Redis:
    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(directory),
                                      "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _recipe_voice(voice_id: str):
    from emotivoice_srv.cloning.registry import EnrolledVoice
    from emotivoice_srv.voice_recipe import VoiceRecipe

    recipe = VoiceRecipe(voice_id, "female", {"jf_alpha": 0.6, "jf_gongitsune": 0.4}, {"jf_gongitsune": 1.0},
                         speed=0.95, pitch=-0.5, timbre_offset=tuple(0.0 for _ in range(128)))
    return EnrolledVoice(voice_id, voice_id, "", "2026-12-07T00:00:00Z", recipe, "ab" * 32, 8.0, 0.5, "bench")


def _drive(coro):
    """Run a coroutine that finishes without awaiting anything (the cached lookup) to its value."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the lookup awaited: it is not served from memory")


def lookup(bundle: Path, redis_url: str, rounds: int, per_round: int) -> dict:
    from emotivoice_srv import Engine, EngineConfig
    from emotivoice_srv.cloning import VoiceCloner
    from emotivoice_srv.cloning.store import StoreConfig, open_store
    from emotivoice_srv.server.tenancy import Principal
    from emotivoice_srv.server.tenant_voices import resolve

    engine = Engine.load(EngineConfig(bundle_dir=bundle, device="cpu", threads=1))
    principal = Principal("acme")
    contexts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, url in (("local", "local"), ("redis", redis_url)):
            store = open_store(StoreConfig(url=url), Path(tmp) / backend)
            cloner = VoiceCloner(engine, Path(tmp) / backend, store=store, publish=False)
            cloner.save(_recipe_voice("alice"), "acme")
            contexts[backend] = SimpleNamespace(voices=engine.voices, cloner=cloner, enrollments={})
        times: dict[str, list[float]] = {"builtin": [], "local": [], "redis": [], "redis_get_uncached": []}
        for _ in range(rounds):
            for name, ctx, voice in (("builtin", contexts["local"], "en_female_1"), ("local", contexts["local"], "alice"),
                                     ("redis", contexts["redis"], "alice")):
                bucket = times[name]
                for _ in range(per_round):
                    t0 = time.perf_counter()
                    _drive(resolve(ctx, principal, voice))
                    bucket.append(time.perf_counter() - t0)
            store = contexts["redis"].cloner.store
            for _ in range(max(1, per_round // 10)):
                t0 = time.perf_counter()
                store.get("acme", "alice")
                times["redis_get_uncached"].append(time.perf_counter() - t0)
        for ctx in contexts.values():
            ctx.cloner.store.close()
    out = {name: _summary_us(values) for name, values in times.items()}
    out["redis_minus_local_p50_us"] = round(out["redis"]["p50_us"] - out["local"]["p50_us"], 2)
    return out


def _wav(bundle: Path) -> bytes:
    import soundfile as sf

    from emotivoice_srv import Engine, EngineConfig

    engine = Engine.load(EngineConfig(bundle_dir=bundle, device="cpu", threads=2))
    audio = engine.synthesize("The old lighthouse keeper climbed the stairs every evening. He said the sea "
                              "was calm, but the wind would change before morning.", voice="en_male_1").audio
    buf = io.BytesIO()
    sf.write(buf, audio, engine.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def propagation(bundle: Path, redis_url: str, rounds: int) -> dict:
    import httpx

    reference = _wav(bundle)
    extra = ("--voice-store", redis_url, "--fallback-bundle", "none", "--no-warmup", "--workers", "2",
             "--fit-evaluations", "0")
    with tempfile.TemporaryDirectory() as tmp:
        servers = []
        for name in ("a", "b"):
            port = free_port()
            run = launch(serve_argv(bundle, port, "--cache-dir", str(Path(tmp) / name), *extra), port)
            servers.append(run)
        try:
            for run in servers:
                wait_200(run, "/readyz", "ready")
            a, b = (httpx.Client(base_url=run.url, timeout=120) for run in servers)

            def enroll(name: str) -> httpx.Response:
                return a.post("/v1/voices", data={"name": name}, files={"file": ("ref.wav", reference, "audio/wav")})

            first = enroll("seed")  # the one fit; every later enrollment of this audio is a cache hit
            assert first.status_code == 201, first.text
            saved, deleted = [], []
            for i in range(rounds):
                r = enroll(f"p{i}")
                t0 = time.monotonic()
                assert r.status_code == 201, r.text
                while f"p{i}" not in {v["id"] for v in b.get("/v1/voices").json()["data"]}:
                    if time.monotonic() - t0 > 10:
                        raise TimeoutError("no propagation within 10 s")
                    time.sleep(POLL_S)
                saved.append(time.monotonic() - t0)
                assert b.delete(f"/v1/voices/p{i}").status_code == 204
                t0 = time.monotonic()
                while a.get(f"/v1/voices/p{i}").status_code != 404:
                    if time.monotonic() - t0 > 10:
                        raise TimeoutError("no delete propagation within 10 s")
                    time.sleep(POLL_S)
                deleted.append(time.monotonic() - t0)
            a.close()
            b.close()
        finally:
            for run in servers:
                run.proc.terminate()
                run.proc.wait(30)
    return {"enrolled_on_a_seen_on_b": _summary_ms(saved), "deleted_on_b_gone_on_a": _summary_ms(deleted),
            "poll_period_ms": POLL_S * 1000}


def run(rounds: int = 10, per_round: int = 2000, propagation_rounds: int = 20) -> dict:
    from export import build_bundle

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "kokoro-82m"
        build_bundle(bundle, ("int8",), progress=False)
        redis_dir = Path(tmp) / "redis"
        redis_dir.mkdir()
        server = _Redis(redis_dir)
        try:
            results = {"lookup": lookup(bundle, server.url, rounds, per_round)}
            results["propagation"] = propagation(bundle, server.url, propagation_rounds)
        finally:
            server.stop()
    lk = results["lookup"]
    results["targets"] = {"redis_adds_at_most_1ms_p50": lk["redis_minus_local_p50_us"] <= 1000,
                          "propagation_at_most_1s": results["propagation"]["enrolled_on_a_seen_on_b"]["max_ms"] <= 1000}
    return results


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    lk, pr = r["lookup"], r["propagation"]
    lines = [f"# Voice store ({report['date']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; shared with other work while measured.",
             "Command: `python -m bench voicestore`.", "",
             "| voice lookup on the synthesis path | p50 | p99 | n |", "| --- | --- | --- | --- |"]
    for name, label in (("builtin", "built-in voice (floor)"), ("local", "enrolled voice, local store"),
                        ("redis", "enrolled voice, Redis store (cached in process)"),
                        ("redis_get_uncached", "one Redis GET (what the cache saves; not on the path)")):
        lines.append(f"| {label} | {lk[name]['p50_us']} µs | {lk[name]['p99_us']} µs | {lk[name]['n']} |")
    lines += ["", f"Redis minus local, p50: {lk['redis_minus_local_p50_us']} µs (target <= 1 ms).", "",
              "| propagation between two server processes | p50 | p95 | max | n |", "| --- | --- | --- | --- | --- |"]
    for name, label in (("enrolled_on_a_seen_on_b", "enrolled on A (201) -> listed by B"),
                        ("deleted_on_b_gone_on_a", "deleted on B (204) -> GET on A 404")):
        s = pr[name]
        lines.append(f"| {label} | {s['p50_ms']} ms | {s['p95_ms']} ms | {s['max_ms']} ms | {s['n']} |")
    lines += ["", f"Polled every {pr['poll_period_ms']} ms over HTTP: each delay includes up to one poll period "
              "and one GET (target <= 1 s).", ""]
    return "\n".join(lines)
