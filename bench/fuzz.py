"""Schemathesis against a real server: every check, coverage + fuzzing + stateful phases, fixed seed.

``python -m bench fuzz`` runs the large version (the CI test, tests/server/test_schemathesis.py, runs a
small one through the same ``run_schemathesis``) and reports test cases, failures (by Schemathesis code),
5xx answers and the latency percentiles of every request it sent (from its HAR log).

The fuzzer's configuration is written here, with why:
- ``max_response_time`` is the server's own deadline plus a margin (``MAX_RESPONSE_TIME_S``).
- ``negative_data_rejection`` also accepts 413: a text over ``maxLength`` (the server's --max-text-chars)
  is refused with 413 ``text_too_long``, the status RFC 9110 gives content over a size limit.
- reference-audio parts get real speech in positive cases (bench/fuzz_hooks.py): no schema can say
  "3-30 s of one person's speech", and without it no enrollment would succeed and the stateful links
  from POST /v1/voices to GET/DELETE /v1/voices/{voice_id} would never be followed.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKS = "all"
PHASES = "examples,coverage,fuzzing,stateful"
NEGATIVE_EXPECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
REQUEST_TIMEOUT_S, ENROLL_WAIT_S = 60, 30
SERVER_ARGS = ("--max-text-chars", "200", "--workers", "2", "--fallback-bundle", "none",
               "--enroll-wait", str(ENROLL_WAIT_S), "--request-timeout", str(REQUEST_TIMEOUT_S), "--log-level", "warning")
"""The fuzzed server: 200-character texts (the schema says so), so a generated text renders in seconds."""
MAX_RESPONSE_TIME_S = REQUEST_TIMEOUT_S + 15
"""``max_response_time`` (on with --checks all, 10 s by default): every answer within the server's own
deadline (--request-timeout; an enrollment answers 202 after --enroll-wait) plus a margin, i.e. nothing
hangs. 10 s is not a promise this server makes: on 2 shared cores an enrollment's fit alone can take longer."""
REFERENCE_TEXT = ("The old lighthouse keeper climbed the stairs every evening. "
                  "He said the sea was calm, but the wind would change before morning.")


def reference_clips(bundle: Path, out_dir: Path) -> Path:
    """Real speech for the reference-audio parts (a built-in voice, shifted): a listing file of WAV paths."""
    import soundfile as sf

    from emotivoice_srv import Engine, EngineConfig

    engine = Engine.load(EngineConfig(bundle_dir=bundle, device="cpu", threads=2))
    wav = out_dir / "reference.wav"
    sf.write(wav, engine.synthesize(REFERENCE_TEXT, voice="en_male_1", pitch=-2.0).audio, engine.sample_rate,
             subtype="PCM_16")
    listing = out_dir / "references.txt"
    listing.write_text(f"{wav}\n")
    return listing


def _config(path: Path) -> Path:
    path.write_text(f"[checks]\nmax_response_time = {MAX_RESPONSE_TIME_S}\n\n"
                    "[checks.negative_data_rejection]\nexpected-statuses = ["
                    + ", ".join(f'"{s}"' for s in NEGATIVE_EXPECTED) + "]\n")
    return path


