"""The project documents itself: README example, config reference, sources, experiment pages."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field

from diffusion import config_reference, shipped
from diffusion.cli import main
from diffusion.config import validate_config
from diffusion.config_reference import (
    all_fields,
    field_label,
    missing_meanings,
    reference_markdown,
)
from diffusion.results.io import TABLES
from diffusion.runner import run_scenario

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"


def test_the_readme_starts_with_the_two_commands_then_says_how_to_activate():
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith(
        "# diffusion\n\n```bash\nmake demo   # set up .venv, build the kernels, run "
        "experiments/baseline.toml, print and plot it\nmake test   # set up .venv, build the "
        "kernels, run the test suite and ruff\n```\n\nThen, once per shell, `source "
        ".venv/bin/activate`"
    )


def test_the_readme_example_config_is_valid_and_reaches_people():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```toml\n(\[network\].*?)```", readme, re.S)[1]
    config = validate_config(tomllib.loads(block))
    assert config.run.seeds > 0 or config.model.entry_rate > 0
    small = config.with_overrides(
        {"network.n_agents": 5000, "network.n_regions": 20,
         "run.replicates": 1, "run.steps": 60}
    )  # fmt: skip
    (result,) = run_scenario(small).results
    assert result.summary()["reach"] > 50


def test_the_config_reference_lists_every_field_of_the_schema():
    reference = reference_markdown()
    fields = all_fields()
    assert len(fields) > 100
    for path, _model, _info in fields:
        assert f"| `{path.rpartition('.')[2]}` |" in reference, path
    assert '`[network]` type = "population"' in reference
    assert "| `beta` | number | [0, 1] | required |" in reference
    assert "| `steps` | integer >= 1 or (none) |" not in reference  # types read as TOML words
    for heading in (
        "### `model.media`",
        "### `model.campaigns`",
        "## `[calibration]`",
        "## `[sensitivity]`",
        "## `[strategy]`",
        "## The targets file",
    ):
        assert heading in reference, heading  # fmt: skip


def test_every_field_of_the_reference_has_a_meaning():
    assert missing_meanings() == []


def test_a_field_without_a_description_is_caught(monkeypatch):
    class Undocumented(BaseModel):
        documented: int = Field(default=1, description="Has a meaning.")
        bare: int = 2

    monkeypatch.setattr(config_reference, "SECTIONS", (("extra", Undocumented),))
    monkeypatch.setattr(config_reference, "FILES", ())
    assert missing_meanings() == ["extra.bare"]


def test_citations_read_as_in_the_sources():
    reference = reference_markdown()
    assert "[S0]" in reference and "[S4]" in reference and "[C1]" in reference
    assert not re.search(r"source 0\d\d|\(00\d", reference)


def test_the_committed_config_reference_is_the_generated_one():
    committed = (DOCS / "config-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "stale: run `make config-reference`"


def test_field_labels_come_from_the_schema():
    assert field_label("model.delta").startswith("model.delta")
    assert field_label("model.no_such_field") == "model.no_such_field"


SHARED = re.compile(r"\.\./sha" r"red|sha" r"red folder|MODEL\.md|\d{3}_[0-9a-f]{16}\.txt")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    suffixes = {".md", ".toml", ".py", ".yml", ".sh", ""}
    return [ROOT / n for n in names if Path(n).suffix in suffixes and (ROOT / n).is_file()]


def test_nothing_points_outside_the_project():
    offenders = [
        str(path.relative_to(ROOT))
        for path in tracked_text_files()
        if path.name != "test_docs.py" and SHARED.search(path.read_text(errors="ignore"))
    ]
    assert offenders == []


def test_every_source_cited_in_the_experiments_is_listed():
    sources = (DOCS / "sources.md").read_text()
    listed = set(re.findall(r"\*\*\[(S\d)\]\*\*", sources))
    assert listed == {"S0", "S1", "S2", "S3", "S4"}
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        cited = set(re.findall(r"S\d", " ".join(re.findall(r"\[S[\d, S-]+\]", path.read_text()))))
        assert cited and cited <= listed, path.name


@pytest.mark.parametrize("page", sorted((DOCS / "experiments").glob("*.md")), ids=lambda p: p.name)
def test_experiment_pages_show_existing_figures(page):
    for image in re.findall(r"\]\((img/[^)]+\.png)\)", page.read_text()):
        assert (page.parent / image).is_file(), image


def test_the_figures_stay_small():
    images = list((DOCS / "experiments" / "img").glob("*.png"))
    assert images and sum(p.stat().st_size for p in images) < 2_000_000


def test_the_getting_started_config_is_valid_and_reaches_people():
    page = (DOCS / "getting-started.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", page, re.S)
    config = validate_config(tomllib.loads(block)).with_overrides({"run.replicates": 1})
    (result,) = run_scenario(config).results
    assert result.summary()["reach_share"] > 0.2


def test_the_readme_table_of_shipped_configs_is_the_generated_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.partition(shipped.BEGIN)[2].partition(shipped.END)[0]
    assert block.strip() == shipped.readme_table(ROOT / "experiments"), "run make docs-generated"
    for path in sorted((ROOT / "experiments").rglob("*.toml")):
        assert f"| `{path.relative_to(ROOT)}` |" in block


def test_the_results_files_named_in_the_docs_are_those_a_run_writes(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "run", str(ROOT / "experiments" / "baseline.toml"), "--out", str(out), "--quiet",
        "--set", "network.n_agents=5000", "--set", "network.n_regions=20",
        "--set", "run.replicates=1", "--set", "run.steps=30",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    written = {p.name for p in out.glob("*.parquet")}
    assert written == {f"{name}.parquet" for name in TABLES}  # the baseline records them all
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    started = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    for name in written:
        assert f"`{name}`" in readme, name
    table = set(re.findall(r"^\| `(\w+\.parquet)` \|", started, re.M))
    assert table == written


@pytest.mark.parametrize(
    "page", ["baseline", "travel-restriction", "media-eras", "calibrated"], ids=str
)
def test_experiment_pages_on_the_census_country_show_the_province_map(page):
    text = (DOCS / "experiments" / f"{page}.md").read_text(encoding="utf-8")
    (image,) = re.findall(r"\]\((img/[^)]+-provinces\.png)\)", text)
    assert (DOCS / "experiments" / image).is_file()
    script = (DOCS / "experiments" / "make-figures.sh").read_text(encoding="utf-8")
    name = image.removeprefix("img/").removesuffix("-provinces.png")
    assert re.search(rf"^run {name} .*\bprovinces\b", script, re.M), name
