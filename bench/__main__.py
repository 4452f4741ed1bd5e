"""``python -m bench engine [--repeats N] [--sentences N]``"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from . import engine_bench
from .machine import describe

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="scenario", required=True)
    p = sub.add_parser("engine", help="export time, bundle sizes, session creation, RTF per precision")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sentences", type=int, default=10)
    args = parser.parse_args()
    report = {"scenario": args.scenario, "date": time.strftime("%Y-%m-%d"), "machine": describe(),
              "results": engine_bench.run(RESULTS, args.repeats, args.sentences)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{args.scenario}-cpu{report['machine']['cores']}-{report['date']}"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(engine_bench.to_markdown(report))
    print(engine_bench.to_markdown(report))


if __name__ == "__main__":
    main()
