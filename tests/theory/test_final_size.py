"""docs/model.md section 6: the edge-wise model is discrete-time SIR with detection.

Large outbreaks on Erdős–Rényi graphs must reach ``r = 1 - exp(-c T r)`` with
``T = beta / (1 - (1 - beta)(1 - delta)(1 - gamma))``, and removals must be detections with
probability ``delta / (delta + gamma - delta gamma)``. Every replicate draws a fresh graph, so the
spread across replicates contains both graph and epidemic randomness and the standard error of
the mean is an honest yardstick: tolerances are 4 standard errors (plus the seeds' own share of N).
"""

import numpy as np
import pytest
from scipy.optimize import brentq

import diffusion

N = 100_000
MEAN_DEGREE = 10.0
REPLICATES = 24
SEEDS = 5
LARGE = 0.01  # a run that informs more than 1% of agents took off (minor outbreaks stay O(1))
Z = 4.0


def er_final_size(mean_degree: float, transmissibility: float) -> float:
    """Non-zero root of r = 1 - exp(-c T r), the share reached by a large outbreak."""
    ct = mean_degree * transmissibility
    if ct <= 1:
        return 0.0
    return brentq(lambda r: r - 1 + np.exp(-ct * r), 1e-9, 1.0)


@pytest.fixture(scope="module")
def graphs() -> list[diffusion.Network]:
    return [diffusion.Network.erdos_renyi(N, MEAN_DEGREE, seed=1000 + i) for i in range(REPLICATES)]


def large_outbreaks(graphs, params, trust=None, engine="auto"):
    """Final counts of the replicates that took off."""
    finals = []
    for i, net in enumerate(graphs):
        if trust is not None:
            net = diffusion.Network.from_csr(net.offsets, net.neighbours, trust=trust(net))
        res = diffusion.simulate(net, params, seeds=SEEDS, rng=7919 * i + 1, engine=engine)
        if res.final["S"] < N * (1 - LARGE):
            finals.append(res.counts[-1])
    assert len(finals) >= REPLICATES // 2, "too few outbreaks took off to test the final size"
    return np.array(finals)


PARAMETER_SETS = [
    # (beta, gamma, delta)
    (0.05, 0.2, 0.0),
    (0.05, 0.2, 0.02),
    (0.1, 0.3, 0.1),
    (0.03, 0.1, 0.05),
    (0.3, 1.0, 0.0),  # gamma = 1: independent cascade with edge probability beta
]


@pytest.mark.parametrize(("beta", "gamma", "delta"), PARAMETER_SETS)
@pytest.mark.parametrize("engine", ["event", "calendar", "step"])
def test_final_size_matches_percolation_theory(graphs, beta, gamma, delta, engine):
    """Every kernel: the event kernel and both full-model kernels with everything off."""
    params = diffusion.Params(beta=beta, gamma=gamma, delta=delta)
    expected = er_final_size(MEAN_DEGREE, params.transmissibility())
    finals = large_outbreaks(graphs, params, engine=engine)
    reach = (N - finals[:, 0]) / N
    tolerance = Z * reach.std(ddof=1) / np.sqrt(len(reach)) + SEEDS / N
    assert abs(reach.mean() - expected) < tolerance, (reach.mean(), expected, tolerance)


@pytest.mark.parametrize(("beta", "gamma", "delta"), [p for p in PARAMETER_SETS if p[2] > 0])
@pytest.mark.parametrize("engine", ["event", "calendar", "step"])
def test_detected_share_of_removals(graphs, beta, gamma, delta, engine):
    params = diffusion.Params(beta=beta, gamma=gamma, delta=delta)
    finals = large_outbreaks(graphs, params, engine=engine)
    detected, removed = finals[:, 4].sum(), finals[:, 3].sum() + finals[:, 4].sum()
    share = params.detected_share()
    tolerance = Z * np.sqrt(share * (1 - share) / removed)
    assert abs(detected / removed - share) < tolerance


@pytest.mark.parametrize(
    ("beta", "share", "trust", "gamma", "equivalent_beta"),
    [
        (0.1, 1.0, 0.5, 0.2, 0.05),
        # beta * share > 1: a tie of trust w shares with min(1, beta * share * w) = 0.16
        (0.8, 2.0, 0.1, 0.9, 0.16),
    ],
)
@pytest.mark.parametrize("engine", ["event", "calendar", "step"])
def test_trust_scales_sharing(graphs, engine, beta, share, trust, gamma, equivalent_beta):
    """Trust w on every tie is the same process as trust 1 with sharing min(1, beta share w)."""
    params = diffusion.Params(beta=beta, gamma=gamma, delta=0.02, media={"usb": {"share": share}})
    finals = large_outbreaks(
        graphs, params, trust=lambda net: np.full(len(net.neighbours), trust), engine=engine
    )
    reach = (N - finals[:, 0]) / N
    equivalent = diffusion.Params(beta=equivalent_beta, gamma=gamma, delta=0.02)
    expected = er_final_size(MEAN_DEGREE, equivalent.transmissibility())
    tolerance = Z * reach.std(ddof=1) / np.sqrt(len(reach)) + SEEDS / N
    assert abs(reach.mean() - expected) < tolerance, (reach.mean(), expected, tolerance)


def test_below_threshold_outbreaks_stay_small(graphs):
    """With c T < 1 there are no large outbreaks: reach stays O(1), far below 1% of N."""
    params = diffusion.Params(beta=0.01, gamma=0.2, delta=0.05)
    assert MEAN_DEGREE * params.transmissibility() < 1
    for i, net in enumerate(graphs[:8]):
        res = diffusion.simulate(net, params, seeds=SEEDS, rng=i)
        assert res.final["S"] > N * (1 - LARGE)


FOLDED = [
    # (parameters with a medium factor or bribes, the plain parameters they fold into)
    ({"beta": 0.025, "media": {"usb": {"share": 2.0}}}, {"beta": 0.05}),
    (
        {"beta": 0.05, "delta": 0.08, "media": {"usb": {"concealment": 0.5}}, "p_bribe": 0.5},
        {"beta": 0.05},
    ),
]


@pytest.mark.parametrize(("factors", "plain"), FOLDED)
@pytest.mark.parametrize("engine", ["event", "calendar", "step"])
def test_medium_factors_and_bribes_fold_into_beta_and_delta(graphs, engine, factors, plain):
    """The USB share multiplies beta; concealment and bribes multiply delta: same final size and
    detected share as the plain parameters (here beta 0.05, gamma 0.2, delta 0.02)."""
    base = {"gamma": 0.2, "delta": 0.02}
    params = diffusion.Params(**{**base, **factors})
    equivalent = diffusion.Params(**{**base, **plain})
    assert params.transmissibility() == pytest.approx(equivalent.transmissibility())
    assert params.detected_share() == pytest.approx(equivalent.detected_share())
    finals = large_outbreaks(graphs, params, engine=engine)
    reach = (N - finals[:, 0]) / N
    expected = er_final_size(MEAN_DEGREE, equivalent.transmissibility())
    tolerance = Z * reach.std(ddof=1) / np.sqrt(len(reach)) + SEEDS / N
    assert abs(reach.mean() - expected) < tolerance, (reach.mean(), expected, tolerance)
    detected, removed = finals[:, 4].sum(), finals[:, 3].sum() + finals[:, 4].sum()
    share = equivalent.detected_share()
    assert abs(detected / removed - share) < Z * np.sqrt(share * (1 - share) / removed)
