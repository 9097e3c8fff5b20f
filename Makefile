# Glassbox: `make run` serves the app, `make test` runs the whole suite. Both set up .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test lint audit samples browser-deps postgres-deps graphviz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run the install whenever a requirements file changes. requirements-nodeps.txt
# (keras-hub, tensorflow-text) goes in without its dependencies: see that file.
$(VENV)/.deps-run: requirements.txt requirements-nodeps.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

$(VENV)/.deps-dev: requirements.txt requirements-nodeps.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@ $(VENV)/.deps-run

run: $(VENV)/.deps-run graphviz
	$(BIN)/streamlit run app.py --server.port $(PORT)

# The browser tests and the PDF report drive Debian's chromium, the PDF test reads the PDF
# back with pdftotext (poppler-utils), and the Architecture page lays its graph out with
# Graphviz's dot (graphviz); install them when we may (root), never a download of
# Playwright's own browser.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftotext ] || [ ! -x /usr/bin/dot ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils graphviz; \
	  else echo "the tests need Debian's chromium, poppler-utils and graphviz: sudo apt-get install chromium poppler-utils graphviz"; fi; \
	fi

# The Architecture page needs Graphviz's dot (Debian's graphviz) to lay out the layer graph.
graphviz:
	@if [ ! -x /usr/bin/dot ] && ! command -v dot >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz; \
	  else echo "the Architecture page needs Graphviz: sudo apt-get install graphviz"; fi; \
	fi

# The store's tests run on SQLite and on a real PostgreSQL (Debian's postgresql; the tests
# start their own throwaway server with its initdb and postgres).
postgres-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else echo "the store's tests need PostgreSQL: sudo apt-get install postgresql"; fi; \
	fi

test: $(VENV)/.deps-dev browser-deps postgres-deps
	$(BIN)/ruff check .
	$(BIN)/python .ci/audit_deps.py
	$(BIN)/python -m pytest

lint: $(VENV)/.deps-dev
	$(BIN)/ruff check .

# Known advisories in the installed packages (pip-audit, plus the floors in the script).
audit: $(VENV)/.deps-dev
	$(BIN)/python .ci/audit_deps.py

samples: $(VENV)/.deps-run
	$(BIN)/python sample_models/build.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
