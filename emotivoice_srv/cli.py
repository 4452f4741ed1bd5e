"""The ``emotivoice-srv`` command: serve, export, synth, voices, emotions, bundle.

Exit codes: 0 ok, 2 bad usage or input (message on stderr), 3 model/bundle problem.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

_STARTED = time.monotonic()  # process start, as close to exec as this module gets

from . import logs
from .errors import EmotivoiceError, InvalidInput
from .loading import (DEFAULT_BUNDLE, cache_dir, fallback_args, load_cloner, load_engine, start_provenance)
from .paths import bundles_dir
from .settings import (BUNDLE_STORE, CLONING, COMMON, ENGINE, FALLBACK, LIFECYCLE, PROVENANCE, ROUTING, SERVER, STORE, Option,
                       add_options)

TENANT = [Option("--tenant", "EMOTIVOICE_TENANT", str, "default",
                 "whose voices `voices` lists and `enroll` adds to (a tenant of the server's API keys; "
                 "'default': the voices of a server without keys)")]


def _tenant(args: argparse.Namespace) -> str:
    from .cloning.store import TENANT_PATTERN

    if not TENANT_PATTERN.match(args.tenant):
        raise InvalidInput(f"--tenant / EMOTIVOICE_TENANT={args.tenant!r}: lower-case letters, digits, '_' or '-'")
    return args.tenant


def _parse_emotion_arg(raw: str | None):
    """`happy`, `happy:0.8`, or a JSON mix `{"happy": 0.7, "surprised": 0.3}`."""
    if raw is None or not raw.strip().startswith("{"):
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--emotion looks like JSON but is not valid: {exc}") from exc
    return value


def cmd_serve(args: argparse.Namespace) -> int:
    from .server.run import serve

    return serve(args, started_at=_STARTED)


def cmd_export(args: argparse.Namespace) -> int:
    from export import build_bundle

    out = Path(args.out) if args.out else bundles_dir(cache_dir(args)) / DEFAULT_BUNDLE
    report = build_bundle(out, args.precision, force=args.force, progress=not args.quiet)
    if report.built:
        print(f"built {', '.join(report.built)} in {out} ({report.seconds})")
    else:
        print(f"bundle {out} is up to date ({', '.join(report.up_to_date)}); nothing to do")
    if args.fallback_out:
        from export.fallback import build_fallback_bundle

        built = build_fallback_bundle(out, Path(args.fallback_out))
        print(f"fallback bundle (distilled student) {'built in' if built else 'is up to date:'} {args.fallback_out}")
    return 0


def _write_marked(path: Path, body: bytes, provenance, facts) -> str:
    """Write the file, signed like a server response: embedded (wav/flac/mp3) or a ``<file>.c2pa`` beside it."""
    marking = "off"
    if provenance is not None:
        body, manifest_id = provenance.seal(body, facts)
        marking = "embedded"
        if manifest_id is not None:
            sidecar = path.with_name(path.name + ".c2pa")
            sidecar.write_bytes(provenance.store.get(manifest_id).result())
            marking = f"detached: {sidecar}"
    path.write_bytes(body)
    return marking


def cmd_synth(args: argparse.Namespace) -> int:
    import uuid

    from .audio.encode import encode, format_from_path
    from .engine import SynthesisOptions

    text = args.text if args.text not in (None, "-") else sys.stdin.read()
    options = SynthesisOptions(
        voice=args.voice, emotion=_parse_emotion_arg(args.emotion), intensity=args.intensity,
        prompt=args.prompt, speed=args.speed, pitch=args.pitch, energy=args.energy,
    )
    provenance = start_provenance(args)  # a bad certificate fails before any model work
    engine = load_engine(fallback_args(args) if args.tier == "fallback" else args)
    load_cloner(args, engine)  # enrolled voices
    result = engine.synthesize(text, options)
    out, fmt = Path(args.output), format_from_path(Path(args.output))
    facts = provenance.facts(engine, args.tier, options, request_id=uuid.uuid4().hex, fmt=fmt,
                             sample_rate=result.sample_rate, route="cli synth") if provenance else None
    marking = _write_marked(out, encode(result.audio, result.sample_rate, fmt), provenance, facts)
    print(json.dumps({"output": args.output, "seconds": round(result.duration_s, 3), "chunks": result.chunks,
                      "provenance": marking,
                      "emotion": dict(result.emotion.mix), "intensity": result.emotion.intensity,
                      "tier": args.tier, "bundle": engine.manifest.name, "precision": engine.precision,
                      "timings": result.timings}))
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    tenant = _tenant(args)
    engine = load_engine(args)
    cloner, _ = load_cloner(args, engine, publish=False)
    voices = [v for v in engine.voices]
    if cloner is not None:
        voices += [v for _, _, v in cloner.catalog.items(tenant)]
    for v in voices:
        print(f"{v.id}\t{v.gender}\t{v.language}\t{v.kind}\t{v.description}")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    """Clone a voice from a reference file into the voice registry of --cache-dir."""
    from .cloning import voice_id_for
    from .errors import VoiceConflict

    try:
        data = Path(args.reference).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {args.reference}: {exc.strerror}") from None
    voice_id = voice_id_for(args.name)
    tenant = _tenant(args)
    engine = load_engine(args)
    cloner, why = load_cloner(args, engine)
    if cloner is None:
        print(f"error: {why}", file=sys.stderr)
        return 3
    existing = cloner.store.get(tenant, voice_id)
    if (voice_id in engine.voices or existing) and not (existing and args.replace):
        raise VoiceConflict(f"voice {voice_id!r} already exists; pass --replace or choose another name")
    consent = cloner.consent(args.consent, args.subject, enrolled_by=args.enrolled_by)
    ref = cloner.prepare(data)
    t0 = time.perf_counter()
    fit = cloner.fit(ref).result()
    enrolled = cloner.save(cloner.record(voice_id, args.name, args.description, ref, fit, consent=consent), tenant)
    print(json.dumps({"id": enrolled.id, "name": args.name, "gender": enrolled.gender,
                      "speech_s": ref.speech_s, "similarity": round(fit.similarity, 4),
                      "fit_evaluations": fit.evaluations, "seconds": round(time.perf_counter() - t0, 2),
                      "cached": cloner.fits_computed == 0}))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Who made a file, when, with which model and voice kind, and whether its signature holds.
    Exit 0: trusted or untrusted (valid, unaltered); 1: tampered or no Content Credentials."""
    from .provenance import summary, verify_file

    for path, what in ((args.file, "FILE"), (args.manifest, "--manifest"), (args.trust_anchors, "--trust-anchors")):
        if path is not None and not Path(path).is_file():
            raise InvalidInput(f"{what}: no such file {path}")
    verdict = verify_file(Path(args.file), manifest=Path(args.manifest) if args.manifest else None,
                          trust_anchors=Path(args.trust_anchors) if args.trust_anchors else None)
    print(json.dumps(verdict.to_dict(), indent=2) if args.json else summary(verdict))
    return 0 if verdict.valid else 1


