"""Model-side statistics on runs whose answers are known exactly, and the province weights."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import diffusion
from diffusion import Params, simulate
from diffusion.calibration.statistics import knew_punished, watched
from diffusion.calibration.weights import province_weights
from diffusion.network import Network
from diffusion.results import Reached, Result
from diffusion.world import World

START = dt.date(2000, 1, 1)
PROVINCES = ("Pyongyang", "North Hamgyong", "Ryanggang", "Kangwon")
SIZES = (10, 20, 10, 10)  # agents per province (one region each)
DEFECTORS = {"border": 0.8, "Pyongyang": 0.1}  # Kangwon, the rest, gets 0.1


@pytest.fixture(scope="module")
def world() -> World:
    region = np.repeat(np.arange(4), SIZES).astype(np.int16)
    empty = Network.from_edges(len(region), np.zeros((0, 2), int))
    agents = {"region": region, "n_regions": 4}
    return World(
        empty, agents, region[:0], region[:0], np.arange(4), np.ones(4, bool), PROVINCES, True
    )


@pytest.fixture(scope="module")
def result() -> Result:
    """Ten steps from 2000-01-01. Pyongyang: 5 of 10 reached on day 3 by USB; North Hamgyong:
    10 of 20 initial DVD holders and 4 more on day 8 by USB; Ryanggang: all 10 on day 10 by
    microSD; Kangwon: nobody."""
    step = np.full(50, -1, np.int32)
    medium = np.zeros(50, np.uint8)  # usb, dvd, microsd
    step[0:5] = 3
    step[10:20], medium[10:20] = 0, 1
    step[20:24] = 8
    step[30:40], medium[30:40] = 10, 2
    counts = np.zeros((11, 5), np.int64)
    counts[:, 0] = 50
    reached = Reached(step=step, channel=np.zeros(50, np.uint8), medium=medium)
    return Result(
        counts=counts,
        new_detections=np.zeros(11, np.int64),
        media=("usb", "dvd", "microsd"),
        reached=reached,
        start=START,
    )


def test_province_weights_split_groups_by_agents(world):
    weights = province_weights(DEFECTORS, world)
    assert weights == pytest.approx([0.1, 0.8 * 2 / 3, 0.8 / 3, 0.1], abs=1e-15)
    assert province_weights({}, world) == pytest.approx(np.array(SIZES) / 50, abs=1e-15)
    assert province_weights({"Kangwon": 1.0}, world) == pytest.approx([0, 0, 0, 1], abs=0)
    with pytest.raises(ValueError, match="'Chagang'"):
        province_weights({"Chagang": 0.5}, world)
    one = World.of(Network.erdos_renyi(50, 2, seed=1))
    assert province_weights({}, one).tolist() == [1.0]
    with pytest.raises(ValueError, match="census provinces"):
        province_weights(DEFECTORS, one)


def test_watched_by_a_date_weights_the_provinces(world, result):
    weights = province_weights(DEFECTORS, world)
    day5, day10 = dt.date(2000, 1, 5), dt.date(2000, 1, 10)
    # day 5: Pyongyang 1/2, North Hamgyong 1/2, Ryanggang and Kangwon 0
    assert watched(result, world, weights, day5) == pytest.approx(0.1 / 2 + 0.8 * 2 / 3 / 2)
    # day 10: 1/2, 14/20, 1, 0
    expected = 0.1 / 2 + 0.8 * 2 / 3 * 0.7 + 0.8 / 3
    assert watched(result, world, weights, day10) == pytest.approx(expected, abs=1e-15)
    national = province_weights({}, world)
    assert watched(result, world, national, day10) == pytest.approx(29 / 50, abs=1e-15)
    assert watched(result, world, national, dt.date(1999, 12, 31)) == pytest.approx(10 / 50)


def test_first_medium_counts_only_the_media_given(world, result):
    weights = province_weights(DEFECTORS, world)
    day10 = dt.date(2000, 1, 10)
    usb = 0.1 / 2 + 0.8 * 2 / 3 * 4 / 20
    assert watched(result, world, weights, day10, ["usb"]) == pytest.approx(usb, abs=1e-15)
    both = usb + 0.8 / 3
    assert watched(result, world, weights, day10, ["usb", "microsd"]) == pytest.approx(both)
    with pytest.raises(ValueError, match="'vcr' is not a medium"):
        watched(result, world, weights, day10, ["vcr"])


def test_a_date_outside_the_run_is_an_error(world, result):
    weights = province_weights({}, world)
    with pytest.raises(ValueError, match="outside the run"):
        watched(result, world, weights, dt.date(2000, 1, 11))


def test_watched_agrees_with_the_counts_of_a_real_run():
    """On a census-province population, the population-weighted share watched by each date is
    the run's reach on that row, and the border weighting counts the border provinces more."""
    pop = diffusion.build_population(20_000, seed=3)
    world = World.of(pop)
    params = Params(
        beta=0.05,
        gamma=0.05,
        delta=0.002,
        mode="group",
        start=START,
        mix={"dvd": 1.0},
        entry_rate=2.0,
        entry=[{"start": dt.date(2000, 3, 1), "mix": {"usb": 1.0}}],
    )
    res = simulate(pop, params, seeds=0, rng=7, steps=120)
    national = province_weights({}, world)
    for step in (20, 60, 120):
        day = START + dt.timedelta(days=step - 1)
        share = watched(res, world, national, day)
        assert share == pytest.approx(res.reach[step] / res.n_agents, abs=1e-12)
    end = START + dt.timedelta(days=119)
    border = watched(res, world, province_weights(DEFECTORS, world), end)
    assert border > share + 0.05  # copies enter in the border provinces
    usb, dvd = (watched(res, world, national, end, [m]) for m in ("usb", "dvd"))
    assert usb + dvd == pytest.approx(share, abs=1e-12) and usb > 0 and dvd > 0


