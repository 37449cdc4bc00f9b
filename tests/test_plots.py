"""Plots: run figures from a written run folder, sweep figures from a table of real runs."""

import numpy as np
import pyarrow as pa
from PIL import Image

from diffusion import Network, Params, simulate
from diffusion.config import validate_config
from diffusion.population.provinces import PROVINCES
from diffusion.results.plots import _first_reached, _sweep_axis, _sweep_map, plot_run, plot_sweep
from diffusion.results.provinces_map import BORDER, TILES, is_census, province_reach
from diffusion.runner import run_scenario, write_run


def assert_png(path, min_size=(400, 300)):
    assert path.is_file() and path.stat().st_size > 10_000
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1]
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # not a blank canvas


def test_run_figures_of_a_population_with_regions_and_media(tmp_path):
    config = validate_config(
        {
            "network": {
                "type": "population",
                "n_agents": 4000,
                "regions": "synthetic",
                "n_regions": 8,
                "border_regions": 2,
                "seed": 1,
            },
            "model": {
                "beta": 0.08,
                "gamma": 0.05,
                "delta": 0.005,
                "mode": "group",
                "mix": {"usb": 0.7, "dvd": 0.3},
                "entry_rate": 0.5,
                "campaigns": [{"start": 20, "end": 30, "delta": 0.05}],
            },
            "run": {"steps": 60, "replicates": 3, "seeds": 0, "seed": 5},
        }
    )
    write_run(run_scenario(config), tmp_path)
    paths = plot_run(tmp_path)
    assert [p.name for p in paths] == ["states.png", "detections.png", "regions.png", "media.png"]
    for path in paths:
        assert_png(path)


def test_run_figures_of_runs_of_different_lengths(tmp_path):
    """Runs to extinction end at different steps; the shorter ones are padded."""
    config = validate_config(
        {
            "network": {"type": "erdos_renyi", "n": 1500, "mean_degree": 6, "seed": 3},
            "model": {"beta": 0.15, "gamma": 0.2, "delta": 0.02},
            "run": {"replicates": 4, "seeds": 4, "seed": 2},
        }
    )
    run = run_scenario(config)
    assert len({r.steps for r in run.results}) > 1
    write_run(run, tmp_path / "run")
    paths = plot_run(tmp_path / "run", tmp_path / "figures")
    assert [p.name for p in paths] == ["states.png", "detections.png"]
    for path in paths:
        assert_png(path)


def sweep_table() -> pa.Table:
    """A 3 x 2 grid over (model.delta, model.media.usb.concealment), 3 replicates, real runs."""
    network = Network.erdos_renyi(1500, 6, seed=7)
    rows = []
    for delta in (0.0, 0.05, 0.1):
        for concealment in (0.5, 1.0):
            params = Params(
                beta=0.15, gamma=0.2, delta=delta, media={"usb": {"concealment": concealment}}
            )
            for replicate, stream in enumerate(np.random.SeedSequence(1).spawn(3)):
                summary = simulate(network, params, seeds=5, rng=stream).summary()
                rows.append(
                    {
                        "replicate": replicate,
                        "model.delta": delta,
                        "model.media.usb.concealment": concealment,
                        "model.mode": "edge" if replicate % 2 else "group",
                        **summary,
                    }
                )
    return pa.Table.from_pylist(rows)


def test_sweep_heatmap_for_two_parameters(tmp_path):
    table = sweep_table()
    paths = plot_sweep(table, ["model.delta", "model.media.usb.concealment"], tmp_path)
    assert [p.name for p in paths] == ["sweep-reach_share.png", "sweep-detected.png"]
    for path in paths:
        assert_png(path)


def test_sweep_curves_for_one_parameter_from_pandas(tmp_path):
    import pandas

    frame = sweep_table().to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    for path in plot_sweep(frame, ["model.delta"], tmp_path / "one"):
        assert_png(path)
    for path in plot_sweep(
        frame, ["model.delta", "model.mode", "model.media.usb.concealment"], tmp_path
    ):
        assert_png(path)


