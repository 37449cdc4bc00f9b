# distutils: language = c++
"""Step-synchronous kernel for the full media model (MODEL.md sections 3-5).

Fear changes sharing rates and implication reaches into other holders mid-run, so the full model
is stepped day by day rather than sampled event by event as in ``_sir``. Each step touches only
the agents that hold a copy (the active list), their ties and their groups, never all N agents:

1. entry: smuggled copies reach their (pre-drawn) recipients in border regions;
2. sharing: every holder shares tie by tie (edge mode) or hosts a viewing in one of its groups
   with probability ``host_prob`` (group mode; market and trade ties still share tie by tie).
   Exposed agents are marked and resolved at the end of the step. A DVD moves: one viewer
   (chosen uniformly among those the lender exposed) receives it and the lender stops holding;
3. detection of the holders that still hold: delta(t) times the medium's concealment, times
   ``informant_risk`` if a non-complicit informant watched, times ``1 - p_bribe``. A detection
   implicates, each with probability ``p_implicate``, the detected agent's audience of the step
   and its holding neighbours, who implicate in turn (a cascade); neighbours of every detected
   agent become afraid for ``fear_steps`` steps (sharing times ``fear_factor``);
4. ceasing: each remaining holder stops with probability ``gamma``; a DVD is then shelved;
5. exposed agents become holders (USB: with ``p_copy``; DVD: the receiver) or watchers.

An informant who has watched is complicit: only a susceptible informant raises the risk.
"""

from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport free
from libcpp.vector cimport vector
from numpy.random cimport bitgen_t

from prefetch cimport DIFFUSION_PREFETCH
from rng cimport PowerTable, bernoulli, first_success_within, power_table_new, uniform

import numpy as np

cdef extern from *:
    """
    #include <algorithm>
    #include <vector>
    #include <cstdint>
    static void sort_merge_tail(std::vector<int32_t>& v, int64_t n_sorted) {
        std::sort(v.begin() + n_sorted, v.end());
        std::inplace_merge(v.begin(), v.begin() + n_sorted, v.end());
    }
    """
    void sort_merge_tail(vector[int32_t]& v, int64_t n_sorted) noexcept nogil

cdef enum:
    S = 0
    W = 1
    I = 2
    R = 3
    D = 4
    EXPOSED = 5     # transient: exposed during the current step, still counted as S
    USB = 0
    DVD = 1
    OFFER_WATCH = 0  # watched a DVD it did not receive
    OFFER_COPY = 1   # watched from a USB drive: keeps a copy with probability p_copy
    OFFER_DISC = 2   # received the DVD itself
    KIND_MARKET = 3  # edge kinds >= this share tie by tie even in group mode
    STATE_MASK = 7   # per-agent flags byte: bits 0-2 state, bit 3 cohort, bit 4 informant,
    COHORT_SHIFT = 3  # so the hot loop reads one byte per neighbour
    INFORMANT_BIT = 16
    PREFETCH_AHEAD = 8

# Per-step columns of the scalar series returned to Python, after the 5 state counts.
SERIES_COLUMNS = (
    "S", "W", "I", "R", "D",
    "usb_S", "usb_W", "usb_I", "usb_R", "usb_D",
    "dvd_S", "dvd_W", "dvd_I", "dvd_R", "dvd_D",
    "new_detections", "discs",
)


cdef inline double clip(double p) noexcept nogil:
    return 1.0 if p > 1.0 else p


