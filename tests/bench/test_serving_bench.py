"""The serving benchmark's pure parts: summaries over repeated runs, and BENCHMARKS.md from the
committed result files (so a results file the report cannot render fails here, not at release)."""
from __future__ import annotations

import json
from pathlib import Path

from bench.procs import percentiles, spread
from bench.report import benchmarks_md

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def test_spread_is_median_min_max_and_ignores_missing_runs():
    assert spread([0.3, 0.1, 0.2, None]) == {"median": 0.2, "min": 0.1, "max": 0.3, "n": 3}
    assert spread([None]) == {"median": None, "min": None, "max": None, "n": 0}


def test_percentiles_are_nearest_rank_on_sorted_values():
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {"p50": 51.0, "p95": 95.0, "p99": 99.0}
    assert percentiles([], (0.5,)) == {"p50": None}


def test_every_committed_serving_result_renders_into_benchmarks_md():
    files = [p for p in sorted(RESULTS.glob("*-20??-??-??.json")) if "scenarios" in json.loads(p.read_text())]
    assert files, "no serving benchmark results committed"
    text = benchmarks_md(files)
    for path in files:
        data = json.loads(path.read_text())
        assert f"## {path.stem}" in text
        if "coldstart" in data["scenarios"]:
            assert "ours ready / floor" in text and "lazy TTFA / ours" in text
        if "throughput" in data["scenarios"]:
            assert "Audio-s/s at concurrency 2 / 1" in text
    assert (RESULTS.parents[1] / "BENCHMARKS.md").read_text() == text  # the committed file is up to date
