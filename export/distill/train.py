"""Train the student on a teacher corpus, with checkpoints so a run can stop and resume anywhere.

Supervision (all from the teacher): log durations per phoneme; the prosody graph's F0 and energy
curves; and the decoder's audio, through a multi-resolution STFT loss on random windows, with the
decoder conditioned on the F0/energy the teacher's decoder saw (emotion edits included), so the
student learns to follow edited curves too. Text features reach the decoder through the teacher's
own alignment (its integer frames), i.e. the three stages train end to end.
"""
from __future__ import annotations

import json
import logging
import math
import random
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .student import FRAME, Student, StudentConfig, parameter_count

log = logging.getLogger("export.distill.train")

RELOAD_EVERY = 250
RESOLUTIONS = ((2048, 512), (1024, 256), (512, 128), (256, 64))


@dataclass(frozen=True)
class TrainConfig:
    corpus_dir: Path
    out_dir: Path
    steps: int = 20_000
    batch: int = 8
    window_frames: int = 32
    """Decoder training window, alignment frames (32 = 0.8 s)."""
    lr: float = 2e-3
    min_lr: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 250
    snapshot_every: int = 0
    """Also keep the checkpoint of every this many steps as ``checkpoint-NNNNNN.pt`` (0: none), so a
    run's checkpoints can be compared afterwards (``evaluate --checkpoint``) and one exported."""
    threads: int | None = None
    max_minutes: float | None = None
    """Stop (after a checkpoint) once this much wall time has passed; resume with the same command."""
    init_from: Path | None = None
    """Start a new run from another run's weights (layers that grew are widened, see ``_load_weights``)."""


@dataclass
class Item:
    tokens: torch.Tensor       # [1, T]
    style: torch.Tensor        # [1, 256]
    speed: torch.Tensor        # [1]
    log_dur: torch.Tensor      # [T]  log(duration * speed)
    frames: torch.Tensor       # [T]  teacher's integer frames
    f0_raw: torch.Tensor       # [2F]
    energy_raw: torch.Tensor   # [2F]
    f0: torch.Tensor           # [2F] edited: the decoder's input
    energy: torch.Tensor       # [2F]
    audio: torch.Tensor        # [600F]


def to_items(records: list[dict]) -> list[Item]:
    items = []
    for r in records:
        speed = float(r["speed"])
        items.append(Item(
            tokens=torch.from_numpy(r["tokens"]).long().reshape(1, -1),
            style=torch.from_numpy(r["style"]).float().reshape(1, -1),
            speed=torch.tensor([speed]),
            log_dur=torch.log(torch.from_numpy(r["durations"]).float().clamp(min=0.05) * speed),
            frames=torch.from_numpy(r["frames"]).long(),
            f0_raw=torch.from_numpy(r["f0_raw"]).float(), energy_raw=torch.from_numpy(r["energy_raw"]).float(),
            f0=torch.from_numpy(r["f0"]).float(), energy=torch.from_numpy(r["energy"]).float(),
            audio=torch.from_numpy(r["audio"].astype(np.float32)),
        ))
    return items


_MEL: dict[str, torch.Tensor] = {}


def mel_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between log-mel spectrograms (1024-point STFT, hop 256, 80 bands to 12 kHz): weights the
    bands that carry intelligibility the way hearing does, which linear-bin losses do not."""
    if "fb" not in _MEL:
        import librosa

        _MEL["fb"] = torch.from_numpy(librosa.filters.mel(sr=24_000, n_fft=1024, n_mels=80)).float()
    window = torch.hann_window(1024)
    p = torch.stft(pred, 1024, 256, window=window, return_complex=True).abs()
    t = torch.stft(target, 1024, 256, window=window, return_complex=True).abs()
    fb = _MEL["fb"]
    return F.l1_loss(torch.log(fb @ p + 1e-5), torch.log(fb @ t + 1e-5))


def stft_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT: log-magnitude L1 plus spectral convergence, averaged over resolutions."""
    total = pred.new_zeros(())
    for n_fft, hop in RESOLUTIONS:
        window = torch.hann_window(n_fft)
        p = torch.stft(pred, n_fft, hop, window=window, return_complex=True).abs()
        t = torch.stft(target, n_fft, hop, window=window, return_complex=True).abs()
        total = total + F.l1_loss(torch.log(p + 1e-5), torch.log(t + 1e-5))
        total = total + torch.linalg.norm(t - p) / torch.linalg.norm(t).clamp(min=1e-5)
    return total / len(RESOLUTIONS)


def _window(n: int, size: int, rng: random.Random) -> int:
    return rng.randrange(0, max(n - size, 0) + 1)