def test_knew_punished_counts_people_with_a_tie_detected_by_the_date(world, result):
    """Pyongyang: 5 of 10 had a tie detected on day 4; North Hamgyong: 5 of 20 on day 9."""
    tie_detected = np.full(50, -1, np.int32)
    tie_detected[0:5], tie_detected[10:15] = 4, 9
    reached = Reached(
        step=result.reached.step,
        channel=result.reached.channel,
        medium=result.reached.medium,
        tie_detected=tie_detected,
    )
    run = Result(
        counts=result.counts,
        new_detections=result.new_detections,
        media=result.media,
        reached=reached,
        start=START,
    )
    weights = province_weights(DEFECTORS, world)
    assert knew_punished(run, world, weights, dt.date(2000, 1, 3)) == 0
    assert knew_punished(run, world, weights, dt.date(2000, 1, 5)) == pytest.approx(0.1 / 2)
    expected = 0.1 / 2 + 0.8 * 2 / 3 * 5 / 20
    assert knew_punished(run, world, weights, dt.date(2000, 1, 10)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="ties were detected"):
        knew_punished(result, world, weights, dt.date(2000, 1, 10))  # no record in this Result


def test_a_named_border_province_keeps_its_own_weight(world):
    """North Hamgyong named in a weighting with ``border``: it gets its own 0.1, the border share
    goes to the other border province (Ryanggang) alone, and the rest (0.1) to Pyongyang and
    Kangwon by agents (issue 20, B)."""
    weights = province_weights({"border": 0.8, "North Hamgyong": 0.1}, world)
    assert weights == pytest.approx([0.05, 0.1, 0.8, 0.05], abs=1e-15)


def test_knew_punished_counts_a_detection_on_the_evaluation_day(world):
    """A tie detected in step 5 (2000-01-05) counts on that very day, not the day before."""
    tie_detected = np.full(50, -1, np.int32)
    tie_detected[0:5] = 5  # half of Pyongyang
    reached = Reached(step=np.full(50, -1, np.int32), channel=np.zeros(50, np.uint8),
                      medium=np.zeros(50, np.uint8), tie_detected=tie_detected)  # fmt: skip
    counts = np.zeros((11, 5), np.int64)
    result = Result(counts=counts, new_detections=np.zeros(11, np.int64), reached=reached,
                    media=("usb",), start=START)  # fmt: skip
    only_pyongyang = province_weights({"Pyongyang": 1.0}, world)
    assert knew_punished(result, world, only_pyongyang, dt.date(2000, 1, 5)) == 0.5
    assert knew_punished(result, world, only_pyongyang, dt.date(2000, 1, 4)) == 0.0
