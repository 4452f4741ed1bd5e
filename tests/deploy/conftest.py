"""What the deployment tests share: the Helm chart rendered by a real Helm (helm-python-sdk runs Helm v4
as a library, offline), and the Dockerfile read into stages and instructions the way Docker reads it."""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "emotivoice-srv"
DOCKERFILE = REPO / "Dockerfile"
RELEASE, NAMESPACE = "tts", "speech"

# The value sets every structural test runs over: the defaults and each optional feature switched on.
VALUE_SETS: dict[str, dict] = {
    "defaults": {},
    "gpu": {"gpu": {"enabled": True, "runtimeClassName": "nvidia",
                    "nodeSelector": {"nvidia.com/gpu.present": "true"}},
            "server": {"fallback": {"holdForMainMs": 500}}},
    "gpu-main-fallback-ready-on-fallback": {"gpu": {"enabled": True}, "server": {"fallback": {
        "bundle": "main", "precision": "int8", "readyOnFallback": True}}},
    "no-fallback": {"server": {"fallback": {"bundle": "none"}}},
    "api-only-no-studio": {"server": {"ui": False}},
    "edge-node": {"server": {"routing": {"overloadPolicy": "degrade", "upstream": {
        "url": "http://tts-gpu.speech.svc:8000", "existingSecret": "gpu-pool-key", "longChars": 300}}}},
    "ingress": {"ingress": {"enabled": True, "className": "nginx",
                            "annotations": {"nginx.ingress.kubernetes.io/proxy-buffering": "off"},
                            "tls": [{"hosts": ["tts.example.com"], "secretName": "tts-tls"}]}},
    "monitoring": {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
                               "prometheusRule": {"enabled": True}}},
    "api-keys": {"apiKeys": {"keys": ["key-one", "key-two"]}, "server": {"protectMetrics": True},
                 "metrics": {"serviceMonitor": {"enabled": True, "authorization": {
                     "type": "Bearer", "credentials": {"name": "metrics-token", "key": "token"}}}}},
    "bundle-from-model-image": {"bundle": {"source": "initContainer", "initContainer": {
        "image": {"repository": "registry.example.com/emotivoice-srv-model", "tag": "0.1.0"}}}},
    "bundle-from-volume": {"bundle": {"source": "initContainer", "initContainer": {
        "sourcePath": "bundles/kokoro-82m",
        "volume": {"persistentVolumeClaim": {"claimName": "models", "readOnly": True}}}}},
    "fixed-replicas-no-persistence": {"autoscaling": {"enabled": False}, "replicaCount": 3,
                                      "persistence": {"enabled": False}, "podDisruptionBudget": {"enabled": False}},
    "external-redis": {"redis": {"enabled": False},
                       "voiceStore": {"url": "rediss://voices.example.com:6380/2", "existingSecret": "voice-store",
                                      "existingSecretKey": "redis-password"},
                       "service": {"trafficDistribution": ""}},
    "local-store-one-replica": {"redis": {"enabled": False}, "autoscaling": {"enabled": False}, "replicaCount": 1},
    "existing-claim-and-secret": {"redis": {"enabled": False}, "autoscaling": {"enabled": False},
                                  "replicaCount": 1, "persistence": {"existingClaim": "voices"},
                                  "apiKeys": {"existingSecret": "tts-keys", "existingSecretKey": "keys"},
                                  "server": {"extraArgs": ["--concurrent-threads", "auto"], "queueSize": 0,
                                             "corsOrigins": ["https://app.example.com"]}},
    "provenance-secret": {"provenance": {"existingSecret": "c2pa-signer", "requireConsent": True}},
    "provenance-off": {"provenance": {"enabled": False}},
}


VOICE_STORE = "voice-store"
"""The component label of the chart's own Redis (redis.enabled): apart from the server's objects."""


def component(obj: dict) -> str | None:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")


class Rendered(list):
    """The objects a chart render produced, with the lookups the tests need."""

    def only(self, kind: str) -> dict:
        """The server's one object of this kind (the chart's Redis objects: ``voice_store``)."""
        found = [o for o in self if o["kind"] == kind and component(o) != VOICE_STORE]
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]

    def voice_store(self, kind: str) -> dict:
        found = [o for o in self if o["kind"] == kind and component(o) == VOICE_STORE]
        assert len(found) == 1, f"expected one voice-store {kind}, got {len(found)}"
        return found[0]

    def kinds(self) -> set[str]:
        return {o["kind"] for o in self}

    def pod(self) -> dict:
        return self.only("Deployment")["spec"]["template"]["spec"]

    def server(self) -> dict:
        return next(c for c in self.pod()["containers"] if c["name"] == "server")

    def env(self) -> dict[str, str | None]:
        """The server container's environment (variables set from a Secret map to None)."""
        return {e["name"]: e.get("value") for e in self.server().get("env", [])}


def render_chart(values: dict | None = None, *, name: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
    """Every object the chart renders for these values (NOTES.txt and empty documents left out)."""
    import helm_python
    import yaml

    with helm_python.Chart.load(CHART) as chart:
        manifests = chart.render(values or {}, name=name, namespace=namespace)
    objects = Rendered()
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def render_notes(values: dict | None = None) -> str:
    import helm_python

    with helm_python.Chart.load(CHART) as chart:
        manifests = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE)
    return next(text for path, text in manifests.items() if path.endswith("NOTES.txt"))


