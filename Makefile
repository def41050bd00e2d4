# `make run` — set up and serve the exchange with demo data on SQLite (http://127.0.0.1:8000)
# `make test` — set up, start what the tests need (PostgreSQL, Chromium) and run every test
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-services bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

run: install
	scripts/ensure-fonts.sh
	$(BIN)/shujiao db upgrade
	$(BIN)/shujiao keys init
	$(BIN)/shujiao demo
	$(BIN)/shujiao serve --host $(HOST) --port $(PORT)

test-services:
	scripts/ensure-test-services.sh

test: install test-services
	$(BIN)/pytest

bench: install test-services
	$(BIN)/python bench/trade_loop.py

clean:
	rm -rf $(VENV) var .pytest_cache
