"""The model's vocabulary as data: any number of media, dated schedules, exposure channels."""

import datetime as dt

import numpy as np
import pyarrow.parquet as pq
import pytest

import diffusion
from diffusion import Network, Params, simulate
from diffusion.config import load_config
from diffusion.simulate import FULL_MODEL_ENGINES
from diffusion.ties import CHANNELS, KIND

FOUR_MEDIA = {"vcr": {"spread": "lent", "concealment": 2.0}, "microsd": {"concealment": 0.2}}
FOUR_MIX = {"usb": 1.0, "dvd": 1.0, "microsd": 1.0, "vcr": 1.0}


@pytest.fixture(scope="module")
def pop():
    return diffusion.build_population(30_000, seed=4, n_regions=20)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_four_media_add_up_and_a_lent_medium_is_handed_on(engine, pop):
    """A fourth medium is a config change: counts per medium add up to the informed, and the
    lent VCR tapes travel (more people watched them than there are tapes, and without
    detection no tape is lost)."""
    params = Params(beta=0.1, gamma=0.05, media=FOUR_MEDIA, mix=FOUR_MIX, mode="group")
    res = simulate(pop, params, seeds=80, rng=3, steps=120, engine=engine)
    assert res.media == ("usb", "dvd", "microsd", "vcr")
    assert np.array_equal(res.medium_counts.sum(axis=1)[:, 1:], res.counts[:, 1:])
    vcr = res.media.index("vcr")
    tapes = res.lent_copies[:, vcr]
    assert tapes[0] > 0 and np.all(tapes == tapes[0])
    watched_tape = res.medium_counts[-1, vcr, 1:].sum()
    assert watched_tape > 5 * tapes[0]
    assert np.all(res.medium_holders[:, vcr] <= tapes[0])
    first = np.bincount(res.reached.medium[res.reached.step >= 0], minlength=4)
    assert np.all(first > 0)  # every medium reached someone first


def test_a_medium_declared_in_a_config_reaches_the_result_files(tmp_path):
    config = tmp_path / "four.toml"
    config.write_text(
        """
[network]
type = "erdos_renyi"
n = 3000
mean_degree = 6
seed = 1

[model]
beta = 0.2
gamma = 0.2
delta = 0.01
mix = {usb = 1, vcr = 1}

[model.media.vcr]
spread = "lent"
concealment = 2.0

[run]
steps = 60
seeds = 20
"""
    )
    experiment = load_config(config)
    assert experiment.model.media["vcr"].lent
    from diffusion.runner import run_scenario, write_run

    paths = write_run(run_scenario(experiment), tmp_path / "out")
    media = pq.read_table(paths["media"])
    assert {"vcr_W", "vcr_I", "vcr_R", "vcr_D", "vcr_copies", "usb_I"} <= set(media.column_names)
    assert "usb_copies" not in media.column_names


@pytest.mark.parametrize("mode", ["edge", "group"])
@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_households_only_reach_people_through_households(engine, mode):
    """No circles and no traders: every person reached (but the seeds) came through a household."""
    homes = diffusion.build_population(
        20_000, seed=2, n_regions=10, circles_per_agent=(0, 0), trader_fraction=0.0
    )
    params = Params(beta=0.5, gamma=0.1, mode=mode, host_prob=0.9)
    res = simulate(homes, params, seeds=200, rng=1, engine=engine)
    reached = res.reached.step >= 0
    channel = res.reached.channel[reached]
    assert np.count_nonzero(channel == CHANNELS.index("seed")) == 200
    assert np.all((channel == KIND["household"]) | (channel == CHANNELS.index("seed")))
    assert res.reach[-1] > 400
    counts = res.channel_counts()
    assert counts.sum() == res.reach[-1]
    assert np.array_equal(counts.sum(axis=(1, 2, 3)), np.diff(res.reach, prepend=0))


@pytest.mark.parametrize("engine", ["event", *FULL_MODEL_ENGINES])
def test_the_channel_is_the_kind_of_the_tie_that_reached(engine):
    """A star whose centre has household ties to leaves 1-5 and market ties to leaves 6-10."""
    edges = np.column_stack([np.zeros(10, int), np.arange(1, 11)])
    kinds = np.repeat([KIND["household"], KIND["market"]], 5)
    star = Network.from_edges(11, edges, kind=kinds)
    res = simulate(star, Params(beta=1.0, gamma=1.0), seeds=[0], rng=1, engine=engine)
    assert res.reached.step.tolist() == [0] + [1] * 10
    names = [CHANNELS[c] for c in res.reached.channel]
    assert names == ["seed"] + ["household"] * 5 + ["market"] * 5


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_entry_follows_its_dated_schedule(engine, pop):
    """No copies before 2001-01-01, then 3 a day: DVDs until 2001-03-01, then USB drives."""
    params = Params(
        beta=0.0,
        gamma=1.0,
        start=dt.date(2000, 12, 1),
        entry_trader_share=0.0,
        mix={"dvd": 1},
        entry=[
            {"start": dt.date(2001, 1, 1), "rate": 3.0},
            {"start": dt.date(2001, 3, 1), "mix": {"usb": 1}},
        ],
    )
    res = simulate(pop, params, seeds=0, rng=2, steps=150, engine=engine)
    first_copy, switch = 32, 32 + 59  # steps of 2001-01-01 and 2001-03-01
    assert not res.entered[:first_copy].any() and res.entered[first_copy:].sum() > 300
    reached = res.reached.step >= 0
    assert np.all(res.reached.channel[reached] == CHANNELS.index("entry"))
    medium = np.asarray(res.media)[res.reached.medium[reached]]
    step = res.reached.step[reached]
    assert set(medium[step < switch]) == {"dvd"} and set(medium[step >= switch]) == {"usb"}
    dates = res.dates()
    assert dates[0] == np.datetime64("2000-11-30") and dates[first_copy] == np.datetime64(
        "2001-01-01"
    )


@pytest.mark.parametrize("engine", ["event", *FULL_MODEL_ENGINES])
def test_a_campaign_written_with_dates_is_the_campaign_written_with_steps(engine):
    net = Network.erdos_renyi(5_000, 6, seed=3)
    dated = Params(
        beta=0.1,
        gamma=0.1,
        delta=0.01,
        start=dt.date(2010, 1, 1),
        campaigns=[{"start": dt.date(2010, 1, 10), "end": dt.date(2010, 1, 20), "delta": 0.3}],
    )
    stepped = Params(
        beta=0.1, gamma=0.1, delta=0.01, campaigns=[{"start": 10, "end": 20, "delta": 0.3}]
    )
    a = simulate(net, dated, seeds=10, rng=5, engine=engine)
    b = simulate(net, stepped, seeds=10, rng=5, engine=engine)
    assert np.array_equal(a.counts, b.counts)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"campaigns": [{"start": dt.date(2001, 1, 1), "end": 5, "delta": 0.1}]}, "start"),
        ({"start": dt.date(2001, 1, 1), "entry": [{"start": dt.date(2000, 1, 1)}]}, "before"),
        ({"entry": [{"start": 20, "rate": 1}, {"start": 10, "rate": 2}]}, "order"),
        ({"mix": {"betamax": 1}}, "mix: 'betamax' is not a medium"),
        ({"mix": {"usb": 0}}, "must not all be 0"),
        ({"media": {"Bad Name": {}}}, "name"),
        ({"media": {"usb": {"spread": "burned"}}}, "spread"),
    ],
)
def test_bad_vocabulary_names_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Params(beta=0.1, gamma=0.1, **changes)
