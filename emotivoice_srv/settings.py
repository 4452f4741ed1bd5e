"""Settings from CLI flags with EMOTIVOICE_* environment defaults, cast strictly.

Each option is declared once (flag, env variable, type, default, help); argparse shows the variable
in --help, and a malformed environment value is an error at start-up, not a surprise later.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    cast: Callable[[str], Any]
    default: Any
    help: str
    choices: tuple[str, ...] | None = None


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def add_options(parser: argparse.ArgumentParser, options: list[Option], environ: Mapping[str, str] | None = None) -> None:
    """Register options on a parser; defaults come from the environment when set there."""
    env = os.environ if environ is None else environ
    for opt in options:
        default = opt.default
        if opt.env in env:
            try:
                default = opt.cast(env[opt.env])
            except ValueError as exc:
                parser.error(f"{opt.env}={env[opt.env]!r} is invalid: {exc}")
            if opt.choices and default not in opt.choices:
                parser.error(f"{opt.env}={env[opt.env]!r} must be one of {', '.join(opt.choices)}")
        kwargs: dict[str, Any] = dict(default=default, help=f"{opt.help} [env {opt.env}; default {opt.default}]")
        if opt.cast is parse_bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = opt.cast
            if opt.choices:
                kwargs["choices"] = opt.choices
        parser.add_argument(opt.flag, **kwargs)


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


COMMON = [
    Option("--cache-dir", "EMOTIVOICE_CACHE_DIR", str, None,
           "cache directory for bundles (default: the checkout's cache/ or ~/.cache/emotivoice-srv)"),
    Option("--log-level", "EMOTIVOICE_LOG_LEVEL", str, "warning", "log level",
           ("debug", "info", "warning", "error")),
    Option("--log-format", "EMOTIVOICE_LOG_FORMAT", str, "json", "log format", ("json", "text")),
]

ENGINE = [
    Option("--bundle", "EMOTIVOICE_BUNDLE", str, None,
           "model bundle directory (default: <cache-dir>/bundles/kokoro-82m, built on first use)"),
    Option("--device", "EMOTIVOICE_DEVICE", str, "auto", "inference device", ("auto", "cpu", "cuda")),
    Option("--precision", "EMOTIVOICE_PRECISION", str, None,
           "graph precision (default: int8 on cpu, fp16 on cuda)", ("int8", "fp32", "fp16")),
    Option("--threads", "EMOTIVOICE_THREADS", _positive_int, None, "intra-op threads per graph session"),
    Option("--max-text-chars", "EMOTIVOICE_MAX_TEXT_CHARS", _positive_int, 10_000, "longest accepted text"),
    Option("--verify-bundle", "EMOTIVOICE_VERIFY_BUNDLE", parse_bool, False, "hash-check bundle files at load"),
]
