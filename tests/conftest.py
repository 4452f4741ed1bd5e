"""Shared fixtures: the real int8 bundle is built once per test session and one engine loads it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

@pytest.fixture(scope="session")
def bundle_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bundles")


@pytest.fixture(scope="session")
def bundle_dir(bundle_root) -> Path:
    from export import build_bundle

    out = bundle_root / "kokoro-82m"
    build_bundle(out, ("int8",), progress=False)
    return out


@pytest.fixture(scope="session")
def engine(bundle_dir):
    from emotivoice_srv import Engine, EngineConfig

    return Engine.load(EngineConfig(bundle_dir=bundle_dir, device="cpu", threads=2))


REFERENCE_TEXT = ("The old lighthouse keeper climbed the stairs every evening. "
                  "He said the sea was calm, but the wind would change before morning.")


@pytest.fixture(scope="session")
def reference_wav(engine) -> bytes:
    """About 8 s of real speech (a built-in voice shifted down 2 semitones) as 24 kHz 16-bit WAV bytes:
    reference audio for cloning tests that needs no download."""
    import io

    import soundfile as sf

    audio = engine.synthesize(REFERENCE_TEXT, voice="en_male_1", pitch=-2.0).audio
    buf = io.BytesIO()
    sf.write(buf, audio, engine.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="session")
def eval_sentences() -> list[str]:
    """The held-out evaluation sentences shipped in the repository (bench/data/eval_sentences_en.txt)."""
    from bench.texts import eval_sentences as read

    return read()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    """No test sees the developer's EMOTIVOICE_* settings."""
    for key in list(os.environ):
        if key.startswith("EMOTIVOICE_"):
            monkeypatch.delenv(key)
