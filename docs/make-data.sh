#!/usr/bin/env bash
# Rerun the documented commands whose results the docs quote (make docs-data), on the local cores,
# and copy the small result files the pages are generated from into the repository:
#   experiments/calibration/fit/    model selection and fit (docs/calibration.md)
#   experiments/calibrated-2000-2020.toml, experiments/strategy-usb-budget.toml: fitted values
#   docs/data/strategy-usb-budget/  the strategy comparison (docs/strategies.md)
#   docs/data/fit-checks.parquet    the fitted statistics at other scales, without deterrence
#   docs/data/sensitivity/          Morris and Sobol indices (docs/sensitivity.md)
# Give it the machine alone: the selection and the fit are about two hours of two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
SCENARIO=experiments/calibration/dprk-2000-2020.toml
FIT=experiments/calibration/fit
WORKERS=${WORKERS:-2}
mkdir -p "$FIT" results

# 1. Which mechanisms does the record support? ABC-SMC model selection over the variants, and the
#    posterior predictive of the most probable one.
"$BIN/diffusion" calibrate "$SCENARIO" --out results/selection --select --particles 200 \
    --generations 3 --kernel-scale 4 --predictive 50 --workers "$WORKERS"
cp results/selection/models.parquet "$FIT/models.parquet"
cp results/selection/generations.parquet "$FIT/selection-generations.parquet"
cp results/selection/fit.parquet "$FIT/selection-fit.parquet"

# 2. The fit: `all`, the variant that contains the others (docs/calibration.md, "The fit", says
#    why not the most probable one alone), 200 particles until the acceptance rate falls below 10%
#    or 6 generations are done, and its posterior predictive (200 runs, fresh seeds). Both runs
#    propose with 4 times the kernel's covariance (docs/calibration.md, "What is fitted").
"$BIN/diffusion" calibrate "$SCENARIO" --out results/fit --variant all --particles 200 \
    --generations 6 --min-acceptance 0.1 --kernel-scale 4 --predictive 200 --workers "$WORKERS"
for name in generations posterior fit; do
    cp "results/fit/$name.parquet" "$FIT/$name.parquet"
done
cp results/fit/fit.png docs/img/calibration-fit.png

# 3. The posterior medians into the calibrated scenario and the strategy experiment, and the
#    fitted statistics at other scales.
"$BIN/python" docs/apply_fit.py
"$BIN/python" docs/fit_checks.py

# 4. The strategy comparison on the fitted behaviour (docs/strategies.md).
STRATEGY=docs/data/strategy-usb-budget
mkdir -p "$STRATEGY"
"$BIN/diffusion" strategy experiments/strategy-usb-budget.toml --out results/strategy-usb-budget \
    --workers "$WORKERS"
for name in summary differences search_steps; do
    cp "results/strategy-usb-budget/$name.parquet" "$STRATEGY/$name.parquet"
done
for figure in differences reach-over-time reach-by-province strategies-front search-front; do
    cp "results/strategy-usb-budget/$figure.png" "docs/experiments/img/strategy-usb-budget-$figure.png"
done

# 5. The sensitivity analysis of the calibration scenario's shared priors (docs/sensitivity.md).
"$BIN/diffusion" sensitivity "$SCENARIO" --out results/sa --trajectories 10 --samples 16 \
    --workers "$WORKERS"
mkdir -p docs/data/sensitivity
cp results/sa/morris.parquet results/sa/sobol.parquet docs/data/sensitivity/
cp results/sa/morris.png docs/img/sensitivity-morris.png
cp results/sa/sobol.png docs/img/sensitivity-sobol.png
