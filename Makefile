# carebot: `make run` starts it, `make test` runs the whole suite (SQLite and PostgreSQL).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgresql lint browser-deps balancer-deps postgres catalogs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: install, migrate and start carebot (playground on SQLite unless CAREBOT_TOKEN is set)
run: $(STAMP)
	$(BIN)/carebot run

## test: everything: lint, architecture, the suite on SQLite and on PostgreSQL, browser tests
test: $(STAMP) browser-deps balancer-deps postgres lint test-sqlite test-postgresql

test-sqlite: $(STAMP)
	CAREBOT_TEST_DB=sqlite $(BIN)/pytest -q

test-postgresql: $(STAMP) postgres
	CAREBOT_TEST_DB=postgresql $(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot handlers care tests $(wildcard bench)
	$(BIN)/ruff format --check bot handlers care tests scripts $(wildcard bench)
	$(BIN)/lint-imports
	$(BIN)/mypy

## browser-deps: Debian's Chromium, CJK and colour emoji fonts (no boxes in the playground)
BROWSER_PACKAGES := chromium fonts-noto-cjk fonts-noto-color-emoji
browser-deps:
	@{ command -v chromium >/dev/null 2>&1 \
	   && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
	   && fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; } || { \
	  echo "installing Debian's $(BROWSER_PACKAGES) for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; }
	@fc-list | grep -qi "Noto Color Emoji" \
	  || { echo "the colour emoji font is missing: apt-get install fonts-noto-color-emoji"; exit 1; }

## balancer-deps: Debian's nginx, the load balancer of the several-instances webhook test
## (tests/e2e/balancer.py; without it that test uses a small proxy of its own)
BALANCER_PACKAGES := nginx-light
balancer-deps:
	@{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || { \
	  echo "installing Debian's $(BALANCER_PACKAGES) for the webhook tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq $(BALANCER_PACKAGES) >/dev/null; }
	@{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } \
	  || { echo "nginx is missing: apt-get install nginx-light"; exit 1; }

## postgres: make sure a PostgreSQL server answers on 127.0.0.1:5432
postgres:
	@bash scripts/ensure-postgres.sh

## catalogs: re-extract messages and update the zh_CN and en catalogs (see docs/i18n.md)
catalogs: $(STAMP)
	$(BIN)/python scripts/catalogs.py

bench: $(STAMP)
	$(BIN)/python bench/inbound.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
