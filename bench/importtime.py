"""`python -X importtime` audit of what `emotivoice-srv serve` imports before its port opens."""
from __future__ import annotations

import os
import re
import subprocess
import sys

SERVE_PATH_IMPORTS = ("emotivoice_srv.cli", "emotivoice_srv.server.run", "emotivoice_srv.server.app",
                      "emotivoice_srv.engine", "onnxruntime", "emotivoice_srv.cloning")
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def audit(top: int = 15) -> dict:
    code = "; ".join(f"import {m}" for m in SERVE_PATH_IMPORTS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as deployed: bytecode cached
    subprocess.run([sys.executable, "-c", code], env=env, check=True)  # writes the bytecode a deployed server has
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    rows = []
    for line in done.stderr.splitlines():
        m = LINE.match(line)
        if m:
            rows.append({"module": m.group(4), "self_ms": int(m.group(1)) / 1000,
                         "cumulative_ms": int(m.group(2)) / 1000, "depth": (len(m.group(3)) - 1) // 2})
    roots = [r for r in rows if r["depth"] == 0]
    heaviest = sorted((r for r in rows if r["depth"] <= 1), key=lambda r: -r["cumulative_ms"])[:top]
    never = ("torch", "librosa", "scipy", "sklearn", "numba", "faster_whisper", "transformers")
    return {"total_ms": round(sum(r["cumulative_ms"] for r in roots), 1),
            "heaviest": [{k: r[k] for k in ("module", "cumulative_ms")} for r in heaviest],
            "heavy_modules_imported": sorted({r["module"].split(".")[0] for r in rows} & set(never))}
