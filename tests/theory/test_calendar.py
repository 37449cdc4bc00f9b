"""The calendar kernel against the day-by-day reading of the model it samples.

The calendar kernel (``engine="calendar"``) draws each holder's next detection, ceasing, viewing,
tie-by-tie share and sale as geometric waits and visits a holder only on the days one of them
fires; the step kernel (``engine="step"``) draws every holder's trials every day. They address
their draws differently, so they agree in distribution, not run by run: these tests check the
calendar's clocks exactly where the answer is known draw for draw (one clock, its address, its
power table), its restarts over long waits against the geometric law, and then both kernels with
every mechanism on, statistic by statistic, against each other (Welch, ``Z`` standard errors).
"""

import numpy as np
import pytest
from diffusion._media import sort_unique_ids

from diffusion import Campaign, Network, Params, simulate
from diffusion.population import PopulationConfig
from diffusion.streams import RunStreams, addressed_uniforms
from diffusion.ties import CHANNELS

CLOCK = 10  # kernels/rng.pxd's purpose of the calendar's waits
START_CLOCKS = 0  # kernels/media.pyx: ``other`` of a holding's first clocks
TABLE_SPAN = 4096  # kernels/rng.pxd: days one clock draw covers (one trial a day)
Z = 4.5  # about 7e-6 two-sided per comparison; the seeds are fixed, so each test is one draw


def isolated(n: int) -> Network:
    return Network.from_edges(n, np.zeros((0, 2), dtype=np.int64))


def power_table(p: float, span: int = TABLE_SPAN) -> np.ndarray:
    """(1 - p)**k for k = 0..span, by repeated multiplication as the kernel builds it."""
    return np.concatenate([[1.0], np.cumprod(np.full(span, 1.0 - p))])


def first_ceasing_day(key, holders: np.ndarray, gamma: float) -> np.ndarray:
    """The day each seed's ceasing clock fires, from the first uniform of its first clocks'
    stream (holder, 1, CLOCK, START_CLOCKS): with no detection, no ties and no groups it is the
    only clock that draws. NaN where the first window has no success."""
    v = 1.0 - addressed_uniforms(key, holders, 1, CLOCK, START_CLOCKS)[:, 0]
    below = power_table(gamma)[None, 1:] < v[:, None]
    return np.where(below.any(axis=1), below.argmax(axis=1) + 1, np.nan)