def pytest_generate_tests(metafunc):
    """A test that takes ``value_set`` runs once per entry of VALUE_SETS: (name, values)."""
    if "value_set" in metafunc.fixturenames:
        metafunc.parametrize("value_set", list(VALUE_SETS.items()), ids=list(VALUE_SETS))


@pytest.fixture(scope="session")
def render():
    """render(values) -> the chart's objects for those values (a real Helm render, offline)."""
    return render_chart


@pytest.fixture(scope="session")
def notes():
    return render_notes


@pytest.fixture(scope="session")
def default_objects() -> Rendered:
    return render_chart()


@pytest.fixture(scope="session")
def chart_values() -> dict:
    import yaml

    return yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


# --- the Dockerfile, read like Docker reads it -------------------------------------------------------

_FLAG = re.compile(r"^--([a-z-]+)=(\S+)(?:\s+|$)")


@dataclass
class Instruction:
    keyword: str
    args: str
    flags: dict[str, list[str]]
    line: int

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or None for the shell form."""
        text = self.args[len("CMD"):].strip() if self.keyword == "HEALTHCHECK" else self.args
        return json.loads(text) if text.startswith("[") else None

    def mounts(self) -> list[dict[str, str]]:
        return [dict(part.split("=", 1) for part in m.split(",")) for m in self.flags.get("mount", [])]


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            for token in shlex.split(ins.args):
                key, _, value = token.partition("=")
                out[key] = value
        return out

    def arg_defaults(self) -> dict[str, str]:
        out = {}
        for ins in self.all("ARG"):
            key, _, value = ins.args.partition("=")
            out[key.strip()] = shlex.split(value)[0] if value.strip() else ""
        return out


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def resolve(self, text: str, args: dict[str, str] | None = None) -> str:
        """Substitute ${ARG} / $ARG with the global ARG defaults (and overrides)."""
        values = {**self.global_args, **(args or {})}
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)

    def parent(self, stage: Stage, args: dict[str, str] | None = None) -> Stage | None:
        base = self.resolve(stage.base, args)
        return next((s for s in self.stages if s.name == base), None)

    def chain(self, name: str, args: dict[str, str] | None = None) -> list[Stage]:
        """The stage and its FROM ancestors inside this file, oldest first."""
        out, stage = [], self.stage(name)
        while stage is not None:
            out.insert(0, stage)
            stage = self.parent(stage, args)
        return out

    def env(self, name: str, args: dict[str, str] | None = None) -> dict[str, str]:
        """ENV in effect in a stage: its own and its ancestors' (later ones win)."""
        out: dict[str, str] = {}
        for stage in self.chain(name, args):
            out.update(stage.env())
        return out

    def needed(self, target: str, args: dict[str, str] | None = None) -> list[Stage]:
        """Every stage a build of ``target`` runs, in file order (FROM, COPY --from, RUN --mount from=)."""
        names = {s.name for s in self.stages}
        todo, seen = [target], set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            stage = self.stage(name)
            deps = [self.resolve(stage.base, args)]
            deps += [ins.flags["from"][0] for ins in stage.all("COPY") if "from" in ins.flags]
            deps += [m["from"] for ins in stage.all("RUN") for m in ins.mounts() if "from" in m]
            todo.extend(d for d in deps if d in names)
        return [s for s in self.stages if s.name in seen]


def parse_dockerfile(text: str) -> Dockerfile:
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments (and parser directives) are dropped, even inside a continuation
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append((start, buffer + stripped))
        buffer = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        flags: dict[str, list[str]] = {}
        if keyword != "FROM":
            while m := _FLAG.match(rest):
                flags.setdefault(m.group(1), []).append(m.group(2))
                rest = rest[m.end():]
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else f"stage-{len(stages)}"
            stages.append(Stage(name=name, base=parts[0]))
        elif not stages and keyword == "ARG":
            key, _, value = rest.partition("=")
            global_args[key] = value
        else:
            stages[-1].instructions.append(Instruction(keyword, rest, flags, number))
    return Dockerfile(global_args, stages)


def dockerignore_matcher(path: Path):
    """ignored(relative_path) -> whether `docker build` leaves that file out of the context, after the
    .dockerignore rules this repository uses (last match wins; "!" re-includes; "**/" any depth)."""
    import fnmatch

    rules = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            pattern = line.lstrip("!").rstrip("/")
            rules.append((negate, pattern))

    def ignored(relative: str) -> bool:
        parts = relative.split("/")
        result = False
        for negate, pattern in rules:
            if pattern.startswith("**/"):
                tail = pattern[3:]
                hit = any(fnmatch.fnmatchcase(part, tail) for part in parts)
            else:  # a rule on a directory covers everything under it
                hit = any(fnmatch.fnmatchcase("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1))
            if hit:
                result = not negate
        return result

    return ignored


@pytest.fixture(scope="session")
def dockerignored():
    return dockerignore_matcher(REPO / ".dockerignore")


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
