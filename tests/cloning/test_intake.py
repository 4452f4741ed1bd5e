"""Reference audio intake: any common container -> canonical 16 kHz mono speech with a content hash,
or a refusal whose class and ``code`` say exactly what is wrong with the upload."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from emotivoice_srv.cloning.intake import (
    FRAME_S,
    SAMPLE_RATE,
    TARGET_RMS_DBFS,
    IntakeLimits,
    decode,
    prepare,
    trim_silence,
)
from emotivoice_srv.errors import BodyTooLarge, InvalidAudio

LIMITS = IntakeLimits()


def encode(audio: np.ndarray, rate: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def samples_of(data: bytes) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(io.BytesIO(data), dtype="float32")
    return audio, rate


def silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(int(round(seconds * rate)), dtype=np.float32)


def active_rms_dbfs(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Mean power over 30 ms frames within 40 dB of the loudest one (speech, not pauses)."""
    frame = int(FRAME_S * rate)
    n = samples.size // frame
    power = np.mean(samples[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1)
    db = 10 * np.log10(power + 1e-12)
    return float(10 * np.log10(np.mean(power[db >= db.max() - 40.0])))


def refused(data: bytes, limits: IntakeLimits = LIMITS) -> InvalidAudio:
    with pytest.raises(InvalidAudio) as info:
        prepare(data, limits)
    assert info.value.http_status == 422
    assert info.value.message and info.value.to_dict()["error"]["code"] == info.value.code
    return info.value


@pytest.fixture(scope="module")
def reference(reference_wav) -> tuple[np.ndarray, int]:
    return samples_of(reference_wav)


@pytest.fixture(scope="module")
def reference_pcm(reference) -> tuple[np.ndarray, int]:
    """The reference as 16-bit integers: samples every 16-bit container stores exactly."""
    audio, rate = reference
    return np.round(audio * 32768.0).clip(-32768, 32767).astype(np.int16), rate


@pytest.fixture(scope="module")
def prepared(reference_wav):
    return prepare(reference_wav, LIMITS)


# -- refusals -----------------------------------------------------------------------------------
def test_empty_bytes_are_audio_empty():
    assert refused(b"").code == "audio_empty"


def test_text_bytes_are_audio_unreadable():
    err = refused(b"hello, not audio" * 100)
    assert err.code == "audio_unreadable"
    assert "WAV" in err.message  # says what to send instead


def test_a_wav_cut_inside_its_header_is_audio_unreadable(reference_wav):
    assert refused(reference_wav[:30]).code == "audio_unreadable"


def test_a_wav_with_a_whole_header_but_no_samples_is_audio_empty(reference_wav):
    assert refused(reference_wav[:44]).code == "audio_empty"


def test_a_one_second_clip_is_audio_too_short(reference):
    audio, rate = reference
    err = refused(encode(audio[:rate], rate))
    assert err.code == "audio_too_short"
    assert "3 s" in err.message


def test_a_two_minute_clip_is_audio_too_long(reference):
    audio, rate = reference
    two_minutes = np.tile(audio, int(np.ceil(120 * rate / audio.size)))[: 120 * rate]
    assert refused(encode(two_minutes, rate)).code == "audio_too_long"


def test_a_two_minute_clip_is_refused_from_its_header_before_any_sample_is_decoded(reference, monkeypatch):
    audio, rate = reference
    two_minutes = encode(np.tile(audio, int(np.ceil(120 * rate / audio.size)))[: 120 * rate], rate)

    def no_decoding(*args, **kwargs):
        raise AssertionError("samples were decoded although the header already says the clip is too long")

    monkeypatch.setattr(sf, "read", no_decoding)
    with pytest.raises(InvalidAudio) as info:
        decode(two_minutes, LIMITS)
    assert info.value.code == "audio_too_long"
    assert "120.0 s" in info.value.message


def test_more_speech_than_max_speech_s_after_trimming_is_audio_too_long(reference_wav):
    limits = IntakeLimits(max_speech_s=5.0)  # the ~10 s clip passes the header check (<= 20 s of input)
    assert refused(reference_wav, limits).code == "audio_too_long"


def test_bytes_over_max_bytes_are_body_too_large_413(reference_wav):
    with pytest.raises(BodyTooLarge) as info:
        prepare(reference_wav, IntakeLimits(max_bytes=len(reference_wav) - 1))
    assert info.value.code == "audio_too_large"
    assert info.value.http_status == 413


def test_bytes_exactly_at_max_bytes_are_accepted(reference_wav, prepared):
    assert prepare(reference_wav, IntakeLimits(max_bytes=len(reference_wav))).sha256 == prepared.sha256


def test_digital_silence_is_audio_silent():
    assert refused(encode(silence(5.0, 24_000), 24_000)).code == "audio_silent"


def test_white_noise_at_a_moderate_level_is_audio_not_speech():
    noise = 0.1 * np.random.default_rng(0).standard_normal(5 * 24_000)
    assert refused(encode(noise.astype(np.float32), 24_000)).code == "audio_not_speech"


def test_heavily_clipped_noise_is_audio_clipped():
    noise = np.clip(2.0 * np.random.default_rng(1).standard_normal(5 * 24_000), -1.0, 1.0)
    assert refused(encode(noise.astype(np.float32), 24_000)).code == "audio_clipped"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_a_float_wav_holding_nan_or_infinity_is_audio_unreadable(reference, bad):
    audio, rate = reference
    poisoned = audio.copy()
    poisoned[audio.size // 2] = bad
    assert refused(encode(poisoned, rate, subtype="FLOAT")).code == "audio_unreadable"


# -- accepted -----------------------------------------------------------------------------------
def test_the_canonical_form_is_16khz_mono_16_bit_speech(prepared, reference):
    audio, rate = reference
    assert prepared.sample_rate == SAMPLE_RATE == 16_000
    assert prepared.samples.dtype == np.float32 and prepared.samples.ndim == 1
    np.testing.assert_array_equal(prepared.samples * 32768.0, np.round(prepared.samples * 32768.0))
    assert 0.1 < float(np.abs(prepared.samples).max()) <= 0.98
    assert prepared.samples.size == pytest.approx(prepared.speech_s * SAMPLE_RATE, abs=1)
    assert 6.0 < prepared.speech_s < audio.size / rate  # leading/trailing silence cut
    assert (prepared.source_rate, prepared.source_channels, prepared.source_format) == (rate, 1, "WAV")
    assert len(prepared.sha256) == 64
    first, second = prepared.halves()
    np.testing.assert_array_equal(np.concatenate([first, second]), prepared.samples)


def test_preparing_the_same_bytes_twice_gives_the_same_result(reference_wav, prepared):
    again = prepare(reference_wav, LIMITS)
    assert again.sha256 == prepared.sha256
    np.testing.assert_array_equal(again.samples, prepared.samples)


def test_8khz_telephone_band_audio_is_accepted(reference, prepared):
    from emotivoice_srv.audio.resample import resample

    audio, rate = reference
    phone = prepare(encode(resample(audio, rate, 8_000), 8_000), LIMITS)
    assert phone.source_rate == 8_000 and phone.sample_rate == SAMPLE_RATE
    assert abs(phone.speech_s - prepared.speech_s) < 0.4


def test_stereo_48khz_with_slightly_different_channels_is_accepted(reference, prepared):
    from emotivoice_srv.audio.resample import resample

    audio, rate = reference
    left = resample(audio, rate, 48_000)
    right = 0.9 * np.roll(left, 3)
    stereo = prepare(encode(np.stack([left, right], axis=1), 48_000), LIMITS)
    assert stereo.source_channels == 2 and stereo.source_rate == 48_000
    assert stereo.samples.ndim == 1
    assert abs(stereo.speech_s - prepared.speech_s) < 0.4


@pytest.mark.parametrize("name, fmt, subtype", [
    ("Take 1 (final).flac", "FLAC", "PCM_16"),
    ("ref.wav", "WAV", "PCM_24"),
    ("voice.aiff", "AIFF", "PCM_16"),
])
def test_the_same_samples_in_another_container_or_file_hash_equally(tmp_path, reference_pcm, name, fmt, subtype):
    pcm, rate = reference_pcm
    (tmp_path / "upload.wav").write_bytes(encode(pcm, rate, "WAV", "PCM_16"))
    (tmp_path / name).write_bytes(encode(pcm, rate, fmt, subtype))

    wav = prepare((tmp_path / "upload.wav").read_bytes(), LIMITS)
    other = prepare((tmp_path / name).read_bytes(), LIMITS)
    assert other.source_format == fmt
    assert other.sha256 == wav.sha256
    np.testing.assert_array_equal(other.samples, wav.samples)


def test_changing_one_loud_sample_changes_the_hash(reference_pcm):
    pcm, rate = reference_pcm
    changed = pcm.copy()
    i = int(np.argmax(np.abs(pcm)))
    changed[i] -= np.sign(pcm[i]) * 1000
    assert prepare(encode(changed, rate), LIMITS).sha256 != prepare(encode(pcm, rate), LIMITS).sha256


def test_a_quiet_copy_is_normalized_to_the_same_speech_loudness(reference, prepared):
    audio, rate = reference
    quiet = prepare(encode(audio * 10 ** (-20 / 20), rate), LIMITS)
    assert active_rms_dbfs(quiet.samples) == pytest.approx(active_rms_dbfs(prepared.samples), abs=0.5)
    assert active_rms_dbfs(quiet.samples) == pytest.approx(TARGET_RMS_DBFS, abs=0.5)
    # 16-bit quantization at -20 dB loses detail: the canonical samples are close, not identical
    assert quiet.sha256 != prepared.sha256
    assert abs(quiet.speech_s - prepared.speech_s) < 0.1


def test_long_pauses_and_padding_are_trimmed_from_the_speech_length(reference, prepared):
    audio, rate = reference
    mid = audio.size // 2
    padded = np.concatenate([silence(1.0, rate), audio[:mid], silence(2.0, rate), audio[mid:],
                             silence(1.0, rate)])
    result = prepare(encode(padded, rate), LIMITS)
    assert abs(result.speech_s - prepared.speech_s) <= 0.4


# -- trim_silence -------------------------------------------------------------------------------
def tone(seconds: float, hz: float, level: float, rate: int) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_trim_silence_cuts_the_ends_and_shortens_an_inner_pause_to_max_pause():
    rate = 16_000
    frame_s = FRAME_S
    signal = np.concatenate([silence(0.5, rate), tone(0.6, 220, 0.5, rate), silence(1.5, rate),
                             tone(0.6, 330, 0.25, rate), silence(0.7, rate)])
    out = trim_silence(signal, rate, max_pause_s=0.3)

    # whole 30 ms frames are kept, so each of the four tone edges may bring up to one frame of silence
    assert 0.6 + 0.3 + 0.6 <= out.size / rate <= 0.6 + 0.3 + 0.6 + 4 * frame_s
    head, tail = out[: int(0.1 * rate)], out[-int(0.1 * rate):]
    assert np.abs(head).max() == pytest.approx(0.5, abs=0.01)  # starts with the first tone
    assert np.abs(tail).max() == pytest.approx(0.25, abs=0.01)  # ends with the second
    quiet = np.abs(out) < 1e-6
    assert quiet.sum() / rate <= 0.3 + 4 * frame_s  # only the shortened pause is left


def test_trim_silence_keeps_pauses_shorter_than_max_pause_whole():
    rate = 16_000
    signal = np.concatenate([tone(0.6, 220, 0.5, rate), silence(0.15, rate), tone(0.6, 330, 0.5, rate)])
    out = trim_silence(signal, rate, max_pause_s=0.3)
    assert abs(out.size - signal.size) <= int(FRAME_S * rate)


def test_trim_silence_of_less_than_one_frame_is_empty():
    assert trim_silence(np.ones(100, dtype=np.float32), 16_000, 0.3).size == 0