cdef class _MediaRun:
    """The state of one run and the operations of a step, all on raw pointers (no GIL)."""

    # network and agents
    cdef const int64_t* offsets
    cdef const int32_t* neighbours
    cdef const float* trust
    cdef const uint8_t* kind
    cdef const int64_t* group_offsets
    cdef const int32_t* group_members
    cdef const int64_t* agent_group_offsets
    cdef const int32_t* agent_groups
    cdef const int16_t* region
    cdef int n_regions
    # parameters
    cdef double beta, gamma, p_copy, host_prob, informant_risk, p_bribe, p_implicate, fear_factor
    cdef double share[2]
    cdef double conceal[2]
    cdef double accept[2]
    cdef int64_t fear_steps
    cdef bint group_mode
    # state
    cdef bitgen_t* rng
    cdef uint8_t[::1] flags, medium, offer
    cdef int32_t[::1] fear_until, slot
    cdef int64_t counts[5]
    cdef vector[int64_t] region_counts
    cdef int64_t by_medium[2][5]  # informed agents by the medium of the copy they last saw
    cdef int64_t discs, new_detections
    cdef vector[int32_t] active, exposed, queue
    cdef vector[int64_t] audience_end
    cdef vector[uint8_t] risky
    cdef vector[int32_t] lent_to  # per active slot: who receives its DVD this step, or -1
    cdef PowerTable* sharing[4]  # per medium and fear: trials at the highest sharing rate

    def __dealloc__(self):
        for k in range(4):
            free(self.sharing[k])

    cdef inline int state_of(self, int32_t agent) noexcept nogil:
        return self.flags[agent] & STATE_MASK

    cdef inline int cohort_of(self, int32_t agent) noexcept nogil:
        return (self.flags[agent] >> COHORT_SHIFT) & 1

    cdef inline void set_state(self, int32_t agent, int to) noexcept nogil:
        self.flags[agent] = (self.flags[agent] & ~STATE_MASK) | to

    cdef inline void count_move(self, int32_t agent, int frm, int to) noexcept nogil:
        """Book a transition in the total, per-region and per-medium counts.

        An informed agent is counted under ``medium[agent]``, the medium of the copy it last
        watched or held, so that must be set before an agent leaves S.
        """
        cdef int64_t base = <int64_t>self.region[agent] * 5
        self.counts[frm] -= 1
        self.counts[to] += 1
        self.region_counts[base + frm] -= 1
        self.region_counts[base + to] += 1
        if frm != S:
            self.by_medium[self.medium[agent]][frm] -= 1
        if to != S:
            self.by_medium[self.medium[agent]][to] += 1

    cdef inline void start_holding(self, int32_t agent, int frm, uint8_t what) noexcept nogil:
        """``agent`` (in S, W or R) now holds a copy of medium ``what``."""
        if frm != S:  # informed before, maybe by the other medium: leave that count
            self.count_move(agent, frm, S)
        self.medium[agent] = what
        self.count_move(agent, S, I)
        self.set_state(agent, I)

    cdef inline void stop_holding(self, int32_t agent, int to) noexcept nogil:
        self.count_move(agent, I, to)
        self.set_state(agent, to)

    cdef inline int64_t active_slot(self, int32_t agent) noexcept nogil:
        """Index of ``agent`` in this step's active list, or -1 if it did not hold at the start."""
        cdef int64_t s = self.slot[agent]
        if s >= 0 and <size_t>s < self.active.size() and self.active[s] == agent:
            return s
        return -1

    cdef inline int expose(self, int64_t slot, int32_t viewer, uint8_t what,
                           int64_t* audience, int32_t* receiver) except -1 nogil:
        """Holder at ``slot`` shows its medium to susceptible ``viewer``."""
        self.set_state(viewer, EXPOSED)
        self.exposed.push_back(viewer)
        self.offer[viewer] = OFFER_COPY if what == USB else OFFER_WATCH
        self.medium[viewer] = what
        if self.flags[viewer] & INFORMANT_BIT:
            self.risky[slot] = 1
        if what == DVD:  # reservoir sampling: the disc goes to a uniform viewer
            audience[0] += 1
            if bernoulli(self.rng, 1.0 / audience[0]):
                receiver[0] = viewer
        return 0

    cdef int share_from(self, int64_t slot, int64_t t) except -1 nogil:
        """Sharing by the holder at ``slot``: tie by tie, or a viewing in one of its groups.

        Tie by tie, trials run at the holder's highest possible rate ``table.p`` and each
        success is thinned to the tie's own rate: a geometric skip jumps to the next success,
        so only ties that might share are looked at (exact for Bernoulli trials).
        """
        cdef int32_t holder = self.active[slot], viewer, receiver = -1
        cdef uint8_t what = self.medium[holder]
        cdef bint afraid = self.fear_until[holder] >= t
        cdef double factor = self.share[what] * (self.fear_factor if afraid else 1.0)
        cdef PowerTable* table = self.sharing[2 * what + afraid]
        cdef int64_t e, end, k, g, n_groups, audience = 0
        cdef double p
        if self.group_mode:
            n_groups = self.agent_group_offsets[holder + 1] - self.agent_group_offsets[holder]
            if n_groups > 0 and bernoulli(self.rng, clip(self.host_prob * factor)):
                g = self.agent_groups[self.agent_group_offsets[holder]
                                      + <int64_t>(uniform(self.rng) * n_groups)]
                for e in range(self.group_offsets[g], self.group_offsets[g + 1]):
                    viewer = self.group_members[e]
                    if self.state_of(viewer) == S and bernoulli(
                            self.rng, clip(self.accept[self.cohort_of(viewer)])):
                        self.expose(slot, viewer, what, &audience, &receiver)
        e = self.offsets[holder]
        end = self.offsets[holder + 1]
        while e < end:
            k = first_success_within(self.rng, table, end - e)
            if k == 0:
                break
            e += k - 1
            viewer = self.neighbours[e]
            if self.state_of(viewer) == S and not (self.group_mode and self.kind[e] < KIND_MARKET):
                p = clip(self.beta * factor * self.trust[e] * self.accept[self.cohort_of(viewer)])
                if p >= table.p or bernoulli(self.rng, p / table.p):
                    self.expose(slot, viewer, what, &audience, &receiver)
            e += 1
        self.audience_end[slot] = self.exposed.size()
        if receiver >= 0:
            self.offer[receiver] = OFFER_DISC
            self.lent_to[slot] = receiver
        return 0

    cdef inline void seize(self, int32_t agent) noexcept nogil:
        """Confiscate the copy of a holder being detected; a DVD leaves circulation.

        A lender still held its disc during this step (the borrower takes it at the end of the
        step), so a disc lent this step is seized too and its borrower has only watched.
        """
        cdef int64_t s
        cdef int32_t borrower
        if self.medium[agent] != DVD:
            return
        s = self.active_slot(agent)
        if s < 0 or self.lent_to[s] < 0:
            self.discs -= 1
            return
        borrower = self.lent_to[s]
        if self.state_of(borrower) == EXPOSED and self.offer[borrower] == OFFER_DISC:
            self.offer[borrower] = OFFER_WATCH
            self.discs -= 1
        # else the borrower was already detected with the disc, which was counted then

    cdef int detect(self, int32_t agent, int64_t t) except -1 nogil:
        """Detect a holder and run the implication cascade and fear from it."""
        cdef int32_t a, other
        cdef int64_t s, e, start
        cdef double p_take = self.p_implicate * (1.0 - self.p_bribe)
        self.seize(agent)
        self.stop_holding(agent, D)
        self.new_detections += 1
        self.queue.clear()
        self.queue.push_back(agent)
        while not self.queue.empty():
            a = self.queue.back()
            self.queue.pop_back()
            if self.fear_steps > 0:
                for e in range(self.offsets[a], self.offsets[a + 1]):
                    self.fear_until[self.neighbours[e]] = <int32_t>(t + self.fear_steps)
            if p_take <= 0.0:
                continue
            s = self.active_slot(a)
            if s >= 0:  # its audience of this step
                start = self.audience_end[s - 1] if s > 0 else 0
                for e in range(start, self.audience_end[s]):
                    other = self.exposed[e]
                    if self.state_of(other) == EXPOSED and bernoulli(self.rng, p_take):
                        if self.offer[other] == OFFER_DISC:
                            self.discs -= 1
                        self.count_move(other, S, D)
                        self.set_state(other, D)
                        self.new_detections += 1
                        self.queue.push_back(other)
            for e in range(self.offsets[a], self.offsets[a + 1]):
                other = self.neighbours[e]
                if self.state_of(other) != I:
                    continue
                if bernoulli(self.rng, p_take):
                    self.seize(other)
                    self.stop_holding(other, D)
                    self.new_detections += 1
                    self.queue.push_back(other)
        return 0

    cdef int step(self, int64_t t, double delta, const int32_t* entrants,
                  const uint8_t* entrant_media, int64_t n_entrants) except -1 nogil:
        cdef int64_t i, n_active
        cdef int32_t agent
        cdef uint8_t what, st
        cdef double p
        # 1. entry
        n_active = self.active.size()
        for i in range(n_entrants):
            agent = entrants[i]
            st = self.state_of(agent)
            if st == S or st == W or st == R:
                self.start_holding(agent, st, entrant_media[i])
                if entrant_media[i] == DVD:
                    self.discs += 1
                self.active.push_back(agent)
        if <size_t>n_active < self.active.size():
            self.merge_new_holders(n_active)
        # 2. sharing
        n_active = self.active.size()
        self.exposed.clear()
        self.audience_end.assign(n_active, 0)
        self.risky.assign(n_active, 0)
        self.lent_to.assign(n_active, -1)
        self.new_detections = 0
        for i in range(n_active):
            if i + 2 * PREFETCH_AHEAD < n_active:
                DIFFUSION_PREFETCH(&self.offsets[self.active[i + 2 * PREFETCH_AHEAD]])
            if i + PREFETCH_AHEAD < n_active:
                agent = self.active[i + PREFETCH_AHEAD]
                DIFFUSION_PREFETCH(&self.neighbours[self.offsets[agent]])
                DIFFUSION_PREFETCH(&self.fear_until[agent])
            self.share_from(i, t)
        # 3. detection (with implication and fear) of everyone who held a copy when the step began,
        # lenders included
        for i in range(n_active):
            agent = self.active[i]
            if self.state_of(agent) != I:
                continue
            what = self.medium[agent]
            p = delta * self.conceal[what] * (1.0 - self.p_bribe)
            if self.risky[i]:
                p *= self.informant_risk
            if bernoulli(self.rng, clip(p)):
                self.detect(agent, t)
        # 4. ceasing; lenders stop holding
        for i in range(n_active):
            agent = self.active[i]
            if self.state_of(agent) != I:
                continue
            if self.lent_to[i] >= 0 or bernoulli(self.rng, self.gamma):
                self.stop_holding(agent, R)
        # 5. exposed agents resolve; the active list keeps those still holding
        n_active = 0
        for i in range(<int64_t>self.active.size()):
            agent = self.active[i]
            if self.state_of(agent) == I:
                self.active[n_active] = agent
                n_active += 1
        self.active.resize(n_active)
        for i in range(<int64_t>self.exposed.size()):
            agent = self.exposed[i]
            if self.state_of(agent) != EXPOSED:
                continue
            if self.offer[agent] == OFFER_DISC:
                self.start_holding(agent, S, DVD)
            elif self.offer[agent] == OFFER_COPY and bernoulli(self.rng, self.p_copy):
                self.start_holding(agent, S, USB)
            else:
                self.count_move(agent, S, W)
                self.set_state(agent, W)
                continue
            self.active.push_back(agent)
        self.merge_new_holders(n_active)
        return 0

    cdef int merge_new_holders(self, int64_t n_sorted) except -1 nogil:
        """Sort the holders appended after the first ``n_sorted`` into the sorted active list.

        Agents are numbered by region and household, so walking holders in id order walks the
        per-agent arrays and adjacency rows nearly sequentially instead of at random.
        """
        cdef int64_t i
        sort_merge_tail(self.active, n_sorted)
        for i in range(<int64_t>self.active.size()):
            self.slot[self.active[i]] = <int32_t>i
        return 0

    cdef int record(self, vector[int64_t]* series, vector[int64_t]* regions) except -1 nogil:
        """Append this step's counts to the series (growing them can fail: MemoryError)."""
        cdef int k
        for k in range(5):
            series.push_back(self.counts[k])
        for k in range(5):
            series.push_back(self.by_medium[USB][k])
        for k in range(5):
            series.push_back(self.by_medium[DVD][k])
        series.push_back(self.new_detections)
        series.push_back(self.discs)
        regions.insert(regions.end(), self.region_counts.begin(), self.region_counts.end())
        return 0


