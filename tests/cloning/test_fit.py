"""Fitting and the cloning service on the real engine, with a one-candidate budget: a fitted recipe
matches the reference's register, a fit is cached and computed once however many callers ask at once,
and an enrolled voice is usable by synthesis and survives a restart.

The session ``engine`` is shared with other test files: every voice added here is removed again."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

from emotivoice_srv.cloning import CloningConfig, FitConfig, FitResult, VoiceCloner, run_inline
from emotivoice_srv.cloning.fit import PITCH_LIMIT_ST, ProbeRenderer
from emotivoice_srv.voice_recipe import TIMBRE

ONE_CANDIDATE = CloningConfig(fit=FitConfig(evaluations=0))


def drain(steps) -> FitResult:
    """What a worker thread does with a fit: run its steps to the end."""
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        return stop.value


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cloning-cache")


@pytest.fixture(scope="module")
def cloner(engine, cache_dir):
    return VoiceCloner(engine, cache_dir, ONE_CANDIDATE)


@pytest.fixture(scope="module")
def ref(cloner, reference_wav):
    return cloner.prepare(reference_wav)


@pytest.fixture(scope="module")
def fitted(cloner, ref) -> FitResult:
    return cloner.fit(ref).result()


@pytest.fixture
def bob(engine, cloner, ref, fitted):
    """'bob' enrolled from the reference; removed from the engine and the disk afterwards."""
    voice = cloner.save(cloner.record("bob", "Bob", None, ref, fitted))
    yield voice
    cloner.delete("bob")
    assert "bob" not in engine.voices


# -- the fit ------------------------------------------------------------------------------------
def test_a_male_reference_gets_a_male_recipe_within_the_pitch_limit(fitted, cloner):
    recipe = fitted.recipe
    assert recipe.gender == "male"
    assert abs(recipe.pitch) <= PITCH_LIMIT_ST == 12.0
    assert fitted.reference_f0_hz < 165.0
    assert recipe.packs() <= set(cloner.stock)
    assert fitted.evaluations == 1 == len(fitted.history)  # a male reference: the one male stock timbre
    assert -1.0 <= fitted.similarity <= 1.0 and fitted.similarity == max(fitted.history)
    assert cloner.fits_computed == 1


def test_the_fit_adds_a_bounded_equalizer_that_reaches_the_voice(fitted, cloner, ref):
    from emotivoice_srv.audio.timbre_eq import GRID_HZ, EqConfig

    recipe = fitted.recipe
    assert len(recipe.eq_db) == len(GRID_HZ)
    assert max(abs(g) for g in recipe.eq_db) <= EqConfig().max_db
    assert recipe.pitch_range == 1.0  # the F0-range fit is off by default (it lost on the tuning speakers)
    voice = cloner.inline_voice(ref, fitted)
    assert voice.eq_db == recipe.eq_db and voice.pitch_range == recipe.pitch_range


def test_the_equalizer_changes_the_sound_but_not_the_length(engine, cloner, ref, fitted):
    from dataclasses import replace

    voice = cloner.inline_voice(ref, fitted)
    with_eq = engine.synthesize("Hello there.", voice=voice).audio
    without = engine.synthesize("Hello there.", voice=replace(voice, eq_db=())).audio
    assert with_eq.size == without.size
    assert not np.allclose(with_eq, without, atol=1e-3)


def test_a_second_fit_of_the_same_audio_is_a_cache_hit(cloner, ref, fitted):
    events = []
    cloner.observers.append(lambda event, result: events.append((event, result)))
    try:
        again = cloner.fit(ref)
        assert again.done()
        assert again.result().recipe == fitted.recipe
        assert cloner.fits_computed == 1
        assert events == [("cache", "hit")]
    finally:
        cloner.observers.clear()


def test_concurrent_fits_of_the_same_audio_are_computed_once(engine, tmp_path, reference_wav, fitted):
    cloner = VoiceCloner(engine, tmp_path, ONE_CANDIDATE)  # an empty cache: the first caller must fit
    ref = cloner.prepare(reference_wav)
    started = []
    events = []
    cloner.observers.append(lambda event, result: events.append((event, result)))
    callers = 8
    barrier = threading.Barrier(callers)
    with ThreadPoolExecutor(2) as workers, ThreadPoolExecutor(callers) as clients:
        def runner(steps) -> Future:
            started.append(steps)
            return workers.submit(drain, steps)

        def enroll() -> Future:
            barrier.wait()
            return cloner.fit(ref, run=runner)

        futures = [f.result(timeout=60) for f in [clients.submit(enroll) for _ in range(callers)]]
        results = [f.result(timeout=120) for f in futures]

    assert len(started) == 1 and cloner.fits_computed == 1
    assert events.count(("fit", "ok")) == 1
    assert all(r.recipe == results[0].recipe for r in results)
    # and the fit is deterministic: the module's cloner fitted the same audio to the same recipe
    assert results[0].recipe == fitted.recipe
    assert results[0].similarity == pytest.approx(fitted.similarity, abs=1e-6)
    assert cloner.fit(ref).result().recipe == results[0].recipe and cloner.fits_computed == 1


def test_a_fit_result_round_trips_through_its_cached_form(fitted):
    again = FitResult.from_dict(fitted.to_dict())
    assert again.recipe == fitted.recipe
    assert again.similarity == pytest.approx(fitted.similarity, abs=1e-4)
    assert again.reference_f0_hz == pytest.approx(fitted.reference_f0_hz, abs=0.1)
    assert again.evaluations == fitted.evaluations


def test_run_inline_delivers_a_failing_fit_as_the_futures_exception():
    def failing():
        yield 0.0
        raise RuntimeError("decoder exploded")

    future = run_inline(failing())
    assert future.done() and isinstance(future.exception(), RuntimeError)


# -- enrolled voices ----------------------------------------------------------------------------
def test_a_saved_voice_is_usable_by_synthesis_with_an_emotion(engine, bob, fitted):
    voice = engine.voices.get("bob")
    assert voice.kind == "enrolled" and voice.gender == "male"
    assert voice.pitch == fitted.recipe.pitch and voice.speed == fitted.recipe.speed
    assert voice.table.shape == (510, 256)

    result = engine.synthesize("Hello there.", voice="bob", emotion="happy")
    assert result.audio.size > 0.3 * result.sample_rate
    assert float(np.sqrt(np.mean(result.audio ** 2))) > 0.01
    assert np.all(np.isfinite(result.audio))


def test_an_enrolled_voice_is_restored_after_a_restart(engine, cache_dir, bob, ref):
    engine.voices.remove("bob")  # a fresh process starts with the bundle's voices only
    assert "bob" not in engine.voices

    restarted = VoiceCloner(engine, cache_dir, ONE_CANDIDATE)
    restored = engine.voices.get("bob")
    np.testing.assert_array_equal(restored.table, bob.table)
    assert (restored.pitch, restored.speed, restored.kind) == (bob.pitch, bob.speed, "enrolled")
    assert restarted.registry.get("bob").audio_sha256 == ref.sha256
    # the fit cache survived too: enrolling the same audio again computes nothing
    assert restarted.fit(ref).result().recipe.gender == "male" and restarted.fits_computed == 0


def test_deleting_an_enrolled_voice_unpublishes_it_and_removes_its_file(engine, cloner, cache_dir, ref, fitted):
    cloner.save(cloner.record("bob_tmp", "Bob Tmp", "temporary", ref, fitted))
    assert "bob_tmp" in engine.voices and (cache_dir / "voices" / "bob_tmp.json").is_file()

    assert cloner.delete("bob_tmp") is True
    assert "bob_tmp" not in engine.voices and "bob_tmp" not in cloner.registry
    assert not (cache_dir / "voices" / "bob_tmp.json").exists()


# -- probes -------------------------------------------------------------------------------------
def test_probe_renderer_has_a_positive_median_f0_and_timbre_does_not_change_the_length(engine):
    female, male = engine.voices.get("jf_gongitsune"), engine.voices.get("jm_kumo")
    probes = ProbeRenderer(engine, female.table, 1.15, texts=("Hello.",))
    assert 50.0 < probes.median_f0_hz() < 600.0

    a = probes.render(female.table[:, TIMBRE], 0.0)
    b = probes.render(male.table[:, TIMBRE], 0.0)
    assert a.size == b.size > 0
    assert not np.allclose(a, b)  # the timbre does change the sound
