# One entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PARAMS ?=
# two pytest-xdist workers: the fresh-copy build of test_incremental.py and the session's book build at once
TEST_WORKERS ?= 2
UV_VERSION := 0.13.9
PDF_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended tex-gyre latexmk poppler-utils
BROWSER_PACKAGES := chromium chromium-driver
.DEFAULT_GOAL := help

.PHONY: help book html validate test bench env pdf-deps browser-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

book: env pdf-deps ## validate the inputs, execute every notebook, build the HTML book and the PDF (PARAMS=file.yml overrides parameters)
	$(BIN)/python -m analysis build --pdf $(if $(PARAMS),--params $(PARAMS))

html: env ## the same, HTML only
	$(BIN)/python -m analysis build $(if $(PARAMS),--params $(PARAMS))

validate: env ## check every parameter and input file, build nothing
	$(BIN)/python -m analysis validate $(if $(PARAMS),--params $(PARAMS))

test: env pdf-deps browser-deps ## run the test suite (needs the PDF and browser packages; TEST_WORKERS=0 runs it in one process)
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

bench: env ## measure speed and memory of the analysis (prints a table, writes _build/bench.md)
	$(BIN)/python scripts/bench.py

env: $(VENV)/.installed ## create .venv with the locked Python dependencies

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11 or newer is needed ($(PYTHON))" >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || bash scripts/ensure-debian-packages.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python --no-deps -e .
	touch $@

pdf-deps: ## install the Debian packages the PDF needs (as root), or name them
	@bash scripts/ensure-debian-packages.sh $(PDF_PACKAGES)

clean: ## remove everything built (keeps .venv)
	rm -rf _build

browser-deps: ## install Debian's chromium and chromium-driver for the browser test (as root), or name them
	@bash scripts/ensure-debian-packages.sh $(BROWSER_PACKAGES)
