"""The quality package's public names, and that importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import emotivoice_srv.quality as quality

PUBLIC = {
    "SpeakerEncoder",
    "Transcriber",
    "active_rms_db",
    "cosine",
    "edit_distance",
    "median_f0_hz",
    "normalize_transcript",
    "semitones",
    "speech_duration_s",
    "word_error_rate",
}


def test_public_api() -> None:
    assert set(quality.__all__) == PUBLIC
    assert all(hasattr(quality, name) for name in PUBLIC)


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, emotivoice_srv.quality; "
        "print(sorted(m for m in ('faster_whisper', 'ctranslate2', 'librosa', 'soxr') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
