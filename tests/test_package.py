"""Package-level guarantees: a small public API, a light serve path, layered imports."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import emotivoice_srv

PACKAGE = Path(emotivoice_srv.__file__).parent


def test_public_api():
    assert set(emotivoice_srv.__all__) >= {"Engine", "EngineConfig", "SynthesisOptions", "EMOTIONS", "EmotivoiceError"}
    for name in emotivoice_srv.__all__:
        assert getattr(emotivoice_srv, name) is not None


def test_synthesis_never_imports_torch_transformers_spacy_or_onnx(bundle_dir):
    code = (
        "import sys\n"
        "from emotivoice_srv import Engine, EngineConfig\n"
        f"e = Engine.load(EngineConfig({str(bundle_dir)!r}, device='cpu'))\n"
        "e.synthesize('Hi there.', voice='en_male_1', emotion='happy')\n"
        "print(sorted(m for m in ('torch', 'transformers', 'spacy', 'onnx', 'export') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_lower_layers_never_import_higher_ones():
    higher = {"engine", "cli", "api", "server"}
    for sub in ("text", "prosody", "graphs", "audio", "bundle"):
        for path in (PACKAGE / sub).glob("*.py"):
            for name in _imports(path):
                target = name.lstrip(".").split(".")[0]
                assert target not in higher, f"{path.name} imports {name}"
                assert not name.startswith("export"), f"{path.name} imports the exporter"
