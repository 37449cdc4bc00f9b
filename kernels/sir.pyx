# distutils: language = c++
"""Event-driven kernel for the edge-wise model with detection (docs/model.md section 6).

The synchronous model redraws, every step, one Bernoulli(beta * trust) per holder-neighbour pair
and one removal trial per holder. Those draws are independent across steps, so the same process
is sampled exactly by drawing, once per new holder, the step in which it is removed (detected or
ceasing, under the piecewise-constant detection schedule) and, once per susceptible neighbour,
the first step in which sharing along that tie succeeds. A success that falls within the holding
period is queued as a candidate exposure in a bucket for its step; buckets are processed in step
order and a candidate that is no longer susceptible is skipped. Cost is proportional to the ties
of agents that become holders: nothing scans all N agents.

The boundary is typed (``event.pxd``): the parameters arrive as one ``EventParams`` record, the
network is gathered into one ``Ties`` struct, and the run's whole state is one ``Run`` struct that
the phase functions below share; the per-step events leave once, by name (``event_table``).
"""

from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free
from libcpp.vector cimport vector

from event cimport EventParams, Ties
from prefetch cimport DIFFUSION_PREFETCH
from rng cimport (
    HOLDER,
    KEEP_COPY,
    SHARE_TIE,
    PowerTable,
    Stream,
    TABLE_SPAN,
    bernoulli,
    first_success_given_one,
    first_success_of_blocks,
    first_success_within,
    philox4x64_10,
    power_table_new,
    stream_at,
    uniform,
    uniform_at,
)
from sorting cimport sort_unique

import numpy as np

cdef enum:
    PREFETCH_AHEAD = 8
    SORT_FROM = 4096  # fewer new holders in a step: their order costs more to fix than it saves

cdef enum Column:  # of the per-step event table, in the order of EVENT_COLUMNS
    NEW_I = 0
    NEW_W = 1
    NEW_R = 2
    NEW_D = 3
    N_COLUMNS = 4

EVENT_COLUMNS = ("new_I", "new_W", "new_R", "new_D")
"""Names of the per-step event counts ``run_sir`` returns."""

cdef int64_t NEVER = (<int64_t>1) << 62


cdef inline bint is_susceptible(const uint64_t* bits, int64_t agent) noexcept nogil:
    return (bits[agent >> 6] >> (agent & 63)) & 1


cdef inline void inform(uint64_t* bits, int64_t agent) noexcept nogil:
    """Mark ``agent`` as no longer susceptible."""
    bits[agent >> 6] &= ~((<uint64_t>1) << (agent & 63))


cdef struct Schedule:
    int n                   # number of segments
    const int64_t* start    # first step of each segment (start[0] == 1)
    const double* delta     # detection probability in each segment
    PowerTable** removal    # per segment: table for q = 1 - (1 - delta)(1 - gamma)


cdef struct Queue:
    vector[vector[int32_t]] agents  # per step: candidate exposures
    vector[vector[uint8_t]] kinds   # per step: the kind of tie each came through (if tracked)
    vector[vector[int32_t]] sources  # per step: the holder each came from (if kinds tracked)


cdef extern from *:
    """
    #include <algorithm>
    #include <numeric>
    #include <vector>
    #include <cstdint>
    /* Reorder a bucket's candidates by the holder they came from (stable), so that an agent
       reached by several holders in one step takes the channel of the lowest holder id, as in
       the step kernel, whose holders share in id order. */
    static void order_by_source(std::vector<int32_t>& agents, std::vector<uint8_t>& kinds,
                                std::vector<int32_t>& sources) {
        std::vector<size_t> order(agents.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return sources[a] < sources[b]; });
        std::vector<int32_t> a2(agents.size());
        std::vector<uint8_t> k2(kinds.size());
        for (size_t i = 0; i < order.size(); i++) {
            a2[i] = agents[order[i]];
            k2[i] = kinds[order[i]];
        }
        agents.swap(a2);
        kinds.swap(k2);
    }
    """
    void order_by_source(vector[int32_t]& agents, vector[uint8_t]& kinds,
                         vector[int32_t]& sources) except + nogil


