# clinicvet: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8001
# axe-core, the accessibility checker the browser tests inject into Chromium (from the npm registry).
AXE_VERSION := 4.11.0
AXE := .cache/axe/node_modules/axe-core/axe.min.js

.PHONY: demo test install system-deps axe bench clean

$(BIN)/clinicvet: pyproject.toml
	@# Debian splits venv (and pip) out of python3: install them when the interpreter lacks them.
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
	  && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/clinicvet

# Debian packages the browser tests need (headless Chromium; npm for axe-core); skipped when already there.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v npm >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }

# axe-core as an npm package into .cache/ (gitignored); tests/test_accessibility.py reads it there.
$(AXE):
	npm install --prefix .cache/axe --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION)
	test -s $@

axe: $(AXE)

# Run the main job on the bundled demo web: crawl, score, publish, then serve on 127.0.0.1:$(PORT).
demo: install
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/clinicvet demo --db demo.db --port $(PORT)

# Install everything the tests need and run them.
test: install system-deps axe
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) *.egg-info artifacts demo.db* .cache
