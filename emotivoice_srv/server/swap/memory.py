"""The swap's memory guard: a hot swap holds two versions at once, so it must fit beside the first.

The need of a version is estimated from its manifest before anything loads: the graph files of the
precision that will run, times a factor measured on this project's int8 bundle (CPU, shared session
memory, 2 threads: one session set 170 MiB of RSS for 92 MiB of graphs, 1.85x; a second, narrow set
+115 MiB, 1.25x; the first synthesis grows the shared arena by ~75 MiB, which the version being
replaced already paid), plus the voice tables. The limit defaults to the cgroup's memory limit (the
container's), else the machine's memory.

After the old version is dropped, ``release`` returns glibc's freed heap to the system: without it
RSS stayed at ~610 MiB after a swap that freed a 230 MiB version (with it: ~400 MiB, the level before).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from pathlib import Path

FIRST_SET_FACTOR = 1.85
EXTRA_SET_FACTOR = 1.25
CGROUP_FILES = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
NO_LIMIT = 1 << 60
"""cgroup v1 reports 'no limit' as a huge number (page-rounded 2^63)."""
MIB = 1 << 20


def cgroup_limit() -> int | None:
    """The container's memory limit in bytes, or None when there is none."""
    for path in CGROUP_FILES:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw == "max":
            return None
        try:
            value = int(raw)
        except ValueError:
            continue
        return value if value < NO_LIMIT else None
    return None


def machine_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def resolve_limit(configured: int | None) -> int | None:
    """The limit in bytes: the configured one; for 'auto' (-1) the cgroup's, else the machine's."""
    if configured is None or configured >= 0:
        return configured
    return cgroup_limit() or machine_memory()


def process_rss() -> int:
    """Resident set size of this process, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def estimate_need(graph_bytes: int, voice_bytes: int, session_sets: int) -> int:
    """Bytes a version is expected to add to RSS once loaded (see the module docstring)."""
    factor = FIRST_SET_FACTOR + EXTRA_SET_FACTOR * max(0, session_sets - 1)
    return int(graph_bytes * factor) + voice_bytes


def over_limit(rss: int, need: int, limit: int | None) -> str | None:
    """None when ``need`` fits beside ``rss`` under ``limit``, else why not (pure)."""
    if limit is None or rss + need <= limit:
        return None
    return (f"loading the new version needs ~{need / MIB:.0f} MiB beside the {rss / MIB:.0f} MiB in use, "
            f"over the swap memory limit of {limit / MIB:.0f} MiB (--swap-memory-limit / "
            f"EMOTIVOICE_SWAP_MEMORY_LIMIT); the serving version is untouched")


def release() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc only; a no-op elsewhere)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and others: no malloc_trim
        return
    trim(0)
