"""A real update of the real default bundle, made once per session: one voice re-tuned for short
utterances (its first 64 style rows changed: a patch), one voice added (a whole file), version 1.1.0;
and the delta between the two."""
from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from bench.bundle_copies import link_tree, write_manifest
from emotivoice_srv.bundle import VoiceSpec, read_manifest, sha256_file

NEW_VOICE = "en_female_2"
TUNED_VOICE = "en_female_1"


def save_npy(path: Path, table: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, table.astype(np.float32))
    path.unlink(missing_ok=True)
    path.write_bytes(buf.getvalue())


@pytest.fixture(scope="session")
def updated_bundle(bundle_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("updated") / "kokoro-82m-1.1.0"
    link_tree(bundle_dir, out)
    m = read_manifest(bundle_dir)
    tuned = next(v for v in m.voices if v.id == TUNED_VOICE)
    table = np.load(bundle_dir / tuned.file)
    table[:64] *= np.float32(0.97)
    save_npy(out / tuned.file, table)
    stock = {v.id: np.load(bundle_dir / v.file) for v in m.voices if v.id in ("jf_alpha", "jf_nezumi")}
    save_npy(out / f"voices/{NEW_VOICE}.npy", 0.5 * stock["jf_alpha"] + 0.5 * stock["jf_nezumi"])
    new_voice = VoiceSpec(id=NEW_VOICE, file=f"voices/{NEW_VOICE}.npy", sha256=sha256_file(out / f"voices/{NEW_VOICE}.npy"),
                          gender="female", language="en", description="blend of jf_alpha and jf_nezumi")
    voices = tuple(dataclasses.replace(v, sha256=sha256_file(out / v.file)) if v.id == TUNED_VOICE else v
                   for v in m.voices) + (new_voice,)
    write_manifest(out, dataclasses.replace(m, version="1.1.0", voices=voices))
    return out


@pytest.fixture(scope="session")
def update_delta(bundle_dir, updated_bundle, tmp_path_factory) -> Path:
    from emotivoice_srv.bundle.delta import write_delta

    out = tmp_path_factory.mktemp("delta") / "update.evdelta"
    write_delta(bundle_dir, updated_bundle, out, level=3)
    return out
