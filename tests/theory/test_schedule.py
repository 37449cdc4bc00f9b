"""Detection and ceasing per step, checked exactly where the process is a sequence of binomials.

With beta = 0 every agent seeded holds a copy until it is removed; in step s each holder is
detected with probability delta(s) and otherwise ceases with probability gamma. So
new_D(s) ~ Binomial(I(s-1), delta(s)) and new_R(s) ~ Binomial(I(s-1) - new_D(s), gamma):
the crackdown schedule is tested step by step against those distributions.
"""

import numpy as np
import pytest

import diffusion

N = 1_000_000
Z = 5.0  # per-step z-scores over ~60 steps: a 5-sigma bound keeps the family-wise error < 1e-4


@pytest.mark.parametrize("engine", ["event", "calendar", "step"])
def test_detections_follow_the_crackdown_schedule(engine):
    params = diffusion.Params(
        beta=0.0,
        gamma=0.02,
        delta=0.005,
        campaigns=[{"start": 10, "end": 19, "delta": 0.05}, {"start": 30, "end": 30, "delta": 0.2}],
    )
    net = diffusion.Network.from_edges(N, np.empty((0, 2), dtype=np.int64))
    res = diffusion.simulate(net, params, seeds=N, rng=42, steps=60, engine=engine)
    holders_before = res.counts[:-1, 2].astype(float)
    delta = params.delta_at(np.arange(1, 61))
    new_d = res.new_detections[1:]
    expected_d = holders_before * delta
    z_d = (new_d - expected_d) / np.sqrt(holders_before * delta * (1 - delta))
    assert np.abs(z_d).max() < Z
    new_r = np.diff(res.counts[:, 3])
    at_risk = holders_before - new_d
    z_r = (new_r - at_risk * params.gamma) / np.sqrt(at_risk * params.gamma * (1 - params.gamma))
    assert np.abs(z_r).max() < Z
    # the campaign windows are visible: per-holder detection rate is ~10x the baseline there
    rate = new_d / holders_before
    assert rate[9:19].mean() > 5 * rate[:9].mean()


@pytest.mark.parametrize("engine", ["event", "calendar", "step"])
def test_copy_share_among_exposed(engine):
    """A fraction p_copy of exposed agents become holders, the rest have only watched (W)."""
    params = diffusion.Params(beta=0.2, gamma=0.2, media={"usb": {"p_copy": 0.7}})
    net = diffusion.Network.erdos_renyi(200_000, 10, seed=5)
    res = diffusion.simulate(net, params, seeds=20, rng=9, engine=engine)
    watched, exposed = res.final["W"], res.reach[-1] - 20
    share = 1 - params.media["usb"].p_copy
    assert exposed > 10_000
    assert abs(watched / exposed - share) < Z * np.sqrt(share * (1 - share) / exposed)
