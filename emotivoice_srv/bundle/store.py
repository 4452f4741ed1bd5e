"""A bundle store: several versions of a bundle side by side, each file stored once.

Layout (default ``<cache-dir>/store``; ``--bundle-store`` / ``EMOTIVOICE_BUNDLE_STORE``)::

    objects/<sha[:2]>/<sha>      every file of every version, named by its sha256, read-only
    versions/<id>/               one directory per version: manifest.json + hard links into objects/
    active  -> versions/<id>     the version a server should serve (symlink, flipped atomically)
    previous -> versions/<id>    the version that was active before it
    staging/                     versions being built (a crash leaves debris here, swept by gc)
    .lock                        flock held by every change (add, apply, activate, gc)

A version's ``<id>`` is ``<name>-<version>-<first 12 hex of its manifest's sha256>``: two builds of one
version are told apart, and the same build added twice is one version. Versions are only ever made
by renaming a finished, verified directory into ``versions/``, so a reader never sees half of one.

"Active" is the ``active`` symlink and nothing else: ``add`` of the first version makes it active,
``activate(ref)`` moves it (the old target becomes ``previous``). A server started with
``--bundle <store>/active`` loads whatever it points at (resolve the link once at load: the version
directory stays valid while other versions come and go); ``gc`` never removes the active or previous
version or anything they reference.

Python API (the server side uses exactly this)::

    store = BundleStore(root, allowed_roots=(...))
    store.list() -> list[StoredVersion]          newest first, with active/previous flags
    store.get(ref) -> Path                       ref: id, 'active', 'previous', a manifest sha256 prefix
                                                 (>= 8 hex), 'name-version' or 'version' when unique
    store.resolve(ref_or_path) -> Path           get(ref), or a bundle directory inside the allowed roots
                                                 (BundlePathForbidden 403 outside them)
    store.add(bundle_dir) -> StoredVersion       verify every sha256 while copying in
    store.apply_delta(file, base=None) -> StoredVersion   base: located by the delta's base hash
    store.activate(ref) -> StoredVersion
    store.gc(keep=()) -> GcReport

What arrives over the network goes through bundle/intake.py: ``within_roots`` (bundle paths) and
``receive_delta`` / ``receive_delta_async`` (delta uploads into the store).

Errors are the BundleError family (errors.py): BundleNotFound 404, BundlePathForbidden 403,
DeltaBaseMismatch 409, DeltaRejected 422 (code: delta_truncated, delta_corrupt, delta_unsafe_path,
delta_hash_mismatch), each with a one-line message; a failed call writes nothing outside staging/
and removes what it put there.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError, BundleNotFound, DeltaBaseMismatch
from .intake import within_roots
from .delta import MANIFEST, DeltaInfo, check_base, manifest_sha256, read_delta, rebuild
from .manifest import read_manifest
from .verify import sha256_file, verify_files

ACTIVE, PREVIOUS = "active", "previous"
_NAME = re.compile(r"[^A-Za-z0-9._-]+")
STAGING_MAX_AGE_S = 3600.0
"""gc sweeps staging debris older than this (a crashed add/apply; a live one is younger)."""


@dataclass(frozen=True)
class StoredVersion:
    id: str
    name: str
    version: str
    manifest_sha256: str
    path: Path
    bytes: int
    """Sum of the version's file sizes (shared files counted in every version that has them)."""
    created: float
    active: bool = False
    previous: bool = False

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "version": self.version,
                "manifest_sha256": self.manifest_sha256, "path": str(self.path), "bytes": self.bytes,
                "created": round(self.created, 3), "active": self.active, "previous": self.previous}


@dataclass(frozen=True)
class GcReport:
    kept: tuple[str, ...]
    removed_versions: tuple[str, ...]
    removed_objects: int
    freed_bytes: int


def version_id(name: str, version: str, manifest_sha: str) -> str:
    return f"{_NAME.sub('_', name)}-{_NAME.sub('_', version)}-{manifest_sha[:12]}"


