"""Ad-hoc regression check: exec -> port / readyz of two checkouts' servers, 8 interleaved rounds.

Usage (from the repository root): make a checkout of the older commit with its own venv, then
``PYTHONPATH=. python bench/adhoc/coldstart_vs_commit.py OLD_CHECKOUT NEW_CHECKOUT BUNDLE_DIR``
(each checkout's ``.venv/bin/python`` runs its own server on the same bundle).
Results of the 2026-12-07 run: bench/results/coldstart-regression-cpu2-2026-12-07.md."""
import os
import statistics
import sys

from bench.procs import free_port, launch, stop, wait_200, wait_port

old, new, bundle = sys.argv[1:4]
pythons = {f"before ({old})": (f"{old}/.venv/bin/python", old), f"now ({new})": (f"{new}/.venv/bin/python", new)}
res = {k: {"port": [], "ready": []} for k in pythons}
for _ in range(int(os.environ.get("ROUNDS", "8"))):
    for name, (py, cwd) in pythons.items():
        port = free_port()
        os.chdir(cwd)
        run = launch([py, "-m", "emotivoice_srv", "serve", "--bundle", bundle, "--host", "127.0.0.1", "--port", str(port),
                      "--device", "cpu", "--log-level", "warning"], port)
        res[name]["port"].append(wait_port(run))
        res[name]["ready"].append(wait_200(run, "/readyz", "readyz", period=0.005))
        stop(run)
for name, r in res.items():
    print(name, {k: round(statistics.median(v), 3) for k, v in r.items()}, {k: [round(x, 2) for x in v] for k, v in r.items()})
