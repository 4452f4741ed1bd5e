"""The project reads nothing outside its own tree: a clone of the repository alone installs, serves,
tests and benchmarks.

The scan looks at every source file the project runs (package, tests, bench, export, docker, helm, CI,
Dockerfile) for the two ways a path can leave the repository: a ``Path(__file__)`` climb past the
repository root, and a literal path that walks up (``../``) or names a folder that lives beside the
checkout. A line that must hold such a string as *data* (a path-traversal attack a test feeds the
server) carries the marker ``outside-path-ok`` with its reason.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

SELF = Path(__file__).resolve()
REPO = SELF.parents[1]
SCANNED = ("emotivoice_srv", "tests", "bench", "export", "docker", "helm", ".ci", "Dockerfile", ".dockerignore",
           "pyproject.toml")
SUFFIXES = {".py", ".sh", ".toml", ".yaml", ".yml", ".tpl", ".txt", ".cfg", ".ini", ""}
MARKER = "outside-path-ok"

# Path(__file__)[.resolve()] followed by .parent / .parents[N] steps
CLIMB = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?((?:\.parent(?!s)|\.parents\[\d+\])+)")
STEP = re.compile(r"\.parent(?!s)|\.parents\[(\d+)\]")
WALK_UP = re.compile(r"(?<![\w.])\.\./")
BESIDE = re.compile(r"""["'/]shared/eval|["']shared["']\s*/""")


def climb_levels(chain: str) -> int:
    """How many folders up a ``.parent``/``.parents[N]`` chain goes from the file itself."""
    levels = 0
    for step in STEP.finditer(chain):
        levels = levels + 1 if step.group(1) is None else levels + int(step.group(1)) + 1
    return levels


def outside_references(root: Path, names: tuple[str, ...] = SCANNED) -> list[str]:
    """``file:line: text`` for every reference to a path above ``root`` in the scanned files."""
    files: list[Path] = []
    for name in names:
        top = root / name
        if top.is_file():
            files.append(top)
        elif top.is_dir():
            files += [p for p in top.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                      and "__pycache__" not in p.parts and not p.name.endswith((".onnx", ".ts"))]
    files = [p for p in files if p.resolve() != SELF]  # this file spells out the patterns it hunts for
    found = []
    for path in sorted(files):
        rel = path.relative_to(root)
        depth = len(rel.parts)  # .parent this many times from the file reaches the repository root
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, 1):
            if MARKER in line:
                continue
            above = any(climb_levels(m.group(1)) > depth for m in CLIMB.finditer(line))
            if above or WALK_UP.search(line) or BESIDE.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def scan_one_line(root: Path, line: str) -> list[str]:
    """The scan's findings for a tree holding one file, tests/quality/conftest.py, whose line 2 is ``line``."""
    (root / "tests" / "quality").mkdir(parents=True)
    (root / "tests" / "quality" / "conftest.py").write_text(f"from pathlib import Path\n{line}\n")
    return outside_references(root, ("tests",))


def test_no_source_file_reads_a_path_outside_the_repository():
    assert outside_references(REPO) == []


@pytest.mark.parametrize("line", [
    'SHARED = Path(__file__).resolve().parent.parent.parent.parent / "shared"',
    'SENTENCES = Path(__file__).resolve().parents[3] / "data.txt"',
    'DEFAULT = Path("../shared/eval/sentences_en.txt")',
    'open("../../secrets.txt")',
    'EVAL = ROOT / "shared" / "eval" / "sentences_en.txt"',
])
def test_the_scan_catches_each_way_out(tmp_path, line):
    assert scan_one_line(tmp_path, line) == [f"tests/quality/conftest.py:2: {line}"]


@pytest.mark.parametrize("line", [
    'REPO = Path(__file__).resolve().parents[2]',
    'DATA = Path(__file__).resolve().parent / "data" / "eval_sentences_en.txt"',
    'raw["id"] = "../etc/passwd"  # outside-path-ok: the traversal the registry must refuse',
])
def test_the_scan_lets_paths_inside_the_repository_pass(tmp_path, line):
    assert scan_one_line(tmp_path, line) == []


def test_the_evaluation_sentences_ship_inside_the_repository():
    from bench.texts import EVAL_FILE, eval_sentences

    assert EVAL_FILE.is_relative_to(REPO) and len(eval_sentences()) >= 20


def test_ci_runs_the_readme_test_command_in_an_isolated_copy():
    """.ci/run takes its command from the README and runs it where no ``../shared`` exists."""
    script = (REPO / ".ci" / "run").read_text()
    assert "# 2. run the tests" in (REPO / "README.md").read_text()
    assert "README.md" in script and "mktemp -d" in script
