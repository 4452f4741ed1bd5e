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

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "gpu": _gpu(),
            "python": platform.python_version(), "onnxruntime": ort.__version__,
            "providers": ort.get_available_providers()}


def _gpu() -> str | None:
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_tag(machine: dict) -> str:
    """A short file-name tag: cpu2, or the GPU's model (h100, h200) when there is one."""
    gpu = (machine.get("gpu") or "").lower()
    for name in ("h200", "h100", "a100", "l4", "t4"):
        if name in gpu:
            return name
    return f"cpu{machine['cores']}"