def test_run_figures_read_media_by_name_and_use_province_and_border_columns(tmp_path):
    """Any number of media (``<medium>_<state>`` columns) and optional region attributes."""
    import pyarrow.parquet as pq

    config = validate_config(
        {
            "network": {"type": "population", "n_agents": 3000, "n_regions": 10, "seed": 2},
            "model": {"beta": 0.1, "gamma": 0.05, "mode": "group",
                      "mix": {"usb": 1, "dvd": 1}, "entry_rate": 1.0},
            "run": {"steps": 40, "replicates": 2, "seeds": 0, "seed": 3},
        }
    )  # fmt: skip
    write_run(run_scenario(config), tmp_path)
    regions = pq.read_table(tmp_path / "regions.parquet")
    assert {"province", "border"} <= set(regions.column_names)
    media = pq.read_table(tmp_path / "media.parquet")
    for state in "WIRD":  # a fourth medium, as a config may declare
        media = media.append_column(f"vcr_{state}", media.column(f"usb_{state}"))
    pq.write_table(media, tmp_path / "media.parquet")

    paths = plot_run(tmp_path)
    assert [p.name for p in paths] == [
        "states.png",
        "detections.png",
        "regions.png",
        "provinces.png",
        "media.png",
    ]  # census regions: the province map too
    for path in paths:
        assert_png(path)


def test_the_tile_map_places_each_census_province_on_its_own_tile():
    assert set(TILES) == {p.name for p in PROVINCES}
    assert len(set(TILES.values())) == len(TILES)
    assert BORDER == {"North Pyongan", "Chagang", "North Hamgyong", "Ryanggang"}
    # the border provinces lie along the top and the left, where China is
    assert all(TILES[name][0] <= 1 for name in BORDER)


def test_province_reach_is_the_share_of_each_province_reached(tmp_path):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    config = validate_config(
        {
            "network": {"type": "population", "n_agents": 3000, "n_regions": 10, "seed": 2},
            "model": {"beta": 0.1, "gamma": 0.05, "mode": "group", "entry_rate": 1.0},
            "run": {"steps": 30, "replicates": 1, "seeds": 0, "seed": 3},
        }
    )  # fmt: skip
    write_run(run_scenario(config), tmp_path)
    regions = pq.read_table(tmp_path / "regions.parquet")
    assert is_census(regions)
    names, reach = province_reach(regions)
    assert reach.shape == (31, len(names))
    for name in names:
        rows = regions.filter(
            pc.and_(pc.equal(regions["province"], name), pc.equal(regions["step"], 30))
        )
        informed = sum(pc.sum(rows[s]).as_py() for s in "WIRD")
        agents = informed + pc.sum(rows["S"]).as_py()
        assert reach[30, names.index(name)] == informed / agents
    synthetic = regions.set_column(
        regions.schema.get_field_index("province"), "province",
        pa.array(["synthetic"] * regions.num_rows),
    )  # fmt: skip
    assert not is_census(synthetic)


def test_people_first_reached_by_medium_add_up_to_everyone_reached(tmp_path):
    import pyarrow.parquet as pq

    config = validate_config(
        {
            "network": {"type": "population", "n_agents": 3000, "n_regions": 10, "seed": 2},
            "model": {"beta": 0.1, "gamma": 0.05, "mode": "group",
                      "mix": {"usb": 1, "dvd": 1}, "entry_rate": 1.0},
            "run": {"steps": 40, "replicates": 2, "seeds": 3, "seed": 3},
        }
    )  # fmt: skip
    write_run(run_scenario(config), tmp_path)
    series = pq.read_table(tmp_path / "timeseries.parquet").to_pandas()
    first = _first_reached(pq.read_table(tmp_path / "channels.parquet"), 41)
    assert set(first) == {"usb", "dvd"}
    total = sum(first.values())  # (replicates, steps), cumulative
    for replicate, runs in series.groupby("replicate"):
        expected = (runs[list("WIRD")].sum(axis=1)).to_numpy()
        np.testing.assert_array_equal(total[replicate], expected)


def test_a_grid_sweep_is_drawn_as_equal_cells_each_with_its_numbers():
    rows = [
        {"replicate": r, "network.travel": t, "model.delta": d,
         "reach": 100 * (t + d), "reach_share": t + d + r / 100, "detected": 1}
        for t in (0.0, 0.05, 0.1, 0.5, 1.0) for d in (0.0005, 0.02) for r in range(3)
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows)
    axes = [_sweep_axis(table.column(p).to_numpy(), p) for p in ("model.delta", "network.travel")]
    figure = _sweep_map(axes, table.column("reach_share").to_numpy(), "reach", 3)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "0.05", "0.1", "0.5", "1"]
    assert list(ax.get_yticks()) == [0, 1, 2, 3, 4]  # equal cells, every value labelled
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 10 and all(len(c.splitlines()) == 2 for c in cells)
