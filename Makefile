# The two commands of the README: `make demo` and `make test`. Both set up a virtual
# environment in .venv (numpy, Cython, igraph, dask, ... from PyPI) and build the kernels.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard kernels/*.pyx kernels/*.pxd)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: install
	$(BIN)/diffusion run experiments/baseline.toml --out demo-output
	$(BIN)/diffusion plot demo-output
	@echo "results (Parquet): demo-output/*.parquet; plots (PNG): demo-output/*.png"

test: install
	$(BIN)/python -m pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info diffusion/*.so kernels/*.cpp
