"""Hot-swap settings (filled from the LIFECYCLE options in settings.py)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CanaryConfig:
    duration_tolerance: float = 0.2
    """Largest relative difference in a sentence's duration vs the serving version (0.2 = 20 %)."""
    f0_tolerance_st: float = 2.0
    """Largest difference in a sentence's median F0 vs the serving version, in semitones."""
    min_level_db: float = -45.0
    """A render whose active level (dBFS) is below this counts as silent."""


@dataclass(frozen=True)
class SwapConfig:
    watch_bundle_s: float = 0.0
    """Poll the configured bundle paths (or symlinks) this often for a new manifest; 0: off."""
    memory_limit: int | None = -1
    """Bytes the process may reach with two versions loaded; -1: the cgroup's limit (else the
    machine's); None: no guard."""
    keep_previous_s: float = 0.0
    """Seconds the replaced version stays loaded for an instant rollback; 0: unloaded once drained
    (a rollback reloads it from its bundle directory, verified against the manifest it had)."""
    max_delta_bytes: int = 1 << 30
    """Largest delta POST /admin/bundles accepts (413 above)."""
    drain_timeout_s: float | None = None
    """Longest wait for the old version's in-flight requests; None: the request timeout."""
    canary: CanaryConfig = field(default_factory=CanaryConfig)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SwapConfig:
        if not hasattr(args, "watch_bundle"):  # a parser without the LIFECYCLE options
            return cls()
        return cls(watch_bundle_s=args.watch_bundle, memory_limit=args.swap_memory_limit,
                   keep_previous_s=args.swap_keep_previous,
                   max_delta_bytes=args.max_delta_bytes,
                   canary=CanaryConfig(duration_tolerance=args.canary_duration_tolerance,
                                       f0_tolerance_st=args.canary_f0_tolerance,
                                       min_level_db=args.canary_min_level))
