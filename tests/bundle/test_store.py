"""The bundle store (bundle/store.py) on the real default bundle: versions side by side with shared files
stored once, an 'active' and a 'previous' pointer, gc that keeps both, deltas applied into the store,
uploads, and bundle paths confined to the allowed roots."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bundle_copies import link_tree, write_manifest
from emotivoice_srv.bundle import read_manifest, verify_files
from emotivoice_srv.bundle.delta import manifest_sha256
from emotivoice_srv.bundle.intake import receive_delta, receive_delta_async, within_roots
from emotivoice_srv.bundle.store import BundleStore
from emotivoice_srv.cli import main as cli
from emotivoice_srv.errors import BodyTooLarge, BundleNotFound, BundlePathForbidden, DeltaBaseMismatch


@pytest.fixture(scope="module")
def store(bundle_dir, update_delta, tmp_path_factory) -> BundleStore:
    """A store holding the default bundle (1.0.0, added: active) and 1.1.0 (built from the delta)."""
    store = BundleStore(tmp_path_factory.mktemp("store") / "store", allowed_roots=(bundle_dir.parent,))
    store.add(bundle_dir)
    store.apply_delta(update_delta)
    return store


def test_versions_share_their_unchanged_files_on_disk(store, bundle_dir):
    versions = store.list()
    assert [v.version for v in versions] == ["1.1.0", "1.0.0"]
    one = versions[1].bytes
    assert store.disk_bytes() < 1.02 * one  # two versions, ~one bundle of disk (only 2 voice files differ)
    new, old = versions[0].path, versions[1].path
    graph = read_manifest(old).graph("decoder", "int8").file
    assert (new / graph).stat().st_ino == (old / graph).stat().st_ino  # one file, two names
    assert (new / graph).stat().st_mode & 0o222 == 0  # objects are read-only
    for v in versions:
        verify_files(v.path, read_manifest(v.path))


def test_the_first_version_added_is_active_and_refs_resolve(store, bundle_dir):
    active = store.find("active")
    assert active.version == "1.0.0" and active.active
    assert active.manifest_sha256 == manifest_sha256(bundle_dir)
    assert store.get("1.1.0") == store.get("kokoro-82m-1.1.0") == store.find("1.1.0").path
    assert store.get(store.find("1.1.0").manifest_sha256[:10]) == store.get("1.1.0")
    assert (store.root / "active").resolve() == active.path.resolve()
    with pytest.raises(BundleNotFound) as exc:
        store.get("9.9.9")
    assert exc.value.http_status == 404 and "1.1.0" in exc.value.message


def test_adding_the_same_build_again_is_a_no_op(store, bundle_dir):
    before = store.disk_bytes()
    assert store.add(bundle_dir).id == store.find("1.0.0").id
    assert len(store.list()) == 2 and store.disk_bytes() == before


def test_activate_moves_active_and_keeps_previous_then_gc_keeps_both(bundle_dir, update_delta, tmp_path, capsys,
                                                                      monkeypatch):
    store = BundleStore(tmp_path / "store")
    old = store.add(bundle_dir)
    new = store.apply_delta(update_delta)
    store.activate("1.1.0")
    assert store.find("active").id == new.id and store.find("previous").id == old.id
    monkeypatch.setenv("EMOTIVOICE_BUNDLE_STORE", str(store.root))
    assert cli(["bundle", "apply", "1.1.0", str(update_delta), "--out", str(tmp_path / "x")]) == 2  # wrong base
    assert "apply it to kokoro-82m 1.0.0" in capsys.readouterr().err
    assert cli(["bundle", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["active"], v["previous"]) for v in listed["versions"]] == [
        ("1.1.0", True, False), ("1.0.0", False, True)]
    # stored versions by reference: diff previous -> active is the same update again
    assert cli(["bundle", "diff", "previous", "active", "-o", str(tmp_path / "again.evdelta"), "--level", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["target"].startswith("kokoro-82m 1.1.0")
    report = store.gc()
    assert report.removed_versions == () and set(report.kept) == {old.id, new.id}
    store.activate("previous")  # rollback: 1.0.0 active again, 1.1.0 previous
    assert store.find("active").id == old.id and store.find("previous").id == new.id


def test_gc_removes_versions_that_are_neither_active_nor_previous(bundle_dir, updated_bundle, tmp_path):
    import dataclasses

    store = BundleStore(tmp_path / "store")
    store.add(bundle_dir)
    store.add(updated_bundle)
    third = tmp_path / "third"  # 1.0.0 with a version bump only: shares every file with 1.0.0
    link_tree(bundle_dir, third)
    write_manifest(third, dataclasses.replace(read_manifest(bundle_dir), version="1.0.1"))
    store.add(third)
    store.activate("1.0.1")  # active 1.0.1, previous 1.0.0; 1.1.0 goes, with its two voice files
    report = store.gc()
    assert [v.version for v in store.list()] == ["1.0.1", "1.0.0"]
    assert report.removed_objects == 2 and 500_000 < report.freed_bytes < 1_100_000
    assert store.gc(keep=["1.0.0"]).removed_versions == ()


def test_a_delta_whose_base_the_store_lacks_is_refused_naming_it(updated_bundle, update_delta, tmp_path):
    store = BundleStore(tmp_path / "store")
    store.add(updated_bundle)
    with pytest.raises(DeltaBaseMismatch) as exc:
        store.apply_delta(update_delta)
    assert "kokoro-82m 1.0.0" in exc.value.message and exc.value.http_status == 409
    assert len(store.list()) == 1 and not any(store.staging.iterdir())


def test_an_uploaded_delta_is_applied_into_the_store_and_an_oversized_one_refused(bundle_dir, update_delta, tmp_path):
    store = BundleStore(tmp_path / "store")
    store.add(bundle_dir)
    data = update_delta.read_bytes()
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    with pytest.raises(BodyTooLarge):
        receive_delta(store, iter(chunks), max_bytes=len(data) - 1)
    assert len(store.list()) == 1 and not any(store.staging.iterdir())
    assert receive_delta(store, iter(chunks), max_bytes=len(data)).version == "1.1.0"
    assert not any(store.staging.iterdir())


def test_an_async_upload_is_applied_off_the_event_loop(bundle_dir, update_delta, tmp_path):
    import asyncio

    store = BundleStore(tmp_path / "store")
    store.add(bundle_dir)
    data = update_delta.read_bytes()

    async def body(limit_ok: bool):
        async def chunks():
            for i in range(0, len(data), 65536):
                yield data[i:i + 65536]
        return await receive_delta_async(store, chunks(), len(data) if limit_ok else 1024)

    with pytest.raises(BodyTooLarge):
        asyncio.run(body(False))
    assert asyncio.run(body(True)).version == "1.1.0"
    assert [v.version for v in store.list()] == ["1.1.0", "1.0.0"] and not any(store.staging.iterdir())


def test_a_bundle_path_outside_the_allowed_roots_is_refused(store, bundle_dir, tmp_path, capsys):
    assert store.resolve(str(bundle_dir)) == bundle_dir.resolve()  # inside an allowed root
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")
    sneaky = store.root / "link-out"
    sneaky.symlink_to(outside)
    for path in (str(outside), "/etc", str(sneaky), f"{store.root}/../elsewhere"):  # outside-path-ok: the attack
        with pytest.raises(BundlePathForbidden) as exc:
            store.resolve(path)
        assert exc.value.http_status == 403
    sneaky.unlink()
    with pytest.raises(BundlePathForbidden):
        within_roots("/etc/passwd", (store.root, bundle_dir.parent))
    assert within_roots(f"{bundle_dir}/../{bundle_dir.name}", (bundle_dir.parent,)) == bundle_dir.resolve()  # outside-path-ok
    assert cli(["bundle", "activate", str(outside), "--bundle-store", str(store.root)]) == 2
    assert "outside the allowed roots" in capsys.readouterr().err
    assert store.find("active").version == "1.0.0"


def test_a_version_built_from_a_delta_loads_from_the_active_link_and_speaks_its_new_voice(store):
    """The real engine on <store>/active after activating the delta-built 1.1.0 (hash-checked at load)."""
    import numpy as np

    from emotivoice_srv import Engine, EngineConfig

    before = store.find("active").id
    store.activate("1.1.0")
    try:
        engine = Engine.load(EngineConfig(bundle_dir=store.root / "active", device="cpu", threads=2,
                                          verify_hashes=True))
        assert engine.manifest.version == "1.1.0"
        audio = engine.synthesize("A new voice.", voice="en_female_2").audio
        assert np.isfinite(audio).all() and np.sqrt(np.mean(audio ** 2)) > 0.01
    finally:
        store.activate(before)


def test_two_processes_applying_the_same_delta_at_once_make_one_version(bundle_dir, update_delta, tmp_path):
    import subprocess
    import sys

    store = BundleStore(tmp_path / "store")
    store.add(bundle_dir)
    argv = [sys.executable, "-m", "emotivoice_srv", "bundle", "apply", "active", str(update_delta),
            "--bundle-store", str(store.root)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len({json.loads(out)["bundle"] for out, _ in outs}) == 1
    assert [v.version for v in store.list()] == ["1.1.0", "1.0.0"] and not any(store.staging.iterdir())
    for v in store.list():
        verify_files(v.path, read_manifest(v.path))