def _crop(x: torch.Tensor, start: int, size: int, value: float = 0.0) -> torch.Tensor:
    """x[..., start:start+size], padded with ``value`` past the end."""
    seg = x[..., start:start + size]
    short = size - seg.shape[-1]
    return F.pad(seg, (0, short), value=value) if short > 0 else seg


def step_losses(model: Student, batch: list[Item], window: int, rng: random.Random) -> dict[str, torch.Tensor]:
    """One batch: per-item duration passes (exact token sequences), then one batched prosody pass and
    one batched decoder pass on random windows of the teacher-aligned features (both stages are
    convolutional, so a window sees what the whole utterance would, up to its edges)."""
    dur_l = []
    pros, pros_f0, pros_en, texts, f0s, ens, audios = [], [], [], [], [], [], []
    pwin = window + window // 2
    for it in batch:
        durations, p, t = model.duration(it.tokens, it.style, it.speed)
        dur_l.append(F.l1_loss(torch.log(durations.reshape(-1) * it.speed), it.log_dur))
        p_al = torch.repeat_interleave(p[0], it.frames, dim=0).t()
        n = p_al.shape[1]
        a = _window(n, pwin, rng)
        pros.append(_crop(p_al, a, pwin))
        pros_f0.append(_crop(it.f0_raw, 2 * a, 2 * pwin))
        pros_en.append(_crop(it.energy_raw, 2 * a, 2 * pwin, float(it.energy_raw.min())))
        t_al = torch.repeat_interleave(t[0], it.frames, dim=1)
        b = _window(n, window, rng)
        texts.append(_crop(t_al, b, window))
        f0s.append(_crop(it.f0, 2 * b, 2 * window))
        ens.append(_crop(it.energy, 2 * b, 2 * window, float(it.energy.min())))
        audios.append(_crop(it.audio, FRAME * b, FRAME * window))
    styles = torch.cat([it.style for it in batch])
    f0, en = model.prosody(torch.stack(pros), styles)
    audio = model.decoder.synthesize(torch.stack(texts), torch.stack(f0s), torch.stack(ens), styles)
    target = torch.stack(audios)
    return {"duration": torch.stack(dur_l).mean(),
            "f0": F.l1_loss(f0, torch.stack(pros_f0)) / 100.0,
            "energy": F.l1_loss(en, torch.stack(pros_en)) / 4.0,
            "stft": stft_loss(audio, target), "mel": mel_loss(audio, target)}


def _latest(out_dir: Path) -> Path | None:
    path = out_dir / "checkpoint.pt"
    return path if path.exists() else None