def cmd_emotions(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .prosody.emotion import EMOTIONS, PRESETS

    for name in EMOTIONS:
        params = {k: v for k, v in asdict(PRESETS[name]).items() if v not in (0.0, 1.0)}
        print(f"{name}\t{json.dumps(params)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotivoice-srv", description="Emotional, voice-cloning TTS server.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the HTTP server (model loaded before the port opens)",
                       description="Load the bundle, open the port, warm up, then report ready. "
                                   "Every flag can also be set by the EMOTIVOICE_* variable shown.")
    add_options(p, COMMON + ENGINE + SERVER + FALLBACK + ROUTING + CLONING + PROVENANCE)
    add_options(p, STORE)
    add_options(p, LIFECYCLE + BUNDLE_STORE)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("export", help="build the model bundle from the installed Kokoro-82M packages")
    add_options(p, COMMON)
    p.add_argument("--out", help="bundle directory (default: <cache-dir>/bundles/kokoro-82m)")
    p.add_argument("--precision", default="int8", help="comma-separated: int8,fp32,fp16 (default int8)")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument("--fallback-out", help="also assemble the distilled student's fallback bundle in this directory "
                                          "(serve it with --fallback-bundle DIR; e.g. baked into an image)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("synth", help="synthesize text to an audio file")
    add_options(p, COMMON + ENGINE + FALLBACK + CLONING + STORE + PROVENANCE)
    p.add_argument("text", nargs="?", default="-", help="text to speak; '-' or omitted reads stdin")
    p.add_argument("--voice", default="en_female_1", help="voice id (see `voices`)")
    p.add_argument("--emotion", help="emotion[:intensity], or a JSON mix such as '{\"happy\":0.7,\"surprised\":0.3}'")
    p.add_argument("--intensity", type=float, help="emotion intensity 0..1")
    p.add_argument("--prompt", help="free-text emotion prompt, e.g. 'very excited' or '有点生气'")
    p.add_argument("--speed", type=float, default=1.0, help="speaking-rate factor (0.5..2)")
    p.add_argument("--pitch", type=float, default=0.0, help="pitch shift in semitones (-12..12)")
    p.add_argument("--energy", type=float, default=0.0, help="loudness change in dB (-20..12)")
    p.add_argument("-o", "--output", default="out.wav", help="output file; format from extension (wav/flac/ogg/mp3/pcm)")
    p.add_argument("--tier", choices=("main", "fallback"), default="main",
                   help="render with the main model or the fallback tier (--fallback-bundle: by default the "
                        "distilled student)")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("voices", help="list voices (built-in and enrolled)")
    add_options(p, COMMON + ENGINE + CLONING + STORE + TENANT)
    p.set_defaults(func=cmd_voices)

    p = sub.add_parser("enroll", help="clone a voice from reference audio (3-30 s of speech)",
                       description="Fit a voice to a reference recording and save it under --name; then use "
                                   "it with --voice <id> in synth, or as voice in the HTTP API.")
    add_options(p, COMMON + ENGINE + CLONING + STORE + TENANT)
    p.add_argument("reference", help="reference audio file (wav/flac/ogg/mp3, any rate, mono or stereo)")
    p.add_argument("--name", required=True, help="voice name; its id is the name in lower case, e.g. alice")
    p.add_argument("--description", help="free-text description shown in voice lists")
    p.add_argument("--replace", action="store_true", help="overwrite an enrolled voice of the same name")
    p.add_argument("--consent", help="consent statement of the person whose voice this is (kept in the voice record; "
                                     "required with --require-consent)")
    p.add_argument("--subject", help="who the voice belongs to (free text label kept in the voice record)")
    p.add_argument("--enrolled-by", default="cli", help="who enrolled it (kept in the voice record; default 'cli')")
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser("verify", help="check a file's Content Credentials (C2PA): who made it, when, with what",
                       description="Validate the C2PA manifest of a file the server made (embedded in wav/flac/mp3, "
                                   "or a detached manifest fetched from its Link URL for pcm/ogg/opus/streams). "
                                   "Prints trusted / untrusted / tampered / unsigned; exit 1 unless valid.")
    add_options(p, COMMON)
    p.add_argument("file", help="the audio file")
    p.add_argument("--manifest", help="detached manifest (.c2pa) for a file without an embedded one")
    p.add_argument("--trust-anchors", help="PEM file of CA certificates to trust (without it, every signer is "
                                           "reported untrusted)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("emotions", help="list emotions and their prosody presets")
    add_options(p, COMMON)
    p.set_defaults(func=cmd_emotions)

    from .bundle_cli import add_bundle_commands

    add_bundle_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure(args.log_level or ("info" if args.command == "serve" else "warning"), args.log_format)
    try:
        return args.func(args)
    except InvalidInput as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except EmotivoiceError as exc:
        if exc.code in ("unknown_voice", "voice_exists", "voice_conflict") or exc.http_status < 500:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
