"""Placed copies (``EntrySchedule``): building, merging, refusing what a run cannot take."""

import numpy as np
import pytest

from diffusion import Network, Params, simulate
from diffusion.entry import EntrySchedule
from diffusion.simulate import FULL_MODEL_ENGINES


def test_arrivals_in_any_order_become_a_table_by_step():
    schedule = EntrySchedule.from_arrivals(5, [3, 1, 3, 5], [30, 10, 31, 50], [1, 0, 0, 1])
    assert schedule.offsets.tolist() == [0, 1, 1, 3, 3, 4]
    assert schedule.agents.tolist() == [10, 30, 31, 50]  # same-step copies keep their order
    assert schedule.media.tolist() == [0, 1, 0, 1]
    assert schedule.copies == 4 and schedule.steps == 5


def test_merging_keeps_every_copy_in_its_step_this_schedules_first():
    a = EntrySchedule.from_arrivals(3, [2, 3], [1, 2], [0, 0])
    b = EntrySchedule.from_arrivals(4, [2, 4], [7, 8], [1, 1])
    merged = a.merged(b)
    assert merged.offsets.tolist() == [0, 0, 2, 3, 4]
    assert merged.agents.tolist() == [1, 7, 2, 8]
    assert merged.media.tolist() == [0, 1, 0, 1]
    assert EntrySchedule.empty(4).merged(b).agents.tolist() == b.agents.tolist()


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (EntrySchedule.from_arrivals(12, [12], [0], [0]), "covers 12 steps but the run has 10"),
        (EntrySchedule.from_arrivals(10, [2], [100], [0]), r"agent ids in 0\.\.99"),
        (EntrySchedule.from_arrivals(10, [2], [5], [3]), r"indices in 0\.\.2"),
        (
            EntrySchedule(np.array([0, 2, 1]), np.zeros(2, np.int32), np.zeros(2, np.uint8)),
            "never decrease",
        ),
    ],
)
def test_a_schedule_the_run_cannot_take_is_refused_by_name(schedule, message):
    net = Network.erdos_renyi(100, 4, seed=1)
    params = Params(beta=0.1, gamma=0.1)  # three media: usb, dvd, microsd
    with pytest.raises(ValueError, match=rf"entry: .*{message}"):
        simulate(net, params, seeds=1, rng=1, steps=10, entry=schedule)


def test_arrival_steps_outside_the_schedule_are_refused():
    with pytest.raises(ValueError, match=r"entry: arrival steps must be in 1\.\.5"):
        EntrySchedule.from_arrivals(5, [0], [1], [0])


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_placed_copies_run_on_the_full_model_and_arrive_when_placed(engine):
    """Placed copies take a full-model kernel (either of them; the default picks one even for
    parameters of the SIR reduction) and arrive in the steps they were placed in."""
    net = Network.erdos_renyi(500, 4, seed=2)
    params = Params(beta=0.0, gamma=0.0, delta=0.0)
    placed = EntrySchedule.from_arrivals(10, [4, 7], [3, 9], [0, 0])
    res = simulate(net, params, seeds=[0], rng=1, steps=10, entry=placed, engine=engine)
    assert res.reached.step[[3, 9]].tolist() == [4, 7]
    assert res.entered.tolist() == [0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]
    default = simulate(net, params, seeds=[0], rng=1, steps=10, entry=placed)  # not 'event'
    assert default.entered.tolist() == res.entered.tolist()
    with pytest.raises(ValueError, match="engine: 'event' has no entry"):
        simulate(net, params, seeds=[0], rng=1, steps=10, entry=placed, engine="event")
    with pytest.raises(ValueError, match="steps: required when copies are placed"):
        simulate(net, Params(beta=0.1, gamma=0.5), seeds=[0], rng=1, entry=placed)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_second_copy_for_a_holder_is_not_counted_as_entered(engine):
    """Two DVDs for agent 3 in step 2 and one for holder 0: agent 3 takes one, the other two are
    not taken up, so one copy entered and one object circulates (issue 20, A5)."""
    net = Network.erdos_renyi(200, 4, seed=2)
    params = Params(beta=0.0, gamma=0.0, delta=0.0)
    dvd = params.media_names.index("dvd")
    placed = EntrySchedule.from_arrivals(4, [2, 2, 2], [3, 3, 0], [dvd] * 3)
    res = simulate(net, params, seeds=[0], rng=1, steps=4, entry=placed, engine=engine)
    assert res.entered.tolist() == [0, 0, 1, 0, 0]
    assert res.lent_copies[:, dvd].tolist() == [0, 0, 1, 1, 1]
    assert res.counts[-1, 2] == 2  # holders: agent 0 (its seed copy) and agent 3
