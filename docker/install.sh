#!/usr/bin/env bash
# The build steps of the emotivoice-srv images, in one place: the Dockerfile runs them, and
# tests/deploy runs the same script in a fresh virtual environment (no Docker engine needed), so the
# image recipe and its test cannot drift apart.
#
#   install.sh deps SRC                  runtime dependencies of SRC/pyproject.toml (not the package itself)
#                                        and the PID-1 init (dumb-init) into $VIRTUAL_ENV
#   install.sh wheel SRC OUT             the emotivoice-srv wheel built from SRC (no dependencies) into OUT
#   install.sh app WHEELS                that wheel installed into $VIRTUAL_ENV, then an import check
#   install.sh bundle OUT FALLBACK_OUT [PRECISIONS] [DIR]
#                                        the model bundle at OUT and the distilled student's fallback bundle
#                                        at FALLBACK_OUT, a sibling of OUT (`emotivoice-srv export --out OUT
#                                        --fallback-out FALLBACK_OUT`); the files the fallback bundle copies
#                                        from the main one (voices, front-end, speaker encoder) become hard
#                                        links to them, so they are stored once. With DIR (a build cache) both
#                                        are exported there and copied, so unchanged bundles keep their bytes,
#                                        and the image layer holding them its digest
#   install.sh numba-cache BUNDLE [OWNER]
#                                        runs the server's cloning warm-up (VoiceCloner.warm, with BUNDLE's
#                                        speaker encoder) once, so numba compiles librosa's kernels into
#                                        $NUMBA_CACHE_DIR now instead of in every new container; OWNER
#                                        (uid:gid) then owns that directory (when run as root)
#
# Environment: VIRTUAL_ENV (required), PYTHON (the interpreter that creates a missing venv; python3),
# EMOTIVOICE_IMAGE_VARIANT (cpu or gpu; cpu), ORT_GPU_VERSION (gpu: the onnxruntime-gpu release, which
# must match the CUDA major version of the base image), DUMB_INIT_VERSION; numba-cache: NUMBA_CACHE_DIR and
# NUMBA_CPU_NAME (required: the values the image runs with, or the cache would not be found or not match).
set -euo pipefail

: "${VIRTUAL_ENV:?set VIRTUAL_ENV to the virtual environment to install into}"
variant=${EMOTIVOICE_IMAGE_VARIANT:-cpu}
dumb_init_version=${DUMB_INIT_VERSION:-1.2.5.post1}
py="$VIRTUAL_ENV/bin/python"

pip() {
    "$py" -m pip "$@"
}

deps() {
    local src=$1 skeleton
    [ -x "$py" ] || "${PYTHON:-python3}" -m venv "$VIRTUAL_ENV"
    # A skeleton of the project (its pyproject.toml and empty packages) installs exactly the
    # dependencies pip resolves for the real package; removing the skeleton leaves only them. This
    # layer therefore changes when pyproject.toml does, never when the code or README change.
    skeleton=$(mktemp -d)
    cp "$src/pyproject.toml" "$skeleton/"
    : > "$skeleton/README.md"
    mkdir "$skeleton/emotivoice_srv" "$skeleton/export"
    : > "$skeleton/emotivoice_srv/__init__.py"
    : > "$skeleton/export/__init__.py"
    pip install "$skeleton" "dumb-init==$dumb_init_version"
    pip uninstall -y emotivoice-srv
    rm -rf "$skeleton"
    case "$variant" in
        cpu) ;;
        gpu)
            # onnxruntime-gpu provides the same module as onnxruntime; the engine refuses to start with
            # both installed, so the CPU wheel goes before the GPU one comes in.
            : "${ORT_GPU_VERSION:?set ORT_GPU_VERSION for the gpu variant}"
            pip uninstall -y onnxruntime
            pip install "onnxruntime-gpu==$ORT_GPU_VERSION"
            ;;
        *) echo "install.sh: unknown EMOTIVOICE_IMAGE_VARIANT '$variant' (cpu or gpu)" >&2; exit 2 ;;
    esac
}

wheel() {
    # an absolute path: pip would read a bare "src" as the name of a package on the index
    pip wheel --no-deps --wheel-dir "$2" "$(cd "$1" && pwd)"
}

