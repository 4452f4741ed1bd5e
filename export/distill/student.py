"""The student: a small three-stage model with the main bundle's stage interface.

Stages and tensors are those of the teacher, so the engine runs it unchanged and the emotion edits
(durations, F0, energy between the stages) apply to it as they do to the teacher:

- ``DurationStage(tokens [1,T], style [1,256], speed [1])`` -> durations [1,T] (frames, divided by
  speed), prosody features [1,T,P], text features [1,C,T]; convolutions + a BiLSTM over phonemes.
- ``ProsodyStage(prosody_aligned [1,P,F], style)`` -> f0 [1,2F] (Hz), energy [1,2F]; convolutions at
  the frame rate, upsampled to the 80 Hz F0 rate.
- ``DecoderStage(text_aligned [1,C,F], f0, energy, style)`` -> audio [600F] at 24 kHz. A source-filter
  vocoder: a harmonic excitation built from the F0 curve (so pitch edits are exact) and a fixed noise
  excitation are shaped by spectral envelopes that a ConvNeXt network predicts on a mel-band grid,
  in the STFT domain, then overlap-added back. Cheap (no upsampling network) and quick to train.

The first 128 style numbers condition the decoder (timbre), the last 128 the duration and prosody
stages, as in the teacher. Everything here scripts with TorchScript and exports to ONNX.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

SAMPLE_RATE = 24_000
FRAME = 600          # samples per alignment frame (the teacher's)
F0_HOP = 300         # samples per F0/energy value (2 per frame)
N_FFT = 600          # synthesis STFT
HOP = 150
VOICED_HZ = 30.0
ENVELOPE_SUBFRAMES = 2  # envelopes per F0 value
NOISE_FRAMES = 64  # 0.4 s of noise spectrogram, tiled


@dataclass(frozen=True)
class StudentConfig:
    vocab_size: int = 178
    style_dim: int = 256
    enc_dim: int = 128
    prosody_dim: int = 128
    text_dim: int = 128
    dec_dim: int = 160
    dec_blocks: int = 6
    bands: int = 80


class FiLM(nn.Module):
    """Scale and shift channels from a style vector (per utterance)."""

    def __init__(self, style: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(style, 2 * channels)

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        g, b = self.proj(s).unsqueeze(2).chunk(2, dim=1)
        return x * (1 + g) + b


class ConvBlock(nn.Module):
    """Conv -> ReLU -> channel norm -> FiLM, residual."""

    def __init__(self, channels: int, style: int, kernel: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.norm = nn.GroupNorm(1, channels)
        self.film = FiLM(style, channels)

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        return x + self.film(self.norm(F.relu(self.conv(x))), s)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv, norm with style FiLM, pointwise MLP, residual."""

    def __init__(self, channels: int, style: int, kernel: int = 7, mult: int = 3) -> None:
        super().__init__()
        self.dw = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.norm = nn.GroupNorm(1, channels, affine=False)
        self.film = FiLM(style, channels)
        self.pw1 = nn.Conv1d(channels, channels * mult, 1)
        self.pw2 = nn.Conv1d(channels * mult, channels, 1)

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        y = self.film(self.norm(self.dw(x)), s)
        return x + self.pw2(F.gelu(self.pw1(y)))