def run_schemathesis(url: str, references: Path, out_dir: Path, *, max_examples: int, seed: int = 20261208,
                     workers: int = 2, timeout_s: float = 1800) -> dict:
    """One Schemathesis run against ``url``; its summary (see ``summarize``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config = _config(out_dir / "schemathesis.toml")
    cmd = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
           "--no-color", "--config-file", str(config), "run", f"{url}/openapi.json", "--checks", CHECKS, "--phases", PHASES,
           "--max-examples", str(max_examples), "--seed", str(seed), "--workers", str(workers),
           "--generation-database", "none", "--request-timeout", "150", "--report", "json,har",
           "--report-dir", str(out_dir)]
    env = {"SCHEMATHESIS_HOOKS": "bench.fuzz_hooks", "FUZZ_REFERENCE_LIST": str(references),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout_s,
                          cwd=out_dir)
    (out_dir / "output.txt").write_text(proc.stdout + proc.stderr)
    summary = summarize(out_dir)
    summary.update(exit_code=proc.returncode, wall_s=round(time.monotonic() - t0, 1), seed=seed,
                   max_examples=max_examples, output=str(out_dir / "output.txt"))
    return summary


def summarize(report_dir: Path) -> dict:
    """Cases, failures by code, errors, and what the server answered (status counts, latency)."""
    reports = sorted(report_dir.glob("json-*.json"))
    report = json.loads(reports[-1].read_text()) if reports else {}
    entries = []
    for har in sorted(report_dir.glob("har-*.json"))[-1:]:
        entries += json.loads(har.read_text())["log"]["entries"]
    statuses: dict[str, int] = {}
    times = sorted(e["time"] / 1000.0 for e in entries if e.get("time") is not None)
    for e in entries:
        key = str(e["response"]["status"])
        statuses[key] = statuses.get(key, 0) + 1
    failures = {f["code"]: {"title": f["title"], "count": f["count"], "operations": f["operations"]}
                for f in report.get("failures", [])}

    def pct(q: float) -> float | None:
        return round(times[min(len(times) - 1, int(q * len(times)))], 4) if times else None

    return {"test_cases": report.get("test_cases", {}).get("generated"), "requests": len(entries),
            "failures": sum(f["count"] for f in failures.values()), "failures_by_code": failures,
            "errors": len(report.get("errors", [])), "error_titles": [str(e)[:300] for e in report.get("errors", [])],
            "status_5xx": sum(n for s, n in statuses.items() if s.startswith("5")), "statuses": statuses,
            "phases": {k: v.get("status") for k, v in report.get("phases", {}).items()},
            "latency_s": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99),
                          "max": round(times[-1], 4) if times else None,
                          "mean": round(statistics.fmean(times), 4) if times else None},
            "warnings": {k: v for k, v in report.get("warnings", {}).items() if v}}


def run(max_examples: int, seed: int, workers: int) -> dict:
    from export import build_bundle

    from .procs import free_port, launch, serve_argv, wait_200

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bundle = root / "kokoro-82m"
        build_bundle(bundle, ("int8",), progress=False)
        references = reference_clips(bundle, root)
        port = free_port()
        server = launch(serve_argv(bundle, port, "--cache-dir", str(root / "cache"), *SERVER_ARGS), port=port)
        try:
            wait_200(server, "/readyz", "ready")
            summary = run_schemathesis(server.url, references, root / "report", max_examples=max_examples,
                                       seed=seed, workers=workers, timeout_s=6 * 3600)
            summary["server_alive"] = server.proc.poll() is None
        finally:
            server.proc.terminate()
            server.proc.wait(60)
        summary["output_tail"] = Path(summary.pop("output")).read_text()[-3000:]
    summary.update(server_args=list(SERVER_ARGS), checks=CHECKS, phases_run=PHASES,
                   negative_data_rejection_expected=NEGATIVE_EXPECTED)
    return summary


def to_markdown(report: dict) -> str:
    r = report["results"]
    lat = r["latency_s"]
    lines = [f"# Schemathesis fuzz run ({report['date']})", "",
             f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores"
             + (f" ({report['machine']['note']})" if report["machine"].get("note") else ""), "",
             f"Command: `python -m bench fuzz --max-examples {r['max_examples']} --seed {r['seed']}` "
             f"(checks {r['checks']}, phases {r['phases_run']}; server {' '.join(r['server_args'])})", "",
             "| test cases | requests | failures | errors | 5xx | p50 s | p95 s | p99 s | max s | wall s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
             f"| {r['test_cases']} | {r['requests']} | {r['failures']} | {r['errors']} | {r['status_5xx']} | "
             f"{lat['p50']} | {lat['p95']} | {lat['p99']} | {lat['max']} | {r['wall_s']} |", "",
             f"Statuses: {json.dumps(r['statuses'], sort_keys=True)}", "",
             f"Phase results: {json.dumps(r['phases'])}", "",
             "Latency is every request the fuzzer sent (refusals included), on a machine shared with other "
             "work: compare runs on the same machine only.", ""]
    for code, f in r["failures_by_code"].items():
        lines.append(f"- {code} {f['title']}: {f['count']} ({', '.join(f['operations'])})")
    return "\n".join(lines) + "\n"