def test_a_holders_first_clocks_come_from_one_addressed_stream():
    """Isolated holders that can only cease (gamma 0.02): each holds until the day its ceasing
    clock fires, the first k whose table entry (1 - gamma)**k falls below 1 - u, u the first
    uniform at (holder, 1, CLOCK, START_CLOCKS). The holders still holding each day are exactly
    those whose day is later; any other address or table gives other days."""
    n, gamma, steps = 2000, 0.02, 300
    res = simulate(isolated(n), Params(beta=0.0, gamma=gamma), seeds=np.arange(n), rng=5,
                   steps=steps, engine="calendar")  # fmt: skip
    day = first_ceasing_day(RunStreams.of(5).kernel_key(), np.arange(n), gamma)
    assert not np.isnan(day).any()
    expected = [(day > t).sum() for t in range(steps + 1)]
    assert res.state("I").tolist() == expected
    assert res.state("R").tolist() == [n - e for e in expected]


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 50_000])
@pytest.mark.parametrize("top", [1, 5000, 2**20, 2**25, 2**31 - 1])
def test_a_days_entries_are_sorted_and_unique(size, top):
    """The day's calendar entries are visited in id order, each once: the radix sort (from
    4,096 entries: one to three passes as the largest id needs) and std::sort below it agree
    with numpy, repeats included."""
    ids = np.random.default_rng(size + top).integers(0, top, size=size, dtype=np.int32)
    ids = np.concatenate([ids, ids[: size // 3]])  # repeats, as stale entries make
    assert sort_unique_ids(ids).tolist() == np.unique(ids).tolist()


def test_waits_beyond_a_window_restart_with_the_geometric_law():
    """Ceasing at gamma 0.0004 (a mean wait of 2,500 days) over 9,000 days: a clock draw covers
    TABLE_SPAN days, so a holder still holding then restarts its clock, and entries more than the
    calendar's ring ahead wait in its far list. Up to TABLE_SPAN the holders are exactly those the
    first draws predict; after it, the count still holding follows Binomial(n, (1 - gamma)**t)."""
    n, gamma, steps = 4000, 0.0004, 9000
    res = simulate(isolated(n), Params(beta=0.0, gamma=gamma), seeds=np.arange(n), rng=3,
                   steps=steps, engine="calendar")  # fmt: skip
    holding = res.state("I")
    day = first_ceasing_day(RunStreams.of(3).kernel_key(), np.arange(n), gamma)
    restarted = np.isnan(day).sum()
    assert restarted > 100  # the restarts are exercised
    for t in (1, 300, 2000, TABLE_SPAN):
        assert holding[t] == (np.nan_to_num(day, nan=np.inf) > t).sum()
    for t in (TABLE_SPAN + 1, 5000, 7000, steps):
        q = (1.0 - gamma) ** t
        assert abs(holding[t] - n * q) < Z * np.sqrt(n * q * (1.0 - q)), t
    assert holding[TABLE_SPAN + 1] <= holding[TABLE_SPAN]


# ------------------------------------------------------------------ the two kernels in distribution
@pytest.fixture(scope="module")
def country():
    return PopulationConfig(n_agents=8000, n_regions=10).build(seed=4)


SCENARIOS = {
    # viewings in groups, DVDs lent, fear that lowers sharing, informants that raise detection, a
    # crackdown (the detection clock restarts where it begins and ends), bribes, implication, entry
    "groups": Params(
        beta=0.05, gamma=0.05, delta=0.003, mode="group", host_prob=0.12,
        mix={"usb": 0.6, "dvd": 0.4}, acceptance_market=1.5, acceptance_older=0.7,
        informant_risk=3.0, p_bribe=0.3, p_implicate=0.3, fear_factor=0.5, fear_steps=14,
        campaigns=(Campaign(start=30, end=45, delta=0.03),), entry_rate=20.0,
    ),
    # tie by tie at full trust and acceptance, fear that stops sharing for a while (the tie clock
    # runs at the calm rate and thins), informants who make detection certain on their day
    "edges": Params(
        beta=0.06, gamma=0.08, delta=0.01, fear_factor=0.0, fear_steps=10,
        informant_risk=1000.0, p_implicate=0.2, mix={"usb": 0.5, "microsd": 0.5},
    ),
    # public trials, their witnesses and deterrence, refusal, traders' sales and rentals
    "record": Params(
        beta=0.04, gamma=0.03, delta=0.004, mode="group", host_prob=0.2,
        mix={"usb": 0.5, "dvd": 0.5}, p_public=0.5, attendance=0.05, deterrence=0.5,
        deterrence_steps=20, refusal_older=0.3, refusal_market=0.1, market_rate=0.02,
        acceptance_market=1.2, entry_rate=10.0,
    ),
}  # fmt: skip


def statistics(res) -> dict[str, float]:
    """What a run is asked for: reach, detections, the epidemic's shape, entry, public trials
    and their witnesses, sales, discs in circulation."""
    holding = res.state("I")
    channel = res.reached.channel[res.reached.step > 0]
    out = {
        "reach": res.reach[-1],
        "detected": res.state("D")[-1],
        "watchers": res.state("W")[-1],
        "peak": holding.max(),
        "holding day 20": holding[20],
        "holding day 60": holding[60],
        "entered": res.entered.sum(),
        "public trials": res.public_trials.sum(),
        "witnesses": 0 if res.reached.witnessed is None else (res.reached.witnessed >= 0).sum(),
        "sales": (channel == CHANNELS.index("market_sale")).sum(),
        "tie detected": (res.reached.tie_detected >= 0).sum(),
    }
    if "dvd" in res.media:
        out["discs"] = res.lent_copies[-1, res.media.index("dvd")]
    return out


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_calendar_and_step_kernels_agree_in_distribution(country, scenario):
    """30 replicates on each kernel with the same seeds: every statistic's mean agrees within Z
    standard errors of the difference. Each scenario exercises its mechanisms for real (the
    lower bounds below), so an agreement is not two zeros."""
    params, replicates = SCENARIOS[scenario], 30
    runs = {
        engine: [
            statistics(simulate(country, params, seeds=30, rng=100 + i, steps=90, engine=engine))
            for i in range(replicates)
        ]
        for engine in ("calendar", "step")
    }
    for name in runs["step"][0]:
        a = np.array([r[name] for r in runs["calendar"]], dtype=float)
        b = np.array([r[name] for r in runs["step"]], dtype=float)
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) <= Z * se, (name, a.mean(), b.mean(), se)
    means = {name: np.mean([r[name] for r in runs["step"]]) for name in runs["step"][0]}
    assert means["detected"] > 50 and means["reach"] > 500
    if params.mode == "group":
        assert means["entered"] > 50
    if params.has_public_trials():
        assert means["public trials"] > 10 and means["witnesses"] > 100
    if params.market_rate > 0:
        assert means["sales"] > 10
