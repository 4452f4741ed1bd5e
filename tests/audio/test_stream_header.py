"""Streaming WAV header, MIME types, format checks and the opus encoder."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from emotivoice_srv.audio.encode import check_format, content_type, encode, to_int16, wav_stream_header
from emotivoice_srv.errors import InvalidInput


def sine(sr: int, seconds: float = 0.5, hz: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("sr", [8000, 16000, 24000, 48000])
def test_stream_header_plus_int16_pcm_decodes_at_the_right_rate_and_length(sr):
    audio = sine(sr)
    data = wav_stream_header(sr) + to_int16(audio).tobytes()
    decoded, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == sr
    assert decoded.ndim == 1
    assert len(decoded) == len(audio)
    np.testing.assert_allclose(decoded, audio, atol=1 / 32767 + 1e-6)


def test_stream_header_is_a_44_byte_mono_16_bit_pcm_header():
    header = wav_stream_header(24000)
    assert len(header) == 44
    assert header[:4] == b"RIFF" and header[8:16] == b"WAVE" + b"fmt " and header[36:40] == b"data"
    # sizes are unknown for a stream: both set to 0xFFFFFFFF
    assert header[4:8] == b"\xff\xff\xff\xff" and header[40:44] == b"\xff\xff\xff\xff"
    info = sf.info(io.BytesIO(header + b"\x00\x00" * 10))
    assert (info.samplerate, info.channels, info.subtype) == (24000, 1, "PCM_16")


def test_stream_header_concatenated_chunks_decode_as_one_stream():
    """Utterances are appended chunk by chunk after a single header."""
    a, b = sine(24000, 0.2), sine(24000, 0.3, hz=660.0)
    data = wav_stream_header(24000) + to_int16(a).tobytes() + to_int16(b).tobytes()
    decoded, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert len(decoded) == len(a) + len(b)


@pytest.mark.parametrize("sr", [16000, 24000, 44100])
def test_pcm_content_type_states_its_rate_and_layout(sr):
    ctype = content_type("pcm", sr)
    assert ctype.startswith("audio/pcm")
    assert f"rate={sr}" in ctype
    assert "channels=1" in ctype


@pytest.mark.parametrize("fmt, ctype", [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("flac", "audio/flac")])
def test_container_content_types_do_not_depend_on_the_rate(fmt, ctype):
    assert content_type(fmt, 16000) == content_type(fmt, 48000) == ctype


def test_check_format_refuses_opus_at_a_rate_opus_does_not_have():
    with pytest.raises(InvalidInput) as info:
        check_format("opus", 22050)
    assert info.value.code == "unsupported_sample_rate"
    assert "22050" in info.value.message


@pytest.mark.parametrize("sr", [8000, 16000, 24000, 48000])
def test_check_format_accepts_opus_at_its_native_rates(sr):
    check_format("opus", sr)


def test_check_format_accepts_any_rate_for_other_formats():
    check_format("wav", 22050)
    check_format("pcm", 11025)


def test_check_format_refuses_an_unknown_format():
    with pytest.raises(InvalidInput) as info:
        check_format("aiff", 24000)
    assert info.value.code == "unknown_format"


def test_encode_refuses_opus_at_an_unsupported_rate():
    with pytest.raises(InvalidInput) as info:
        encode(sine(22050), 22050, "opus")
    assert info.value.code == "unsupported_sample_rate"


def test_opus_encoding_round_trips_through_soundfile():
    audio = sine(24000)
    data = encode(audio, 24000, "opus")
    assert data[:4] == b"OggS"
    info = sf.info(io.BytesIO(data))
    assert info.subtype == "OPUS"
    decoded, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 24000
    assert abs(len(decoded) - len(audio)) <= 0.02 * 24000
    # lossy, but the tone and its level survive
    rms = lambda x: float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    assert rms(decoded) == pytest.approx(rms(audio), rel=0.2)
    spectrum = np.abs(np.fft.rfft(decoded))
    assert np.fft.rfftfreq(len(decoded), 1 / rate)[np.argmax(spectrum)] == pytest.approx(440.0, abs=5.0)


def test_pcm_encoding_is_raw_little_endian_int16():
    audio = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype=np.float32)
    data = encode(audio, 24000, "pcm")
    assert len(data) == 2 * len(audio)
    assert np.frombuffer(data, "<i2").tolist() == [0, 16384, -16384, 32767, -32767, 32767]
