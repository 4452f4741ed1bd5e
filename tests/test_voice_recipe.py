"""Voice recipes: a voice is weights over stock packs (timbre half, prosody half), a pitch, a speed and
an optional timbre offset; ``blend`` turns a recipe into the [rows, 256] style table the graphs use."""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv.voice_recipe import PROSODY, TIMBRE, VoiceRecipe, blend

ROWS = 510


@pytest.fixture(scope="module")
def packs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {name: rng.standard_normal((ROWS, 256)).astype(np.float32) for name in ("pa", "pb", "pc")}


def recipe(timbre, prosody, offset=(), **kw) -> VoiceRecipe:
    return VoiceRecipe("v", "female", timbre, prosody, timbre_offset=tuple(offset), **kw)


def test_a_single_pack_recipe_is_exactly_that_pack(packs):
    table = blend(packs, recipe({"pa": 1.0}, {"pa": 1.0}))
    assert table.shape == (ROWS, 256) and table.dtype == np.float32 and table.flags.c_contiguous
    np.testing.assert_array_equal(table, packs["pa"])


def test_timbre_and_prosody_halves_come_from_their_own_packs(packs):
    table = blend(packs, recipe({"pa": 1.0}, {"pb": 1.0}))
    np.testing.assert_array_equal(table[:, TIMBRE], packs["pa"][:, TIMBRE])
    np.testing.assert_array_equal(table[:, PROSODY], packs["pb"][:, PROSODY])


def test_weights_are_normalized_to_sum_to_one(packs):
    scaled = blend(packs, recipe({"pa": 3.0, "pb": 1.0}, {"pb": 2.0, "pc": 2.0}))
    unit = blend(packs, recipe({"pa": 0.75, "pb": 0.25}, {"pb": 0.5, "pc": 0.5}))
    np.testing.assert_allclose(scaled, unit, rtol=1e-6, atol=1e-6)
    expected_timbre = 0.75 * packs["pa"][:, TIMBRE] + 0.25 * packs["pb"][:, TIMBRE]
    expected_prosody = 0.5 * packs["pb"][:, PROSODY] + 0.5 * packs["pc"][:, PROSODY]
    np.testing.assert_allclose(scaled[:, TIMBRE], expected_timbre, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scaled[:, PROSODY], expected_prosody, rtol=1e-5, atol=1e-6)


def test_the_timbre_offset_moves_only_the_timbre_half_of_every_row(packs):
    offset = np.linspace(-0.5, 0.5, 128, dtype=np.float32)
    plain = blend(packs, recipe({"pa": 1.0, "pb": 1.0}, {"pc": 1.0}))
    moved = blend(packs, recipe({"pa": 1.0, "pb": 1.0}, {"pc": 1.0}, offset=offset.tolist()))
    np.testing.assert_allclose(moved[:, TIMBRE] - plain[:, TIMBRE], np.broadcast_to(offset, (ROWS, 128)),
                               atol=1e-6)
    np.testing.assert_array_equal(moved[:, PROSODY], plain[:, PROSODY])


def test_a_recipe_round_trips_through_its_dict_form():
    offset = tuple(i / 1000 for i in range(-64, 64))
    original = VoiceRecipe("alice", "female", {"pa": 0.7, "pb": 0.3}, {"pc": 1.0}, speed=0.85, pitch=-1.25,
                           timbre_offset=offset)
    again = VoiceRecipe.from_dict("alice", "female", original.to_dict())
    assert again == original
    assert again.packs() == {"pa", "pb", "pc"}


def test_a_recipe_without_offset_round_trips_with_an_empty_offset():
    original = VoiceRecipe("bob", "male", {"pa": 1.0}, {"pb": 1.0})
    raw = original.to_dict()
    assert raw["timbre_offset"] == []
    assert VoiceRecipe.from_dict("bob", "male", raw) == original


def test_an_unknown_pack_is_a_key_error_naming_it(packs):
    with pytest.raises(KeyError, match="nope"):
        blend(packs, recipe({"pa": 1.0}, {"nope": 1.0}))
    with pytest.raises(KeyError, match="nope"):
        blend(packs, recipe({"nope": 1.0}, {"pa": 1.0}))


@pytest.mark.parametrize("mix", [{}, {"pa": 1.0, "pb": -1.0}])
def test_an_empty_mix_or_weights_summing_to_zero_are_refused(packs, mix):
    with pytest.raises(ValueError):
        blend(packs, recipe(mix, {"pa": 1.0}))


@pytest.mark.parametrize("length", [1, 127, 129, 256])
def test_from_dict_rejects_a_timbre_offset_of_the_wrong_length(length):
    raw = {"timbre": {"pa": 1.0}, "prosody": {"pa": 1.0}, "timbre_offset": [0.0] * length}
    with pytest.raises(ValueError, match="128"):
        VoiceRecipe.from_dict("v", "female", raw)


def test_the_equalizer_and_f0_range_round_trip_and_bad_values_are_refused():
    eq = tuple(round(3.0 * np.sin(i / 10), 3) for i in range(65))
    original = VoiceRecipe("bob", "male", {"pa": 1.0}, {"pb": 1.0}, eq_db=eq, pitch_range=1.2)
    raw = original.to_dict()
    assert VoiceRecipe.from_dict("bob", "male", raw) == original
    plain = VoiceRecipe("bob", "male", {"pa": 1.0}, {"pb": 1.0}).to_dict()
    assert "eq_db" not in plain and "pitch_range" not in plain  # older readers see the same recipe
    with pytest.raises(ValueError, match="eq_db"):
        VoiceRecipe.from_dict("bob", "male", {**raw, "eq_db": [1.0] * 10})
    with pytest.raises(ValueError, match="eq_db"):
        VoiceRecipe.from_dict("bob", "male", {**raw, "eq_db": [float("nan")] * 65})
    with pytest.raises(ValueError, match="pitch_range"):
        VoiceRecipe.from_dict("bob", "male", {**raw, "pitch_range": 5.0})


def test_the_bench_marks_the_shipped_defaults_as_its_shipped_column():
    """bench/results/clone-*.md bolds one ablation column as shipped: it must be the product's defaults."""
    from bench.clone_bench import EQ_ABLATION, SHIPPED

    from emotivoice_srv.audio.timbre_eq import EqConfig
    from emotivoice_srv.cloning import FitConfig

    spec = EQ_ABLATION[SHIPPED]
    assert spec.config() == FitConfig().eq == EqConfig()
    assert spec.fitted_range == (FitConfig().pitch_range_limits != (1.0, 1.0))
