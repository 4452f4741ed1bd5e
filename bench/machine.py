"""A short description of the machine a benchmark ran on."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gib = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    import onnxruntime as ort

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "gpu": None,
            "python": platform.python_version(), "onnxruntime": ort.__version__,
            "providers": ort.get_available_providers()}
