# SkyFence: the two commands of the quick start, and the benchmarks.
#   make demo   the Jonava incursion end to end, live: tracks, classes, alerts, map
#   make test   lint and run the test suite
#   make bench  print benchmark tables (not tests)
# Each target creates .venv and installs what it needs on a fresh machine.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.skyfence-installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "SkyFence needs Python >= 3.11 on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/skyfence demo jonava-gerbera --out demo-out/jonava-gerbera

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_sim.py
	$(BIN)/python benchmarks/bench_geo.py
	$(BIN)/python benchmarks/bench_airspace.py
	$(BIN)/python benchmarks/bench_store.py
	$(BIN)/python benchmarks/bench_classify.py
	$(BIN)/python benchmarks/bench_filters.py
	$(BIN)/python benchmarks/bench_kernels.py
	$(BIN)/python benchmarks/bench_jpda.py
	$(BIN)/python benchmarks/bench_tracker.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_scale.py --motion imm
	$(BIN)/python benchmarks/bench_pipeline.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache
