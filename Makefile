# Two commands do all the set-up on a fresh machine:
#   make run    set up, build the seed index if needed, serve the chat on http://127.0.0.1:7860
#   make test   set up and run the whole test suite
# Both are fast when nothing is missing (a stamp file remembers the installed state).
# Versions come from requirements.lock (exact pins with hashes); `make lock` refreshes it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip -q --disable-pip-version-check
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
TORCH  := torch==2.13.0
UV     := uv==0.13.8

.PHONY: run test setup browser lock clean

run: setup
	$(PY) app.py

test: setup browser
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

setup: $(STAMP)

# torch first: a plain `pip install torch` here resolves to a multi-GB CUDA build. Then the
# locked versions (hash-checked), then the project itself without touching them.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH)
	$(PIP) install --require-hashes -r $(LOCK)
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Resolve pyproject.toml's ranges into the lock: `make lock` keeps the pinned versions that
# still fit (after adding or changing a dependency), `make lock UPGRADE=1` takes the newest.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(UV)
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --extra ray --extra milvus --generate-hashes $(if $(UPGRADE),--upgrade) \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --find-links /opt/wheels -c requirements/constraints.txt -o $(LOCK)

# Debian's Chromium and a CJK font for the end-to-end tests (Playwright never downloads a
# browser here). Under CI (QA_CI=1) a failed install stops the run.
browser:
	@command -v chromium >/dev/null 2>&1 && test -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || { \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null) || \
	  if [ -n "$$QA_CI" ]; then \
	    echo "error: Debian's chromium could not be installed; the browser tests cannot run" >&2; exit 1; \
	  else echo "warning: chromium could not be installed: the browser tests will be skipped"; fi; }

clean:
	rm -rf $(VENV) embeddings/*/ test-artifacts build dist
