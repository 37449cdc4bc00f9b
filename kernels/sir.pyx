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
"""

from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Calloc, PyMem_Free
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free
from libcpp.vector cimport vector

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

import numpy as np

cdef enum:
    PREFETCH_AHEAD = 8


cdef inline bint is_susceptible(const uint64_t* bits, int64_t agent) noexcept nogil:
    return (bits[agent >> 6] >> (agent & 63)) & 1


cdef inline void inform(uint64_t* bits, int64_t agent) noexcept nogil:
    """Mark ``agent`` as no longer susceptible."""
    bits[agent >> 6] &= ~((<uint64_t>1) << (agent & 63))

cdef int64_t NEVER = (<int64_t>1) << 62

# Columns of the per-step event table returned to Python.
EVENT_COLUMNS = ("new_I", "new_W", "new_R", "new_D")


cdef struct Schedule:
    int n                   # number of segments
    const int64_t* start    # first step of each segment (start[0] == 1)
    const double* delta     # detection probability in each segment
    double gamma
    PowerTable** removal    # per segment: table for q = 1 - (1 - delta)(1 - gamma)


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


cdef struct Queue:
    vector[vector[int32_t]] agents  # per step: candidate exposures
    vector[vector[uint8_t]] kinds   # per step: the kind of tie each came through (if tracked)
    vector[vector[int32_t]] sources  # per step: the holder each came from (if kinds tracked)
    bint track_kinds


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


cdef inline int queue_exposure(Queue* queue, int64_t step, int64_t agent,
                               uint8_t kind, int64_t source) except -1 nogil:
    """Queue ``agent``, reached through a tie of ``kind`` from holder ``source``, as a candidate
    exposure of ``step``.

    Growing the buckets can fail: C++'s bad_alloc becomes a Python MemoryError, the run stops.
    """
    if <size_t>step >= queue.agents.size():
        queue.agents.resize(2 * step + 2)
        if queue.track_kinds:
            queue.kinds.resize(2 * step + 2)
            queue.sources.resize(2 * step + 2)
    queue.agents[step].push_back(<int32_t>agent)
    if queue.track_kinds:
        queue.kinds[step].push_back(kind)
        queue.sources[step].push_back(<int32_t>source)
    return 0


cdef inline int count_event(vector[int64_t]* counts, int64_t step, int column,
                            int64_t* last_step) except -1 nogil:
    """Add one event to column ``column`` (see EVENT_COLUMNS) of step ``step``, growing the table
    (which can fail with MemoryError), and keep ``last_step`` at the latest step with an event."""
    if <size_t>(4 * step + 4) > counts.size():
        counts.resize(8 * step + 8, 0)
    counts[0][4 * step + column] += 1
    if step > last_step[0]:
        last_step[0] = step
    return 0


def run_sir(
    const int64_t[::1] offsets,
    const int32_t[::1] neighbours,
    const float[::1] trust,
    bint uniform_trust,
    const uint8_t[::1] kind,
    bint track_kinds,
    const int32_t[::1] seeds,
    double beta,
    double gamma,
    double p_copy,
    const int64_t[::1] segment_start,
    const double[::1] segment_delta,
    int64_t horizon,
    int32_t[::1] reached,
    uint8_t[::1] channel,
    int32_t[::1] tie_detected,
    const uint64_t[::1] key,
):
    """Run one realisation; return (events: (steps + 1, 4) int64 per EVENT_COLUMNS, ties examined).

    A tie of trust w shares with probability ``min(1, beta * w)`` per step (``beta`` may exceed 1).
    ``horizon`` is the number of steps to simulate, or -1 to run until no holder remains (every
    holder must then be removed eventually: ``gamma > 0`` or ``delta > 0`` after the last segment).
    The step at which each agent is reached is written to ``reached`` (seeds and agents never
    reached are left as the caller set them) and, with ``track_kinds``, the kind of the tie that
    reached it to ``channel`` (reached by several holders in one step: the tie from the holder of
    lowest id, as in the step kernel); the first step one of its ties was detected to
    ``tie_detected``
    (left alone if none was). Draws are addressed under the 128-bit ``key`` (``rng.pxd``): a new
    holder's removal and sharing by (holder, step), drawn whoever its neighbours are; with ties
    of their own trust, each tie's trials by (holder, step, neighbour). Running out of memory
    raises MemoryError.
    """
    cdef int64_t n = offsets.shape[0] - 1
    # Only "still susceptible?" matters to the kernel (the other states are counted as events), so
    # the state is one bit per agent: 125 kB for 10**6 agents, small enough to stay in cache.
    cdef vector[uint64_t] susceptible_bits = vector[uint64_t]((n + 63) // 64, ~(<uint64_t>0))
    cdef uint64_t* susceptible = susceptible_bits.data()
    cdef const uint64_t* k = &key[0]
    cdef Stream draws, tie_draws
    cdef double u
    cdef vector[int64_t] events = vector[int64_t](4, 0)
    cdef Queue queue
    cdef vector[int32_t] current
    cdef vector[uint8_t] current_kinds
    cdef vector[int32_t] current_sources
    cdef Schedule sched
    # A tie of trust w shares with probability min(1, beta * w) per step (beta may exceed 1 when a
    # medium's share factor is folded in): trials run at min(1, beta), the rate of a tie of trust
    # 1, and each success is kept with the tie's own rate over that (exact thinning).
    cdef PowerTable* sharing = power_table_new(beta if beta < 1.0 else 1.0)
    cdef int n_seg = segment_start.shape[0], s
    cdef int64_t t, i, e, end, r, last_step = 0, examined = 0, limit, remaining, base
    cdef int64_t n_current, n_new, j, nb, shift, hit
    cdef bint detected = False, out_of_memory = sharing == NULL
    cdef double q

    sched.n = n_seg
    sched.start = &segment_start[0]
    sched.delta = &segment_delta[0]
    sched.gamma = gamma
    sched.removal = <PowerTable**> PyMem_Calloc(n_seg, sizeof(PowerTable*))
    for s in range(n_seg):
        q = 1.0 - (1.0 - segment_delta[s]) * (1.0 - gamma)
        sched.removal[s] = power_table_new(q)
        out_of_memory |= sched.removal[s] == NULL
    if horizon < 0:
        horizon = NEVER
    queue.track_kinds = track_kinds

    try:
        with nogil:
            if out_of_memory:
                pass
            else:
                for i in range(seeds.shape[0]):
                    inform(susceptible, seeds[i])
                    current.push_back(seeds[i])
                n_new = current.size()
                t = 0
                while True:
                    # Phase 1: candidates of step t that are still susceptible become holders
                    # (or watchers); holders are compacted to the front of `current`.
                    if t > 0:
                        n_current = current.size()
                        n_new = 0
                        for i in range(n_current):
                            j = current[i]
                            if not is_susceptible(susceptible, j):
                                continue
                            inform(susceptible, j)
                            reached[j] = <int32_t>t
                            if track_kinds:
                                channel[j] = current_kinds[i]
                            if p_copy < 1.0 and not uniform_at(k, j, t, KEEP_COPY, 0) < p_copy:
                                count_event(&events, t, 1, &last_step)
                                continue
                            count_event(&events, t, 0, &last_step)
                            current[n_new] = <int32_t>j
                            n_new += 1
                    # Phase 2: each new holder draws its removal step and, per susceptible
                    # neighbour, the step its sharing succeeds. Adjacency rows are prefetched a
                    # few holders ahead: the row fetch is the one cache miss per holder.
                    for i in range(n_new):
                        if i + 2 * PREFETCH_AHEAD < n_new:
                            DIFFUSION_PREFETCH(&offsets[current[i + 2 * PREFETCH_AHEAD]])
                        if i + PREFETCH_AHEAD < n_new:
                            e = offsets[current[i + PREFETCH_AHEAD]]
                            DIFFUSION_PREFETCH(&neighbours[e])
                            if not uniform_trust:
                                DIFFUSION_PREFETCH(&trust[e])
                        j = current[i]
                        stream_at(&draws, k, j, t, HOLDER, 0)
                        r = removal_step(&draws, &sched, t + 1, horizon, &detected)
                        if r != NEVER:
                            count_event(&events, r, 3 if detected else 2, &last_step)
                            if detected:
                                for e in range(offsets[j], offsets[j + 1]):
                                    nb = neighbours[e]
                                    if tie_detected[nb] < 0 or tie_detected[nb] > r:
                                        tie_detected[nb] = <int32_t>r
                            limit = r - t
                        else:
                            limit = horizon - t
                        end = offsets[j + 1]
                        examined += end - offsets[j]
                        if limit <= 0:
                            continue  # became a holder in the last step of the horizon
                        if uniform_trust and limit <= TABLE_SPAN:
                            # Every tie shares within `limit` steps with the same probability:
                            # skip geometrically from one such tie to the next, then draw the
                            # step of sharing given that it happens. The holder draws both
                            # whoever its neighbours are (common random numbers). Only those ties
                            # are read.
                            e = offsets[j]
                            while e < end:
                                shift = first_success_of_blocks(&draws, sharing, limit, end - e)
                                if shift == 0:
                                    break
                                e += shift - 1
                                nb = neighbours[e]
                                u = uniform(&draws)
                                if is_susceptible(susceptible, nb):
                                    hit = first_success_given_one(u, sharing, limit)
                                    queue_exposure(
                                        &queue, t + hit, nb, kind[e] if track_kinds else 0, j)
                                e += 1
                            continue
                        for e in range(offsets[j], end):
                            nb = neighbours[e]
                            if not is_susceptible(susceptible, nb):
                                continue
                            stream_at(&tie_draws, k, j, t, SHARE_TIE, nb)
                            remaining = limit
                            base = 0
                            while remaining > 0:
                                shift = first_success_within(&tie_draws, sharing, remaining)
                                if shift == 0:
                                    break
                                base += shift
                                if uniform_trust or bernoulli(
                                        &tie_draws, trust[e] if beta <= 1.0 else beta * trust[e]):
                                    queue_exposure(
                                        &queue, t + base, nb, kind[e] if track_kinds else 0, j)
                                    break
                                remaining -= shift
                    # Move to the next step with candidates; done when none is queued.
                    current.clear()
                    t += 1
                    while <size_t>t < queue.agents.size() and queue.agents[t].empty():
                        t += 1
                    if <size_t>t >= queue.agents.size():
                        break
                    current.swap(queue.agents[t])
                    queue.agents[t].clear()
                    queue.agents[t].shrink_to_fit()
                    if track_kinds:
                        current_kinds.swap(queue.kinds[t])
                        queue.kinds[t].clear()
                        queue.kinds[t].shrink_to_fit()
                        current_sources.swap(queue.sources[t])
                        queue.sources[t].clear()
                        queue.sources[t].shrink_to_fit()
                        order_by_source(current, current_kinds, current_sources)
                    with gil:
                        PyErr_CheckSignals()  # Ctrl-C stops a long run between steps
    finally:
        free(sharing)
        for s in range(n_seg):
            free(sched.removal[s])
        PyMem_Free(sched.removal)
    if out_of_memory:
        raise MemoryError("kernel tables could not be allocated")

    steps = last_step if horizon == NEVER else horizon
    table = np.zeros((steps + 1, 4), dtype=np.int64)
    have = min(events.size() // 4, steps + 1)
    if have:
        table[:have] = np.asarray(<int64_t[:have * 4]> events.data()).reshape(have, 4)
    return table, examined


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