def run_media(
    dict network,
    dict agents,
    dict params,
    const int32_t[::1] seeds,
    const uint8_t[::1] seed_media,
    const int64_t[::1] entry_offsets,
    const int32_t[::1] entrants,
    const uint8_t[::1] entrant_media,
    const int64_t[::1] segment_start,
    const double[::1] segment_delta,
    int64_t horizon,
    object bit_generator,
):
    """Run one realisation of the full model.

    ``network``: CSR arrays ``offsets, neighbours, trust, kind``; ``agents``: ``region`` (int16),
    ``n_regions``, ``cohort`` and ``informant`` (uint8), groups as CSR (``group_offsets``,
    ``group_members``) and their inverse (``agent_group_offsets``, ``agent_groups``);
    ``params``: the scalars of ``Params`` (media as ``share``, ``conceal``, ``accept`` pairs).
    Entrants of step t are ``entrants[entry_offsets[t - 1]:entry_offsets[t]]``. ``horizon`` is
    the number of steps, or -1 to run until no holder remains (only without entry).
    Returns (series (steps + 1, len(SERIES_COLUMNS)), regions (steps + 1, n_regions, 5)).
    """
    cdef _MediaRun run = _MediaRun()
    cdef const int64_t[::1] offsets = network["offsets"]
    cdef const int32_t[::1] neighbours = network["neighbours"]
    cdef const float[::1] trust = network["trust"]
    cdef const uint8_t[::1] kind = network["kind"]
    cdef const int64_t[::1] group_offsets = agents["group_offsets"]
    cdef const int32_t[::1] group_members = agents["group_members"]
    cdef const int64_t[::1] agent_group_offsets = agents["agent_group_offsets"]
    cdef const int32_t[::1] agent_groups = agents["agent_groups"]
    cdef const int16_t[::1] region = agents["region"]
    cdef const uint8_t[::1] cohort = agents["cohort"]
    cdef const uint8_t[::1] informant = agents["informant"]
    cdef int64_t n = offsets.shape[0] - 1, i, t = 0, seg = 0, n_steps_entry
    cdef vector[int64_t] series, regions
    cdef int32_t agent

    run.offsets = &offsets[0]
    run.neighbours = &neighbours[0] if neighbours.shape[0] else NULL
    run.trust = &trust[0] if trust.shape[0] else NULL
    run.kind = &kind[0] if kind.shape[0] else NULL
    run.group_offsets = &group_offsets[0]
    run.group_members = &group_members[0] if group_members.shape[0] else NULL
    run.agent_group_offsets = &agent_group_offsets[0]
    run.agent_groups = &agent_groups[0] if agent_groups.shape[0] else NULL
    run.region = &region[0]
    run.n_regions = agents["n_regions"]
    run.beta = params["beta"]
    run.gamma = params["gamma"]
    run.p_copy = params["p_copy"]
    run.host_prob = params["host_prob"]
    run.informant_risk = params["informant_risk"]
    run.p_bribe = params["p_bribe"]
    run.p_implicate = params["p_implicate"]
    run.fear_factor = params["fear_factor"]
    run.fear_steps = params["fear_steps"]
    run.group_mode = params["group_mode"]
    for i in range(2):
        run.share[i] = params["share"][i]
        run.conceal[i] = params["conceal"][i]
        run.accept[i] = params["accept"][i]
    top_accept = max(params["accept"])
    for i in range(4):
        afraid_factor = params["fear_factor"] if i % 2 else 1.0
        run.sharing[i] = power_table_new(
            min(1.0, params["beta"] * params["share"][i // 2] * afraid_factor * top_accept))
        if run.sharing[i] == NULL:
            raise MemoryError("kernel tables could not be allocated")
    run.rng = <bitgen_t*> PyCapsule_GetPointer(bit_generator.capsule, "BitGenerator")
    run.flags = ((np.asarray(cohort) != 0).astype(np.uint8) << COHORT_SHIFT) | (
        (np.asarray(informant) != 0).astype(np.uint8) * INFORMANT_BIT)
    run.medium = np.zeros(n, dtype=np.uint8)
    run.offer = np.zeros(n, dtype=np.uint8)
    run.fear_until = np.zeros(n, dtype=np.int32)
    run.slot = np.full(n, -1, dtype=np.int32)
    for i in range(5):
        run.counts[i] = 0
    run.counts[S] = n
    initial = np.zeros((run.n_regions, 5), dtype=np.int64)
    initial[:, S] = np.bincount(np.asarray(region), minlength=run.n_regions)
    run.region_counts = initial.ravel().tolist()
    for i in range(5):
        run.by_medium[USB][i] = run.by_medium[DVD][i] = 0
    run.discs = 0
    run.new_detections = 0
    n_steps_entry = entry_offsets.shape[0] - 1

    with bit_generator.lock, nogil:
        for i in range(seeds.shape[0]):
            agent = seeds[i]
            run.start_holding(agent, S, seed_media[i])
            if seed_media[i] == DVD:
                run.discs += 1
            run.active.push_back(agent)
        run.merge_new_holders(0)
        run.record(&series, &regions)
        while (horizon < 0 and not run.active.empty()) or t < horizon:
            t += 1
            while seg + 1 < segment_start.shape[0] and segment_start[seg + 1] <= t:
                seg += 1
            if t <= n_steps_entry:
                run.step(t, segment_delta[seg], &entrants[0] + entry_offsets[t - 1],
                         &entrant_media[0] + entry_offsets[t - 1],
                         entry_offsets[t] - entry_offsets[t - 1])
            else:
                run.step(t, segment_delta[seg], NULL, NULL, 0)
            run.record(&series, &regions)
            with gil:
                PyErr_CheckSignals()  # Ctrl-C stops a long run between steps

    n_cols = len(SERIES_COLUMNS)
    steps = t
    series_arr = np.asarray(<int64_t[:(steps + 1) * n_cols]> series.data()).reshape(steps + 1, n_cols)
    regions_arr = np.asarray(<int64_t[:(steps + 1) * run.n_regions * 5]> regions.data())
    return series_arr.copy(), regions_arr.reshape(steps + 1, run.n_regions, 5).copy()
