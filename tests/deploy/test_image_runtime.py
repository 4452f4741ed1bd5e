"""The image, built as far as a machine without a Docker engine allows.

The test follows the Dockerfile instruction by instruction for the CPU `runtime` target: a temporary
directory stands for the image's root filesystem (every absolute path in the Dockerfile lives under
it), COPY lines copy from the build context (after .dockerignore), RUN lines run as written (they call
docker/install.sh: dependencies into a fresh venv, the wheel, the package, the export of the main
and the student's fallback bundle, numba's cache), ENV lines set the environment. Then the server
starts the way the image starts it (ENTRYPOINT + CMD, with only the image's ENV) and is checked the
way Docker and Kubernetes will check it: both tiers from the baked bundles (nothing assembled or
written at start), HEALTHCHECK, the chart's probes, a synthesis, /metrics against the alert rules,
and SIGTERM -> a clean exit in time.

Not reproduced here: the base image itself (the host's Python stands in for it), the user switch
(USER; the chart's securityContext does that) and layer caching. Everything else runs for real,
including the pip installs from the package index.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TARGET, VARIANT = "runtime", "cpu"
USER_SETUP = re.compile(r"^groupadd\b")
"""The one RUN not replayed: creating the image's user needs root (the chart sets the uid anyway)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ImageBuild:
    """Replays a Dockerfile target under ``root``, which stands for the image's filesystem."""

    def __init__(self, dockerfile, root: Path, ignored, log: Path) -> None:
        self.dockerfile, self.root, self.ignored, self.log = dockerfile, root, ignored, log
        self.args = {**dockerfile.global_args, "VARIANT": VARIANT}
        self.env: dict[str, str] = {}
        self.workdir = "/"
        self.steps: list[str] = []

    def host(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def rewrite(self, text: str) -> str:
        """Absolute paths of the image -> their place under root."""
        return re.sub(r"(?<![\w./:-])(/[A-Za-z0-9._-][A-Za-z0-9._/-]*)", lambda m: str(self.host(m.group(1))), text)

    def stage_env(self, stage: str) -> dict[str, str]:
        """ENV of a stage, each value expanded against the ones before it, as Docker does; the
        host's PATH stands in for the base image's."""
        env: dict[str, str] = {}
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for key, value in self.dockerfile.env(stage, self.args).items():
            values = {**base, **env}
            env[key] = re.sub(r"\$\{(\w+)\}|\$(\w+)",
                              lambda m, known=values: known.get(m.group(1) or m.group(2), ""), self.rewrite(value))
        return env

    def build(self) -> None:
        for stage in self.dockerfile.needed(TARGET, self.args):
            self.stage_args = {}
            self.env = self.stage_env(stage.name)
            inherited = [i.args for s in self.dockerfile.chain(stage.name, self.args)[:-1] for i in s.all("WORKDIR")]
            self.workdir = inherited[-1] if inherited else "/"
            for ins in stage.instructions:
                getattr(self, f"do_{ins.keyword.lower()}", self.do_metadata)(stage.name, ins)
        self.final_env = {k: v for k, v in self.env.items()}
        self.final_workdir = self.workdir

    def do_metadata(self, stage, ins) -> None:
        pass  # LABEL, USER, EXPOSE, STOPSIGNAL, HEALTHCHECK, ENTRYPOINT, CMD: read by the tests

    def do_env(self, stage, ins) -> None:
        pass  # already folded into self.env by Dockerfile.env()

    def do_arg(self, stage, ins) -> None:
        name, _, default = ins.args.partition("=")
        value = shlex.split(default)[0] if default.strip() else self.args.get(name, "")
        self.stage_args[name] = value

    def do_workdir(self, stage, ins) -> None:
        self.workdir = ins.args
        self.host(ins.args).mkdir(parents=True, exist_ok=True)

    def do_copy(self, stage, ins) -> None:
        *sources, dest = ins.args.split()
        if "from" in ins.flags:
            # same filesystem for every stage here: a copy between stages is a copy onto itself
            assert all(src == dest for src in sources), f"{stage}: COPY --from with a different destination"
            return
        target = self.host(dest if dest.startswith("/") else f"{self.workdir}/{dest}")
        for source in sources:
            self.copy_from_context(source, target if len(sources) == 1 and not dest.endswith("/") else
                                   target / Path(source).name)
        self.steps.append(f"{stage}: COPY {ins.args}")

    def copy_from_context(self, source: str, target: Path) -> None:
        origin = REPO / source
        files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
        for path in files:
            relative = path.relative_to(REPO).as_posix()
            if self.ignored(relative):
                continue
            destination = target if origin.is_file() else target / path.relative_to(origin)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)

    def do_run(self, stage, ins) -> None:
        if USER_SETUP.match(ins.args):
            return
        for mount in ins.mounts():
            target = self.host(mount["target"])
            if mount["type"] == "cache":
                target.mkdir(parents=True, exist_ok=True)
            elif "from" in mount:
                assert mount["source"] == mount["target"], f"{stage}: bind mount from a stage to another path"
            else:  # a file of the build context
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / mount["source"], target)
        command = self.rewrite(ins.args)
        env = {**os.environ, **self.env, **self.stage_args, "PYTHON": sys.executable}
        with open(self.log, "a") as log:
            log.write(f"\n### {stage}: RUN {ins.args}\n")
            log.flush()
            result = subprocess.run(["bash", "-ec", command], cwd=self.host(self.workdir), env=env,
                                    stdout=log, stderr=subprocess.STDOUT, timeout=600)
        assert result.returncode == 0, f"{stage}: RUN {ins.args} failed:\n{self.log.read_text()[-4000:]}"
        self.steps.append(f"{stage}: RUN {ins.args}")


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def image(dockerfile, dockerignored, tmp_path_factory):
    root = tmp_path_factory.mktemp("image-root")
    build = ImageBuild(dockerfile, root, dockerignored, root.parent / "build.log")
    started = time.monotonic()
    build.build()
    build.seconds = time.monotonic() - started
    return build