class DurationStage(nn.Module):
    def __init__(self, c: StudentConfig) -> None:
        super().__init__()
        half = c.style_dim // 2
        self.embed = nn.Embedding(c.vocab_size, c.enc_dim)
        self.convs = nn.ModuleList([ConvBlock(c.enc_dim, half) for _ in range(3)])
        self.lstm = nn.LSTM(c.enc_dim, c.enc_dim // 2, batch_first=True, bidirectional=True)
        self.prosody = nn.Linear(c.enc_dim + half, c.prosody_dim)
        self.text = nn.Linear(c.enc_dim, c.text_dim)
        self.duration = nn.Sequential(nn.Linear(c.prosody_dim, c.prosody_dim), nn.ReLU(), nn.Linear(c.prosody_dim, 1))
        self.half = half

    def forward(self, tokens: Tensor, style: Tensor, speed: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        s = style[:, self.half:]
        x = self.embed(tokens).transpose(1, 2)
        for block in self.convs:
            x = block(x, s)
        h, _ = self.lstm(x.transpose(1, 2))
        p = self.prosody(torch.cat([h, s.unsqueeze(1).expand(-1, h.shape[1], -1)], dim=2))
        log_d = self.duration(F.relu(p)).squeeze(2)
        durations = torch.exp(log_d) / speed.reshape(-1, 1)
        return durations, p, self.text(h).transpose(1, 2)


class ProsodyStage(nn.Module):
    def __init__(self, c: StudentConfig) -> None:
        super().__init__()
        half = c.style_dim // 2
        self.inp = nn.Conv1d(c.prosody_dim, c.enc_dim, 1)
        self.frame = nn.ModuleList([ConvBlock(c.enc_dim, half) for _ in range(3)])
        self.hop = nn.ModuleList([ConvBlock(c.enc_dim, half, kernel=3) for _ in range(2)])
        self.out = nn.Conv1d(c.enc_dim, 2, 1)
        self.half = half

    def forward(self, prosody_aligned: Tensor, style: Tensor) -> tuple[Tensor, Tensor]:
        s = style[:, self.half:]
        x = self.inp(prosody_aligned)
        for block in self.frame:
            x = block(x, s)
        x = torch.repeat_interleave(x, 2, dim=2)
        for block in self.hop:
            x = block(x, s)
        y = self.out(x)
        f0 = F.relu(y[:, 0] * 100.0)
        energy = y[:, 1] * 4.0
        return f0, energy


def mel_interpolation(bands: int, bins: int, sample_rate: int = SAMPLE_RATE) -> Tensor:
    """[bands, bins] weights that turn a mel-spaced envelope into a linear-frequency one
    (piecewise-linear interpolation between band centres)."""
    def mel(f: Tensor) -> Tensor:
        return 2595.0 * torch.log10(1.0 + f / 700.0)

    centres = torch.linspace(0.0, float(mel(torch.tensor(sample_rate / 2.0))), bands)
    freqs = mel(torch.linspace(0.0, sample_rate / 2.0, bins))
    pos = _interp(freqs, centres)
    lo = pos.floor().clamp(0, bands - 1).long()
    hi = (lo + 1).clamp(max=bands - 1)
    w = pos - lo.float()
    m = torch.zeros(bands, bins)
    idx = torch.arange(bins)
    m[lo, idx] += 1 - w
    m[hi, idx] += w
    return m


def _interp(x: Tensor, xp: Tensor) -> Tensor:
    """Index position of each x in the increasing grid xp (fractional)."""
    i = torch.searchsorted(xp, x).clamp(1, len(xp) - 1)
    x0, x1 = xp[i - 1], xp[i]
    return (i - 1).float() + (x - x0) / (x1 - x0)


def dft_basis(n_fft: int) -> tuple[Tensor, Tensor]:
    """Hann-windowed real DFT matrices: frames [.., n_fft] @ fwd -> [.., 2*bins] (real, imag);
    [.., 2*bins] @ inv -> windowed frames for overlap-add."""
    bins = n_fft // 2 + 1
    n = torch.arange(n_fft, dtype=torch.float32)
    k = torch.arange(bins, dtype=torch.float32).unsqueeze(1)
    window = 0.5 - 0.5 * torch.cos(n * (2 * math.pi / n_fft))
    ang = torch.remainder(k * n, float(n_fft)) * (2 * math.pi / n_fft)  # exact integer product, then scale
    cos, sin = torch.cos(ang), torch.sin(ang)
    fwd = torch.cat([cos * window, -sin * window], 0).t()
    scale = torch.cat([torch.ones(1, 1), torch.full((bins - 2, 1), 2.0), torch.ones(1, 1)], 0)
    # hann^2 overlap-added at hop n/4 sums to 1.5
    inv = torch.cat([cos * scale, -sin * scale], 0) * (window / (n_fft * 1.5))
    return fwd, inv


class DecoderStage(nn.Module):
    def __init__(self, c: StudentConfig) -> None:
        super().__init__()
        half = c.style_dim // 2
        self.inp = nn.Conv1d(c.text_dim + 3, c.dec_dim, 7, padding=3)
        self.blocks = nn.ModuleList([ConvNeXtBlock(c.dec_dim, half) for _ in range(c.dec_blocks)])
        self.norm = nn.GroupNorm(1, c.dec_dim)
        self.out = nn.Conv1d(c.dec_dim, 2 * c.bands * ENVELOPE_SUBFRAMES, 1)
        self.half = half
        self.bands = c.bands
        bins = N_FFT // 2 + 1
        # fixed tables stored in float16 (identical in both saved formats; half the bytes)
        self.register_buffer("mel", mel_interpolation(c.bands, bins).half())
        g = torch.Generator().manual_seed(1234)
        self.noise_frames = NOISE_FRAMES
        self.register_buffer("noise", (torch.randn(1, 2 * bins, NOISE_FRAMES, generator=g) * 0.3).half())
        self.n_fft, self.hop, self.f0_hop, self.subframes = N_FFT, HOP, F0_HOP, ENVELOPE_SUBFRAMES
        self.voiced_hz, self.sample_rate = VOICED_HZ, float(SAMPLE_RATE)

    def envelopes(self, text_aligned: Tensor, f0: Tensor, energy: Tensor, style: Tensor) -> tuple[Tensor, Tensor]:
        """Harmonic and noise log-envelopes, [B, bands, 4F]: two per F0 value (6.25 ms apart), for the
        plosive bursts and formant transitions that a 12.5 ms envelope smears."""
        s = style[:, :self.half]
        x = torch.repeat_interleave(text_aligned, 2, dim=2)
        voiced = (f0 > self.voiced_hz).float()
        logf0 = torch.log(torch.clamp(f0, min=self.voiced_hz)) - 5.0
        x = torch.cat([x, (logf0 * voiced).unsqueeze(1), voiced.unsqueeze(1), (energy / 4.0).unsqueeze(1)], dim=1)
        x = self.inp(x)
        for block in self.blocks:
            x = block(x, s)
        y = self.out(F.gelu(self.norm(x)))
        b, _, t = y.shape
        y = y.reshape(b, 2 * self.bands, self.subframes, t).permute(0, 1, 3, 2).reshape(b, 2 * self.bands, -1)
        return y[:, :self.bands], y[:, self.bands:]

    def excitation(self, f0: Tensor) -> Tensor:
        """Band-limited harmonic source: all harmonics of F0 below 0.45 x the sample rate at equal
        amplitude, summed in closed form (Dirichlet kernel) so its cost does not grow with their
        number. Zero where unvoiced. [B, 1, N]."""
        f = F.interpolate(f0.unsqueeze(1), scale_factor=float(self.f0_hop), mode="linear", align_corners=False)
        voiced = (f > self.voiced_hz).float()
        cycles = torch.cumsum((f * voiced / self.sample_rate).double(), dim=2)
        phase = ((cycles - torch.floor(cycles)) * (2 * math.pi)).float()
        # harmonic count per F0 value (not per interpolated sample: a count that flips on a rounding
        # difference between runtimes would add or drop a whole harmonic there)
        k = torch.floor(self.sample_rate * 0.45 / torch.clamp(f0, min=self.voiced_hz))
        k = torch.repeat_interleave(k, self.f0_hop, dim=1).unsqueeze(1)
        den = torch.sin(phase / 2)
        small = (torch.abs(den) < 1e-3).float()
        num = torch.sin(k * phase / 2) * torch.sin((k + 1) * phase / 2)
        series = num * (1 - small) / (den + small)
        return series * voiced * torch.rsqrt(k) * 0.3

    def noise_spectrum(self, frames: int, batch: int) -> tuple[Tensor, Tensor]:
        """A fixed complex Gaussian spectrogram, tiled in time: the noise source, already in the
        STFT domain (deterministic, so TorchScript and ONNX renders agree)."""
        reps = frames // self.noise_frames + 1
        spec = self.noise.float().repeat(batch, 1, reps)[:, :, :frames]
        bins = self.n_fft // 2 + 1
        return spec[:, :bins], spec[:, bins:]

    def stft(self, x: Tensor, fwd: Tensor) -> tuple[Tensor, Tensor]:
        """[B, 1, N] -> real, imag [B, bins, N / hop + 1] (centred, reflect-padded frames). Framing is
        four shifted hop-sized slices and one matmul: faster than a 600-tap strided conv."""
        pad = self.n_fft // 2
        x = F.pad(x, (pad, pad), mode="reflect")[:, 0]
        quarters = self.n_fft // self.hop
        chunks = x.reshape(x.shape[0], -1, self.hop)
        n = chunks.shape[1] - quarters + 1
        frames = torch.cat([chunks[:, j:j + n] for j in range(quarters)], dim=2)
        spec = frames.matmul(fwd).transpose(1, 2)
        bins = self.n_fft // 2 + 1
        return spec[:, :bins], spec[:, bins:]

    def istft(self, re: Tensor, im: Tensor, length: int, inv: Tensor) -> Tensor:
        """Inverse of ``stft``: per-frame inverse DFT (one matmul), then overlap-add of the four
        hop-sized quarters of each frame."""
        frames = torch.cat([re, im], 1).transpose(1, 2).matmul(inv)
        quarters = self.n_fft // self.hop
        parts = frames.reshape(frames.shape[0], frames.shape[1], quarters, self.hop)
        y = F.pad(parts[:, :, 0], (0, 0, 0, quarters - 1))
        for j in range(1, quarters):
            y = y + F.pad(parts[:, :, j], (0, 0, j, quarters - 1 - j))
        pad = self.n_fft // 2
        return y.reshape(y.shape[0], -1)[:, pad:pad + length]

    def to_bins(self, log_env: Tensor, frames: int) -> Tensor:
        """[B, bands, T] log-envelope -> [B, bins, frames] linear gains on the STFT grid."""
        gain = F.interpolate(torch.exp(torch.clamp(log_env, max=6.0)), size=frames, mode="linear", align_corners=True)
        return gain.transpose(1, 2).matmul(self.mel.float()).transpose(1, 2)

    def forward(self, text_aligned: Tensor, f0: Tensor, energy: Tensor, style: Tensor) -> Tensor:
        return self.synthesize(text_aligned, f0, energy, style).reshape(-1)

    def synthesize(self, text_aligned: Tensor, f0: Tensor, energy: Tensor, style: Tensor) -> Tensor:
        """[B, N] audio (the batched form training uses)."""
        h_env, n_env = self.envelopes(text_aligned, f0, energy, style)
        # computed, not stored (2.9 MB less per saved graph); the size is written in terms of an input's
        # shape only so that ONNX export keeps the computation instead of baking its result in
        fwd, inv = dft_basis(f0.shape[0] * 0 + self.n_fft)
        hr, hi = self.stft(self.excitation(f0), fwd)
        frames = hr.shape[2]
        nr, ni = self.noise_spectrum(frames, hr.shape[0])
        h_lin, n_lin = self.to_bins(h_env, frames), self.to_bins(n_env, frames)
        re = hr * h_lin + nr * n_lin
        im = hi * h_lin + ni * n_lin
        return self.istft(re, im, f0.shape[1] * self.f0_hop, inv)


class Student(nn.Module):
    """All three stages; training runs them end to end with the teacher's alignment."""

    def __init__(self, config: StudentConfig) -> None:
        super().__init__()
        self.config = config
        self.duration = DurationStage(config)
        self.prosody = ProsodyStage(config)
        self.decoder = DecoderStage(config)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
