"""The split chain (3 graphs + host alignment) is the original Kokoro graph, bit for bit."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from emotivoice_srv.graphs import KokoroGraphs, choose_runtime
from emotivoice_srv.bundle import read_manifest
from emotivoice_srv.prosody import expand, frames_from_durations
from export.sources import load_kokoro_source


@pytest.fixture(scope="module")
def original():
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(load_kokoro_source().model_bytes, opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def graphs(bundle_dir):
    return KokoroGraphs.load(bundle_dir, read_manifest(bundle_dir), choose_runtime("cpu", "int8"), threads=2)


def run_chain(graphs, tokens, style, speed):
    out = graphs.duration(tokens, style, speed)
    frames = frames_from_durations(out.durations)
    f0, energy = graphs.prosody(expand(out.prosody_features, frames), style)
    return graphs.decode(expand(out.text_features, frames), f0, energy, style)


@pytest.mark.parametrize("n_tokens,speed,seed", [(12, 1.0, 0), (45, 1.3, 1), (90, 0.8, 2)])
def test_chain_reproduces_original_graph_exactly(original, graphs, bundle_dir, n_tokens, speed, seed):
    manifest = read_manifest(bundle_dir)
    rng = np.random.default_rng(seed)
    ids = rng.choice(sorted(manifest.vocab.values()), n_tokens)
    tokens = np.array([[0, *ids, 0]], dtype=np.int64)
    table = np.load(bundle_dir / manifest.voices[seed % len(manifest.voices)].file)
    style = (0.6 * table[n_tokens - 1] + 0.4 * table[-1])[None].astype(np.float32)  # a non-stock style
    expected = original.run(None, {"tokens": tokens, "style": style, "speed": np.array([speed], np.float32)})[0]
    got = run_chain(graphs, tokens, style, speed)
    assert got.shape == expected.reshape(-1).shape
    np.testing.assert_array_equal(got, expected.reshape(-1))


def test_host_alignment_matches_graph_rounding():
    durations = np.array([0.4, 0.5, 1.5, 2.5, 3.49, 7.0], np.float32)
    assert frames_from_durations(durations).tolist() == [1, 1, 2, 2, 3, 7]  # half to even, >= 1


def test_expand_repeats_token_columns():
    feats = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    out = expand(feats, np.array([1, 0, 2]))
    assert out.tolist() == [[[0, 2, 2], [3, 5, 5]]]
