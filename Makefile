# Two commands: `make run` (set up everything, serve the demo) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 5000
SMTP_PORT ?= 8025
# The suite in parallel (pytest-xdist): each worker has its own databases and servers.
TEST_WORKERS ?= 2

.PHONY: run test test-sqlite test-postgresql bench system-test-deps system-bench-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	SURVEY_ENV=development $(BIN)/survey db upgrade
	SURVEY_ENV=development SURVEY_BASE_URL=http://$(HOST):$(PORT) $(BIN)/survey demo
	@echo "Serving on http://$(HOST):$(PORT)/ — open a link above."
	@echo "E-mails go to a local SMTP sink on port $(SMTP_PORT): read them at http://$(HOST):$(PORT)/admin/mail/sink (files in instance/mail/)."
	@# The mail sink and the outbox worker run beside the web server and stop with it (Ctrl-C).
	export SURVEY_ENV=development SURVEY_BASE_URL=http://$(HOST):$(PORT) \
	       SURVEY_SMTP_HOST=127.0.0.1 SURVEY_SMTP_PORT=$(SMTP_PORT) SURVEY_SMTP_SECURITY=none; \
	$(BIN)/survey mail sink --host 127.0.0.1 --port $(SMTP_PORT) & sink=$$!; \
	$(BIN)/survey mail run --poll 2 & worker=$$!; \
	trap 'kill $$sink $$worker 2>/dev/null; wait $$sink $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/survey run --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright cannot download its own here), and
# poppler's pdftotext, which the PDF tests read the reports back with.
system-test-deps:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils; }

system-bench-deps:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

test: $(STAMP) system-test-deps
	$(BIN)/pytest -n $(TEST_WORKERS)

test-sqlite: $(STAMP) system-test-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --databases sqlite

test-postgresql: $(STAMP) system-test-deps
	$(BIN)/pytest -n $(TEST_WORKERS) --databases postgresql

bench: $(STAMP) system-bench-deps
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) instance .pytest_cache
