"""Creating onnxruntime sessions: provider and precision follow the device.

``cpu`` runs the int8 graphs on the CPU provider; ``cuda`` runs fp16 graphs on the CUDA provider;
``auto`` picks cuda when onnxruntime-gpu sees a GPU. Both onnxruntime wheels installed at once is
refused: they overwrite each other's files and whichever won is undefined.

Memory (``shared``, the default on the CPU provider): every session of the process allocates from one
onnxruntime arena, and per-shape memory patterns are off. Each session otherwise grows an arena of
its own to its largest request, and a pattern reserves one block for a whole run at each new input
shape (every utterance has its own). Server peak RSS 668 vs 871 MiB over concurrency 1-8, speed
within 1 % (`python -m bench throughput` / `latency`; docs/server.md, "Memory").
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError, InvalidInput

log = logging.getLogger("emotivoice_srv.graphs")

DEVICES = ("cpu", "cuda", "auto")
DEFAULT_PRECISION = {"cpu": "int8", "cuda": "fp16"}
SESSION_MEMORY = ("shared", "per-session")
CPU_ONLY = ("CPUExecutionProvider",)


@dataclass(frozen=True)
class RuntimeChoice:
    device: str
    precision: str
    providers: tuple[str, ...]
    memory: str = "shared"
    """``shared``: CPU sessions allocate from one process-wide arena, without memory patterns;
    ``per-session``: onnxruntime's defaults. CUDA sessions always keep their own."""


def _installed(dist: str) -> bool:
    """Whether a distribution is installed: its dist-info directory on sys.path (no importlib.metadata,
    whose import alone costs ~30 ms on the serve path)."""
    pattern = dist.replace("-", "_") + "-*.dist-info"
    return any(next(Path(p).glob(pattern), None) is not None for p in sys.path if p and Path(p).is_dir())


def check_single_runtime() -> None:
    if _installed("onnxruntime") and _installed("onnxruntime-gpu"):
        raise BundleError(
            "both onnxruntime and onnxruntime-gpu are installed; they provide the same module. "
            "Run `pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu` for GPU "
            "(or reinstall onnxruntime alone for CPU).",
            code="runtime_conflict",
        )


def choose_runtime(device: str = "auto", precision: str | None = None, memory: str = "shared") -> RuntimeChoice:
    """Resolve device -> (precision, providers); raise if cuda is asked for but unavailable."""
    if device not in DEVICES:
        raise InvalidInput(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if memory not in SESSION_MEMORY:
        raise InvalidInput(f"unknown session memory {memory!r}; choose from {', '.join(SESSION_MEMORY)}")
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    has_cuda = "CUDAExecutionProvider" in available
    if device == "auto":
        device = "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise BundleError(
            "device 'cuda' requested but onnxruntime has no CUDAExecutionProvider "
            f"(available: {sorted(available)}); install the gpu extra",
            code="device_unavailable",
        )
    providers = ("CUDAExecutionProvider", "CPUExecutionProvider") if device == "cuda" else CPU_ONLY
    return RuntimeChoice(device, precision or DEFAULT_PRECISION[device], providers, memory)


_shared_arena_lock = threading.Lock()
_shared_arena_registered = False


def _use_shared_cpu_arena(ort, opts) -> None:
    """Register the process-wide CPU arena (once) and point ``opts`` at it."""
    global _shared_arena_registered
    with _shared_arena_lock:
        if not _shared_arena_registered:
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(info, None)
            _shared_arena_registered = True
    opts.add_session_config_entry("session.use_env_allocators", "1")
    opts.enable_mem_pattern = False


def create_session(path: Path, providers: tuple[str, ...], threads: int | None = None, preoptimized: bool = False,
                   memory: str = "shared"):
    """One inference session; thread-safe ``run`` per onnxruntime's contract. ``preoptimized``: the file
    was optimized offline (manifest ``optimized``), so the session skips optimizing it again.
    ``memory``: see the module docstring (applies to CPU-only sessions)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if preoptimized:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if memory == "shared" and tuple(providers) == CPU_ONLY:
        _use_shared_cpu_arena(ort, opts)
    provider_options = []
    for p in providers:
        provider_options.append({"cudnn_conv_algo_search": "HEURISTIC"} if p == "CUDAExecutionProvider" else {})
    t0 = time.perf_counter()
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=list(providers),
                                       provider_options=provider_options)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise BundleError(f"cannot load graph {path}: {exc}", code="bundle_corrupt") from exc
    log.debug("session created", extra={"graph": str(path), "seconds": round(time.perf_counter() - t0, 3)})
    return session
