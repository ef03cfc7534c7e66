# HCFL set-up and entry points. `make demo` and `make test` install what they need by themselves.
SHELL := /bin/bash
PY_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HCFL := $(VENV)/bin/hcfl
STAMP := build/.stamps
FUZZ_VENV := .venv-fuzz
SLITHER_VENV := .venv-slither
LINT_VENV := .venv-lint
RUFF_VERSION := 0.17.5
MYPY_VERSION := 2.4.1
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: install demo test test-fast bench-gas compile clean browser-deps fuzz-deps slither-deps slither lint-deps lint lint-fix

install: $(STAMP)/python $(STAMP)/node $(STAMP)/compiled

$(STAMP)/python: requirements.lock pyproject.toml
	@mkdir -p $(STAMP)
	test -x $(PY) || $(PY_BOOT) -m venv $(VENV)
	$(PIP) install -q --upgrade pip==25.3 wheel setuptools
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q --no-deps -e .
	@touch $@

$(STAMP)/node: package.json package-lock.json $(wildcard backend/ui/*) scripts/build_ui.mjs
	@mkdir -p $(STAMP)
	# npm ci rejects lockfiles without every platform's optional anvil binary (npm 11); install honours the lock
	npm install --no-fund --no-audit --loglevel=error
	npm run build:ui
	@touch $@

$(STAMP)/compiled: $(STAMP)/python $(STAMP)/node $(wildcard contracts/*.sol contracts/*/*.sol contracts/*/*/*.sol) hcfl/chain/solc_shim.js
	$(HCFL) toolchain install
	$(HCFL) toolchain compile
	@touch $@

compile: $(STAMP)/compiled

demo: install
	$(HCFL) demo

test: install browser-deps fuzz-deps slither-deps lint-deps
	$(PY) -m pytest -q -p no:warnings

test-fast: install
	$(PY) -m pytest -q -m "not slow and not browser"

# schemathesis needs a newer hypothesis than eth-brownie pins, so it lives in its own venv and fuzzes
# the coordinator over HTTP
fuzz-deps: $(FUZZ_VENV)/bin/schemathesis

$(FUZZ_VENV)/bin/schemathesis:
	$(PY_BOOT) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install -q schemathesis==4.32.5

# Slither pins its own dependencies (they conflict with eth-brownie's), so it gets its own venv too; it
# compiles through the solc-js shim (scripts/slither_check.py) and its findings are triaged in docs/security.md
slither-deps: $(SLITHER_VENV)/bin/slither

$(SLITHER_VENV)/bin/slither:
	$(PY_BOOT) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install -q slither-analyzer==0.11.6

slither: install slither-deps
	$(SLITHER_VENV)/bin/python scripts/slither_check.py

# The hygiene gates: ruff and mypy, pinned, in their own venv (mypy 2.x needs pathspec>=1; eth-brownie pins
# pathspec==0.12.1). Configured in pyproject.toml; tests/hygiene runs them in `make test`.
lint-deps: $(LINT_VENV)/.pins-$(RUFF_VERSION)-$(MYPY_VERSION)

$(LINT_VENV)/.pins-$(RUFF_VERSION)-$(MYPY_VERSION):
	test -x $(LINT_VENV)/bin/python || $(PY_BOOT) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install -q ruff==$(RUFF_VERSION) mypy==$(MYPY_VERSION)
	@rm -f $(LINT_VENV)/.pins-* && touch $@

# one command for the whole tree: ruff, then mypy on hcfl, backend, fl_worker and scripts
lint: lint-deps
	$(LINT_VENV)/bin/ruff check .
	$(LINT_VENV)/bin/mypy

# ruff's mechanical fixes (import order, unused imports), then the check
lint-fix: lint-deps
	$(LINT_VENV)/bin/ruff check --fix .
	$(MAKE) lint

browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install Debian chromium; browser tests will be skipped"

bench-gas: install
	$(HCFL) bench gas

clean:
	rm -rf build hcfl/chain/artifacts .pytest_cache