class BundleStore:
    """One store directory; every method is safe against concurrent callers (file lock) and crashes
    (staging + rename)."""

    def __init__(self, root: Path, allowed_roots: Iterable[Path] = ()) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.versions = self.root / "versions"
        self.staging = self.root / "staging"
        self.allowed_roots = (self.root, *(Path(r) for r in allowed_roots))

    # --- reading -------------------------------------------------------------------------------------

    def _pointer(self, which: str) -> str | None:
        link = self.root / which
        try:
            return Path(os.readlink(link)).name
        except OSError:
            return None

    def _version(self, vid: str) -> StoredVersion:
        path = self.versions / vid
        manifest = read_manifest(path)
        sha = manifest_sha256(path)
        size = sum((path / rel).stat().st_size for rel, _ in manifest.files())
        return StoredVersion(id=vid, name=manifest.name, version=manifest.version, manifest_sha256=sha, path=path,
                             bytes=size, created=(path / MANIFEST).stat().st_mtime,
                             active=vid == self._pointer(ACTIVE), previous=vid == self._pointer(PREVIOUS))

    def list(self) -> list[StoredVersion]:
        """Every stored version, newest first."""
        if not self.versions.is_dir():
            return []
        found = [self._version(p.name) for p in self.versions.iterdir() if (p / MANIFEST).is_file()]
        return sorted(found, key=lambda v: v.created, reverse=True)

    def find(self, ref: str) -> StoredVersion:
        """The one version ``ref`` names (see the module docstring); BundleNotFound otherwise."""
        ref = ref.strip()
        if ref in (ACTIVE, PREVIOUS):
            vid = self._pointer(ref)
            if vid is None:
                raise BundleNotFound(f"the bundle store {self.root} has no {ref} version")
            return self._version(vid)
        versions = self.list()
        for match in (lambda v: v.id == ref,
                      lambda v: len(ref) >= 8 and v.manifest_sha256.startswith(ref.lower()),
                      lambda v: f"{v.name}-{v.version}" == ref,
                      lambda v: v.version == ref):
            hits = [v for v in versions if match(v)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise BundleNotFound(f"{ref!r} names {len(hits)} stored versions ({', '.join(v.id for v in hits)}); "
                                     "use an id", code="bundle_ambiguous")
        known = ", ".join(v.id for v in versions) or "none"
        raise BundleNotFound(f"no stored bundle version {ref!r} in {self.root} (stored: {known})")

    def get(self, ref: str) -> Path:
        return self.find(ref).path

    def by_manifest(self, manifest_sha: str) -> StoredVersion | None:
        return next((v for v in self.list() if v.manifest_sha256 == manifest_sha), None)

    def resolve(self, ref: str) -> Path:
        """A stored version's directory, or a bundle directory given as a path (anything containing '/'
        or starting with '.' or '~'), which must lie inside the allowed roots (``within_roots``)."""
        if "/" not in ref and not ref.startswith((".", "~")):
            return self.get(ref)
        path = within_roots(ref, self.allowed_roots)
        if not (path / MANIFEST).is_file():
            raise BundleNotFound(f"no bundle at {ref} (manifest.json missing)")
        return path

    # --- changing ------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The store's lock for one change; an OSError inside (disk full, permissions) becomes a
        BundleError naming the store."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / ".lock", "a+b") as fd:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:
            raise BundleError(f"bundle store {self.root}: {exc.strerror or exc}", code="bundle_store_io") from exc

    def _new_staging(self, what: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        path = self.staging / f"{what}-{os.getpid()}-{time.time_ns()}"
        path.mkdir()
        return path

    def _object(self, sha: str) -> Path:
        return self.objects / sha[:2] / sha

    def _ingest(self, source: Path, sha: str, *, move: bool) -> Path:
        """Put one file into objects/ unless it is there; ``move``: the source is our own staging copy
        (hash already checked), else copy and check the hash of what was copied."""
        obj = self._object(sha)
        if obj.is_file():
            return obj
        obj.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.staging / f"obj-{sha[:16]}-{os.getpid()}-{time.time_ns()}"
        if move:
            os.replace(source, tmp)
        else:
            digest = hashlib.sha256()
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                while block := src.read(1 << 20):
                    digest.update(block)
                    dst.write(block)
            if digest.hexdigest() != sha:
                tmp.unlink()
                raise BundleError(f"bundle file corrupted (sha256 mismatch): {source}", code="bundle_corrupt")
        os.chmod(tmp, 0o444)
        os.replace(tmp, obj)
        return obj

    def _materialize(self, source: Path, *, move: bool) -> StoredVersion:
        """Store the verified-or-to-verify bundle at ``source`` as a version (idempotent)."""
        manifest = read_manifest(source)
        sha = manifest_sha256(source)
        vid = version_id(manifest.name, manifest.version, sha)
        target = self.versions / vid
        if (target / MANIFEST).is_file():
            return self._version(vid)
        if not move:
            verify_files(source, manifest)
        build = self._new_staging(f"version-{vid}")
        try:
            for rel, file_sha in manifest.files():
                obj = self._ingest(source / rel, file_sha, move=move)
                (build / rel).parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(obj, build / rel)
                except OSError:  # a filesystem without hard links: a plain copy, still read-only
                    shutil.copyfile(obj, build / rel)
            shutil.copyfile(source / MANIFEST, build / MANIFEST)
            if sha256_file(build / MANIFEST) != sha:
                raise BundleError(f"{source}/manifest.json changed while it was being stored", code="bundle_corrupt")
            self.versions.mkdir(parents=True, exist_ok=True)
            os.rename(build, target)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        if self._pointer(ACTIVE) is None:
            self._point(ACTIVE, vid)
        return self._version(vid)

    def add(self, bundle_dir: Path) -> StoredVersion:
        """Store the bundle at ``bundle_dir`` (every sha256 checked); the same build again is a no-op."""
        with self._locked():
            return self._materialize(Path(bundle_dir), move=False)

    def apply_delta(self, delta: Path | DeltaInfo, base: str | Path | None = None) -> StoredVersion:
        """Rebuild a delta's target version into the store. ``base``: a version ref or bundle directory;
        default: the stored version whose manifest hash the delta names (DeltaBaseMismatch naming the
        expected version when the store has none)."""
        info = delta if isinstance(delta, DeltaInfo) else read_delta(Path(delta))
        with self._locked():
            if base is None:
                found = self.by_manifest(info.base.manifest_sha256)
                if found is None:
                    have = ", ".join(f"{v.name} {v.version}" for v in self.list()) or "nothing"
                    raise DeltaBaseMismatch(f"this delta updates {info.base.describe()}, which the store does not "
                                            f"hold (it holds: {have}); add that version first")
                base_dir = found.path
            else:
                base_dir = Path(base) if isinstance(base, Path) else self.resolve(base)
            check_base(info, base_dir)
            existing = self.by_manifest(info.target.manifest_sha256)
            if existing is not None:
                return existing
            build = self._new_staging("delta")
            try:
                rebuild(info, base_dir, build)
                verify_files(build, read_manifest(build))
                return self._materialize(build, move=True)
            finally:
                shutil.rmtree(build, ignore_errors=True)

    def _point(self, which: str, vid: str) -> None:
        tmp = self.root / f".{which}-{os.getpid()}-{time.time_ns()}"
        os.symlink(Path("versions") / vid, tmp)
        os.replace(tmp, self.root / which)

    def activate(self, ref: str) -> StoredVersion:
        """Make a stored version active; the one active before becomes previous."""
        with self._locked():
            target = self.find(ref)
            current = self._pointer(ACTIVE)
            if current != target.id:
                if current is not None and (self.versions / current).is_dir():
                    self._point(PREVIOUS, current)
                self._point(ACTIVE, target.id)
            return self._version(target.id)

    def gc(self, keep: Iterable[str] = ()) -> GcReport:
        """Remove every version but the active, the previous and ``keep`` (refs), then every object no
        remaining version references, and staging debris older than STAGING_MAX_AGE_S."""
        with self._locked():
            kept = {v for v in (self._pointer(ACTIVE), self._pointer(PREVIOUS)) if v}
            kept |= {self.find(ref).id for ref in keep}
            removed = []
            for version in self.list():
                if version.id not in kept:
                    shutil.rmtree(version.path)
                    removed.append(version.id)
            referenced = {sha for v in self.list() for _, sha in read_manifest(v.path).files()}
            freed, count = 0, 0
            if self.objects.is_dir():
                for obj in self.objects.glob("*/*"):
                    if obj.name not in referenced:
                        freed += obj.stat().st_size
                        obj.unlink()
                        count += 1
            if self.staging.is_dir():
                cutoff = time.time() - STAGING_MAX_AGE_S
                for debris in self.staging.iterdir():
                    if debris.lstat().st_mtime >= cutoff:
                        continue
                    if debris.is_dir():
                        shutil.rmtree(debris, ignore_errors=True)
                    else:
                        debris.unlink(missing_ok=True)
            return GcReport(kept=tuple(sorted(kept)), removed_versions=tuple(removed), removed_objects=count,
                            freed_bytes=freed)

    def disk_bytes(self) -> int:
        """What the store really occupies: its objects (each stored once) and manifests."""
        objects = sum(p.stat().st_size for p in self.objects.glob("*/*")) if self.objects.is_dir() else 0
        return objects + sum((v.path / MANIFEST).stat().st_size for v in self.list())


__all__ = ["ACTIVE", "PREVIOUS", "BundleStore", "GcReport", "StoredVersion", "version_id"]