def train(config: TrainConfig, student_config: StudentConfig | None = None) -> dict:
    """Train (or resume) and return the summary written to ``train.json``."""
    from tqdm import tqdm

    from .corpus import load_corpus

    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = to_items(load_corpus(config.corpus_dir))
    loaded_shards = len(list(Path(config.corpus_dir).glob("shard-*.pkl")))
    if not items:
        raise SystemExit(f"no corpus in {config.corpus_dir}; run `python -m export.distill corpus` first")
    torch.manual_seed(config.seed)
    ckpt_path = _latest(out)
    state = torch.load(ckpt_path, weights_only=False) if ckpt_path else None
    init = torch.load(config.init_from, weights_only=False, map_location="cpu") if config.init_from and not state else None
    if state:  # the architecture: a resumed run's own; else the one asked for; else the started-from run's
        sc = StudentConfig(**state["student_config"])
    elif student_config or init is None:
        sc = student_config or StudentConfig()
    else:
        sc = StudentConfig(**init["student_config"])
    model = Student(sc)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.8, 0.99), weight_decay=1e-4)
    step, seconds, history = 0, 0.0, []
    if state:
        _load_weights(model, state["model"], ckpt_path)
        opt.load_state_dict(state["optimizer"])
        step, seconds, history = state["step"], state["seconds"], state["history"]
        log.info("resumed", extra={"step": step, "checkpoint": str(ckpt_path)})
    elif init is not None:
        _load_weights(model, init["model"], Path(config.init_from))
        earlier = next((h for h in init["history"] if "init_step" in h), {})  # that run's own start
        history = [{"init_from": str(config.init_from), "init_step": init["step"] + earlier.get("init_step", 0),
                    "init_seconds": round(init["seconds"] + earlier.get("init_seconds", 0.0), 1),
                    "init_chain": [str(config.init_from), *earlier.get("init_chain", [earlier.get("init_from")]
                                                                          if earlier else [])]}]
    rng = random.Random(config.seed * 1_000_003 + step)
    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, on_signal)

    def lr_at(s: int) -> float:
        warm = 200
        if s < warm:
            return config.lr * (s + 1) / warm
        frac = min(1.0, (s - warm) / max(1, config.steps - warm))
        return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * frac))

    def save() -> None:
        tmp = out / "checkpoint.pt.tmp"
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "seconds": seconds, "history": history, "student_config": asdict(sc),
                    "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}},
                   tmp)
        tmp.replace(out / "checkpoint.pt")
        if config.snapshot_every and step % config.snapshot_every == 0:
            shutil.copyfile(out / "checkpoint.pt", out / f"checkpoint-{step:06d}.pt")

    started = time.monotonic()
    running: dict[str, float] = {}
    bar = tqdm(total=config.steps, initial=step, desc="student", unit="step")
    try:
        model.train()
        while step < config.steps and not stop["now"]:
            t0 = time.perf_counter()
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            losses = step_losses(model, rng.sample(items, min(config.batch, len(items))),
                                 config.window_frames, rng)
            loss = sum(losses.values())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            seconds += time.perf_counter() - t0
            for k, v in losses.items():
                x = float(v.detach())
                running[k] = 0.98 * running.get(k, x) + 0.02 * x
            bar.update(1)
            if step % 25 == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()})
            if step % config.checkpoint_every == 0 or step == config.steps:
                history.append({"step": step, "seconds": round(seconds, 1), **{k: round(v, 4) for k, v in running.items()}})
                save()
            if config.max_minutes and time.monotonic() - started > config.max_minutes * 60:
                break
            if step % RELOAD_EVERY == 0:
                shards = len(list(Path(config.corpus_dir).glob("shard-*.pkl")))
                if shards != loaded_shards:  # the corpus is still being rendered: take the new shards
                    items = to_items(load_corpus(config.corpus_dir))
                    loaded_shards = shards
    finally:
        bar.close()
        save()
        signal.signal(signal.SIGTERM, previous)
    before = next((h for h in history if "init_step" in h), {})
    summary = {"steps": step, "train_seconds": round(seconds, 1), "corpus_utterances": len(items),
               "init": before or None,
               "total_steps": step + before.get("init_step", 0),
               "total_train_seconds": round(seconds + before.get("init_seconds", 0.0), 1),
               "corpus_audio_seconds": round(sum(len(it.audio) for it in items) / 24_000, 1),
               "parameters": parameter_count(model), "final_losses": history[-1] if history else {},
               "done": step >= config.steps}
    (out / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def summary_at(state: dict, run_summary: dict) -> dict:
    """The run's summary (train.json) as of one of its checkpoints: a snapshot taken before the end
    reports its own steps, time and losses, with the run's end kept for reference."""
    step = state["step"]
    if not run_summary or run_summary.get("steps") == step:
        return run_summary
    init = run_summary.get("init") or {}
    last = next((h for h in reversed(state.get("history", [])) if h.get("step") == step), {})
    return {**run_summary, "steps": step, "train_seconds": round(state["seconds"], 1),
            "total_steps": step + init.get("init_step", 0),
            "total_train_seconds": round(state["seconds"] + init.get("init_seconds", 0.0), 1),
            "final_losses": last, "done": False,
            "snapshot_of_run": {"steps": run_summary.get("steps"), "final_losses": run_summary.get("final_losses")}}


def load_student(checkpoint: Path) -> Student:
    """The trained student from a checkpoint, in eval mode."""
    return student_from_state(torch.load(checkpoint, weights_only=False, map_location="cpu"), checkpoint)


def student_from_state(state: dict, source: Path) -> Student:
    """The student a loaded checkpoint holds (``source`` names it in errors), in eval mode."""
    model = Student(StudentConfig(**state["student_config"]))
    _load_weights(model, state["model"], source)
    return model.eval()


def _load_weights(model: Student, saved: dict, source: Path) -> None:
    """Load a state dict, tolerating only fixed (untrained) tables that changed shape or were retired
    (rebuilt from their seed by the constructor), and widening the decoder's output layer when the
    envelope gained sub-frames (each sub-frame starts as a copy of its frame: same output as before)."""
    wanted = model.state_dict()
    saved = dict(saved)
    for name in ("decoder.out.weight", "decoder.out.bias"):
        old, new = saved.get(name), wanted[name]
        if old is not None and old.shape[0] != new.shape[0] and new.shape[0] % old.shape[0] == 0:
            saved[name] = old.repeat_interleave(new.shape[0] // old.shape[0], dim=0)
    kept = {k: v for k, v in saved.items() if k in wanted and wanted[k].shape == v.shape}
    missing = [k for k in wanted if k not in kept and not k.endswith("noise")]
    if missing:
        raise ValueError(f"checkpoint {source} lacks {missing}")
    model.load_state_dict(kept, strict=False)
