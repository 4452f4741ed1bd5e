"""Session creation: the memory setting reaches onnxruntime and never changes what the graphs compute."""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv import InvalidInput
from emotivoice_srv.graphs.session import CPU_ONLY, choose_runtime, create_session


def test_an_unknown_session_memory_is_a_clear_input_error():
    with pytest.raises(InvalidInput, match="session memory 'pooled'"):
        choose_runtime("cpu", memory="pooled")
    assert choose_runtime("cpu").memory == "shared"


def test_shared_cpu_sessions_use_the_process_arena_without_memory_patterns(bundle_dir):
    graph = bundle_dir / "graphs" / "int8" / "prosody.onnx"
    shared = create_session(graph, CPU_ONLY, 1).get_session_options()
    own = create_session(graph, CPU_ONLY, 1, memory="per-session").get_session_options()
    assert shared.get_session_config_entry("session.use_env_allocators") == "1"
    assert not shared.enable_mem_pattern
    assert own.enable_mem_pattern
    with pytest.raises(RuntimeError, match="does not have configuration"):  # never set: its own arena
        own.get_session_config_entry("session.use_env_allocators")


def test_shared_and_per_session_memory_render_the_same_samples(bundle_dir, engine):
    from emotivoice_srv import Engine, EngineConfig

    per_session = Engine.load(EngineConfig(bundle_dir=bundle_dir, device="cpu", threads=2,
                                           session_memory="per-session"))
    assert engine.config.session_memory == "shared" and per_session.graphs.runtime.memory == "per-session"
    text = "Where the memory comes from must not change a sample."
    np.testing.assert_array_equal(engine.synthesize(text, voice="en_female_1").audio,
                                  per_session.synthesize(text, voice="en_female_1").audio)