@pytest.fixture(scope="module")
def container(image, dockerfile):
    """The server started as `docker run -e EMOTIVOICE_HOST=127.0.0.1 -e EMOTIVOICE_PORT=<free>` would."""
    runtime = dockerfile.stage(TARGET)
    command = runtime.all("ENTRYPOINT")[-1].exec_form + runtime.all("CMD")[-1].exec_form
    port = free_port()
    env = {**image.final_env, "EMOTIVOICE_HOST": "127.0.0.1", "EMOTIVOICE_PORT": str(port)}
    env["PATH"] = f"{image.host('/opt/venv/bin')}:/usr/local/bin:/usr/bin:/bin"
    read_only = {"/opt": snapshot(image.host("/opt")), "numba": snapshot(Path(env["NUMBA_CACHE_DIR"]))}
    log_path = image.root.parent / "server.log"
    log = open(log_path, "wb")
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=image.host(image.final_workdir), env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    handle = {"process": process, "url": f"http://127.0.0.1:{port}", "env": env, "started": started,
              "log": log_path, "read_only": read_only}
    yield handle
    if process.poll() is None:
        process.kill()
        process.wait(10)
    log.close()


def wait_ready(container, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if container["process"].poll() is not None:
            pytest.fail(f"the server exited with {container['process'].returncode}:\n{container['log'].read_text()}")
        try:
            if httpx.get(container["url"] + "/readyz", timeout=2).status_code == 200:
                return time.monotonic() - container["started"]
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"/readyz not 200 after {timeout} s:\n{container['log'].read_text()}")


def test_the_build_ran_every_step_of_the_dockerfile(image):
    """dependencies (pyproject only) -> wheel -> package + bundle exports -> package into the runtime
    (+ numba's cache)."""
    runs = [s for s in image.steps if ": RUN " in s]
    assert [s.split(":")[0] for s in runs] == ["deps", "wheel", "bundle", "runtime"]
    assert "install.sh deps" in runs[0] and "install.sh wheel" in runs[1]
    assert "install.sh app" in runs[2] and "install.sh bundle" in runs[2]
    assert "install.sh app" in runs[3] and "install.sh numba-cache" in runs[3]
    bundle = image.host(image.dockerfile.env(TARGET)["EMOTIVOICE_BUNDLE"])
    assert (bundle / "manifest.json").is_file()


