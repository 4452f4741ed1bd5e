"""Loading what a command serves or renders from its parsed settings: the bundle (built or assembled
on first use), the engine, the voice store and cloner, the provenance service.

Used by the CLI's commands and by ``serve`` (server/run.py), which creates the graph sessions on one
thread while the web stack imports on another: so this module imports only the standard library and
the package's light modules at the top, everything heavy inside the function that needs it.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import EmotivoiceError, InvalidInput
from .paths import bundles_dir, default_cache_dir

log = logging.getLogger("emotivoice_srv.loading")
DEFAULT_BUNDLE = "kokoro-82m"
STUDENT = "student"
"""``--fallback-bundle student`` (the default): the distilled student that ships with the package."""
NO_FALLBACK = ("none", "off", "")


def cache_dir(args: argparse.Namespace) -> Path:
    return Path(args.cache_dir) if args.cache_dir else default_cache_dir()


def _ensure_bundle(args: argparse.Namespace, precision: str) -> Path:
    """The bundle to load: --bundle as given, or the default one, built on first use."""
    if args.bundle:
        return Path(args.bundle)
    target = bundles_dir(cache_dir(args)) / DEFAULT_BUNDLE
    from .bundle import read_manifest

    try:
        if precision in read_manifest(target).precisions:
            return target
    except EmotivoiceError:
        pass
    print(f"building the model bundle ({precision}) in {target} (first use only)", file=sys.stderr)
    from export import build_bundle

    build_bundle(target, (precision,), progress=True)
    return target


def _ensure_student(args: argparse.Namespace) -> Path:
    """The fallback bundle of the committed distilled student, assembled next to the main bundle it
    takes its voices from (first use only; no torch, no training; the exporter is imported only then)."""
    from .bundle import read_manifest
    from .bundle.student import bundle_dir_for, input_key, student_meta, up_to_date

    main_arg = getattr(args, "main_bundle", None)
    main = Path(main_arg) if main_arg else _ensure_bundle(argparse.Namespace(**{**vars(args), "bundle": None}), "int8")
    key = input_key(student_meta(), read_manifest(main))
    target = bundle_dir_for(key, bundles_dir(cache_dir(args)))
    if not up_to_date(target, key):
        from export.fallback import build_fallback_bundle

        build_fallback_bundle(main, target)
        print(f"built the fallback bundle in {target} (first use only)", file=sys.stderr)
    return target


def fallback_args(args: argparse.Namespace) -> argparse.Namespace:
    """The engine arguments of the fallback tier: its own bundle, device and precision."""
    from .bundle.student import is_student_bundle
    from .settings import STUDENT_THREADS

    choice = args.fallback_bundle
    bundle = args.bundle if choice == "main" else choice
    threads = args.fallback_threads
    if threads is None:  # auto: a student gets its own thread count, any other bundle --threads
        threads = STUDENT_THREADS if bundle == STUDENT or (bundle and is_student_bundle(bundle)) else args.threads
    return argparse.Namespace(**{**vars(args), "bundle": bundle, "main_bundle": args.bundle, "threads": threads,
                                 "device": args.fallback_device, "precision": args.fallback_precision})


def main_bundle_name(args: argparse.Namespace) -> str:
    """The main bundle's name before main has loaded (the model id clients see from the first request)."""
    from .bundle import read_manifest

    path = Path(args.bundle) if args.bundle and args.bundle != STUDENT else bundles_dir(cache_dir(args)) / DEFAULT_BUNDLE
    try:
        return read_manifest(path).name
    except EmotivoiceError:
        return DEFAULT_BUNDLE  # built on first use, under this name


def has_fallback(args: argparse.Namespace) -> bool:
    return (args.fallback_bundle or "").strip().lower() not in NO_FALLBACK


def load_engine(args: argparse.Namespace):
    """The engine for these arguments. The graph sessions are created before ``engine`` (numpy, the
    text front-end) is imported, so another thread's imports overlap with them (see server/run.py)."""
    from .graphs import choose_runtime
    from .graphs.loader import load_bundle_graphs

    runtime = choose_runtime(args.device, args.precision, args.session_memory)
    bundle = _ensure_student(args) if args.bundle == STUDENT else _ensure_bundle(args, runtime.precision)
    if args.precision is None and args.bundle:  # a given bundle (the student too) may lack the default
        runtime = _precision_the_bundle_has(bundle, runtime)
    loaded = load_bundle_graphs(bundle, runtime.device, runtime.precision, args.threads, args.verify_bundle,
                                runtime.memory)
    from .engine import Engine, EngineConfig

    return Engine.load(EngineConfig(
        bundle_dir=bundle, device=runtime.device, precision=runtime.precision, threads=args.threads,
        session_memory=runtime.memory,
        max_text_chars=args.max_text_chars, verify_hashes=args.verify_bundle,
        stream_first_clause_words=args.stream_first_clause_words,
    ), loaded)


PRECISION_PREFERENCE = {"cpu": ("int8", "fp32", "fp16"), "cuda": ("fp16", "fp32", "int8")}


def _precision_the_bundle_has(bundle: Path, runtime):
    """A given bundle without the device's default precision runs at the best one it has (e.g. the
    student's fp32 graphs on the CPU) instead of failing: only an explicit --precision is binding."""
    from dataclasses import replace

    from .bundle import read_manifest

    has = read_manifest(bundle).precisions
    if runtime.precision in has or not has:
        return runtime
    best = next(p for p in PRECISION_PREFERENCE[runtime.device] if p in has)
    return replace(runtime, precision=best)


def open_voice_store(args: argparse.Namespace):
    """The voice store --voice-store names, connected; bad configuration is an InvalidInput naming it."""
    from .cloning.store import open_store
    from .settings import store_config

    try:
        return open_store(store_config(args), cache_dir(args))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def load_cloner(args: argparse.Namespace, engine, *, publish: bool = True, store=None):
    """(VoiceCloner, "") over the voice store, or (None, why cloning is off). ``publish``: the default
    tenant's voices are added to ``engine`` (CLI); the server resolves them per tenant instead."""
    from .cloning import VoiceCloner
    from .settings import cloning_config

    try:
        config = cloning_config(args)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    store = store if store is not None else open_voice_store(args)
    try:
        return VoiceCloner(engine, cache_dir(args), config, store, publish=publish), ""
    except EmotivoiceError as exc:
        log.warning("voice cloning disabled", extra={"reason": exc.message})
        return None, exc.message


def _provenance_config(args: argparse.Namespace):
    """The provenance settings, or None (logged) with ``--provenance off``."""
    from .settings import provenance_config

    config = provenance_config(args)
    if not config.enabled:
        log.warning("provenance marking is off (--provenance off): audio responses carry no Content Credentials")
        return None
    return config


def start_provenance(args: argparse.Namespace):
    """The Provenance service (identity loaded, checked and probed), or None with ``--provenance off``.
    A bad certificate or key raises ProvenanceConfigError naming the setting (exit 2)."""
    config = _provenance_config(args)
    if config is None:
        return None
    from . import __version__
    from .provenance import Provenance

    return Provenance.start(config, cache_dir(args), __version__)


def deferred_provenance(args: argparse.Namespace):
    """The server's Provenance, started once the port is open (provenance/deferred.py), or None."""
    config = _provenance_config(args)
    if config is None:
        return None
    from . import __version__
    from .provenance.deferred import DeferredProvenance

    return DeferredProvenance(config, cache_dir(args), __version__)
