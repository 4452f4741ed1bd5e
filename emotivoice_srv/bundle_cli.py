"""``emotivoice-srv bundle ...``: the bundle store and delta updates from the command line.

    bundle list                      stored versions (active / previous marked)
    bundle add DIR                   store a bundle directory (every sha256 checked)
    bundle activate REF              point the store's 'active' symlink at a version
    bundle gc [--keep REF ...]       remove versions other than active + previous (+ --keep), free their files
    bundle diff OLD NEW -o F         write a delta (OLD/NEW: bundle directories or stored versions)
    bundle apply BASE F [--out DIR]  rebuild the delta's version into DIR, or into the store without --out

Errors are one line on stderr with exit 2 (bad input: wrong base, bad delta, unknown version, path
outside the allowed roots) or 3 (a bundle problem), as for every command (cli.main).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .settings import BUNDLE_STORE, COMMON, add_options


def _store(args: argparse.Namespace):
    from .paths import default_cache_dir
    from .settings import bundle_store

    return bundle_store(args, Path(args.cache_dir) if args.cache_dir else default_cache_dir())


def _bundle_arg(args: argparse.Namespace, ref: str) -> Path:
    """A bundle directory as given, or a version of the store."""
    path = Path(ref)
    if (path / "manifest.json").is_file():
        return path
    return _store(args).get(ref)


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    versions = store.list()
    if args.json:
        print(json.dumps({"store": str(store.root), "disk_bytes": store.disk_bytes(),
                          "versions": [v.to_dict() for v in versions]}, indent=2))
        return 0
    for v in versions:
        mark = "active" if v.active else ("previous" if v.previous else "")
        print(f"{v.id}\t{v.name}\t{v.version}\t{v.manifest_sha256[:12]}\t{_mib(v.bytes)}\t{mark}")
    print(f"# {len(versions)} version(s) in {store.root}, {_mib(store.disk_bytes())} on disk (files shared "
          "between versions counted once)")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    store = _store(args)
    version = store.add(Path(args.dir))
    if args.activate:
        version = store.activate(version.id)
    print(json.dumps(version.to_dict()))
    return 0


def cmd_activate(args: argparse.Namespace) -> int:
    store = _store(args)
    ref = args.ref
    if "/" in ref or ref.startswith((".", "~")):  # a directory: must be inside the allowed roots, then stored
        ref = store.add(store.resolve(ref)).id
    print(json.dumps(store.activate(ref).to_dict()))
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    report = _store(args).gc(keep=args.keep)
    print(json.dumps({"kept": report.kept, "removed_versions": report.removed_versions,
                      "removed_objects": report.removed_objects, "freed_bytes": report.freed_bytes}))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .bundle.delta import write_delta

    old, new = _bundle_arg(args, args.old), _bundle_arg(args, args.new)
    t0 = time.perf_counter()
    info = write_delta(old, new, Path(args.output), level=args.level)
    print(json.dumps({"delta": args.output, "bytes": info.bytes, "base": info.base.describe(),
                      "target": info.target.describe(), "files": info.counts(),
                      "seconds": round(time.perf_counter() - t0, 2)}))
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from .bundle.delta import apply_delta, read_delta

    t0 = time.perf_counter()
    info = read_delta(Path(args.delta))
    if args.out:
        apply_delta(_bundle_arg(args, args.base), info, Path(args.out))
        where = args.out
    else:
        store = _store(args)
        base = args.base if (Path(args.base) / "manifest.json").is_file() else store.get(args.base)
        where = str(store.apply_delta(info, base=Path(base)).path)
    print(json.dumps({"bundle": where, "version": info.target.describe(), "files": info.counts(),
                      "seconds": round(time.perf_counter() - t0, 2)}))
    return 0


def add_bundle_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``bundle`` and its subcommands on the top-level parser's subparsers."""
    bundle = sub.add_parser("bundle", help="bundle store (versions side by side) and delta updates",
                            description="Versions of a bundle side by side in a store, and delta files between "
                                        "versions. See docs/lifecycle.md.")
    cmds = bundle.add_subparsers(dest="bundle_command", required=True)

    def command(name: str, help_: str, func) -> argparse.ArgumentParser:
        p = cmds.add_parser(name, help=help_, description=help_)
        add_options(p, COMMON + BUNDLE_STORE)
        p.set_defaults(func=func)
        return p

    p = command("list", "list the stored versions (active and previous marked)", cmd_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command("add", "store a bundle directory as a version (every sha256 checked; the first becomes active)",
                cmd_add)
    p.add_argument("dir", help="bundle directory (with manifest.json)")
    p.add_argument("--activate", action="store_true", help="make it the active version")
    p = command("activate", "make a stored version active (the active one becomes previous)", cmd_activate)
    p.add_argument("ref", help="version id, manifest sha256 prefix, name-version, version, 'previous', or a bundle "
                               "directory inside the allowed roots (stored first)")
    p = command("gc", "remove every version but the active and previous ones, and the files only they used", cmd_gc)
    p.add_argument("--keep", action="append", default=[], help="also keep this version (repeatable)")
    p = command("diff", "write a delta file that turns bundle OLD into bundle NEW", cmd_diff)
    p.add_argument("old", help="base bundle directory or stored version")
    p.add_argument("new", help="new bundle directory or stored version")
    p.add_argument("-o", "--output", required=True, help="delta file to write (e.g. update.evdelta)")
    p.add_argument("--level", type=int, default=19, help="zstd level 1..22 (default 19)")
    p = command("apply", "rebuild a delta's version from its base: into --out DIR, or into the store", cmd_apply)
    p.add_argument("base", help="base bundle directory or stored version (must be the delta's base)")
    p.add_argument("delta", help="delta file")
    p.add_argument("--out", help="new bundle directory (must not exist); without it the version goes into the store")


__all__ = ["add_bundle_commands"]
