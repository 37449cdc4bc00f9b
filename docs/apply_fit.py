"""Write the fit's posterior medians into the scenarios that take them.

``experiments/calibrated-2000-2020.toml`` is the calibration scenario with every fitted parameter
at its posterior median (weighted, last generation of ``experiments/calibration/fit/``), and a
comment block between ``# BEGIN FIT`` and ``# END FIT`` saying how the fit was obtained and what
it reproduces. ``experiments/strategy-usb-budget.toml`` takes the fitted behaviour (sharing,
ceasing, detection, willingness, public trials as from 2012, markets) but keeps its own one-year
calendar and smuggling. Values are written to three significant digits in place, so the files'
comments stay; ``tests/test_calibrated_scenario.py`` fails when a file differs from what this
writes.

    python docs/apply_fit.py          # rewrite the files
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
FIT = ROOT / "experiments" / "calibration" / "fit"
CALIBRATED = ROOT / "experiments" / "calibrated-2000-2020.toml"
STRATEGY = ROOT / "experiments" / "strategy-usb-budget.toml"

STRATEGY_PATHS = {
    "model.beta": "model.beta",
    "model.gamma": "model.gamma",
    "model.delta": "model.delta",
    "model.refusal_older": "model.refusal_older",
    "model.refusal_market": "model.refusal_market",
    "model.public.0.p": "model.p_public",  # the strategy's year is after 2012
    "model.attendance": "model.attendance",
    "model.market_rate": "model.market_rate",
}
"""Fitted parameter -> the strategy experiment's parameter it sets (the rest stay its own)."""


def medians() -> dict[str, tuple[float, float, float]]:
    """Each fitted parameter's weighted posterior median and 90% interval."""
    from diffusion.calibration.report import posterior_summary

    summary = posterior_summary(pq.read_table(FIT / "posterior.parquet"))
    return {r["parameter"]: (r["median"], r["low"], r["high"]) for r in summary.to_pylist()}


def number(x: float) -> str:
    """``x`` to three significant digits, as a TOML float."""
    text = f"{x:.3g}"
    return text if any(c in text for c in ".e") else f"{text}.0"


def set_value(text: str, path: str, value: float) -> str:
    """``text`` with the ``[model]`` value at dotted ``path`` replaced: ``model.KEY`` is a line
    ``KEY = ...``; ``model.LIST.K.KEY`` is ``KEY = ...`` in the K-th ``{...}`` of the list."""
    parts = path.removeprefix("model.").split(".")
    if len(parts) == 1:
        line = re.compile(rf"^({parts[0]} *= *)[-+0-9.e_]+", re.MULTILINE)
        new, count = line.subn(lambda m: m.group(1) + number(value), text, count=1)
    else:
        name, index, key = parts
        items = list_items(text, name, path)
        if int(index) >= len(items):
            raise ValueError(f"{path}: {name} has {len(items)} entries")
        start, end = items[int(index)]
        entry, count = re.subn(
            rf"\b{key} = [-+0-9.e_]+", f"{key} = {number(value)}", text[start:end]
        )
        new = text[:start] + entry + text[end:]
    if count != 1:
        raise ValueError(f"{path}: no single value to set")
    return new


def list_items(text: str, name: str, path: str) -> list[tuple[int, int]]:
    """Where each ``{...}`` of the list ``name = [...]`` is in ``text`` (comments skipped): the
    list on one line, or one item a line up to a line ``]``."""
    head = re.search(rf"^{name} = \[", text, re.MULTILINE)
    if head is None:
        raise ValueError(f"{path}: no list {name} = [...] in [model]")
    items, position = [], head.start()
    for line in text[position:].splitlines(keepends=True):
        code = line.split("#", 1)[0]
        items += [
            (position + m.start(), position + m.end()) for m in re.finditer(r"\{[^}]*\}", code)
        ]
        position += len(line)
        if code.rstrip().endswith("]"):
            break
    return items


def fit_block(posterior: dict[str, tuple[float, float, float]]) -> str:
    """The comment lines between ``# BEGIN FIT`` and ``# END FIT``: how the fit was run, the
    ``posterior`` (``medians()``) and what its predictive reproduces, from the fit files."""
    generations = pq.read_table(FIT / "generations.parquet").to_pylist()
    fit = pq.read_table(FIT / "fit.parquet").to_pylist()
    last = generations[-1]
    runs = sum(g["runs"] for g in generations)
    lines = [
        f"# Fit: {len(generations)} generations of {last['particles']} particles, {runs:,} runs "
        "(docs/calibration.md);",
        "# effective sample size by generation: "
        + ", ".join(f"{g['ess']:.0f}" for g in generations)
        + ".",
        "# Posterior medians and 90% intervals:",
    ]
    for name, (median, low, high) in posterior.items():
        lines.append(f"#   {name:<24} {median:<10.3g} ({low:.3g} - {high:.3g})")
    lines.append(
        "# Posterior predictive (parameters drawn by weight, fresh seeds), median and 90%:"
    )
    for r in fit:
        lines.append(
            f"#   {r['target']:<24} {r['model_median']:.3f} ({r['model_low']:.3f} - "
            f"{r['model_high']:.3f}) against {r['published']:.3f} published"
        )
    return "\n".join(lines)


def calibrated_text() -> str:
    """``experiments/calibrated-2000-2020.toml`` as the fit makes it."""
    text = CALIBRATED.read_text(encoding="utf-8")
    posterior = medians()
    block = re.compile(r"(# BEGIN FIT[^\n]*\n).*?(# END FIT)", re.DOTALL)
    text, count = block.subn(lambda m: m.group(1) + fit_block(posterior) + "\n" + m.group(2), text)
    if count != 1:
        raise ValueError(f"{CALIBRATED}: needs one '# BEGIN FIT' ... '# END FIT' block")
    for path, (median, _, _) in posterior.items():
        text = set_value(text, path, median)
    return text


def strategy_text() -> str:
    """``experiments/strategy-usb-budget.toml`` with the fitted behaviour."""
    text = STRATEGY.read_text(encoding="utf-8")
    for path, (median, _, _) in medians().items():
        if path in STRATEGY_PATHS:
            text = set_value(text, STRATEGY_PATHS[path], median)
    return text


def main() -> int:
    for path, text in ((CALIBRATED, calibrated_text()), (STRATEGY, strategy_text())):
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
