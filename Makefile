# Glassbox: `make run` serves the app, `make test` runs the whole suite. Both set up .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test lint audit samples browser-deps clean

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

run: $(VENV)/.deps-run
	$(BIN)/streamlit run app.py --server.port $(PORT)

# The browser tests and the PDF report drive Debian's chromium, and the PDF test reads the
# PDF back with pdftotext (poppler-utils); install them when we may (root), never a download
# of Playwright's own browser.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftotext ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils; \
	  else echo "browser tests need Debian's chromium and poppler-utils: sudo apt-get install chromium poppler-utils"; fi; \
	fi

test: $(VENV)/.deps-dev browser-deps
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
