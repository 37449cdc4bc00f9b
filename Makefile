# The two commands of the README: `make demo` and `make test`. Both set up a virtual
# environment in .venv (numpy, Cython, igraph, dask, ... from PyPI) and build the kernels.
# `make install` installs what a user needs; `make test` adds the test tools (pytest, ruff,
# cython-lint, import-linter, pandas, dask-jobqueue) and `make docs` the documentation tools (mkdocs and
# its plugins).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast docs docs-screenshots docs-figures docs-generated docs-tables docs-data config-reference bench mutation mutmut clean

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
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/cython-lint kernels/
	$(BIN)/lint-imports

# The fast tier: unit and theory tests, no clusters, SLURM or large populations (a developer's
# loop; `make test` is the full tier that CI runs). Modules of the full tier: tests/conftest.py.
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not full"
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The documentation site, built into site/ with warnings as errors (a broken link fails it),
# then checked to load nothing from outside (tests/test_site.py builds it again to check).
docs: $(VENV)/.installed-docs $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_site.py

# Screenshots of the built site served on 127.0.0.1, taken by Debian's headless chromium with no
# other host reachable (docs/screenshots.sh; OUT=folder, default site-screenshots/).
docs-screenshots: docs
	PYTHON=$(BIN)/python bash docs/screenshots.sh

# Regenerate what the docs generate from the code (a test fails when either is stale):
# docs/config-reference.md from the config schema, the README's table of shipped configs.
docs-generated: config-reference
	$(BIN)/python -m diffusion.shipped

config-reference: install
	$(BIN)/python -m diffusion.config_reference

# The tables the pages quote from runs (docs/generated/), written from the committed result files
# of experiments/calibration/fit/ and docs/data/ (tests/test_docs_generated.py checks them).
docs-tables: install
	$(BIN)/python docs/generate.py

# Rerun the documented commands behind those files (hours on 2 cores: the model selection, the
# fit, its posterior predictive and the strategy comparison; docs/calibration.md has the
# commands), then write the tables.
docs-data: $(VENV)/.installed-test
	bash docs/make-data.sh
	$(BIN)/python docs/generate.py

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
	rm -rf $(VENV) build site site-screenshots mutants *.egg-info diffusion/*.so kernels/*.cpp
