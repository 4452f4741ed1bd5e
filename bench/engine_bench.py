"""Engine benchmark: export time, bundle size, session creation per graph, RTF per precision, and
main's int8 sessions from the graphs as stored (optimized at export) vs as exported (optimized by
onnxruntime at each session creation).

Each load is measured in a fresh process (so no warm caches of this interpreter help it); RTF is
synthesis wall time / audio duration over the development sentences, after one warm-up.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .texts import eval_sentences

PRECISIONS = ("int8", "fp32", "fp16")
_LOAD_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from emotivoice_srv import Engine, EngineConfig
t1 = time.perf_counter()
e = Engine.load(EngineConfig(sys.argv[1], device="cpu", precision=sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "detail": e.load_seconds}))
"""


def _dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def _unoptimized_copy(bundle: Path, dst: Path) -> Path:
    """``bundle`` with its int8 graphs as exported before offline optimization: the baseline."""
    import onnx

    from emotivoice_srv.bundle import sha256_file
    from export.precision import convert_precision
    from export.sources import load_kokoro_source
    from export.split import split_stages

    shutil.copytree(bundle, dst)
    stages = split_stages(onnx.load_from_string(load_kokoro_source().model_bytes))
    manifest = json.loads((dst / "manifest.json").read_text())
    for g in manifest["graphs"]:
        if g["precision"] == "int8":
            path = dst / g["file"]
            path.unlink()  # a hard link or copy of the stored graph
            onnx.save(convert_precision(stages[g["stage"]], "int8"), str(path))
            g.update(optimized="", sha256=sha256_file(path), bytes=path.stat().st_size)
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dst


def offline_optimization(bundle: Path) -> dict:
    """Main's three int8 sessions (2 threads, created in parallel as the engine does), stored graphs
    vs exported graphs, in interleaved rounds."""
    from .distill_bench import LOAD_ROUNDS, _interleaved_loads

    with tempfile.TemporaryDirectory() as tmp:
        baseline = _unoptimized_copy(bundle, Path(tmp) / "exported")
        loads = _interleaved_loads({"stored_optimized": (bundle, "int8", 2), "exported": (baseline, "int8", 2)})
    loads["rounds"] = LOAD_ROUNDS
    loads["ratio"] = round(loads["stored_optimized"]["median_s"] / loads["exported"]["median_s"], 3)
    return loads


def run(out_dir: Path, repeats: int = 3, sentences: int = 10) -> dict:
    from export import build_bundle

    from emotivoice_srv import Engine, EngineConfig

    results: dict = {"export": {}, "bundle_mb": {}, "load": {}, "rtf": {}}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "kokoro-82m"
        for precision in PRECISIONS:
            t0 = time.perf_counter()
            build_bundle(bundle, (precision,), progress=False)
            results["export"][precision] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        build_bundle(bundle, PRECISIONS, progress=False)
        results["export"]["rerun_up_to_date"] = round(time.perf_counter() - t0, 3)
        for precision in PRECISIONS:
            results["bundle_mb"][precision] = _dir_mb(bundle / "graphs" / precision)
        results["bundle_mb"]["voices+frontend+manifest"] = round(
            _dir_mb(bundle) - sum(results["bundle_mb"][p] for p in PRECISIONS), 1)
        for precision in PRECISIONS:
            runs = []
            for _ in range(repeats):
                out = subprocess.run([sys.executable, "-c", _LOAD_PROBE, str(bundle), precision],
                                     capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            results["load"][precision] = {
                "engine_load_s_median": round(statistics.median(r["load_s"] for r in runs), 3),
                "import_s_median": round(statistics.median(r["import_s"] for r in runs), 3),
                "per_graph_s_median": {k: round(statistics.median(r["detail"][k] for r in runs), 3)
                                       for k in runs[0]["detail"] if k.startswith("session_")},
                "runs": len(runs),
            }
        results["offline_optimization"] = offline_optimization(bundle)
        texts = eval_sentences()[:sentences]
        for precision in PRECISIONS:
            engine = Engine.load(EngineConfig(bundle, device="cpu", precision=precision))
            engine.synthesize(texts[0], voice="en_male_1")  # warm-up
            wall = audio = 0.0
            for text in texts:
                t0 = time.perf_counter()
                r = engine.synthesize(text, voice="en_male_1")
                wall += time.perf_counter() - t0
                audio += r.duration_s
            results["rtf"][precision] = {"rtf": round(wall / audio, 3), "audio_s": round(audio, 1),
                                         "sentences": len(texts)}
    return results


def to_markdown(report: dict) -> str:
    r = report["results"]
    m = report["machine"]
    lines = [f"# Engine benchmark ({report['date']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, GPU: {m['gpu'] or 'none'}; "
             f"onnxruntime {m['onnxruntime']}.", "",
             "| precision | export s | graphs MB | engine load s (median, fresh process) | duration / prosody / decoder session s | RTF |",
             "| --- | --- | --- | --- | --- | --- |"]
    for p in PRECISIONS:
        g = r["load"][p]["per_graph_s_median"]
        lines.append(f"| {p} | {r['export'][p]} | {r['bundle_mb'][p]} | {r['load'][p]['engine_load_s_median']} | "
                     f"{g.get('session_duration')} / {g.get('session_prosody')} / {g.get('session_decoder')} | "
                     f"{r['rtf'][p]['rtf']} |")
    lines += ["", f"Re-running export on the up-to-date bundle: {r['export']['rerun_up_to_date']} s. "
              f"Voices + front-end lexicon + manifest: {r['bundle_mb']['voices+frontend+manifest']} MB.",
              f"RTF = synthesis wall time / audio seconds over {r['rtf']['int8']['sentences']} development sentences "
              "(voice en_male_1, after one warm-up).", ""]
    o = r.get("offline_optimization")
    if o:
        lines += [f"int8 session creation (3 graphs in parallel, 2 threads; median of {o['rounds']} interleaved rounds): "
                  f"graphs as stored, optimized at export, {o['stored_optimized']['median_s']} s vs as exported, "
                  f"optimized at load, {o['exported']['median_s']} s ({o['ratio']}x).", ""]
    return "\n".join(lines)
