"""Ad-hoc: exec -> port / readyz for the default server with --provenance on vs off, 6 interleaved rounds.
``PYTHONPATH=. python bench/adhoc/coldstart_provenance.py``; results: bench/results/coldstart-regression-cpu2-2026-12-07.md."""
import statistics
import sys
from pathlib import Path

from bench.procs import free_port, launch, serve_argv, stop, wait_200, wait_port

bundle = Path(sys.argv[1] if len(sys.argv) > 1 else "cache/bundles/kokoro-82m")
res = {"on": {"port": [], "ready": []}, "off": {"port": [], "ready": []}}
for _ in range(6):
    for mode in ("on", "off"):
        port = free_port()
        run = launch(serve_argv(bundle, port, "--provenance", mode), port)
        res[mode]["port"].append(wait_port(run))
        res[mode]["ready"].append(wait_200(run, "/readyz", "readyz", period=0.005))
        stop(run)
for mode, r in res.items():
    print(mode, {k: round(statistics.median(v), 3) for k, v in r.items()}, {k: [round(x, 2) for x in v] for k, v in r.items()})
