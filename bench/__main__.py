"""``python -m bench engine [--repeats N] [--sentences N]`` | ``python -m bench server [--runs N] [--requests N]``
| ``python -m bench clone [--speakers N]``"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from . import clone_bench, engine_bench, server_bench
from .machine import describe

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="scenario", required=True)
    p = sub.add_parser("engine", help="export time, bundle sizes, session creation, RTF per precision")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sentences", type=int, default=10)
    p = sub.add_parser("server", help="serve: exec -> port -> ready, cold first request, warm latency and TTFA")
    p.add_argument("--runs", type=int, default=3, help="fresh server processes for the start-up numbers")
    p.add_argument("--requests", type=int, default=12, help="requests per warm measurement")
    p = sub.add_parser("clone", help="voice cloning: held-out similarity (GE2E + d-vector), WER, enroll/cache time")
    p.add_argument("--speakers", type=int, default=None, help="first N reference speakers (default: all 21)")
    p.add_argument("--timing-only", action="store_true", help="only enrollment and cache-hit time (-> clone-timing-*)")
    args = parser.parse_args()
    if args.scenario == "engine":
        results, module = engine_bench.run(RESULTS, args.repeats, args.sentences), engine_bench
    elif args.scenario == "clone":
        results, module = clone_bench.run(args.speakers, args.timing_only), clone_bench
        args.scenario = "clone-timing" if args.timing_only else "clone"
    else:
        results, module = server_bench.run(args.runs, args.requests), server_bench
    report = {"scenario": args.scenario, "date": time.strftime("%Y-%m-%d"), "machine": describe(),
              "results": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{args.scenario}-cpu{report['machine']['cores']}-{report['date']}"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(module.to_markdown(report))
    print(module.to_markdown(report))


if __name__ == "__main__":
    main()
