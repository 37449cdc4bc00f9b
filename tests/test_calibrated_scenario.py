"""The calibrated scenario carries the committed fit: each fitted rate is its posterior median."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from diffusion.calibration.report import posterior_summary
from diffusion.config import load_config

ROOT = Path(__file__).resolve().parent.parent
POSTERIOR = ROOT / "experiments" / "calibration" / "fit" / "posterior.parquet"
SCENARIO = ROOT / "experiments" / "calibrated-2000-2020.toml"


def value_at(data: dict, path: str):
    for key in path.split("."):
        data = data[int(key)] if key.isdigit() else data[key]
    return data


@pytest.mark.parametrize(
    "row", posterior_summary(pq.read_table(POSTERIOR)).to_pylist(), ids=lambda r: r["parameter"]
)
def test_each_fitted_rate_is_its_posterior_median(row):
    resolved = load_config(SCENARIO).resolved()
    assert value_at(resolved, row["parameter"]) == pytest.approx(float(f"{row['median']:.3g}"))