app() {
    local wheels=("$1"/emotivoice_srv-*.whl)
    pip install --no-deps "${wheels[@]}"
    "$py" - <<'PY'
import importlib.metadata as md

def installed(dist):
    try:
        md.version(dist)
        return True
    except md.PackageNotFoundError:
        return False

if installed("onnxruntime") == installed("onnxruntime-gpu"):
    raise SystemExit("exactly one of onnxruntime and onnxruntime-gpu must be installed")
import emotivoice_srv.cli  # noqa: F401  (the package and its entry point import)
PY
    "$VIRTUAL_ENV/bin/emotivoice-srv" --help > /dev/null
}

bundle() {
    local out=$1 fallback=$2 precisions=${3:-} cache=${4:-} built built_fallback
    if [ "$(dirname "$out")" != "$(dirname "$fallback")" ]; then
        echo "install.sh bundle: FALLBACK_OUT must be a sibling of OUT (they share files by hard links)" >&2
        exit 2
    fi
    if [ -z "$precisions" ]; then
        # cpu: int8 graphs; gpu: fp16 for the CUDA main tier plus int8 for a CPU fallback tier
        if [ "$variant" = gpu ]; then precisions=int8,fp16; else precisions=int8; fi
    fi
    if [ -z "$cache" ]; then
        export_bundles "$out" "$fallback" "$precisions"
        return
    fi
    # export is idempotent (content hashes): up-to-date bundles in the cache are kept byte for byte
    built="$cache/${precisions//,/-}/$(basename "$out")"
    built_fallback="$cache/${precisions//,/-}/$(basename "$fallback")"
    export_bundles "$built" "$built_fallback" "$precisions"
    mkdir -p "$(dirname "$out")"
    rm -rf "$out" "$fallback"
    # one cp for both: hard links between the two bundles are kept (and by COPY --from, and in the layer)
    cp -a "$built" "$built_fallback" "$(dirname "$out")/"
}

export_bundles() {
    local out=$1 fallback=$2 precisions=$3 rel
    "$VIRTUAL_ENV/bin/emotivoice-srv" export --out "$out" --fallback-out "$fallback" --precision "$precisions" --quiet
    # The fallback bundle holds byte-identical copies of the main bundle's voices, front-end and speaker
    # encoder (~39 MB): link them instead, so the image stores them once.
    while IFS= read -r -d '' rel; do
        rel=${rel#"$fallback"/}
        if [ -f "$out/$rel" ] && ! [ "$out/$rel" -ef "$fallback/$rel" ] && cmp -s "$out/$rel" "$fallback/$rel"; then
            ln -f "$out/$rel" "$fallback/$rel"
        fi
    done < <(find "$fallback" -type f ! -name manifest.json -print0)
}

numba_cache() {
    local bundle=$1 owner=${2:-}
    : "${NUMBA_CACHE_DIR:?set NUMBA_CACHE_DIR to the numba cache directory the server uses}"
    : "${NUMBA_CPU_NAME:?set NUMBA_CPU_NAME as the image does (generic: the cache is valid on any CPU of the architecture)}"
    "$py" - "$bundle" <<'PY'
import sys
import types
from pathlib import Path

from emotivoice_srv.bundle import read_manifest
from emotivoice_srv.cloning.service import ENCODER_ROLE, VoiceCloner
from emotivoice_srv.quality.speaker import SpeakerEncoder

bundle = Path(sys.argv[1])
asset = read_manifest(bundle).asset(ENCODER_ROLE)
if asset is None:
    raise SystemExit(f"{bundle} has no speaker encoder: nothing to warm")
# the server's own warm-up code, so the kernels compiled here are the ones a start would compile
VoiceCloner.warm(types.SimpleNamespace(encoder=SpeakerEncoder(bundle / asset.file, num_threads=1)))
PY
    if [ -n "$owner" ] && [ "$(id -u)" = 0 ]; then
        chown -R "$owner" "$NUMBA_CACHE_DIR"
    fi
}

case "${1:-}" in
    deps) deps "$2" ;;
    wheel) wheel "$2" "$3" ;;
    app) app "$2" ;;
    bundle) bundle "$2" "$3" "${4:-}" "${5:-}" ;;
    numba-cache) numba_cache "$2" "${3:-}" ;;
    *) echo "usage: install.sh deps SRC | wheel SRC OUT | app WHEELS | bundle OUT FALLBACK_OUT [PRECISIONS] [CACHE]" \
            "| numba-cache BUNDLE [OWNER]" >&2; exit 2 ;;
esac
