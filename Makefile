# make run   - install into .venv, ingest the corpus, serve on http://127.0.0.1:8000
# make test  - install into .venv, run lint, format check, mypy and the test suite
# make lint  - fix what ruff can fix, and format

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORPUS ?= docs
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: install run test lint check bench clean

install: $(STAMP)

# torch goes in first and on its own: the CPU build; anything that pulled torch unpinned
# would bring a multi-GB CUDA build instead.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/qa ingest $(CORPUS)
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: check
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
