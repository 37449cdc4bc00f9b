"""Property tests (hypothesis) of what every kernel must keep on any small graph and parameters.

Whatever the network and the rates: the states sum to N after every step, reach never falls,
the channels of first reaches sum to the reach, detections accumulate into D, and a lent
medium's objects (DVDs) are neither made nor lost while nothing is detected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffusion import Network, Params, simulate
from diffusion.simulate import FULL_MODEL_ENGINES

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw: st.DrawFn) -> Network:
    """A random undirected graph of 2 to 40 agents with trust in (0, 1]."""
    n = draw(st.integers(2, 40))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] != e[1]),
            min_size=1,
            max_size=4 * n,
            unique_by=lambda e: (min(e), max(e)),
        )
    )
    trust = draw(st.lists(st.floats(0.05, 1.0), min_size=len(pairs), max_size=len(pairs)))
    return Network.from_edges(n, np.array(pairs, dtype=np.int64), np.array(trust, np.float32))


rates = st.floats(0.0, 1.0)


def check_bookkeeping(result, n: int) -> None:
    """The invariants every run keeps, whatever the kernel."""
    assert np.all(result.counts.sum(axis=1) == n)  # states sum to N every step
    assert np.all(np.diff(result.reach) >= 0)  # reach never falls
    assert np.array_equal(np.cumsum(result.new_detections), result.counts[:, 4])
    channels = result.channel_counts().sum(axis=(1, 2, 3))
    assert np.array_equal(np.cumsum(channels), result.reach)  # first reaches by channel


@SETTINGS
@given(graphs(), rates, st.floats(0.01, 1.0), rates, st.integers(0, 2**32))
def test_the_event_kernel_keeps_its_books(network, beta, gamma, delta, seed):
    params = Params(beta=beta, gamma=gamma, delta=delta)
    result = simulate(network, params, seeds=1, rng=seed, engine="event")
    check_bookkeeping(result, network.n_nodes)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
@SETTINGS
@given(graphs(), rates, rates, rates, st.floats(0.0, 1.0), st.integers(0, 2**32))
def test_the_full_model_kernels_keep_their_books(
    engine, network, beta, gamma, delta, implicate, seed
):
    params = Params(beta=beta, gamma=gamma, delta=delta, p_implicate=implicate, mix={"usb": 1})
    result = simulate(network, params, seeds=1, rng=seed, steps=30, engine=engine)
    check_bookkeeping(result, network.n_nodes)
    assert np.array_equal(result.region_counts.sum(axis=1), result.counts)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
@SETTINGS
@given(graphs(), rates, rates, st.integers(1, 5), st.integers(0, 2**32))
def test_lent_objects_are_conserved_without_detection(engine, network, beta, gamma, discs, seed):
    discs = min(discs, network.n_nodes)
    params = Params(beta=beta, gamma=gamma, delta=0.0, mix={"dvd": 1})
    result = simulate(network, params, seeds=discs, rng=seed, steps=30, engine=engine)
    check_bookkeeping(result, network.n_nodes)
    dvd = result.media.index("dvd")
    assert np.all(result.lent_copies[:, dvd] == discs)
    assert result.new_detections.sum() == 0
