"""A bundle's graph sessions on their own: what a start-up creates first, before anything else is imported.

Needs only onnxruntime, numpy and the manifest reader, so the server can create the sessions on one
thread while another imports the text front-end and the web stack (session creation releases the GIL).
"""
from __future__ import annotations

import time
from pathlib import Path

from ..bundle import Manifest, check_sizes, read_manifest, verify_files
from .chain import KokoroGraphs
from .session import check_single_runtime, choose_runtime


def load_bundle_graphs(bundle_dir: Path, device: str = "auto", precision: str | None = None,
                       threads: int | None = None, verify_hashes: bool = False,
                       memory: str = "shared") -> tuple[Manifest, KokoroGraphs, float]:
    """(manifest, graphs, seconds taken)."""
    t0 = time.perf_counter()
    check_single_runtime()
    manifest = read_manifest(bundle_dir)
    runtime = choose_runtime(device, precision, memory)
    if verify_hashes:
        verify_files(bundle_dir, manifest, (runtime.precision,))
    else:
        check_sizes(bundle_dir, manifest, (runtime.precision,))
    graphs = KokoroGraphs.load(bundle_dir, manifest, runtime, threads)
    return manifest, graphs, time.perf_counter() - t0
