"""Delta updates (bundle/delta.py) on the real default bundle: a delta rebuilds the new version exactly
and ships only what changed; every kind of bad delta is refused with its own code before anything is
written, and a crash mid-apply never leaves a half-built bundle."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zstandard

from emotivoice_srv.bundle import read_manifest, verify_files
from emotivoice_srv.bundle.delta import MAGIC, apply_delta, read_delta
from emotivoice_srv.cli import main as cli
from emotivoice_srv.errors import DeltaBaseMismatch, DeltaRejected

REPO = Path(__file__).resolve().parents[2]


def split(delta: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", delta[8:16])
    return json.loads(delta[16:16 + n]), delta[16 + n:-32]


def seal(header: dict, payload: bytes) -> bytes:
    """A well-formed delta file (valid framing and checksum) around any header and payload."""
    raw = json.dumps(header).encode()
    body = MAGIC + struct.pack("<Q", len(raw)) + raw + payload
    return body + hashlib.sha256(body).digest()


def nothing_written(parent: Path, out: Path) -> None:
    assert not out.exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(".staging-")]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_a_delta_rebuilds_the_new_version_exactly_and_ships_only_what_changed(bundle_dir, updated_bundle,
                                                                             update_delta, tmp_path):
    info = read_delta(update_delta)
    assert info.counts() == {"base": len(read_manifest(bundle_dir).files()) - 1, "whole": 1, "patch": 1}
    patched = next(e for e in info.entries if e.op == "patch")
    assert patched.path == "voices/en_female_1.npy" and patched.length < patched.size / 2
    full = sum(p.stat().st_size for p in updated_bundle.rglob("*") if p.is_file())
    assert info.bytes < 0.01 * full

    out = tmp_path / "applied"
    apply_delta(bundle_dir, update_delta, out)
    assert (out / "manifest.json").read_bytes() == (updated_bundle / "manifest.json").read_bytes()
    verify_files(out, read_manifest(out))
    assert read_manifest(out).version == "1.1.0"
    nothing_written(tmp_path, tmp_path / "none")


def test_cli_diff_then_apply(bundle_dir, updated_bundle, tmp_path, capsys):
    delta, out = tmp_path / "u.evdelta", tmp_path / "new"
    assert cli(["bundle", "diff", str(bundle_dir), str(updated_bundle), "-o", str(delta), "--level", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["files"]["whole"] == 1
    assert cli(["bundle", "apply", str(bundle_dir), str(delta), "--out", str(out)]) == 0
    assert (out / "manifest.json").read_bytes() == (updated_bundle / "manifest.json").read_bytes()


def test_a_delta_for_another_base_is_refused_naming_the_expected_version(updated_bundle, update_delta, tmp_path,
                                                                         capsys):
    out = tmp_path / "out"
    with pytest.raises(DeltaBaseMismatch) as exc:
        apply_delta(updated_bundle, update_delta, out)
    assert exc.value.http_status == 409 and "kokoro-82m 1.0.0" in exc.value.message
    nothing_written(tmp_path, out)
    assert cli(["bundle", "apply", str(updated_bundle), str(update_delta), "--out", str(out)]) == 2
    assert "apply it to kokoro-82m 1.0.0" in one_line_error(capsys)
    nothing_written(tmp_path, out)


@pytest.mark.parametrize("keep", [0.5, 0.999, 20 / 1e9])
def test_a_truncated_delta_is_refused_before_anything_is_written(bundle_dir, update_delta, tmp_path, capsys, keep):
    data = update_delta.read_bytes()
    cut = tmp_path / "cut.evdelta"
    cut.write_bytes(data[:max(20, int(len(data) * keep))])
    out = tmp_path / "out"
    with pytest.raises(DeltaRejected) as exc:
        apply_delta(bundle_dir, cut, out)
    assert exc.value.code == "delta_truncated" and exc.value.http_status == 422
    assert cli(["bundle", "apply", str(bundle_dir), str(cut), "--out", str(out)]) == 2
    assert "truncated" in one_line_error(capsys)
    nothing_written(tmp_path, out)


def test_a_flipped_byte_fails_the_checksum(bundle_dir, update_delta, tmp_path):
    data = bytearray(update_delta.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "flipped.evdelta"
    bad.write_bytes(bytes(data))
    with pytest.raises(DeltaRejected) as exc:
        apply_delta(bundle_dir, bad, tmp_path / "out")
    assert exc.value.code == "delta_corrupt"
    nothing_written(tmp_path, tmp_path / "out")


def test_a_patch_that_builds_the_wrong_bytes_is_caught_and_the_staging_removed(bundle_dir, update_delta, tmp_path,
                                                                                capsys):
    header, payload = split(update_delta.read_bytes())
    entry = next(e for e in header["entries"] if e["op"] == "patch")
    base = (bundle_dir / entry["source"]).read_bytes()
    wrong = zstandard.ZstdCompressor(level=3).compress(base)  # the base bytes again: right size, wrong hash
    entry.update(op="whole", source="", offset=len(payload), length=len(wrong))
    header["payload_bytes"] = len(payload) + len(wrong)
    bad = tmp_path / "wrong.evdelta"
    bad.write_bytes(seal(header, payload + wrong))
    out = tmp_path / "out"
    with pytest.raises(DeltaRejected) as exc:
        apply_delta(bundle_dir, bad, out)
    assert exc.value.code == "delta_hash_mismatch" and entry["path"] in exc.value.message
    nothing_written(tmp_path, out)
    assert cli(["bundle", "apply", str(bundle_dir), str(bad), "--out", str(out)]) == 2
    one_line_error(capsys)
    nothing_written(tmp_path, out)


EVIL = ["../escaped.npy", "/tmp/escaped.npy", "voices/../../escaped.npy", "manifest.json"]  # outside-path-ok: attacks


@pytest.mark.parametrize("evil", EVIL)
def test_a_path_traversal_name_inside_a_delta_is_refused(bundle_dir, update_delta, tmp_path, capsys, evil):
    header, payload = split(update_delta.read_bytes())
    next(e for e in header["entries"] if e["op"] == "whole")["path"] = evil
    bad = tmp_path / "evil.evdelta"
    bad.write_bytes(seal(header, payload))
    out = tmp_path / "work" / "out"
    out.parent.mkdir()
    with pytest.raises(DeltaRejected) as exc:
        apply_delta(bundle_dir, bad, out)
    assert exc.value.code == "delta_unsafe_path"
    assert cli(["bundle", "apply", str(bundle_dir), str(bad), "--out", str(out)]) == 2
    assert "unsafe path" in one_line_error(capsys)
    nothing_written(out.parent, out)
    assert not (tmp_path / "escaped.npy").exists() and not Path("/tmp/escaped.npy").exists()


def test_a_delta_whose_manifest_and_entries_disagree_is_refused(bundle_dir, update_delta, tmp_path):
    header, payload = split(update_delta.read_bytes())
    header["entries"] = [e for e in header["entries"] if e["op"] != "whole"]  # drops the new voice
    bad = tmp_path / "short.evdelta"
    bad.write_bytes(seal(header, payload))
    with pytest.raises(DeltaRejected) as exc:
        apply_delta(bundle_dir, bad, tmp_path / "out")
    assert exc.value.code == "delta_corrupt"


def _malformed(header: dict, payload: bytes) -> list[tuple[str, dict, bytes]]:
    """Well-sealed deltas with one structural fault each."""
    import copy

    cases = []

    def case(name, edit, body=payload):
        h = copy.deepcopy(header)
        edit(h)
        cases.append((name, h, body))

    case("entries not a list", lambda h: h.update(entries={"a": 1}))
    case("entry not an object", lambda h: h["entries"].__setitem__(0, "voices/x.npy"))
    case("patch without a source", lambda h: next(e for e in h["entries"] if e["op"] == "patch").pop("source"))
    case("negative offset", lambda h: next(e for e in h["entries"] if e["op"] == "whole").update(offset=-1))
    case("past the payload", lambda h: next(e for e in h["entries"] if e["op"] == "whole").update(length=10**9))
    case("unknown op", lambda h: h["entries"][0].update(op="exec"))
    case("no base identity", lambda h: h.pop("base"))
    case("other codec", lambda h: h.update(codec="bsdiff4"))
    listed = zstandard.ZstdCompressor().compress(b"[1, 2]")
    case("manifest not an object", lambda h: h.update(manifest={"offset": len(payload), "length": len(listed),
                                                                "size": 6}), payload + listed)
    return cases


def test_every_structural_fault_is_a_delta_error_not_a_crash(bundle_dir, update_delta, tmp_path):
    header, payload = split(update_delta.read_bytes())
    for name, h, body in _malformed(header, payload):
        if "payload_bytes" in h:
            h["payload_bytes"] = len(body)
        bad = tmp_path / "bad.evdelta"
        bad.write_bytes(seal(h, body))
        with pytest.raises(DeltaRejected):  # DeltaBaseMismatch is one too, and nothing else may escape
            apply_delta(bundle_dir, bad, tmp_path / "out")
        nothing_written(tmp_path, tmp_path / "out")


def test_a_crash_mid_apply_never_leaves_a_half_built_bundle(bundle_dir, update_delta, tmp_path):
    """SIGKILL the CLI at several points of an apply: the output is either absent or complete."""
    for i, delay in enumerate((0.05, 0.4, 0.8, 1.2)):
        out = tmp_path / f"out{i}"
        proc = subprocess.Popen([sys.executable, "-m", "emotivoice_srv", "bundle", "apply", str(bundle_dir),
                                 str(update_delta), "--out", str(out)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if out.exists():
            verify_files(out, read_manifest(out))
            assert read_manifest(out).version == "1.1.0"


def test_an_unwritable_output_is_one_clear_error(bundle_dir, update_delta, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli(["bundle", "apply", str(bundle_dir), str(update_delta), "--out", str(blocker / "new")]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("error (bundle_write_failed): cannot write") and "\n" not in err
