"""``python -m export.distill corpus|train|export|evaluate``: the distillation pipeline, one step a command."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .sentences import FAMILIES

DEFAULT_WORK = Path(os.environ.get("EMOTIVOICE_DISTILL_DIR", "cache/distill"))


def _engine(args: argparse.Namespace):
    from emotivoice_srv.cli import build_parser
    from emotivoice_srv.loading import load_engine

    serve_args = build_parser().parse_args(["synth", "-", "--threads", str(args.threads)] if args.threads else
                                           ["synth", "-"])
    return load_engine(serve_args)


def cmd_corpus(args: argparse.Namespace) -> int:
    from bench.texts import EVAL_FILE

    from .corpus import CorpusConfig, build_corpus

    config = CorpusConfig(out_dir=args.work / "corpus", sentences=args.sentences, seed=args.seed,
                          blends=args.blends, eval_file=args.exclude or EVAL_FILE, family=args.family)
    summary = build_corpus(_engine(args), config)
    print(f"{summary['utterances']} utterances, {summary['audio_seconds']} s of audio in {config.out_dir}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, train

    config = TrainConfig(corpus_dir=args.work / "corpus", out_dir=args.work / args.run, steps=args.steps,
                         batch=args.batch, lr=args.lr, threads=args.threads, max_minutes=args.max_minutes,
                         init_from=args.init_from, snapshot_every=args.snapshot_every)
    summary = train(config)
    print(summary)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from emotivoice_srv.bundle.student import STUDENT_DIR

    from .graphs import export_student

    checkpoint = args.checkpoint or args.work / args.run / "checkpoint.pt"
    meta = export_student(checkpoint, args.work, args.out or STUDENT_DIR, args.run)
    print(f"student ({meta['parameters']['total']:,} parameters) -> {args.out or STUDENT_DIR}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from bench.texts import eval_sentences
    from emotivoice_srv.cli import build_parser as serve_parser
    from emotivoice_srv.loading import _ensure_bundle

    from .evaluate import dev_sentences, evaluate_run

    checkpoint = args.checkpoint or args.work / args.run / "checkpoint.pt"
    main_dir = _ensure_bundle(serve_parser().parse_args(["synth", "-"]), "int8")  # the teacher, as corpus uses
    sentences = eval_sentences() if args.sentences == "eval" else dev_sentences()
    print(json.dumps(evaluate_run(checkpoint, args.work, main_dir, sentences), indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m export.distill", description=__doc__)
    p.add_argument("--work", type=Path, default=DEFAULT_WORK,
                   help="working directory for corpus and checkpoints (env EMOTIVOICE_DISTILL_DIR)")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus", help="render the teacher corpus with the main bundle (resumable)")
    c.add_argument("--sentences", type=int, default=800)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--blends", type=int, default=12)
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--family", choices=FAMILIES, default="template",
                   help="sentence family: template grammar or open vocabulary (families add up in one corpus)")
    c.add_argument("--exclude", type=Path, default=None,
                   help="sentences never to generate (default: the evaluation set, bench/data/eval_sentences_en.txt)")
    c.set_defaults(func=cmd_corpus)
    t = sub.add_parser("train", help="train (or resume) the student from its last checkpoint")
    t.add_argument("--steps", type=int, default=20_000)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--max-minutes", type=float, default=None, help="stop after a checkpoint at this wall time")
    t.add_argument("--run", default="student", help="run directory under --work (checkpoint.pt, train.json)")
    t.add_argument("--init-from", type=Path, default=None, help="start a new run from another run's checkpoint")
    t.add_argument("--snapshot-every", type=int, default=0,
                   help="also keep every N steps' checkpoint as checkpoint-NNNNNN.pt (to compare and export one)")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("export", help="last checkpoint -> TorchScript + ONNX graphs and student.json")
    e.add_argument("--out", type=Path, default=None, help="default: emotivoice_srv/data/student (the committed student)")
    e.add_argument("--run", default="student", help="run directory under --work whose checkpoint to export")
    e.add_argument("--checkpoint", type=Path, default=None,
                   help="one of the run's snapshots (checkpoint-NNNNNN.pt) instead of its last checkpoint")
    e.set_defaults(func=cmd_export)
    v = sub.add_parser("evaluate", help="a run's WER (Whisper tiny.en, the evaluation sentences, two voices)")
    v.add_argument("--run", default="student", help="run directory under --work whose checkpoint to score")
    v.add_argument("--checkpoint", type=Path, default=None, help="a checkpoint file instead of the run's")
    v.add_argument("--sentences", choices=("dev", "eval"), default="dev",
                   help="dev: Harvard lists 3-5 (export/distill/dev_sentences.txt), for choosing between runs and "
                        "checkpoints; eval: the shared evaluation sentences (the acceptance figure)")
    v.set_defaults(func=cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
