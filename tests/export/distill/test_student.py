"""The student's stages honour the teacher's stage interface and save to TorchScript and ONNX that agree."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra (torch) drives the student's PyTorch modules")

from export.distill.graphs import NAMES, example_inputs, export_graphs  # noqa: E402
from export.distill.student import FRAME, Student, StudentConfig, dft_basis  # noqa: E402

TINY = StudentConfig(enc_dim=32, prosody_dim=24, text_dim=16, dec_dim=32, dec_blocks=2, bands=16)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return Student(TINY).eval()


def test_stage_outputs_have_the_teachers_layouts(tiny):
    tokens, style, speed = torch.randint(1, 170, (1, 9)), torch.randn(1, 256), torch.tensor([2.0])
    durations, prosody, text = tiny.duration(tokens, style, speed)
    assert durations.shape == (1, 9) and prosody.shape == (1, 9, TINY.prosody_dim) and text.shape == (1, 16, 9)
    f0, energy = tiny.prosody(torch.randn(1, TINY.prosody_dim, 13), style)
    assert f0.shape == energy.shape == (1, 26) and bool((f0 >= 0).all())
    audio = tiny.decoder(torch.randn(1, 16, 13), torch.full((1, 26), 120.0), torch.zeros(1, 26), style)
    assert audio.shape == (13 * FRAME,)


def test_speed_divides_the_durations(tiny):
    tokens, style = torch.randint(1, 170, (1, 7)), torch.randn(1, 256)
    slow, _, _ = tiny.duration(tokens, style, torch.tensor([1.0]))
    fast, _, _ = tiny.duration(tokens, style, torch.tensor([2.0]))
    assert torch.allclose(fast * 2, slow)


def test_stft_round_trip_is_exact_away_from_the_edges(tiny):
    fwd, inv = dft_basis(600)
    x = torch.randn(2, 1, 12_000)
    re, im = tiny.decoder.stft(x, fwd)
    y = tiny.decoder.istft(re, im, 12_000, inv)
    assert float((y - x[:, 0])[:, 300:-300].abs().max()) < 1e-4


def test_harmonic_source_follows_f0_and_is_silent_when_unvoiced(tiny):
    f0 = torch.cat([torch.full((1, 40), 200.0), torch.zeros(1, 40)], 1)
    src = tiny.decoder.excitation(f0)[0, 0].numpy()
    voiced, unvoiced = src[: 40 * 300], src[40 * 300:]
    spectrum = np.abs(np.fft.rfft(voiced[2400:-2400]))
    freqs = np.fft.rfftfreq(len(voiced) - 4800, 1 / 24_000)
    assert abs(freqs[spectrum.argmax()] % 200) < 5 or abs(freqs[spectrum.argmax()] % 200) > 195
    assert float(np.abs(unvoiced[600:]).max()) == 0.0


def test_torchscript_and_onnx_exports_agree_at_new_lengths(tiny, tmp_path):
    import onnxruntime as ort

    export_graphs(tiny, tmp_path)
    inputs = example_inputs(tiny, tokens=17, frames=41)  # not the export example's lengths
    for stage, (names, _) in NAMES.items():
        scripted = torch.jit.load(str(tmp_path / f"{stage}.ts"))
        ts_out = scripted(*inputs[stage])
        ts_out = ts_out if isinstance(ts_out, tuple) else (ts_out,)
        session = ort.InferenceSession(str(tmp_path / f"{stage}.onnx"), providers=["CPUExecutionProvider"])
        ort_out = session.run(None, {n: x.numpy() for n, x in zip(names, inputs[stage])})
        assert [i.name for i in session.get_inputs()] == list(names)
        for a, b in zip(ts_out, ort_out):
            a = a.detach().numpy()
            assert a.shape == b.shape
            assert np.abs(a - b).max() <= 1e-4 * max(1.0, float(np.abs(a).max())), stage


def test_a_run_with_one_envelope_per_f0_value_warm_starts_one_with_two(tiny):
    from pathlib import Path

    from export.distill.train import _load_weights

    old = {k: v.clone() for k, v in tiny.state_dict().items()}
    old["decoder.out.weight"] = old["decoder.out.weight"][::2].clone()  # the narrower output layer
    old["decoder.out.bias"] = old["decoder.out.bias"][::2].clone()
    widened = Student(TINY).eval()
    _load_weights(widened, old, Path("old.pt"))
    style = torch.randn(1, 256)
    h, n = widened.decoder.envelopes(torch.randn(1, 16, 5), torch.full((1, 10), 120.0), torch.zeros(1, 10), style)
    assert h.shape == (1, TINY.bands, 20)
    assert torch.allclose(h[..., 0::2], h[..., 1::2], atol=1e-6) and torch.allclose(n[..., 0::2], n[..., 1::2], atol=1e-6)
