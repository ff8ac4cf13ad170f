# Two commands do everything: `make demo` and `make test`. Both set up first; the set-up is
# idempotent and takes a second when nothing changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.addnn-stamp

.PHONY: setup system-deps demo test bench clean

setup: system-deps $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

# torch first, by exact version: pip then takes the local CPU wheel instead of resolving a
# CUDA build through a dependency.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	$(VENV)/bin/addnn info
	touch $@

demo: setup
	$(PY) benchmarks/adder_kernel.py

test: setup
	$(PY) -m pytest -q

bench: demo

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis src/*.egg-info