cdef struct Run:  # everything one realisation reads and writes
    Ties ties
    EventParams params
    int64_t horizon                 # last step to simulate (NEVER: until no holder remains)
    const uint64_t* key             # the run's 128-bit key (rng.pxd)
    Schedule sched
    PowerTable* sharing             # trials at min(1, beta), thinned per tie (see share_by_tie)
    int32_t* reached                # per agent: step it was reached (output)
    uint8_t* channel                # per agent: kind of the tie that reached it (output)
    int32_t* tie_detected           # per agent: first step a neighbour was detected (output)
    vector[uint64_t] susceptible    # one bit per agent: 125 kB for 10**6, stays in cache
    Queue queue
    vector[int32_t] current         # candidates of this step, then its new holders (by id if many)
    vector[int32_t] scratch         # the other half of sorting them
    vector[uint8_t] current_kinds
    vector[int32_t] current_sources
    vector[int64_t] events          # N_COLUMNS per step
    int64_t last_step               # latest step with an event
    int64_t examined                # ties in the rows of new holders


cdef Ties ties_of(const int64_t[::1] offsets, const int32_t[::1] neighbours,
                  const float[::1] trust, const uint8_t[::1] kind):
    """The network's typed views as one struct of pointers (empty tie arrays: NULL)."""
    cdef Ties ties
    ties.n_agents = offsets.shape[0] - 1
    ties.offsets = &offsets[0]
    ties.neighbours = &neighbours[0] if neighbours.shape[0] else NULL
    ties.trust = &trust[0] if trust.shape[0] else NULL
    ties.kind = &kind[0] if kind.shape[0] else NULL
    return ties


