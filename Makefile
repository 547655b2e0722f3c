# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HAIQIAO_DATABASE_URL ?= sqlite+aiosqlite:///var/haiqiao.db

.PHONY: run test lint typecheck pytest venv dev-venv browser clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

run: venv
	mkdir -p var
	$(BIN)/haiqiao db upgrade
	$(BIN)/haiqiao demo --if-empty
	$(BIN)/haiqiao serve --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser tests (Playwright's own browser download cannot work here);
# the CJK fonts make the pages' Chinese legible in screenshots; coturn is the TURN server `haiqiao doctor`'s
# test allocates on; nginx fronts the deployment test (tests/deploy), started by the test itself.
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/opentype/noto ] && command -v turnserver >/dev/null 2>&1 && [ -x /usr/sbin/nginx ]; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk coturn nginx >/dev/null; }

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check server scheduling media clients tests benchmarks

typecheck: dev-venv
	$(BIN)/mypy

pytest: dev-venv browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

bench: dev-venv
	$(BIN)/python benchmarks/scheduling.py

clean:
	rm -rf $(VENV) var/*.db
