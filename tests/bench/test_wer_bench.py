"""`python -m bench wer` end to end on one sentence per set: real renders (ours, a held-out clone and Piper
joe-medium), real Whisper, one report."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a source folder, not an installed package
    sys.path.insert(0, str(REPO))

pytestmark = pytest.mark.slow


def test_wer_bench_runs_every_voice_through_one_asr_and_reports(bundle_dir, tmp_path):
    from bench import wer_bench
    from bench.machine import describe

    partial = tmp_path / "wer-partial.jsonl"
    r = wer_bench.run(speakers=1, clone_sentences=1, sentences=1, partial=partial, bundle=bundle_dir)
    keys = {(v["set"], v["voice"]) for v in r["voices"]}
    assert {("unseen", v) for v in (*wer_bench.BUILTIN, *wer_bench.CLONED_BUILTIN, "en_US-joe-medium")} <= keys
    assert {("selection", v) for v in (*wer_bench.BUILTIN, "en_US-joe-medium")} <= keys
    assert [v["voice"] for v in r["voices"] if v["set"] == "clone"] == ["andrew"]
    assert all(v["words"] == 7 for v in r["voices"] if v["set"] != "selection")  # "The frosty air passed ..."
    # real speech: the ASR hears most words of every voice (garbage audio would score near 100 %)
    assert all(v["wer"] <= 0.5 for v in r["voices"]), r["voices"]
    assert set(r["pooled_wer"]) == {"built-in", "built-in cloned", "clones (held-out fits)", "yardstick"}
    assert r["acceptance"]["clone_limit"] == round(r["acceptance"]["builtin_wer"] + 0.01, 4)
    assert len(partial.read_text().splitlines()) >= 10  # every voice kept for a resumed run
    md = wer_bench.to_markdown({"scenario": "wer", "date": "today", "machine": describe(), "results": r})
    assert "| built-in |" in md and "Acceptance" in md
