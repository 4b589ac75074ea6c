# make test: unit tests, every chapter executed through nbval, then the book built and every page
#            opened in headless Chromium with the network off (book/browser.py).
# make book: every chapter executed and built to HTML in _build/html (execution is cached).
# Each target sets up .venv from nothing on first use (Python 3.10+ as `python3`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHAPTERS := $(wildcard chapters/*.md)

.PHONY: test unit notebooks book browser clean

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

$(VENV)/.installed-book: pyproject.toml $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test,book]"
	touch $@

test: unit notebooks browser

unit: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests --durations=15

notebooks: $(VENV)/.installed-test
	rm -rf _build/nbval && mkdir -p _build/nbval
	for f in $(CHAPTERS); do \
	  $(BIN)/jupytext --quiet --to ipynb --output _build/nbval/$$(basename $$f .md).ipynb $$f || exit 1; \
	done
	cd _build/nbval && ../../$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider --rootdir=. --durations=0 *.ipynb

book: $(VENV)/.installed-book
	$(BIN)/python book/make_labs.py _build/downloads
	$(BIN)/jupyter-book build . --all --builder html

# Debian's Chromium, installed on first use (CI starts without it).
browser: book
	command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }
	$(BIN)/python book/browser.py _build/html

clean:
	rm -rf _build
