# The two commands of the README: `make demo` and `make test`. Both set up a virtual
# environment in .venv (numpy, Cython, igraph, dask, ... from PyPI) and build the kernels.
# `make install` installs what a user needs; `make test` adds the test tools (pytest, ruff,
# pandas, dask-jobqueue) and `make docs` the documentation tools (mkdocs and its plugins).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test docs docs-figures bench mutation mutmut clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard kernels/*.pyx kernels/*.pxd)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# An extra's packages (read from pyproject.toml) without reinstalling, so no kernel rebuild.
$(VENV)/.installed-%: $(STAMP) pyproject.toml
	$(BIN)/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['$*']))" > $(VENV)/requirements-$*.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/requirements-$*.txt
	touch $@

demo: install
	$(BIN)/diffusion run experiments/baseline.toml --out demo-output
	$(BIN)/diffusion plot demo-output
	@echo "results (Parquet): demo-output/*.parquet; plots (PNG): demo-output/*.png"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation site, built into site/ with warnings as errors (a broken link fails it).
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Regenerate the figures of the experiment pages (docs/experiments/img/) at reduced cost.
docs-figures: install
	PATH="$(abspath $(BIN)):$$PATH" bash docs/experiments/make-figures.sh

bench: install
	$(BIN)/python -m benchmarks

# Change one thing in a kernel at a time and check that a kernel test fails (tests/mutations.py).
mutation: $(VENV)/.installed-test
	$(BIN)/python tests/mutations.py

# Mutants of the calibration and strategy code (mutmut, configured in pyproject.toml) against
# their tests; `mutmut results` lists the survivors. Long: run it on an idle machine.
mutmut: $(VENV)/.installed-test $(VENV)/.installed-mutation
	$(BIN)/mutmut run
	$(BIN)/mutmut export-cicd-stats 2>/dev/null || true

clean:
	rm -rf $(VENV) build site mutants *.egg-info diffusion/*.so kernels/*.cpp
