# clinicvet: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8001

.PHONY: demo test install system-deps bench clean

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

# Debian packages the browser tests need (headless Chromium); skipped when already there.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Run the main job on the bundled demo web: crawl, score, publish, then serve on 127.0.0.1:$(PORT).
demo: install
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/clinicvet demo --db demo.db --port $(PORT)

# Install everything the tests need and run them.
test: install system-deps
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) *.egg-info artifacts demo.db*
