# Every target prints the command it runs. The first target that needs tools creates .venv;
# PYTHON and VENV choose another interpreter (see .ci/run for 3.10 and 3.13).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# requirements-dev.txt pins the checkers for the main interpreter; requirements-test.txt is
# what `make unit` needs on any supported Python.
REQUIREMENTS ?= requirements-dev.txt
PYTEST_ARGS ?=
PYRIGHT_VERSION := 1.1.414
PYRIGHT := $(VENV)/pyright/node_modules/.bin/pyright
STAMP := $(VENV)/.installed

.PHONY: install test unit typecheck lint format bench demo clean

install: $(STAMP)

$(STAMP): pyproject.toml $(REQUIREMENTS) Makefile
	$(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q -U pip && $(PY) -m pip install -q -e '.[all]' -r $(REQUIREMENTS) && npm install --silent --no-save --no-package-lock --prefix $(VENV)/pyright pyright@$(PYRIGHT_VERSION) && touch $@

test: unit typecheck lint

unit: install ; $(PY) -m pytest $(PYTEST_ARGS)

typecheck: install ; $(PY) -m mypy && PATH=$(VENV)/bin:$$PATH $(PYRIGHT) && PATH=$(VENV)/bin:$$PATH $(PYRIGHT) --verifytypes execproto --ignoreexternal && $(PY) typecheck/run.py --pyright $(PYRIGHT)

lint: install ; $(PY) -m ruff check . && $(PY) -m ruff format --check .

format: install ; $(PY) -m ruff check --fix . && $(PY) -m ruff format .

bench: install ; $(PY) -m pip install -q -r requirements-bench.txt && $(PY) -m benchmarks

demo: install ; $(PY) -m execproto run examples/plan.json --tools examples.tools && $(PY) -m execproto check examples.third_party:EchoExecutor --protocol IToolExecutor

clean: ; rm -rf $(VENV) .venv-* build dist .mypy_cache .ruff_cache .hypothesis