cdef int run_init(Run* run, const int64_t[::1] segment_start,
                  const double[::1] segment_delta) except -1 nogil:
    """Allocate the run's tables (removal per detection segment, sharing) and its state; the
    caller frees them with ``run_free`` whether or not this raised MemoryError."""
    cdef int s
    cdef double q, beta = run.params.beta, gamma = run.params.gamma
    run.horizon = NEVER if run.params.horizon < 0 else run.params.horizon
    run.sched.n = segment_start.shape[0]
    run.sched.start = &segment_start[0]
    run.sched.delta = &segment_delta[0]
    run.sched.removal = <PowerTable**> calloc(run.sched.n, sizeof(PowerTable*))
    # A tie of trust w shares with probability min(1, beta * w) per step (beta may exceed 1 when
    # a medium's share factor is folded in): trials run at min(1, beta), the rate of a tie of
    # trust 1, and each success is kept with the tie's own rate over that (exact thinning).
    run.sharing = power_table_new(beta if beta < 1.0 else 1.0)
    if run.sched.removal == NULL or run.sharing == NULL:
        with gil:
            raise MemoryError("kernel tables could not be allocated")
    for s in range(run.sched.n):
        q = 1.0 - (1.0 - segment_delta[s]) * (1.0 - gamma)
        run.sched.removal[s] = power_table_new(q)
        if run.sched.removal[s] == NULL:
            with gil:
                raise MemoryError("kernel tables could not be allocated")
    run.susceptible.assign((run.ties.n_agents + 63) // 64, ~(<uint64_t>0))
    run.events.assign(N_COLUMNS, 0)
    run.last_step = 0
    run.examined = 0
    return 0


cdef void run_free(Run* run) noexcept nogil:
    """Free the tables of ``run_init`` (NULL entries: never allocated)."""
    cdef int s
    free(run.sharing)
    if run.sched.removal != NULL:
        for s in range(run.sched.n):
            free(run.sched.removal[s])
    free(run.sched.removal)


cdef inline int count_event(Run* run, int64_t step, Column column) except -1 nogil:
    """Add one event to ``column`` of ``step``, growing the table (which can fail with
    MemoryError), and keep ``last_step`` at the latest step with an event."""
    if <size_t>(N_COLUMNS * step + N_COLUMNS) > run.events.size():
        run.events.resize(2 * N_COLUMNS * step + 2 * N_COLUMNS, 0)
    run.events[N_COLUMNS * step + column] += 1
    if step > run.last_step:
        run.last_step = step
    return 0


cdef inline int queue_exposure(Run* run, int64_t step, int64_t agent,
                               int64_t tie, int64_t source) except -1 nogil:
    """Queue ``agent``, reached through ``tie`` from holder ``source``, as a candidate exposure
    of ``step``.

    Growing the buckets can fail: C++'s bad_alloc becomes a Python MemoryError, the run stops.
    """
    cdef Queue* queue = &run.queue
    cdef bint track_kinds = run.params.track_kinds
    if <size_t>step >= queue.agents.size():
        queue.agents.resize(2 * step + 2)
        if track_kinds:
            queue.kinds.resize(2 * step + 2)
            queue.sources.resize(2 * step + 2)
    queue.agents[step].push_back(<int32_t>agent)
    if track_kinds:
        queue.kinds[step].push_back(run.ties.kind[tie])
        queue.sources[step].push_back(<int32_t>source)
    return 0


cdef int place_seeds(Run* run, const int32_t[::1] seeds) except -1 nogil:
    """Phase 0: the initial holders are the holders of step 0."""
    cdef int64_t i
    for i in range(seeds.shape[0]):
        inform(run.susceptible.data(), seeds[i])
        run.current.push_back(seeds[i])
    return 0


cdef int64_t admit_candidates(Run* run, int64_t t) except -1 nogil:
    """Phase 1: the candidates of step ``t`` that are still susceptible are reached; those that
    keep a copy (``p_copy``, drawn at (agent, t, KEEP_COPY)) become holders, compacted to the
    front of ``current``, the others watchers. Returns the number of new holders."""
    cdef uint64_t* susceptible = run.susceptible.data()
    cdef int64_t i, j, n_new = 0, n_current = run.current.size()
    cdef double p_copy = run.params.p_copy
    for i in range(n_current):
        if i + PREFETCH_AHEAD < n_current:
            # reached[] is written at random: fetch its line ahead
            DIFFUSION_PREFETCH(&run.reached[run.current[i + PREFETCH_AHEAD]])
        j = run.current[i]
        if not is_susceptible(susceptible, j):
            continue
        inform(susceptible, j)
        run.reached[j] = <int32_t>t
        if run.params.track_kinds:
            run.channel[j] = run.current_kinds[i]
        if p_copy < 1.0 and not uniform_at(run.key, j, t, KEEP_COPY, 0) < p_copy:
            count_event(run, t, NEW_W)
            continue
        count_event(run, t, NEW_I)
        run.current[n_new] = <int32_t>j
        n_new += 1
    return n_new


cdef inline int64_t removal_step(Stream* rng, Schedule* sched, int64_t first, int64_t horizon,
                                 bint* detected) noexcept nogil:
    """Step in which a holder sharing from step ``first`` on is removed, or NEVER by ``horizon``."""
    cdef int seg = sched.n - 1
    cdef int64_t step = first, span, k
    cdef double q, delta
    while seg > 0 and sched.start[seg] > step:
        seg -= 1
    while step <= horizon:
        span = horizon - step + 1
        if seg + 1 < sched.n and sched.start[seg + 1] - step < span:
            span = sched.start[seg + 1] - step
        k = first_success_within(rng, sched.removal[seg], span)
        if k:
            step += k - 1
            delta = sched.delta[seg]
            q = sched.removal[seg].p
            detected[0] = delta > 0.0 and (delta >= q or bernoulli(rng, delta / q))
            return step
        step += span
        seg += 1
    return NEVER


cdef int64_t remove_holder(Run* run, Stream* draws, int64_t j, int64_t t) except -1 nogil:
    """A new holder ``j`` of step ``t`` draws the step it is removed (detected or ceasing) from
    its stream; a detection is recorded on each neighbour's ``tie_detected``. Returns the
    number of steps it shares (0: it became a holder in the last step of the horizon)."""
    cdef bint detected = False
    cdef int64_t r = removal_step(draws, &run.sched, t + 1, run.horizon, &detected), e, nb
    if r == NEVER:
        return run.horizon - t
    count_event(run, r, NEW_D if detected else NEW_R)
    if detected:
        for e in range(run.ties.offsets[j], run.ties.offsets[j + 1]):
            nb = run.ties.neighbours[e]
            if run.tie_detected[nb] < 0 or run.tie_detected[nb] > r:
                run.tie_detected[nb] = <int32_t>r
    return r - t


cdef int share_uniform(Run* run, Stream* draws, int64_t j, int64_t t,
                       int64_t limit) except -1 nogil:
    """Holder ``j`` (of step ``t``, sharing for ``limit`` <= TABLE_SPAN steps) shares along ties
    of trust 1: every tie shares within ``limit`` steps with the same probability, so skip
    geometrically from one such tie to the next, then draw the step of sharing given that it
    happens. Both draws are made whoever the neighbour is (common random numbers); only the
    ties skipped to are read."""
    cdef int64_t e = run.ties.offsets[j], end = run.ties.offsets[j + 1], shift, nb, hit
    cdef double u
    while e < end:
        shift = first_success_of_blocks(draws, run.sharing, limit, end - e)
        if shift == 0:
            break
        e += shift - 1
        nb = run.ties.neighbours[e]
        u = uniform(draws)
        if is_susceptible(run.susceptible.data(), nb):
            hit = first_success_given_one(u, run.sharing, limit)
            queue_exposure(run, t + hit, nb, e, j)
        e += 1
    return 0


cdef int share_by_tie(Run* run, int64_t j, int64_t t, int64_t limit) except -1 nogil:
    """Holder ``j`` (of step ``t``, sharing for ``limit`` steps) shares tie by tie, each
    susceptible neighbour's trials on their own stream (holder, t, SHARE_TIE, neighbour): trials
    at min(1, beta), each success kept with probability trust (beta * trust when beta > 1)."""
    cdef Stream tie_draws
    cdef int64_t e, nb, remaining, base, shift
    cdef double beta = run.params.beta
    cdef bint uniform_trust = run.params.uniform_trust
    for e in range(run.ties.offsets[j], run.ties.offsets[j + 1]):
        nb = run.ties.neighbours[e]
        if not is_susceptible(run.susceptible.data(), nb):
            continue
        stream_at(&tie_draws, run.key, j, t, SHARE_TIE, nb)
        remaining = limit
        base = 0
        while remaining > 0:
            shift = first_success_within(&tie_draws, run.sharing, remaining)
            if shift == 0:
                break
            base += shift
            if uniform_trust or bernoulli(
                    &tie_draws, run.ties.trust[e] if beta <= 1.0 else beta * run.ties.trust[e]):
                queue_exposure(run, t + base, nb, e, j)
                break
            remaining -= shift
    return 0


cdef int spread_from_holders(Run* run, int64_t t, int64_t n_new) except -1 nogil:
    """Phase 2: each new holder of step ``t`` draws its removal and, per tie, the step its
    sharing succeeds, all from its stream (holder, t, HOLDER). Many holders go in id order
    (each one's draws are its own, so the order changes no result), reading the adjacency
    front to back, with each row prefetched a few holders ahead."""
    cdef Stream draws
    cdef const int64_t* offsets = run.ties.offsets
    cdef int64_t i, j, e, limit
    cdef int32_t* current
    run.current.resize(n_new)
    if n_new >= SORT_FROM:
        sort_unique(run.current, run.scratch)
    current = run.current.data()
    for i in range(n_new):
        if i + 2 * PREFETCH_AHEAD < n_new:
            DIFFUSION_PREFETCH(&offsets[current[i + 2 * PREFETCH_AHEAD]])
        if i + PREFETCH_AHEAD < n_new:  # both ends of the row: it often spans two lines
            j = current[i + PREFETCH_AHEAD]
            e = offsets[j]
            DIFFUSION_PREFETCH(&run.ties.neighbours[e])
            DIFFUSION_PREFETCH(&run.ties.neighbours[offsets[j + 1] - 1])
            if not run.params.uniform_trust:
                DIFFUSION_PREFETCH(&run.ties.trust[e])
        j = current[i]
        stream_at(&draws, run.key, j, t, HOLDER, 0)
        limit = remove_holder(run, &draws, j, t)
        run.examined += offsets[j + 1] - offsets[j]
        if limit <= 0:
            continue
        if run.params.uniform_trust and limit <= TABLE_SPAN:
            share_uniform(run, &draws, j, t, limit)
        else:
            share_by_tie(run, j, t, limit)
    return 0


cdef int64_t next_step(Run* run, int64_t t) except -2 nogil:
    """Phase 3: move the candidates of the next step with any into ``current`` (with tracked
    kinds, ordered by the holder they came from); return that step, or -1 when none is queued
    (the run is over)."""
    cdef Queue* queue = &run.queue
    run.current.clear()
    t += 1
    while <size_t>t < queue.agents.size() and queue.agents[t].empty():
        t += 1
    if <size_t>t >= queue.agents.size():
        return -1
    run.current.swap(queue.agents[t])
    queue.agents[t].clear()
    queue.agents[t].shrink_to_fit()
    if run.params.track_kinds:
        run.current_kinds.swap(queue.kinds[t])
        queue.kinds[t].clear()
        queue.kinds[t].shrink_to_fit()
        run.current_sources.swap(queue.sources[t])
        queue.sources[t].clear()
        queue.sources[t].shrink_to_fit()
        order_by_source(run.current, run.current_kinds, run.current_sources)
    return t


cdef int run_steps(Run* run, const int32_t[::1] seeds) except -1 nogil:
    """The realisation: seeds, then for each step with candidates, phases 1 to 3."""
    cdef int64_t t = 0, n_new
    place_seeds(run, seeds)
    n_new = run.current.size()
    while True:
        if t > 0:
            n_new = admit_candidates(run, t)
        spread_from_holders(run, t, n_new)
        t = next_step(run, t)
        if t < 0:
            return 0
        with gil:
            PyErr_CheckSignals()  # Ctrl-C stops a long run between steps


cdef dict event_table(Run* run):
    """The per-step events, one int64 array per name of EVENT_COLUMNS (steps + 1 rows), and
    the ties examined."""
    cdef int64_t steps = run.last_step if run.horizon == NEVER else run.horizon
    cdef int64_t have = min(<int64_t>run.events.size() // N_COLUMNS, steps + 1)
    table = np.zeros((steps + 1, N_COLUMNS), dtype=np.int64)
    if have:
        table[:have] = np.asarray(
            <int64_t[:have * N_COLUMNS]> run.events.data()).reshape(have, N_COLUMNS)
    out = {name: table[:, column].copy() for column, name in enumerate(EVENT_COLUMNS)}
    out["ties_examined"] = run.examined
    return out


def run_sir(
    const int64_t[::1] offsets,
    const int32_t[::1] neighbours,
    const float[::1] trust,
    const uint8_t[::1] kind,
    const EventParams[::1] params,
    const int64_t[::1] segment_start,
    const double[::1] segment_delta,
    const int32_t[::1] seeds,
    int32_t[::1] reached,
    uint8_t[::1] channel,
    int32_t[::1] tie_detected,
    const uint64_t[::1] key,
):
    """Run one realisation; return the per-step events by name (``EVENT_COLUMNS``, each
    ``steps + 1`` long) and ``ties_examined``.

    The network is CSR (``offsets``, ``neighbours``) with per-tie ``trust`` and ``kind``;
    ``params`` is one ``EventParams`` record (``diffusion.simulate.EVENT_PARAMS_DTYPE``); the
    detection schedule is piecewise constant (``segment_start``, ``segment_delta``). A tie of
    trust w shares with probability ``min(1, beta * w)`` per step. With ``horizon`` -1 the run
    goes until no holder remains (every holder must then be removed eventually: ``gamma > 0``
    or ``delta > 0`` after the last segment). The step at which each agent is reached is written
    to ``reached`` (seeds and agents never reached are left as the caller set them) and, with
    ``track_kinds``, the kind of the tie that reached it to ``channel``; the first step one of
    its ties was detected to ``tie_detected`` (left alone if none was). Draws are addressed
    under the 128-bit ``key`` (``rng.pxd``): a new holder's removal and sharing by (holder,
    step), drawn whoever its neighbours are; with ties of their own trust, each tie's trials by
    (holder, step, neighbour). Running out of memory raises MemoryError.
    """
    cdef Run run
    run.ties = ties_of(offsets, neighbours, trust, kind)
    run.params = params[0]
    run.key = &key[0]
    run.reached = &reached[0] if reached.shape[0] else NULL
    run.channel = &channel[0] if channel.shape[0] else NULL
    run.tie_detected = &tie_detected[0] if tie_detected.shape[0] else NULL
    run.sharing = NULL
    run.sched.removal = NULL
    try:
        with nogil:
            run_init(&run, segment_start, segment_delta)
            run_steps(&run, seeds)
    finally:
        run_free(&run)
    return event_table(&run)


def philox_block(counter, key):
    """Philox4x64-10 of a 4-word counter under a 2-word key: the generator behind every draw,
    exposed so tests can check it against numpy.random.Philox."""
    cdef uint64_t c[4]
    cdef uint64_t kk[2]
    cdef uint64_t out[4]
    cdef int i
    for i in range(4):
        c[i] = counter[i]
    for i in range(2):
        kk[i] = key[i]
    philox4x64_10(c, kk, out)
    return [out[0], out[1], out[2], out[3]]