def test_the_student_fallback_bundle_is_baked_next_to_main(image):
    from emotivoice_srv.bundle import read_manifest
    from emotivoice_srv.bundle.student import FALLBACK_NAME

    env = image.dockerfile.env(TARGET)
    main, fallback = image.host(env["EMOTIVOICE_BUNDLE"]), image.host(env["EMOTIVOICE_FALLBACK_BUNDLE"])
    manifest = read_manifest(fallback)
    assert manifest.name == FALLBACK_NAME and manifest.precisions == ("fp32",)
    assert manifest.build["main_bundle"] == read_manifest(main).name
    for voice in manifest.voices:  # stored once: hard links to the main bundle's files
        assert (fallback / voice.file).samefile(main / voice.file)


def test_numbas_cache_was_seeded_at_build(image):
    cache = Path(image.final_env["NUMBA_CACHE_DIR"])  # ENV values are already paths under the root
    assert cache.is_relative_to(image.root)
    assert list(cache.rglob("*.nbi")), "no numba index in the image's cache directory"


def tier_states(container) -> dict[str, dict]:
    body = httpx.get(container["url"] + "/v1/models", timeout=5).json()
    return {tier["role"]: tier for tier in body["tiers"]}


def test_the_image_becomes_ready_with_the_baked_student_as_its_fallback(container):
    seconds = wait_ready(container)
    print(f"exec -> /readyz 200: {seconds:.2f} s")
    tiers = tier_states(container)
    assert sorted(tiers) == ["fallback", "main"]
    main, fallback = tiers["main"], tiers["fallback"]
    assert (main["bundle"], main["device"], main["precision"], main["state"]) == ("kokoro-82m", "cpu", "int8", "ready")
    assert (fallback["bundle"], fallback["device"], fallback["precision"]) == ("kokoro-82m-student", "cpu", "fp32")
    assert fallback["state"] == "ready" and "error" not in fallback
    print("load seconds:", {role: tier["load_seconds"] for role, tier in tiers.items()})


def test_the_server_never_exported_or_assembled_at_start(container, image):
    wait_ready(container)
    log = container["log"].read_text()
    assert "building the model bundle" not in log and "built the fallback bundle" not in log
    cache = Path(container["env"]["EMOTIVOICE_CACHE_DIR"])
    assert cache.is_relative_to(image.root)
    assert not (cache / "bundles").exists()
    assert not [p for p in cache.rglob("*") if "student" in p.name or p.name == "manifest.json"]


