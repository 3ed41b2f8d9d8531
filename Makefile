# Only python3 (3.11+) and make are assumed; everything else lands in .venv.
# The data (data/) and the virtual environment (.venv/) are apart: `make clean` never touches data.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NEEDS_311 := import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
  "outage-notice needs Python 3.11 or newer, and $(PYTHON) is " + sys.version.split()[0] + \
  ": run make again with PYTHON=python3.11 (or newer)")

.PHONY: run test lint tools clean clean-data

# The runtime only: what `make run` needs.
$(BIN)/.runtime: pyproject.toml
	@$(PYTHON) -c '$(NEEDS_311)'
	@# A .venv left by an older or broken install is made again; data/ is not in it.
	@$(BIN)/python -c '$(NEEDS_311)' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

# The test tools on top (pytest, playwright, schemathesis, ruff, mypy): only `make test` needs them.
$(BIN)/.dev: $(BIN)/.runtime
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.runtime
	$(BIN)/outage-notice serve --demo

test: $(BIN)/.dev lint tools
	$(BIN)/pytest -q

# Debian packages the tests drive: chromium (browser tests), wrk and redis-tools (the benchmarks'
# smoke runs); installed here when missing and we may (root, apt), else those tests are skipped.
SYSTEM_TOOLS := chromium:chromium wrk:wrk redis-benchmark:redis-tools
tools:
	@missing=""; for tool in $(SYSTEM_TOOLS); do \
	  command -v $${tool%%:*} >/dev/null 2>&1 || missing="$$missing $${tool##*:}"; done; \
	[ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q $$missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; }; \
	  else echo "missing and not installable here:$$missing (their tests will be skipped)"; fi; }

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The virtual environment only; the service's data stays.
clean:
	rm -rf $(VENV)

# The service's data (the embedded store's AOF, its password): everything the service knew.
clean-data:
	rm -rf data
