# syntax=docker/dockerfile:1.7
#
# emotivoice-srv images (layer plan and the reasons behind it: docs/deploy.md)
#
#   CPU:         docker build -t emotivoice-srv:0.1.0 .
#   GPU:         docker build --build-arg VARIANT=gpu -t emotivoice-srv:0.1.0-gpu .
#   model only:  docker build --target model -t emotivoice-srv-model:0.1.0 .   (for the chart's initContainer)
#
# The model bundle and the distilled student's fallback bundle are exported at build time and baked in
# at /opt/emotivoice/bundles/kokoro-82m and /opt/emotivoice/bundles/kokoro-82m-student, outside the
# cache directory (a volume in Kubernetes): a container start never exports or assembles a bundle.
# Every build step lives in docker/install.sh, which tests/deploy runs in a fresh virtual environment.

ARG VARIANT=cpu
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
# onnxruntime-gpu 1.31.1 on PyPI is built for CUDA 13 + cuDNN 9 (its [cuda] extra requires
# nvidia-cuda-runtime~=13.0). For nodes whose driver is older than CUDA 13 needs (580), build with
# CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 and ORT_GPU_VERSION=1.26.0 (CUDA 12 + cuDNN 9).
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04
ARG ORT_GPU_VERSION=1.31.1

# --- interpreters: the CPU image runs the official slim Python; the GPU image the CUDA runtime's Ubuntu
FROM ${PYTHON_IMAGE} AS base-cpu
ENV EMOTIVOICE_IMAGE_VARIANT=cpu \
    EMOTIVOICE_DEVICE=cpu

FROM ${CUDA_IMAGE} AS base-gpu
# Ubuntu's python3 is not version-pinned: the CUDA base image is pinned by tag, and the archive drops
# superseded python3 builds with each security update, so a pin would break rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV EMOTIVOICE_IMAGE_VARIANT=gpu \
    EMOTIVOICE_DEVICE=cuda

# hadolint ignore=DL3006
FROM base-${VARIANT} AS base
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

# --- dependencies: only pyproject.toml goes in, so code, README or model changes never rebuild this layer
FROM base AS deps
ARG ORT_GPU_VERSION
WORKDIR /src
COPY docker/install.sh docker/install.sh
COPY pyproject.toml ./
RUN ORT_GPU_VERSION="$ORT_GPU_VERSION" bash docker/install.sh deps /src

# --- the package as a wheel (dependencies are already in place)
FROM base AS wheel
WORKDIR /src
COPY docker/install.sh docker/install.sh
COPY pyproject.toml README.md ./
COPY emotivoice_srv ./emotivoice_srv
COPY export ./export
RUN bash docker/install.sh wheel /src /wheels

# --- the model bundle and the student's fallback bundle (its graphs + hard links to main's voices),
# exported once here; the cache mount keeps up-to-date bundles byte-identical
FROM deps AS bundle
ARG BUNDLE_PRECISIONS=""
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    --mount=type=cache,id=emotivoice-bundles,target=/var/cache/emotivoice-build \
    bash docker/install.sh app /wheels \
 && bash docker/install.sh bundle /opt/emotivoice/bundles/kokoro-82m /opt/emotivoice/bundles/kokoro-82m-student \
        "$BUNDLE_PRECISIONS" /var/cache/emotivoice-build

# --- a model-only image: the bundles for the chart's initContainer (models shipped outside the app image)
FROM ${PYTHON_IMAGE} AS model
COPY --from=bundle /opt/emotivoice/bundles /opt/emotivoice/bundles
USER 10001:10001
CMD ["ls", "/opt/emotivoice/bundles"]

# --- the runtime: dependencies, then the bundles, then the code (the layer that changes most is last)
FROM base AS runtime
LABEL org.opencontainers.image.title="emotivoice-srv" \
      org.opencontainers.image.description="Emotional, voice-cloning text-to-speech server (Kokoro-82M ONNX graphs)" \
      org.opencontainers.image.licenses="Apache-2.0"
# uid/gid 10001, numeric everywhere (USER below, the chart's securityContext)
RUN groupadd --system --gid 10001 emotivoice \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin emotivoice \
 && mkdir -p /var/cache/emotivoice \
 && chown 10001:10001 /var/cache/emotivoice
COPY --from=deps /opt/venv /opt/venv
COPY --from=bundle /opt/emotivoice/bundles /opt/emotivoice/bundles
# numba's cache (librosa's kernels, for voice cloning) is seeded in the code layer below, in the cache
# directory: a container without a volume there, or with a new Docker volume (which starts as a copy of
# the image's directory), never compiles them. NUMBA_CPU_NAME=generic keeps the cache valid on any
# CPU of the architecture, so one built here (or by the first pod on a shared volume) serves every node.
ENV NUMBA_CACHE_DIR=/var/cache/emotivoice/numba \
    NUMBA_CPU_NAME=generic \
    PYTHONDONTWRITEBYTECODE=1
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    --mount=type=bind,source=docker/install.sh,target=/usr/local/lib/emotivoice/install.sh \
    bash /usr/local/lib/emotivoice/install.sh app /wheels \
 && bash /usr/local/lib/emotivoice/install.sh numba-cache /opt/emotivoice/bundles/kokoro-82m 10001:10001
# The fallback tier is the student baked above: it opens the port and answers (X-Model-Tier: fallback)
# while main loads or warms. A path, not the server's default `student`, which would assemble a bundle
# in the cache directory at the first start. EMOTIVOICE_FALLBACK_BUNDLE=none turns it off.
ENV EMOTIVOICE_BUNDLE=/opt/emotivoice/bundles/kokoro-82m \
    EMOTIVOICE_FALLBACK_BUNDLE=/opt/emotivoice/bundles/kokoro-82m-student \
    EMOTIVOICE_CACHE_DIR=/var/cache/emotivoice \
    EMOTIVOICE_HOST=0.0.0.0 \
    EMOTIVOICE_PORT=8000 \
    EMOTIVOICE_LOG_FORMAT=json \
    HOME=/tmp
WORKDIR /opt/emotivoice
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --start-interval=1s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('EMOTIVOICE_PORT', '8000'), timeout=2)"]
ENTRYPOINT ["dumb-init", "--"]
CMD ["emotivoice-srv", "serve"]
