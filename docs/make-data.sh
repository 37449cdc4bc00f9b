#!/usr/bin/env bash
# Rerun the documented commands whose results the docs quote (make docs-data), on the local cores,
# and copy the small result files the pages are generated from into the repository:
#   experiments/calibration/fit/   model selection and fit (docs/calibration.md)
# Give it the machine alone: the fit alone is about an hour of two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
SCENARIO=experiments/calibration/dprk-2000-2020.toml
FIT=experiments/calibration/fit
WORKERS=${WORKERS:-2}
mkdir -p "$FIT" results

# 1. Which mechanisms does the record support? ABC-SMC model selection over the variants.
"$BIN/diffusion" calibrate "$SCENARIO" --out results/selection --select --particles 300 \
    --generations 4 --predictive 50 --workers "$WORKERS"
cp results/selection/models.parquet "$FIT/models.parquet"
cp results/selection/generations.parquet "$FIT/selection-generations.parquet"

# 2. The best-supported variant, fitted with 200 particles until the acceptance rate falls below
#    5% or 8 generations are done, and its posterior predictive (200 runs, fresh seeds).
BEST=$("$BIN/python" -c "import pyarrow.parquet as pq; t = pq.read_table('$FIT/models.parquet').to_pylist(); print(max(t, key=lambda r: r['probability'])['model'])")
"$BIN/diffusion" calibrate "$SCENARIO" --out results/fit --variant "$BEST" --particles 200 \
    --generations 8 --min-acceptance 0.05 --predictive 200 --workers "$WORKERS"
for name in generations posterior fit; do
    cp "results/fit/$name.parquet" "$FIT/$name.parquet"
done
cp results/fit/fit.png docs/img/calibration-fit.png
