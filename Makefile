# Two commands do all the set-up on a fresh machine:
#   make run    set up, build the seed index if needed, serve the chat on http://127.0.0.1:7860
#   make test   set up and run the whole test suite
# Both are fast when nothing is missing (a stamp file remembers the installed state).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0

.PHONY: run test setup browser clean

run: setup
	$(PY) app.py

test: setup browser
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

setup: $(STAMP)

# torch first: a plain `pip install torch` here resolves to a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(TORCH)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

# Debian's Chromium and a CJK font for the end-to-end tests (Playwright never downloads a
# browser here).
browser:
	@command -v chromium >/dev/null 2>&1 && test -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || { \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null) || \
	  echo "chromium could not be installed: the browser tests will be skipped"; }

clean:
	rm -rf $(VENV) embeddings/*/ test-artifacts
