"""Warm latency: one server, ready, then per text length the non-streamed latency and the streamed
time to first audio (TTFA); the in-process engine's RTF per precision; the peer's warm latency/RTF.
Baseline in the same run: the in-process engine's first-chunk time, so the HTTP/pool cost is a ratio.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .procs import (
    free_port,
    launch,
    percentiles,
    serve_argv,
    stop,
    stream_post,
    wait_200,
)

TEXTS = {
    "short": "Hello there, how are you today?",
    "medium": ("Streaming starts with the first sentence. The rest of this paragraph is rendered while the "
               "first part already plays. A third sentence makes the request long enough to matter."),
    "long": " ".join([
        "The committee met on Tuesday to discuss the budget for the coming year.",
        "After a long debate, they agreed to fund the new library, but only if the city matched the grant.",
        "Several members asked whether the old building could be repaired instead of replaced.",
        "The engineer's report, read aloud at the end, said that repairs would cost nearly as much.",
        "In the end the vote was seven to two, and the chair thanked everyone for their patience.",
    ]),
}


def server_latency(bundle: Path, requests: int, extra: tuple[str, ...] = ()) -> dict:
    port = free_port()
    run = launch(serve_argv(bundle, port, *extra), port)
    try:
        wait_200(run, "/readyz", "readyz")
        out = {}
        for name, text in TEXTS.items():
            n = requests if name != "long" else max(3, requests // 3)
            whole, ttfa, stream_total, audio_bytes = [], [], [], 0
            for _ in range(n):
                r = stream_post(run.url, "/v1/tts", {"text": text, "voice": "en_female_1", "format": "pcm"})
                assert r.status == 200, r.status
                whole.append(r.total_s)
                s = stream_post(run.url, "/v1/tts", {"text": text, "voice": "en_female_1", "stream": True,
                                                     "format": "pcm"})
                assert s.status == 200, s.status
                ttfa.append(s.first_byte_s)
                stream_total.append(s.total_s)
                audio_bytes = r.audio_bytes
            audio_s = audio_bytes / 2 / 24000
            out[name] = {"audio_s": round(audio_s, 3), "requests": n,
                         "latency_s": percentiles(whole, (0.5, 0.95)),
                         "stream_ttfa_s": percentiles(ttfa, (0.5, 0.95)),
                         "stream_total_s": percentiles(stream_total, (0.5,)),
                         "rtf_http": round(sorted(whole)[len(whole) // 2] / audio_s, 4)}
        return out
    finally:
        stop(run)


SHORTEST = "Hi."
"""One syllable: the smallest first chunk a stream can have."""


def engine_rtf(bundle: Path, precisions: tuple[str, ...], repeats: int) -> dict:
    """In process: RTF per precision on the medium text; on int8, the first chunk of each text and of
    the shortest possible one (total and decoder seconds, audio length)."""
    from emotivoice_srv import Engine, EngineConfig, SynthesisOptions

    out = {}
    for precision in precisions:
        engine = Engine.load(EngineConfig(bundle, device="cpu", precision=precision))
        engine.synthesize(TEXTS["short"], voice="en_female_1")
        rtfs = []
        for _ in range(repeats):
            rtfs.append(engine.synthesize(TEXTS["medium"], voice="en_female_1").timings["rtf"])
        entry = {"rtf_medium": percentiles(rtfs, (0.5,))["p50"]}
        if precision == "int8":
            for name, text in {**TEXTS, "shortest": SHORTEST}.items():
                firsts, decoders = [], []
                for _ in range(repeats):
                    t = time.perf_counter()
                    chunk = next(iter(engine.stream(text, SynthesisOptions(voice="en_female_1"))))
                    firsts.append(time.perf_counter() - t)
                    decoders.append(chunk.timings.decoder)
                entry[f"first_chunk_{name}_s"] = percentiles(firsts, (0.5,))["p50"]
            entry.update(first_chunk_shortest_decoder_s=percentiles(decoders, (0.5,))["p50"],
                         first_chunk_shortest_audio_s=round(len(chunk.audio) / engine.sample_rate, 3))
        out[precision] = entry
        del engine
    return out


def hardware_floors(bundle: Path, repeats: int, int8: dict) -> dict:
    """What this machine allows the int8 graphs, from ``engine_rtf``'s int8 entry plus one run on a
    single intra-op thread. (1) The shortest first chunk's render: the model pads every utterance with
    silence (~1.5 s of audio for one syllable) and its decoder normalizes over the whole utterance, so
    no stream's first audio can come sooner. (2) RTF on one intra-op thread vs on all cores: when a
    lone request already uses every core, N concurrent requests can reach at most N x RTF(all) /
    RTF(1) times its audio-seconds per second."""
    import os

    from emotivoice_srv import Engine, EngineConfig

    cores = os.cpu_count() or 1
    engine = Engine.load(EngineConfig(bundle, device="cpu", precision="int8", threads=1))
    engine.synthesize(TEXTS["short"], voice="en_female_1")
    one = percentiles([engine.synthesize(TEXTS["medium"], voice="en_female_1").timings["rtf"]
                       for _ in range(repeats)], (0.5,))["p50"]
    return {"cores": cores, "shortest_text": SHORTEST, "shortest_chunk_s": int8["first_chunk_shortest_s"],
            "shortest_chunk_decoder_s": int8["first_chunk_shortest_decoder_s"],
            "shortest_chunk_audio_s": int8["first_chunk_shortest_audio_s"],
            "rtf_medium_all_threads": int8["rtf_medium"], "rtf_medium_one_thread": one,
            "concurrency_scaling_bound": round(cores * int8["rtf_medium"] / one, 2)}


def session_memory_speed(bundle: Path, rounds: int = 2) -> dict:
    """The shared arena's cost in speed, paired: two engines in one process (shared / per-session
    memory) take turns on each eval sentence's first streamed chunk and on a two-sentence render, in
    alternating order. Varied sentences, as real traffic has: a repeated shape would favour the memory
    patterns that the shared mode turns off."""
    import numpy as np

    from emotivoice_srv import Engine, EngineConfig, SynthesisOptions

    from .texts import eval_sentences

    sentences = eval_sentences()
    engines = {m: Engine.load(EngineConfig(bundle, device="cpu", precision="int8", session_memory=m))
               for m in ("shared", "per-session")}
    first: dict[str, list[float]] = {m: [] for m in engines}
    rtf: dict[str, list[float]] = {m: [] for m in engines}
    for engine in engines.values():
        engine.synthesize(TEXTS["short"], voice="en_female_1")
    for r in range(rounds):
        for i, text in enumerate(sentences):
            order = list(engines) if (i + r) % 2 == 0 else list(engines)[::-1]
            for m in order:
                t = time.perf_counter()
                next(iter(engines[m].stream(text, SynthesisOptions(voice="en_female_1"))))
                first[m].append(time.perf_counter() - t)
            pair = f"{text} {sentences[(i + 1) % len(sentences)]}"
            for m in order:
                rtf[m].append(engines[m].synthesize(pair, voice="en_male_1").timings["rtf"])
    ratio = lambda xs: round(float(np.median(np.array(xs["shared"]) / np.array(xs["per-session"]))), 3)  # noqa: E731
    return {"pairs": len(first["shared"]), "first_chunk_shared_over_per_session": ratio(first),
            "rtf_shared_over_per_session": ratio(rtf),
            "first_chunk_s": {m: percentiles(v, (0.5,))["p50"] for m, v in first.items()},
            "rtf": {m: percentiles(v, (0.5,))["p50"] for m, v in rtf.items()}}


def peer_warm(requests: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.baselines.peer", "warm", str(requests)],
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(bundle: Path, requests: int = 8, precisions: tuple[str, ...] = ("int8", "fp32")) -> dict:
    engine = engine_rtf(bundle, precisions, requests)
    result = {"server": server_latency(bundle, requests), "engine": engine,
              "floors": hardware_floors(bundle, requests, engine["int8"]),
              "session_memory": session_memory_speed(bundle), "peer": peer_warm(requests), "texts": TEXTS}
    srv, eng = result["server"], result["engine"]["int8"]
    result["ratios"] = {
        f"http_ttfa_over_engine_first_chunk_{name}": round(srv[name]["stream_ttfa_s"]["p50"]
                                                           / eng[f"first_chunk_{name}_s"], 2)
        for name in TEXTS
    }
    result["ratios"]["peer_rtf_over_ours"] = round(result["peer"]["medium"]["rtf"] / eng["rtf_medium"], 2)
    return result