def test_the_healthcheck_passes(container, dockerfile):
    wait_ready(container)
    check = dockerfile.stage(TARGET).all("HEALTHCHECK")[-1].exec_form
    result = subprocess.run(check, env=container["env"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_the_charts_probes_answer_200(container, default_objects):
    wait_ready(container)
    server = default_objects.server()
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        response = httpx.get(container["url"] + server[kind]["httpGet"]["path"], timeout=5)
        assert response.status_code == 200, (kind, response.text)


def test_the_image_synthesizes(container):
    wait_ready(container)
    response = httpx.post(container["url"] + "/v1/tts", json={"text": "Hello.", "voice": "en_female_1"},
                          timeout=120)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("audio/wav")
    assert response.headers["x-model-tier"] == "main"
    assert response.content[:4] == b"RIFF" and len(response.content) > 10_000


SCRAPE_TARGET_LABELS = {"job", "namespace", "pod", "service", "instance", "endpoint", "container"}


def selectors(expr: str) -> list:
    import promql_parser

    found = []
    promql_parser.walk(promql_parser.parse(expr),
                       lambda node: found.append(node) if isinstance(node, promql_parser.VectorSelector) else None)
    return found


def matches(labels: dict[str, str], selector) -> bool:
    """Whether a scraped sample's labels satisfy a selector's matchers (the labels Prometheus adds when
    it scrapes, job, namespace and the like, are not in a raw scrape: they are left out)."""
    import promql_parser

    for m in selector.matchers.matchers:
        if m.name in SCRAPE_TARGET_LABELS:
            continue
        value, op = labels.get(m.name, ""), m.op
        if op == promql_parser.MatchOp.Equal:
            ok = value == m.value
        elif op == promql_parser.MatchOp.NotEqual:
            ok = value != m.value
        elif op == promql_parser.MatchOp.Re:
            ok = re.fullmatch(m.value, value) is not None
        else:
            ok = re.fullmatch(m.value, value) is None
        if not ok:
            return False
    return True


def test_the_fallback_alert_selects_real_tier_series_and_is_quiet_once_main_is_ready(container, render):
    """EmotivoiceServingFromFallback on a real scrape of a pod with both tiers: each of its selectors
    picks real series, and its condition (a fallback warming/ready and main not ready) is false now."""
    from prometheus_client.parser import text_string_to_metric_families

    wait_ready(container)
    text = httpx.get(container["url"] + "/metrics", timeout=10).text
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    rules = render({"metrics": {"prometheusRule": {"enabled": True}}}).only("PrometheusRule")["spec"]["groups"]
    rule = next(r for g in rules for r in g["rules"] if r["alert"] == "EmotivoiceServingFromFallback")
    fallback_up, main_ready = [[s.value for s in samples if s.name == sel.name and matches(s.labels, sel)]
                               for sel in selectors(rule["expr"])]
    assert len(fallback_up) == 2 and len(main_ready) == 1  # fallback warming + ready; main ready
    assert max(fallback_up) == 1 and main_ready == [1]
    assert not (max(fallback_up) == 1 and main_ready != [1])  # the alert's condition, evaluated


def test_metrics_scraped_from_the_image_cover_every_alert(container, render):
    from prometheus_client.parser import text_string_to_metric_families

    wait_ready(container)
    text = httpx.get(container["url"] + "/metrics", timeout=10).text
    families = {f.name for f in text_string_to_metric_families(text)}
    samples = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    rule = render({"metrics": {"prometheusRule": {"enabled": True}}}).only("PrometheusRule")
    referenced = set(re.findall(r"\b(emotivoice_[a-z_]+)", json.dumps(rule["spec"])))
    assert referenced
    for name in referenced:
        family = re.sub(r"_(bucket|sum|count|total)$", "", name)
        assert name in samples or family in families, f"{name} is not in the server's /metrics"


def test_sigterm_drains_and_exits_cleanly_within_the_grace_period(container, image, default_objects):
    """What the kubelet does after preStop: SIGTERM to PID 1 (dumb-init), which forwards it."""
    wait_ready(container)
    pod = default_objects.pod()
    pre_stop = float(default_objects.server()["lifecycle"]["preStop"]["exec"]["command"][1])
    budget = pod["terminationGracePeriodSeconds"] - pre_stop
    process = container["process"]
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {budget} s after SIGTERM (the kubelet would SIGKILL it):\n"
                    f"{container['log'].read_text()[-3000:]}")
    seconds = time.monotonic() - started
    print(f"SIGTERM -> exit: {seconds:.2f} s (budget {budget:.0f} s)")
    assert code == 0, container["log"].read_text()[-3000:]
    assert '"msg": "draining"' in container["log"].read_text()
    # Nothing was in flight, so the drain ends at once; what is left is the process exit, which waits
    # for the background cloning warm-up (numba's kernels come from the cache seeded at build).
    margin = budget - float(default_objects.env()["EMOTIVOICE_DRAIN_GRACE"])  # the chart's shutdown.marginSeconds
    assert seconds < margin, f"{seconds:.1f} s from SIGTERM to exit: more than the chart's exit margin"


def test_nothing_outside_the_cache_and_tmp_was_written(container, image):
    """The chart mounts the root filesystem read-only: the image's own files (both bundles included)
    must stay untouched."""
    assert container["process"].poll() is not None, "runs after the SIGTERM test"
    assert snapshot(image.host("/opt")) == container["read_only"]["/opt"]


def test_numba_compiles_nothing_at_run_time(container, image):
    """The cloning warm-up finds every librosa kernel in the cache seeded at build (a compile writes new
    index or code files). The server runs that warm-up in the background, maybe not before SIGTERM
    came, so it is also run here once more, as the build ran it, with only the image's environment."""
    assert container["process"].poll() is not None, "runs after the SIGTERM test"
    numba = Path(container["env"]["NUMBA_CACHE_DIR"])
    assert snapshot(numba) == container["read_only"]["numba"]
    script = REPO / "docker" / "install.sh"
    started = time.monotonic()
    result = subprocess.run(["bash", str(script), "numba-cache", container["env"]["EMOTIVOICE_BUNDLE"]],
                            env=container["env"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"cloning warm-up with the seeded cache: {time.monotonic() - started:.2f} s")
    assert snapshot(numba) == container["read_only"]["numba"]
