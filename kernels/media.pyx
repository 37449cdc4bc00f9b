# distutils: language = c++
"""The full media model's two kernels (docs/model.md sections 3-5): day by day, and by calendar.

Fear changes sharing rates and implication reaches into other holders mid-run, so the full model
is not sampled holder by holder up front as in ``_sir``. ``_MediaRun`` (the step kernel) reads
the model literally: each step it visits every agent that holds a copy (the active list), their
ties and their groups, never all N agents. ``_CalendarRun`` (the calendar kernel, the default)
draws the same process from per-holder waiting times and visits a holder only on the days one of
them fires (see its docstring). A day, in both:

1. entry: smuggled copies reach their (pre-drawn) recipients in border regions; a copy for an
   agent who holds one already (a second copy the same step) or was detected is not taken up,
   and only copies taken up are counted as entered;
2. sharing: every holder shares tie by tie (edge mode) or hosts a viewing in one of its groups
   with probability ``host_prob`` (group mode; ties of kinds that are not grouped, such as
   market and trade ties, still share tie by tie). Exposed agents are marked and resolved at
   the end of the step. A lent medium (a DVD) moves: one viewer (chosen uniformly among those
   the lender exposed) receives it at the end of the step and the lender stops holding;
3. detection of every agent that held a copy when the step began, lenders included: delta(t)
   times the medium's concealment, times ``informant_risk`` if a non-complicit informant
   watched, times ``1 - p_bribe``. A detection seizes the copy (a disc being lent too) and
   implicates, each with probability ``p_implicate * (1 - p_bribe)``, the detected agent's
   audience of the step and its holding neighbours, who implicate in turn (a cascade);
   neighbours of every detected agent become afraid for ``fear_steps`` steps (and have known
   someone punished from then on);
4. ceasing: each remaining holder stops with probability ``gamma``; a lent object is shelved;
5. exposed agents become holders (copied media: with the medium's ``p_copy``; lent: the
   receiver) or watchers.

The media are a table (``model.pxd``'s ``MediumSpec``): the kernel reads a medium's fields,
never its name. Every informed agent's first step, channel (the kind of tie or group, entry or
seed) and medium are written to per-agent arrays, and so is the first step one of each agent's
ties was detected.

Every draw has its own address under the run's key (``rng.pxd``): a holder's detection, ceasing,
hosting and sharing of a step by (holder, step), drawn whoever its viewers are; a viewer keeping
a copy by (viewer, step); an implication by (detected agent, step, other agent); a person's
willingness once, by (person, step 0); a detection's public trial and its witnesses by (detected
agent, step); a trader's sales by (trader, step). Runs that differ only in where copies enter
give each agent the same draws while its history is the same (common random numbers), and no
step draws for agents that hold nothing.

The mechanisms the published record asked for (docs/model.md, section 5a) are fields of the run,
off unless set: per-person willingness multiplies acceptance, a public trial marks the witnesses
of a region and deters it for some days, traders sell and rent to their market customers, and
every medium a person watched is a bit of ``seen``, counted per region and step.

An informant who has watched is complicit: only a susceptible informant raises the risk.
"""

cimport cython
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free
from libcpp.vector cimport vector

from model cimport D, I, MediaParams, MediumSpec, N_STATES, R, S, W
from prefetch cimport DIFFUSION_PREFETCH
from rng cimport (
    CLOCK,
    HOLDER_DAY,
    HOLDER_STEP,
    IMPLICATE,
    KEEP_COPY,
    MARKET_SALE,
    PUBLIC_TRIAL,
    WILLING,
    WITNESS,
    PowerTable,
    Stream,
    bernoulli,
    TABLE_SPAN,
    first_day_within,
    first_success_somewhere,
    first_success_within,
    power_table_new,
    stream_at,
    uniform,
    uniform_at,
)
from sorting cimport sort_unique

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
    EXPOSED = 5     # transient: exposed during the current step, still counted as S
    OFFER_WATCH = 0  # watched an object it did not receive
    OFFER_COPY = 1   # watched a copied medium: keeps a copy with the medium's p_copy
    OFFER_OBJECT = 2  # received the lent object itself
    OFFER_BOUGHT = 3  # bought a copy of a copied medium from a trader: keeps it
    STATE_MASK = 7   # per-agent flags byte: bits 0-2 state, bit 3 cohort, bit 4 informant,
    COHORT_SHIFT = 3  # so the hot loop reads one byte per neighbour
    INFORMANT_BIT = 16
    TRADER_BIT = 32  # bit 5: a trader (sells and rents media to its market customers)
    PREFETCH_AHEAD = 8
    PER_MEDIUM = N_STATES + 1  # per medium and step: informed agents by state, lent copies

# Per-step columns of the series returned to Python.
SERIES_COLUMNS = ("S", "W", "I", "R", "D", "new_detections", "entered", "public_trials")
MEDIUM_COLUMNS = ("S", "W", "I", "R", "D", "copies")


cdef inline double clip(double p) noexcept nogil:
    return 1.0 if p > 1.0 else p


cdef class _MediaRun:
    """The state of one run and the operations of a step, all on raw pointers (no GIL)."""

    # network and agents
    cdef int64_t n_agents
    cdef const int64_t* offsets
    cdef const int32_t* neighbours
    cdef const float* trust
    cdef const uint8_t* kind
    cdef const int64_t* group_offsets
    cdef const int32_t* group_members
    cdef const int64_t* agent_group_offsets
    cdef const int32_t* agent_groups
    cdef const uint8_t* group_kind
    cdef const int16_t* region
    cdef const int64_t* region_start  # region r is agents region_start[r]:region_start[r + 1]
    cdef const float* willing  # per agent: multiplier on its acceptance (0: refuses), or NULL
    cdef int n_regions
    cdef uint8_t grouped[256]  # per tie kind: 1 if group mode shares along it only in viewings
    # parameters
    cdef double beta, gamma, host_prob, informant_risk, p_bribe, p_implicate, fear_factor
    cdef const MediumSpec* media
    cdef int n_media
    cdef double accept[2]
    cdef int64_t fear_steps
    cdef bint group_mode
    cdef const int64_t* segment_start  # detection: segment k starts at step segment_start[k]
    cdef const double* segment_delta
    cdef int64_t n_segments
    cdef double market_rate  # a trader's sales per customer and day, times its acceptance
    cdef double p_public  # probability that a detection of this step becomes a public trial
    cdef double deterrence  # multiplier on acceptance in a region after a public trial there
    cdef int64_t deterrence_steps
    cdef PowerTable* attend  # attendance of a public trial by each resident of its region
    cdef PowerTable* market  # a trader sells or rents to each market customer, per day
    cdef uint8_t market_kind, sale_channel
    # state
    cdef uint64_t key[2]  # the run's key: every draw is addressed under it (rng.pxd)
    cdef uint8_t[::1] flags, medium, offer, channel, first_medium
    cdef uint8_t entry_channel
    cdef int32_t[::1] fear_until, slot, reached, tie_detected, witnessed
    cdef uint32_t[::1] seen  # per agent: one bit per medium it has watched
    cdef vector[int32_t] deter_until  # per region: last step of deterrence after a trial
    cdef int64_t deterred_until  # the last step any region is deterred (-1: none ever was)
    cdef vector[int64_t] region_seen  # per region and medium: agents who have seen it
    cdef bint track_witnessed
    cdef int64_t counts[N_STATES]
    cdef vector[int64_t] region_counts
    # per medium: informed agents by state (of the medium they last saw), then copies of a lent
    # medium in circulation
    cdef vector[int64_t] by_medium
    cdef int64_t new_detections, public_trials
    cdef int64_t new_entered  # smuggled copies taken up this step (a holder's second is not)
    cdef vector[int32_t] active, exposed, queue
    cdef vector[int64_t] audience_end
    cdef vector[uint8_t] risky
    cdef vector[double] fate  # per active slot: its detection and ceasing uniforms of this step
    cdef vector[int32_t] lent_to  # per active slot: who receives its lent object this step, or -1
    cdef vector[PowerTable*] sharing  # per medium and fear: trials at the highest sharing rate

    def __dealloc__(self):
        for table in self.sharing:
            free(table)
        free(self.attend)
        free(self.market)

    @cython.final
    cdef inline int state_of(self, int32_t agent) noexcept nogil:
        return self.flags[agent] & STATE_MASK

    @cython.final
    cdef inline int cohort_of(self, int32_t agent) noexcept nogil:
        return (self.flags[agent] >> COHORT_SHIFT) & 1

    @cython.final
    cdef inline double acceptance(self, int32_t viewer, int64_t t) noexcept nogil:
        """Multiplier on media shown to ``viewer`` at step ``t``: its cohort's acceptance, its
        own willingness (0 for those who refuse) and its region's deterrence after a trial."""
        cdef double a = self.accept[self.cohort_of(viewer)]
        if self.willing != NULL:
            a *= self.willing[viewer]
        if self.deterred_until >= t and self.deter_until[self.region[viewer]] >= t:
            a *= self.deterrence
        return a

    @cython.final
    cdef inline void see(self, int32_t agent, uint8_t what) noexcept nogil:
        """``agent`` watches medium ``what``: set its bit, counted once per agent and medium."""
        cdef uint32_t bit = (<uint32_t>1) << what
        if not (self.seen[agent] & bit):
            self.seen[agent] |= bit
            self.region_seen[<int64_t>self.region[agent] * self.n_media + what] += 1

    @cython.final
    cdef inline void set_state(self, int32_t agent, int to) noexcept nogil:
        self.flags[agent] = (self.flags[agent] & ~STATE_MASK) | to

    @cython.final
    cdef inline void count_move(self, int32_t agent, int frm, int to) noexcept nogil:
        """Book a transition in the total, per-region and per-medium counts.

        An informed agent is counted under ``medium[agent]``, the medium of the copy it last
        watched or held, so that must be set before an agent leaves S.
        """
        cdef int64_t base = <int64_t>self.region[agent] * N_STATES
        cdef int64_t mine = <int64_t>self.medium[agent] * PER_MEDIUM
        self.counts[frm] -= 1
        self.counts[to] += 1
        self.region_counts[base + frm] -= 1
        self.region_counts[base + to] += 1
        if frm != S:
            self.by_medium[mine + frm] -= 1
        if to != S:
            self.by_medium[mine + to] += 1

    @cython.final
    cdef inline void reach(self, int32_t agent, int64_t t, uint8_t channel,
                           uint8_t what) noexcept nogil:
        """Record how a susceptible ``agent`` was first reached: step, channel and medium."""
        self.reached[agent] = <int32_t>t
        self.channel[agent] = channel
        self.first_medium[agent] = what
        self.medium[agent] = what
        self.see(agent, what)

    @cython.final
    cdef inline void start_holding(self, int32_t agent, int frm, uint8_t what) noexcept nogil:
        """``agent`` (in S, W or R) now holds a copy of medium ``what`` (counted under it)."""
        if frm != S:  # informed before, maybe by another medium: leave that count
            self.count_move(agent, frm, S)
        self.medium[agent] = what
        self.see(agent, what)
        self.count_move(agent, S, I)
        self.set_state(agent, I)
        if self.media[what].lent:
            self.by_medium[<int64_t>what * PER_MEDIUM + N_STATES] += 1

    @cython.final
    cdef inline void stop_holding(self, int32_t agent, int to) noexcept nogil:
        self.count_move(agent, I, to)
        self.set_state(agent, to)

    @cython.final
    cdef inline int64_t active_slot(self, int32_t agent) noexcept nogil:
        """Index of ``agent`` in this step's active list, or -1 if it did not hold at the start."""
        cdef int64_t s = self.slot[agent]
        if s >= 0 and <size_t>s < self.active.size() and self.active[s] == agent:
            return s
        return -1

    @cython.final
    cdef inline int expose(self, int64_t slot, int32_t viewer, uint8_t what, uint8_t channel,
                           int64_t t, double priority, double* best,
                           int32_t* receiver) except -1 nogil:
        """Holder at ``slot`` shows its medium to susceptible ``viewer`` through ``channel``; a
        lent object goes to the viewer of highest ``priority`` (a uniform choice)."""
        cdef bint lent = self.media[what].lent
        self.set_state(viewer, EXPOSED)
        self.exposed.push_back(viewer)
        self.offer[viewer] = OFFER_WATCH if lent else OFFER_COPY
        self.reach(viewer, t, channel, what)
        if self.flags[viewer] & INFORMANT_BIT:
            self.risky[slot] = 1
        if lent and priority > best[0]:
            best[0] = priority
            receiver[0] = viewer
        return 0

    @cython.final
    cdef int share_from(self, int64_t slot, int64_t t) except -1 nogil:
        """Step kernel: the sharing of the holder at ``slot`` in step ``t``, with its detection
        and ceasing uniforms of the step (``fate``), all from one stream (holder, t).

        Tie by tie, trials run at the holder's highest possible rate ``table.p`` and each
        success is thinned to the tie's own rate: a geometric skip jumps to the next success,
        so only ties that might share are looked at (exact for Bernoulli trials). Every draw
        (acceptance, thinning, priority for a lent object) is made whoever the viewer is, so
        the holder's draws depend only on its own history (common random numbers).
        """
        cdef int32_t holder = self.active[slot], receiver = -1
        cdef uint8_t what = self.medium[holder]
        cdef bint afraid = self.fear_until[holder] >= t
        cdef double factor = self.media[what].share * (self.fear_factor if afraid else 1.0)
        cdef PowerTable* table = self.sharing[2 * what + afraid]
        cdef int64_t e, end, k, n_groups
        cdef double best = -1.0
        cdef Stream draws
        stream_at(&draws, self.key, holder, t, HOLDER_STEP, 0)
        self.fate[2 * slot] = uniform(&draws)  # detection (used in step 3)
        self.fate[2 * slot + 1] = uniform(&draws)  # ceasing (step 4)
        if self.group_mode:
            n_groups = self.agent_group_offsets[holder + 1] - self.agent_group_offsets[holder]
            if n_groups > 0 and bernoulli(&draws, clip(self.host_prob * factor)):
                self.view_in_group(slot, self.choose_group(holder, &draws), t, &draws, &best,
                                   &receiver)
        e = self.offsets[holder]
        end = self.offsets[holder + 1]
        while e < end:
            k = first_success_within(&draws, table, end - e)
            if k == 0:
                break
            e += k - 1
            self.offer_tie(slot, e, t, &draws, table, factor, &best, &receiver)
            e += 1
        if self.market.p > 0.0 and self.flags[holder] & TRADER_BIT:
            self.sell_from(slot, t)
        self.audience_end[slot] = self.exposed.size()
        self.lend(slot, receiver)
        return 0

    @cython.final
    cdef inline void lend(self, int64_t slot, int32_t receiver) noexcept nogil:
        """A lent object goes to ``receiver`` (if any) at the end of the step."""
        if receiver >= 0:
            self.offer[receiver] = OFFER_OBJECT
            self.lent_to[slot] = receiver

    @cython.final
    cdef inline int64_t choose_group(self, int32_t holder, Stream* draws) noexcept nogil:
        """The group a viewing of ``holder`` takes place in, one of its groups uniformly."""
        cdef int64_t first = self.agent_group_offsets[holder]
        cdef int64_t n_groups = self.agent_group_offsets[holder + 1] - first
        return self.agent_groups[first + <int64_t>(uniform(draws) * n_groups)]

    @cython.final
    cdef int view_in_group(self, int64_t slot, int64_t g, int64_t t, Stream* draws,
                           double* best, int32_t* receiver) except -1 nogil:
        """The holder at ``slot`` hosts a viewing in group ``g`` (``choose_group``): each member
        accepts with its acceptance; susceptible ones are exposed, informed ones watch."""
        cdef int32_t holder = self.active[slot], viewer
        cdef uint8_t what = self.medium[holder], st
        cdef bint lent = self.media[what].lent
        cdef int64_t e
        cdef double u, priority = 0.0
        for e in range(self.group_offsets[g], self.group_offsets[g + 1]):
            viewer = self.group_members[e]
            u = uniform(draws)
            if lent:
                priority = uniform(draws)
            st = self.state_of(viewer)
            if st == D or u >= self.acceptance(viewer, t):
                continue
            if st == S:
                self.expose(slot, viewer, what, self.group_kind[g], t, priority, best, receiver)
            else:  # informed already (or exposed this step): watches this medium too
                self.see(viewer, what)
        return 0

    @cython.final
    cdef int offer_tie(self, int64_t slot, int64_t e, int64_t t, Stream* draws, PowerTable* table,
                       double factor, double* best, int32_t* receiver) except -1 nogil:
        """A trial at rate ``table.p`` succeeded on tie ``e`` of the holder at ``slot``: thin it
        to the tie's own rate (its trust, the viewer's acceptance, the holder's ``factor``)."""
        cdef int32_t viewer = self.neighbours[e]
        cdef uint8_t what = self.medium[self.active[slot]], st
        cdef double u = uniform(draws), priority = 0.0, p
        if self.media[what].lent:
            priority = uniform(draws)
        st = self.state_of(viewer)
        if st == D or (self.group_mode and self.grouped[self.kind[e]]):
            return 0
        p = clip(self.beta * factor * self.trust[e] * self.acceptance(viewer, t))
        if p >= table.p or u < p / table.p:
            if st == S:
                self.expose(slot, viewer, what, self.kind[e], t, priority, best, receiver)
            else:
                self.see(viewer, what)
        return 0

    @cython.final
    cdef int sell_from(self, int64_t slot, int64_t t) except -1 nogil:
        """Step kernel: a trader holding media sells or rents to its market customers, trials
        at ``market.p`` over its whole row from a stream of its own per step (one uniform per
        success, drawn whoever the tie leads to)."""
        cdef int32_t holder = self.active[slot]
        cdef int64_t e = self.offsets[holder], end = self.offsets[holder + 1], k
        cdef Stream sales
        stream_at(&sales, self.key, holder, t, MARKET_SALE, 0)
        while e < end:
            k = first_success_within(&sales, self.market, end - e)
            if k == 0:
                break
            e += k - 1
            self.sell_to(slot, e, t, &sales)
            e += 1
        return 0

    @cython.final
    cdef int sell_to(self, int64_t slot, int64_t e, int64_t t, Stream* draws) except -1 nogil:
        """A trial at rate ``market.p`` succeeded on tie ``e`` of the trader at ``slot``: over a
        market tie to a susceptible customer it sells a copy (copied media) or rents the disc
        (lent media: the customer watches, the disc stays), thinned to ``market_rate`` times
        the customer's acceptance."""
        cdef int32_t customer = self.neighbours[e]
        cdef uint8_t what = self.medium[self.active[slot]]
        cdef double u = uniform(draws)
        if self.kind[e] != self.market_kind or self.state_of(customer) != S:
            return 0
        if u * self.market.p >= clip(self.market_rate * self.acceptance(customer, t)):
            return 0
        self.set_state(customer, EXPOSED)
        self.exposed.push_back(customer)
        self.offer[customer] = OFFER_WATCH if self.media[what].lent else OFFER_BOUGHT
        self.reach(customer, t, self.sale_channel, what)
        if self.flags[customer] & INFORMANT_BIT:
            self.risky[slot] = 1
        return 0

    @cython.final
    cdef int public_trial(self, int32_t agent, int64_t t) except -1 nogil:
        """A detected ``agent`` is tried in public in its region: residents attend with the
        attendance probability (geometric skips over the region's id range, from the trial's
        own stream), and the region is deterred for ``deterrence_steps`` steps."""
        cdef int64_t r = self.region[agent], e, end, k
        cdef Stream draws
        self.public_trials += 1
        if self.deterrence_steps > 0:
            self.deter_until[r] = <int32_t>(t + self.deterrence_steps)
            self.deterred_until = max(self.deterred_until, self.deter_until[r])
        if not self.track_witnessed:
            return 0
        stream_at(&draws, self.key, agent, t, WITNESS, 0)
        e = self.region_start[r]
        end = self.region_start[r + 1]
        while e < end:
            k = first_success_within(&draws, self.attend, end - e)
            if k == 0:
                break
            e += k - 1
            if self.witnessed[e] < 0:
                self.witnessed[e] = <int32_t>t
            e += 1
        return 0

    @cython.final
    cdef inline void lose_object(self, uint8_t what) noexcept nogil:
        self.by_medium[<int64_t>what * PER_MEDIUM + N_STATES] -= 1

    @cython.final
    cdef inline void seize(self, int32_t agent) noexcept nogil:
        """Confiscate the copy of a holder being detected; a lent object leaves circulation.

        A lender still held its object during this step (the borrower takes it at the end of
        the step), so an object lent this step is seized too and its borrower has only watched.
        """
        cdef int64_t s
        cdef int32_t borrower
        cdef uint8_t what = self.medium[agent]
        if not self.media[what].lent:
            return
        s = self.active_slot(agent)
        if s < 0 or self.lent_to[s] < 0:
            self.lose_object(what)
            return
        borrower = self.lent_to[s]
        if self.state_of(borrower) == EXPOSED and self.offer[borrower] == OFFER_OBJECT:
            self.offer[borrower] = OFFER_WATCH
            self.lose_object(what)
        # else the borrower was already detected with the object, which was counted then

    @cython.final
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
            if self.p_public > 0.0 and uniform_at(self.key, a, t, PUBLIC_TRIAL, 0) < self.p_public:
                self.public_trial(a, t)
            s = self.active_slot(a) if p_take > 0.0 else -1
            if s >= 0:  # its audience of this step
                start = self.audience_end[s - 1] if s > 0 else 0
                for e in range(start, self.audience_end[s]):
                    other = self.exposed[e]
                    if self.state_of(other) == EXPOSED and uniform_at(
                            self.key, a, t, IMPLICATE, other) < p_take:
                        # a holder in the queue was seized first, its borrower only watched
                        self.count_move(other, S, D)
                        self.set_state(other, D)
                        self.new_detections += 1
                        self.queue.push_back(other)
            # its ties: each neighbour has now had a tie detected and is afraid; one that holds
            # is implicated (one pass over the row: neither act reads what the other writes),
            # the neighbours' records asked for first so that their loads overlap
            for e in range(self.offsets[a], self.offsets[a + 1]):
                other = self.neighbours[e]
                DIFFUSION_PREFETCH(&self.tie_detected[other])
                DIFFUSION_PREFETCH(&self.fear_until[other])
                DIFFUSION_PREFETCH(&self.flags[other])
            for e in range(self.offsets[a], self.offsets[a + 1]):
                other = self.neighbours[e]
                if self.tie_detected[other] < 0:
                    self.tie_detected[other] = <int32_t>t
                if self.fear_steps > 0:
                    self.fear_until[other] = <int32_t>(t + self.fear_steps)
                if p_take > 0.0 and self.state_of(other) == I and uniform_at(
                        self.key, a, t, IMPLICATE, other) < p_take:
                    self.seize(other)
                    self.stop_holding(other, D)
                    self.new_detections += 1
                    self.queue.push_back(other)
        return 0

    @cython.final
    cdef bint take_entrant(self, int32_t agent, uint8_t what, int64_t t) noexcept nogil:
        """A smuggled copy of ``what`` reaches ``agent`` in step ``t``: taken up (and counted as
        entered) unless the agent holds one already or was detected. True if taken up."""
        cdef uint8_t st = self.state_of(agent)
        if st == S:
            self.reach(agent, t, self.entry_channel, what)
        if st == S or st == W or st == R:
            self.start_holding(agent, st, what)
            self.new_entered += 1
            return True
        return False

    @cython.final
    cdef bint resolve_exposed(self, int32_t agent, int64_t t) noexcept nogil:
        """At the end of step ``t`` an agent exposed in it becomes a holder (the lent object
        itself, a copy bought, or a copy kept with the medium's ``p_copy``) or a watcher.
        True if it now holds."""
        cdef uint8_t what = self.medium[agent]
        if self.state_of(agent) != EXPOSED:
            return False
        if self.offer[agent] == OFFER_OBJECT:
            self.start_holding(agent, S, what)
            self.lose_object(what)  # the object moved: it was counted with its lender
            return True
        if self.offer[agent] == OFFER_BOUGHT or (
                self.offer[agent] == OFFER_COPY
                and uniform_at(self.key, agent, t, KEEP_COPY, 0) < self.media[what].p_copy):
            self.start_holding(agent, S, what)
            return True
        self.count_move(agent, S, W)
        self.set_state(agent, W)
        return False

    @cython.final
    cdef int begin_step(self, int64_t n_active, double p_public) except -1 nogil:
        """Reset the per-step records for ``n_active`` holders acting in this step."""
        self.exposed.clear()
        self.audience_end.assign(n_active, 0)
        self.risky.assign(n_active, 0)
        self.lent_to.assign(n_active, -1)
        self.new_detections = 0
        self.public_trials = 0
        self.p_public = p_public
        return 0

    @cython.final
    cdef int step(self, int64_t t, int64_t seg, double p_public, const int32_t* entrants,
                  const uint8_t* entrant_media, int64_t n_entrants) except -1 nogil:
        """Step kernel: one day, every holder visited (entry, sharing, detection, ceasing,
        resolution; see the module docstring)."""
        cdef int64_t i, n_active
        cdef int32_t agent
        cdef uint8_t what
        cdef double p, delta = self.segment_delta[seg]
        # 1. entry
        n_active = self.active.size()
        self.new_entered = 0
        for i in range(n_entrants):
            if self.take_entrant(entrants[i], entrant_media[i], t):
                self.active.push_back(entrants[i])
        if <size_t>n_active < self.active.size():
            self.merge_new_holders(n_active)
        # 2. sharing
        n_active = self.active.size()
        self.begin_step(n_active, p_public)
        self.fate.resize(2 * n_active)
        for i in range(n_active):
            if i + 2 * PREFETCH_AHEAD < n_active:
                DIFFUSION_PREFETCH(&self.offsets[self.active[i + 2 * PREFETCH_AHEAD]])
            if i + PREFETCH_AHEAD < n_active:
                agent = self.active[i + PREFETCH_AHEAD]
                DIFFUSION_PREFETCH(&self.neighbours[self.offsets[agent]])
                DIFFUSION_PREFETCH(&self.fear_until[agent])
            self.share_from(i, t)
        # 3. detection (with implication and fear) of everyone who held a copy when the step began,
        # lenders included, with the uniform each drew for it in share_from
        for i in range(n_active):
            agent = self.active[i]
            if self.state_of(agent) != I:
                continue
            what = self.medium[agent]
            p = delta * self.media[what].conceal * (1.0 - self.p_bribe)
            if self.risky[i]:
                p *= self.informant_risk
            if self.fate[2 * i] < p:
                self.detect(agent, t)
        # 4. ceasing; lenders stop holding
        for i in range(n_active):
            agent = self.active[i]
            if self.state_of(agent) == I and (
                    self.fate[2 * i + 1] < self.gamma or self.lent_to[i] >= 0):
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
            if self.resolve_exposed(agent, t):
                self.active.push_back(agent)
        self.merge_new_holders(n_active)
        return 0

    @cython.final
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

    @cython.final
    cdef int record(self, vector[int64_t]* series, vector[int64_t]* media,
                    vector[int64_t]* regions, vector[int64_t]* seen) except -1 nogil:
        """Append this step's counts to the outputs (growing them can fail: MemoryError)."""
        cdef int k
        for k in range(N_STATES):
            series.push_back(self.counts[k])
        series.push_back(self.new_detections)
        series.push_back(self.new_entered)
        series.push_back(self.public_trials)
        media.insert(media.end(), self.by_medium.begin(), self.by_medium.end())
        regions.insert(regions.end(), self.region_counts.begin(), self.region_counts.end())
        seen.insert(seen.end(), self.region_seen.begin(), self.region_seen.end())
        return 0


cdef enum:
    NEVER = 2147483647  # a clock that does not fire while the holding lasts
    DETECT_CLOCK = 0    # the clocks of a holding (the ``other`` word of their draws' addresses)
    CEASE_CLOCK = 1
    HOST_CLOCK = 2
    TIES_CLOCK = 3
    SALES_CLOCK = 4
    N_CLOCKS = 5
    SHARING_CLOCKS = (1 << HOST_CLOCK) | (1 << TIES_CLOCK) | (1 << SALES_CLOCK)
    START_CLOCKS = 0    # ``other`` of the stream a holding's first clocks come from (CLOCK)
    RESTART = 1         # ``other`` of the stream clock c restarts from is RESTART + c (CLOCK)
    RING_DAYS = 256     # days of the calendar's ring of buckets; later entries wait in ``far``


cdef struct Clocks:
    int32_t at[N_CLOCKS]  # the day each clock of the agent's holding fires next, or NEVER
    int32_t next        # the earliest of them: the day of the holding's calendar entry
    uint8_t restart     # a bit per clock whose ``at`` is a restart (a new window), not an event
    uint8_t spare[7]    # to 32 bytes: two records a cache line, none across two


cdef struct FarEntry:
    int32_t day
    int32_t agent


cdef class _CalendarRun(_MediaRun):
    """The full model driven by a calendar of days: each holder's next detection, ceasing,
    viewing, tie-by-tie share and sale are waiting times drawn from its own addressed streams,
    and a day visits only the holders one of whose clocks fires that day.

    A clock is a geometric wait over days, exact for the per-day Bernoulli trials of the step
    kernel (memoryless, so a clock that fired is redrawn from the next day and the others keep
    their day). Rates that change while a copy is held are reached by thinning from an upper
    bound (sharing: the calm rate, as fear only lowers it; the viewer's acceptance, as in the
    step kernel) or by restarting the wait where the detection schedule changes. A viewing of
    an informant raises that day's detection to ``informant_risk`` times its rate by one extra
    trial. So a run has the step kernel's distribution, with work proportional to
    events instead of holder-days.
    """

    cdef Clocks* clocks  # per agent, read only while it holds (so never initialised)
    cdef object clock_memory  # the numpy buffer behind ``clocks``
    # group mode, per group and medium: its members before this position can no longer be
    # changed by a viewing of the medium (that lasts), so a check for one who can starts there
    cdef int32_t* settled
    cdef object settled_memory  # the numpy buffer behind ``settled``
    cdef vector[vector[int32_t]] ring  # per day (mod RING_DAYS): agents with a clock that day
    cdef vector[FarEntry] far  # entries RING_DAYS or more days ahead
    cdef vector[int32_t] entries  # the entries of the day being gathered
    cdef vector[int32_t] scratch  # the other half of sorting them
    cdef vector[uint8_t] fired  # per holder of the day: a bit per clock firing that day
    cdef vector[int32_t] walk  # the positions within its row of a trader's market ties
    cdef const int32_t* walk_at  # the positions of the walk being taken, or NULL: whole row
    # group mode: agent a's tie-by-tie ties (kinds not grouped) are the positions within its row
    # tie_walk_pos[tie_walk_start[a]:tie_walk_start[a + 1]]
    cdef const int64_t* tie_walk_start
    cdef const int32_t* tie_walk_pos
    cdef object tie_walk_memory  # the numpy buffers behind them
    cdef vector[PowerTable*] detection  # per segment and medium
    cdef vector[PowerTable*] hosting  # per medium: hosting at the calm rate
    cdef PowerTable* ceasing
    cdef int64_t last_day  # the last day a clock can fire in (the horizon, or NEVER - 1)
    cdef int64_t today

    def __dealloc__(self):
        for table in self.detection:
            free(table)
        for table in self.hosting:
            free(table)
        free(self.ceasing)

    @cython.final
    cdef int prepare(self, int64_t horizon) except -1 nogil:
        """The calendar's tables: detection per segment and medium, hosting per medium,
        ceasing. Out of memory raises MemoryError."""
        cdef int64_t s
        cdef int m
        self.last_day = horizon if horizon >= 0 else NEVER - 1
        self.ring.resize(RING_DAYS)
        self.ceasing = power_table_new(self.gamma)
        if self.ceasing == NULL:
            raise MemoryError("kernel tables could not be allocated")
        for s in range(self.n_segments):
            for m in range(self.n_media):
                self.detection.push_back(power_table_new(clip(
                    self.segment_delta[s] * self.media[m].conceal * (1.0 - self.p_bribe))))
                if self.detection.back() == NULL:
                    raise MemoryError("kernel tables could not be allocated")
        for m in range(self.n_media):
            self.hosting.push_back(power_table_new(clip(self.host_prob * self.media[m].share)))
            if self.hosting.back() == NULL:
                raise MemoryError("kernel tables could not be allocated")
        return 0

    @cython.final
    cdef inline int64_t segment_of(self, int64_t t) noexcept nogil:
        """The detection segment holding step ``t``."""
        cdef int64_t s = 0
        while s + 1 < self.n_segments and self.segment_start[s + 1] <= t:
            s += 1
        return s

    @cython.final
    cdef int begin_holding(self, int32_t agent, int64_t t) except -1 nogil:
        """``agent`` has just started holding: its clocks run from step ``t``, drawn from one
        stream at (agent, t, CLOCK, START_CLOCKS)."""
        cdef Stream draws
        stream_at(&draws, self.key, agent, t, CLOCK, START_CLOCKS)
        self.clocks[agent].restart = 0
        self.draw_clock(agent, DETECT_CLOCK, t, 0, &draws)
        self.draw_clock(agent, CEASE_CLOCK, t, 0, &draws)
        self.draw_clock(agent, HOST_CLOCK, t, 0, &draws)
        self.draw_clock(agent, TIES_CLOCK, t, self.count_ties(agent, False), &draws)
        self.draw_clock(agent, SALES_CLOCK, t, self.count_ties(agent, True), &draws)
        return self.schedule(agent)

    @cython.final
    cdef inline int64_t count_ties(self, int32_t agent, bint market) noexcept nogil:
        """Ties of ``agent`` a walk covers: its market ties if it is a trader (market), else
        those it shares tie by tie (the whole row outside group mode)."""
        cdef int64_t e, n = 0
        if market:
            if not (self.flags[agent] & TRADER_BIT):
                return 0
            for e in range(self.offsets[agent], self.offsets[agent + 1]):
                n += self.kind[e] == self.market_kind
            return n
        if not self.group_mode:
            return self.offsets[agent + 1] - self.offsets[agent]
        return self.tie_walk_start[agent + 1] - self.tie_walk_start[agent]

    @cython.final
    cdef void draw_clock(self, int32_t agent, int which, int64_t t, int64_t n_ties,
                         Stream* draws) noexcept nogil:
        """The first day from ``t`` on that clock ``which`` of ``agent``'s holding fires.

        One uniform of ``draws`` decides it over a window of days (as many as the power table
        covers, cut at the end of a detection segment): a holding's first clocks come from
        (agent, t, CLOCK, START_CLOCKS), a clock that fired on day t - 1 from the head of that
        event's own stream (agent, t - 1, HOLDER_DAY, which). With no success in the window the
        clock restarts the day after it, from (agent, day, CLOCK, RESTART + which): exact, as
        waits are memoryless, and the draws that follow in ``draws`` keep their place whatever
        the window or the horizon. ``n_ties``: a walk's trials per day (``count_ties``).
        """
        cdef Clocks* rec = &self.clocks[agent]
        cdef uint8_t what = self.medium[agent]
        cdef int64_t trials = 1, window, k, seg, end = -1
        cdef PowerTable* table
        rec.at[which] = NEVER
        rec.restart &= ~(1 << which)
        if which == DETECT_CLOCK:
            seg = self.segment_of(t)
            if seg + 1 < self.n_segments:
                end = self.segment_start[seg + 1] - 1
            table = self.detection[seg * self.n_media + what]
            if table.p <= 0.0:  # none in this segment: start again where the next one begins
                if 0 <= end < self.last_day:
                    rec.at[which] = <int32_t>(end + 1)
                    rec.restart |= 1 << which
                return
        elif which == CEASE_CLOCK:
            table = self.ceasing
        elif which == HOST_CLOCK:
            if not self.group_mode or (
                    self.agent_group_offsets[agent + 1] == self.agent_group_offsets[agent]):
                return
            table = self.hosting[what]
        elif which == TIES_CLOCK:
            table = self.sharing[2 * what]  # calm: fear only lowers sharing (fear_factor <= 1)
            trials = n_ties
        else:
            table = self.market
            trials = n_ties
        if trials <= 0 or table.p <= 0.0:
            return
        window = TABLE_SPAN // trials if trials <= TABLE_SPAN else 1
        if end >= t and window > end - t + 1:
            window = end - t + 1
        k = first_day_within(draws, table, trials, window)  # drawn even past the horizon
        if k > 0:
            if t + k - 1 <= self.last_day:
                rec.at[which] = <int32_t>(t + k - 1)
        elif t + window <= self.last_day:
            rec.at[which] = <int32_t>(t + window)
            rec.restart |= 1 << which

    @cython.final
    cdef int schedule(self, int32_t agent) except -1 nogil:
        """Enter ``agent``'s holding in the calendar on the day of its earliest clock."""
        cdef Clocks* rec = &self.clocks[agent]
        cdef int32_t day = NEVER
        cdef int c
        cdef FarEntry entry
        for c in range(N_CLOCKS):
            if rec.at[c] < day:
                day = rec.at[c]
        rec.next = day
        if day == NEVER:
            return 0
        if day - self.today < RING_DAYS:
            self.ring[day % RING_DAYS].push_back(agent)
        else:
            entry.day = day
            entry.agent = agent
            self.far.push_back(entry)
        return 0

    @cython.final
    cdef int bring_near(self) except -1 nogil:
        """Move the far entries of the next RING_DAYS days into the ring (every RING_DAYS days)."""
        cdef size_t i, kept = 0
        for i in range(self.far.size()):
            if self.far[i].day - self.today < RING_DAYS:
                self.ring[self.far[i].day % RING_DAYS].push_back(self.far[i].agent)
            else:
                self.far[kept] = self.far[i]
                kept += 1
        self.far.resize(kept)
        return 0

    @cython.final
    cdef int gather_and_share(self, int64_t t, double p_public) except -1 nogil:
        """Today's holders, and their sharing: the calendar entries of day ``t`` that are
        current (the agent still holds and its earliest clock is today), in id order, with the
        clocks that fire, each sharing as soon as it is found (sharing changes no holder's
        state or clocks, so this is the order of a gathering followed by the sharing, with the
        holder's record still in cache)."""
        cdef int32_t agent
        cdef size_t i, n
        cdef uint8_t bits
        cdef int c
        cdef int64_t slot
        cdef Clocks* rec
        cdef Stream draws
        self.entries.clear()  # its capacity goes back to the ring: no allocation once warm
        self.entries.swap(self.ring[t % RING_DAYS])
        sort_unique(self.entries, self.scratch)
        self.active.clear()
        self.fired.clear()
        self.begin_step(0, p_public)
        n = self.entries.size()
        for i in range(n):
            if i + PREFETCH_AHEAD < n:
                self.prefetch_holding(self.entries[i + PREFETCH_AHEAD])
            if self.group_mode:  # a viewing's loads in stages, each reading what the last asked for
                if i + 3 * PREFETCH_AHEAD // 4 < n:
                    self.prefetch_group_list(self.entries[i + 3 * PREFETCH_AHEAD // 4])
                if i + PREFETCH_AHEAD // 2 < n:
                    self.prefetch_groups(self.entries[i + PREFETCH_AHEAD // 2])
            agent = self.entries[i]
            rec = &self.clocks[agent]
            if rec.next != t or self.state_of(agent) != I:  # a stale entry
                continue
            if rec.restart:
                for c in range(N_CLOCKS):
                    if rec.restart & (1 << c) and rec.at[c] == t:
                        stream_at(&draws, self.key, agent, t, CLOCK, RESTART + c)
                        self.draw_clock(agent, c, t, self.count_ties(agent, c == SALES_CLOCK),
                                        &draws)
            bits = 0
            for c in range(N_CLOCKS):
                if rec.at[c] == t:
                    bits |= 1 << c
            if bits == 0:  # only clocks restarting today, and none fires today
                self.schedule(agent)
                continue
            slot = self.active.size()
            self.slot[agent] = <int32_t>slot
            self.active.push_back(agent)
            self.fired.push_back(bits)
            self.risky.push_back(0)
            self.lent_to.push_back(-1)
            if bits & SHARING_CLOCKS:
                self.share_today(slot, t)
            self.audience_end.push_back(self.exposed.size())
        return 0

    @cython.final
    cdef inline void prefetch_holding(self, int32_t agent) noexcept nogil:
        """Ask for what a holder's visit reads first (its clocks, its state, where its groups,
        its row and its tie-by-tie ties start) some holders ahead of the visit, so that the
        loads overlap instead of waiting in turn."""
        DIFFUSION_PREFETCH(&self.clocks[agent])
        DIFFUSION_PREFETCH(&self.agent_group_offsets[agent])
        DIFFUSION_PREFETCH(&self.offsets[agent])
        DIFFUSION_PREFETCH(&self.flags[agent])
        if self.tie_walk_start != NULL:
            DIFFUSION_PREFETCH(&self.tie_walk_start[agent])

    @cython.final
    cdef inline void prefetch_group_list(self, int32_t agent) noexcept nogil:
        """The second stage of ``prefetch_holding``: the list of a holder's groups (where it
        starts was asked for earlier)."""
        DIFFUSION_PREFETCH(&self.agent_groups[self.agent_group_offsets[agent]])

    @cython.final
    cdef inline void prefetch_groups(self, int32_t agent) noexcept nogil:
        """The third stage: where each of a holder's groups starts (its list of groups was asked
        for earlier), for a viewing in one of them."""
        cdef int64_t e
        for e in range(self.agent_group_offsets[agent], self.agent_group_offsets[agent + 1]):
            DIFFUSION_PREFETCH(&self.group_offsets[self.agent_groups[e]])

    @cython.final
    cdef int share_today(self, int64_t slot, int64_t t) except -1 nogil:
        """The sharing clocks of the holder at ``slot`` that fire today: a viewing (thinned to
        today's hosting rate), tie-by-tie shares and sales (given at least one trial succeeds,
        each success thinned as in the step kernel)."""
        cdef int32_t holder = self.active[slot], receiver = -1
        cdef uint8_t what = self.medium[holder], bits = self.fired[slot]
        cdef bint afraid = self.fear_until[holder] >= t
        cdef double factor = self.media[what].share * (self.fear_factor if afraid else 1.0)
        cdef double best = -1.0
        cdef int64_t n, group
        cdef size_t exposed
        cdef PowerTable* table
        cdef Stream draws
        if bits & (1 << HOST_CLOCK):
            stream_at(&draws, self.key, holder, t, HOLDER_DAY, HOST_CLOCK)
            self.draw_clock(holder, HOST_CLOCK, t + 1, 0, &draws)
            table = self.hosting[what]
            if uniform(&draws) * table.p < clip(self.host_prob * factor):
                group = self.choose_group(holder, &draws)
                if not self.idle(group, what):
                    self.view_in_group(slot, group, t, &draws, &best, &receiver)
                elif self.all_groups_idle(holder, what):  # an idle viewing draws nothing more
                    self.clocks[holder].at[HOST_CLOCK] = NEVER  # its viewings would change no one
        if bits & (1 << TIES_CLOCK):
            n = self.mark_walk(holder, False)
            stream_at(&draws, self.key, holder, t, HOLDER_DAY, TIES_CLOCK)
            self.draw_clock(holder, TIES_CLOCK, t + 1, n, &draws)
            table = self.sharing[2 * what]
            exposed = self.exposed.size()
            self.walk_row(slot, t, &draws, table, factor, False, n, &best, &receiver)
            if self.exposed.size() == exposed and self.walk_idle(holder, False, what, n):
                self.clocks[holder].at[TIES_CLOCK] = NEVER  # its shares would change no one
        if bits & (1 << SALES_CLOCK):
            n = self.mark_walk(holder, True)
            stream_at(&draws, self.key, holder, t, HOLDER_DAY, SALES_CLOCK)
            self.draw_clock(holder, SALES_CLOCK, t + 1, n, &draws)
            exposed = self.exposed.size()
            self.walk_row(slot, t, &draws, self.market, factor, True, n, &best, &receiver)
            if self.exposed.size() == exposed and self.walk_idle(holder, True, what, n):
                self.clocks[holder].at[SALES_CLOCK] = NEVER  # no customer left to sell to
        self.lend(slot, receiver)
        return 0

    @cython.final
    cdef bint walk_idle(self, int32_t holder, bint market, uint8_t what,
                        int64_t n) noexcept nogil:
        """Whether the ``n`` ties of the walk just marked (``mark_walk``) lead to no one a
        share could change (each detected, or informed with ``what`` seen), or on a market walk
        to no susceptible customer: lasting, so the holder's clock for that walk can stop."""
        cdef int64_t e, i, first = self.offsets[holder]
        cdef int32_t viewer
        cdef uint8_t st
        cdef uint32_t bit = (<uint32_t>1) << what
        for i in range(n):
            e = first + (i if self.walk_at == NULL else self.walk_at[i])
            viewer = self.neighbours[e]
            st = self.state_of(viewer)
            if st == S or (not market and st != D and not (self.seen[viewer] & bit)):
                return False
        return True

    @cython.final
    cdef bint idle(self, int64_t g, uint8_t what) noexcept nogil:
        """Whether a viewing of ``what`` in group ``g`` can change no member: each is detected,
        or informed (so not exposed) and has seen ``what`` already. That lasts (no one becomes
        susceptible again, no one unsees), so members found so are passed over for good
        (``settled``): each is looked at until then, not at every check."""
        cdef int32_t* cursor = &self.settled[g * self.n_media + what]
        cdef int64_t first = self.group_offsets[g], end = self.group_offsets[g + 1]
        cdef int64_t e = first + cursor[0]
        cdef int32_t viewer
        cdef uint8_t st
        cdef uint32_t bit = (<uint32_t>1) << what
        while e < end:
            viewer = self.group_members[e]
            st = self.state_of(viewer)
            if st == S or (st != D and not (self.seen[viewer] & bit)):
                break
            e += 1
        cursor[0] = <int32_t>(e - first)
        return e == end

    @cython.final
    cdef bint all_groups_idle(self, int32_t holder, uint8_t what) noexcept nogil:
        """Whether every group of ``holder`` is idle for ``what``: its viewings, each drawn from a
        stream of its own, would change no one for as long as it holds."""
        cdef int64_t e
        for e in range(self.agent_group_offsets[holder], self.agent_group_offsets[holder + 1]):
            if not self.idle(self.agent_groups[e], what):
                return False
        return True

    @cython.final
    cdef int64_t mark_walk(self, int32_t holder, bint market) except -1 nogil:
        """The ties a walk covers (``count_ties``): ``walk_at`` points at their positions within
        the row (the tie-by-tie ones listed once per run, a trader's market ties gathered now),
        or is NULL for the whole row; returns how many."""
        cdef int64_t e, first = self.offsets[holder], n = self.count_ties(holder, market)
        self.walk_at = NULL
        if n == self.offsets[holder + 1] - first:
            return n
        if not market:
            self.walk_at = &self.tie_walk_pos[self.tie_walk_start[holder]]
            return n
        self.walk.clear()
        for e in range(first, self.offsets[holder + 1]):
            if self.kind[e] == self.market_kind:
                self.walk.push_back(<int32_t>(e - first))
        self.walk_at = self.walk.data()
        return n

    @cython.final
    cdef int walk_row(self, int64_t slot, int64_t t, Stream* draws, PowerTable* table,
                      double factor, bint market, int64_t n, double* best,
                      int32_t* receiver) except -1 nogil:
        """Trials at ``table.p`` over the ``n`` marked ties (``mark_walk``), at least one of
        which succeeds today: the first success from its conditional law, then geometric
        skips; each success is an offer over that tie (a sale on a market walk)."""
        cdef int32_t holder = self.active[slot]
        cdef int64_t i = first_success_somewhere(draws, table, n) - 1, k, e
        while True:
            e = self.offsets[holder] + (i if self.walk_at == NULL else self.walk_at[i])
            if market:
                self.sell_to(slot, e, t, draws)
            else:
                self.offer_tie(slot, e, t, draws, table, factor, best, receiver)
            i += 1
            if i >= n:
                return 0
            k = first_success_within(draws, table, n - i)
            if k == 0:
                return 0
            i += k - 1

    @cython.final
    cdef bint detected_today(self, int64_t slot, int64_t t, int64_t seg) noexcept nogil:
        """Whether the holder at ``slot`` is detected today: its detection clock fired, or on a
        day it showed its medium to a non-complicit informant, one more trial, from (holder, t,
        HOLDER_DAY, DETECT_CLOCK), brings the day's probability from p to min(1, p *
        informant_risk) (``Params`` keeps ``informant_risk >= 1``)."""
        cdef int32_t holder = self.active[slot]
        cdef double p, target
        if self.fired[slot] & (1 << DETECT_CLOCK):
            return True
        if not self.risky[slot]:
            return False
        p = self.detection[seg * self.n_media + self.medium[holder]].p
        target = clip(p * self.informant_risk)
        return target > p and uniform_at(self.key, holder, t, HOLDER_DAY,
                                         DETECT_CLOCK) * (1.0 - p) < target - p

    @cython.final
    cdef int day(self, int64_t t, int64_t seg, double p_public, const int32_t* entrants,
                 const uint8_t* entrant_media, int64_t n_entrants) except -1 nogil:
        """One day: entry, then only the holders with a clock firing today share, are detected
        (with the cascade and fear), cease; exposed agents resolve; today's holders who still
        hold go back in the calendar."""
        cdef int64_t i, n_active, n_exposed
        cdef int32_t agent
        self.today = t
        if t % RING_DAYS == 0:
            self.bring_near()
        # 1. entry: a copy taken up starts its clocks today
        self.new_entered = 0
        for i in range(n_entrants):
            if self.take_entrant(entrants[i], entrant_media[i], t):
                self.begin_holding(entrants[i], t)
        # 2. today's holders, and their sharing
        self.gather_and_share(t, p_public)
        n_active = self.active.size()
        # 3. detection, with implication and fear
        for i in range(n_active):
            agent = self.active[i]
            if self.state_of(agent) == I and self.detected_today(i, t, seg):
                self.detect(agent, t)
        # 4. ceasing; lenders stop holding
        for i in range(n_active):
            agent = self.active[i]
            if self.state_of(agent) == I and (
                    self.fired[i] & (1 << CEASE_CLOCK) or self.lent_to[i] >= 0):
                self.stop_holding(agent, R)
        # 5. exposed agents resolve: new holders' clocks run from tomorrow
        n_exposed = self.exposed.size()
        for i in range(n_exposed):
            if i + PREFETCH_AHEAD < n_exposed:
                self.prefetch_holding(self.exposed[i + PREFETCH_AHEAD])
            agent = self.exposed[i]
            if self.resolve_exposed(agent, t):
                self.begin_holding(agent, t + 1)
        # 6. today's holders who still hold go back in the calendar (the clocks that fired were
        # redrawn with their events; a ceasing clock that fired ended the holding)
        for i in range(n_active):
            if i + PREFETCH_AHEAD < n_active:
                DIFFUSION_PREFETCH(&self.clocks[self.active[i + PREFETCH_AHEAD]])
            agent = self.active[i]
            if self.state_of(agent) == I:
                self.schedule(agent)
        return 0


def run_media(
    dict network,
    dict agents,
    const MediaParams[::1] params,
    const MediumSpec[::1] media,
    const uint8_t[::1] grouped,
    const int32_t[::1] seeds,
    const uint8_t[::1] seed_media,
    const int64_t[::1] entry_offsets,
    const int32_t[::1] entrants,
    const uint8_t[::1] entrant_media,
    const int64_t[::1] segment_start,
    const double[::1] segment_delta,
    const int64_t[::1] public_start,
    const double[::1] public_p,
    dict reached,
    const uint64_t[::1] key,
):
    """Run one realisation of the full model; return its outputs by name.

    ``network``: CSR arrays ``offsets, neighbours, trust, kind``; ``agents``: ``region`` (int16),
    ``n_regions``, ``region_start`` (int64, agents are numbered by region), ``cohort``,
    ``informant`` and ``trader`` (uint8), ``willing`` (float32 per agent, or empty: everyone
    1), groups as CSR (``group_offsets``, ``group_members``, ``group_kind``) and their inverse
    (``agent_group_offsets``, ``agent_groups``); ``params``: one ``MediaParams`` record
    (``kernels/model.pxd``; its ``calendar`` picks the kernel: holders on a calendar of days,
    ``_CalendarRun``, or every holder every step, ``_MediaRun``; its ``horizon`` is the number
    of steps, or -1 to run until no holder remains, only without entry); ``media``: the medium
    table; ``grouped``: per tie kind, 1 if group mode shares along it only in viewings.
    Entrants of step t are ``entrants[entry_offsets[t - 1]:entry_offsets[t]]``. Detection and
    public trials follow piecewise-constant schedules (first step, value). ``reached`` holds
    per-agent output arrays the kernel fills: ``step`` (int32, -1 for never reached; seeds are
    written by the caller), ``channel`` and ``medium`` (uint8), ``tie_detected`` and
    ``witnessed`` (int32, -1 until one of the agent's ties is detected, until it attends a
    public trial; ``witnessed`` may be empty: not recorded) and ``seen`` (uint32, a bit per
    medium watched). Every draw is addressed under the 128-bit ``key``.
    Returns ``{"series": (steps + 1, SERIES_COLUMNS), "media": (steps + 1, n_media,
    MEDIUM_COLUMNS), "regions": (steps + 1, n_regions, 5), "seen": (steps + 1, n_regions,
    n_media)}``. Out of memory raises MemoryError.
    """
    cdef const MediaParams* p = &params[0]
    cdef _CalendarRun days = _CalendarRun() if p.calendar else None
    cdef _MediaRun run = days if p.calendar else _MediaRun()
    cdef vector[int64_t] series, by_medium, regions, seen
    cdef int64_t steps
    _bind_world(run, network, agents)
    _bind_params(run, p, media, grouped, segment_start, segment_delta)
    _start_state(run, agents, reached, key)
    if p.calendar:
        _bind_calendar(days, agents, p.horizon)
    _seed(run, days, seeds, seed_media)
    steps = _run_steps(run, days, p.horizon, entry_offsets, entrants, entrant_media,
                       public_start, public_p, &series, &by_medium, &regions, &seen)
    return {
        "series": _table(series, (steps + 1, len(SERIES_COLUMNS))),
        "media": _table(by_medium, (steps + 1, run.n_media, PER_MEDIUM)),
        "regions": _table(regions, (steps + 1, run.n_regions, N_STATES)),
        "seen": _table(seen, (steps + 1, run.n_regions, run.n_media)),
    }


cdef int _bind_world(_MediaRun run, dict network, dict agents) except -1:
    """Point the run at the network's CSR arrays and the agents' arrays (the caller keeps them
    alive for the call): every view of the world is gathered here."""
    cdef const int64_t[::1] offsets = network["offsets"]
    cdef const int32_t[::1] neighbours = network["neighbours"]
    cdef const float[::1] trust = network["trust"]
    cdef const uint8_t[::1] kind = network["kind"]
    cdef const int64_t[::1] group_offsets = agents["group_offsets"]
    cdef const int32_t[::1] group_members = agents["group_members"]
    cdef const uint8_t[::1] group_kind = agents["group_kind"]
    cdef const int64_t[::1] agent_group_offsets = agents["agent_group_offsets"]
    cdef const int32_t[::1] agent_groups = agents["agent_groups"]
    cdef const int16_t[::1] region = agents["region"]
    cdef const int64_t[::1] region_start = agents["region_start"]
    cdef const float[::1] willing = agents["willing"]
    run.n_agents = offsets.shape[0] - 1
    run.offsets = &offsets[0]
    run.neighbours = &neighbours[0] if neighbours.shape[0] else NULL
    run.trust = &trust[0] if trust.shape[0] else NULL
    run.kind = &kind[0] if kind.shape[0] else NULL
    run.group_offsets = &group_offsets[0]
    run.group_members = &group_members[0] if group_members.shape[0] else NULL
    run.group_kind = &group_kind[0] if group_kind.shape[0] else NULL
    run.agent_group_offsets = &agent_group_offsets[0]
    run.agent_groups = &agent_groups[0] if agent_groups.shape[0] else NULL
    run.region = &region[0]
    run.region_start = &region_start[0]
    run.willing = &willing[0] if willing.shape[0] else NULL
    run.n_regions = agents["n_regions"]
    return 0


cdef int _bind_params(_MediaRun run, const MediaParams* p, const MediumSpec[::1] media,
                      const uint8_t[::1] grouped, const int64_t[::1] segment_start,
                      const double[::1] segment_delta) except -1:
    """Copy the parameter record into the run and build its tables of powers (sharing per
    medium and fear, attendance, sales). Out of memory raises MemoryError."""
    cdef int i
    cdef double top_accept = max(p.acceptance_older, p.acceptance_market)
    for i in range(256):
        run.grouped[i] = grouped[i] if i < grouped.shape[0] else 0
    run.beta = p.beta
    run.gamma = p.gamma
    run.host_prob = p.host_prob
    run.informant_risk = p.informant_risk
    run.p_bribe = p.p_bribe
    run.p_implicate = p.p_implicate
    run.fear_factor = p.fear_factor
    run.fear_steps = p.fear_steps
    run.group_mode = p.group_mode
    run.deterrence = p.deterrence
    run.deterrence_steps = p.deterrence_steps
    run.market_kind = p.market_kind
    run.sale_channel = p.sale_channel
    run.entry_channel = p.entry_channel
    run.market_rate = p.market_rate
    run.accept[0] = p.acceptance_older
    run.accept[1] = p.acceptance_market
    run.media = &media[0]
    run.n_media = media.shape[0]
    run.segment_start = &segment_start[0]
    run.segment_delta = &segment_delta[0]
    run.n_segments = segment_start.shape[0]
    run.attend = power_table_new(p.attendance)
    run.market = power_table_new(min(1.0, p.market_rate * top_accept))
    if run.attend == NULL or run.market == NULL:
        raise MemoryError("kernel tables could not be allocated")
    for i in range(2 * run.n_media):  # per medium: calm, then afraid
        run.sharing.push_back(power_table_new(min(1.0, run.beta * media[i // 2].share
                                                  * (run.fear_factor if i % 2 else 1.0)
                                                  * top_accept)))
        if run.sharing.back() == NULL:
            raise MemoryError("kernel tables could not be allocated")
    return 0


cdef int _start_state(_MediaRun run, dict agents, dict reached,
                      const uint64_t[::1] key) except -1:
    """Everyone susceptible: the per-agent state (flags packed from cohort, informant and
    trader), the output arrays the run fills, and the counts."""
    cdef int64_t n = run.n_agents
    cdef int k
    run.key[0] = key[0]
    run.key[1] = key[1]
    run.flags = ((np.asarray(agents["cohort"]) != 0).astype(np.uint8) << COHORT_SHIFT) | (
        (np.asarray(agents["informant"]) != 0).astype(np.uint8) * INFORMANT_BIT) | (
        (np.asarray(agents["trader"]) != 0).astype(np.uint8) * TRADER_BIT)
    run.medium = np.zeros(n, dtype=np.uint8)
    run.offer = np.zeros(n, dtype=np.uint8)
    run.fear_until = np.zeros(n, dtype=np.int32)
    run.slot = np.full(n, -1, dtype=np.int32)
    run.reached = reached["step"]
    run.channel = reached["channel"]
    run.first_medium = reached["medium"]
    run.tie_detected = reached["tie_detected"]
    run.witnessed = reached["witnessed"]
    run.track_witnessed = run.witnessed.shape[0] > 0
    run.seen = reached["seen"]
    run.deter_until.assign(run.n_regions, -1)
    run.deterred_until = -1
    for k in range(N_STATES):
        run.counts[k] = 0
    run.counts[S] = n
    initial = np.zeros((run.n_regions, N_STATES), dtype=np.int64)
    initial[:, S] = np.bincount(np.asarray(agents["region"]), minlength=run.n_regions)
    run.region_counts = initial.ravel().tolist()
    run.by_medium.assign(run.n_media * PER_MEDIUM, 0)
    run.region_seen.assign(run.n_regions * run.n_media, 0)
    run.new_detections = 0
    run.new_entered = 0
    run.public_trials = 0
    return 0


cdef int _bind_calendar(_CalendarRun days, dict agents, int64_t horizon) except -1:
    """The calendar kernel's own memory: a clock record per agent (never initialised: read only
    while the agent holds); in group mode the tie-by-tie ties' list and, per group and medium,
    how many of its first members are settled (4 bytes: none yet), then its tables."""
    cdef uint8_t[::1] clock_bytes
    cdef int32_t[::1] settled
    cdef size_t address
    days.clock_memory = np.empty((max(1, days.n_agents) + 2) * sizeof(Clocks), dtype=np.uint8)
    clock_bytes = days.clock_memory
    address = <size_t>&clock_bytes[0]
    days.clocks = <Clocks*>(address + (64 - address % 64) % 64)  # from a cache line's start
    if days.group_mode:
        _list_tie_walks(days)
        days.settled_memory = np.zeros(
            max(1, (len(agents["group_offsets"]) - 1) * days.n_media), dtype=np.int32)
        settled = days.settled_memory
        days.settled = &settled[0]
    return days.prepare(horizon)


cdef int _list_tie_walks(_CalendarRun days) except -1:
    """Group mode: each agent's tie-by-tie ties (of kinds that are not grouped) as positions
    within its row, listed once so that a walk along them reads no kind (8 bytes per agent and
    4 per such tie; two passes over the kinds)."""
    cdef int64_t n = days.n_agents, a, e
    start = np.empty(n + 1, dtype=np.int64)
    cdef int64_t[::1] starts = start
    cdef int32_t[::1] positions
    with nogil:
        starts[0] = 0
        for a in range(n):
            starts[a + 1] = starts[a]
            for e in range(days.offsets[a], days.offsets[a + 1]):
                starts[a + 1] += not days.grouped[days.kind[e]]
    position = np.empty(max(1, starts[n]), dtype=np.int32)
    positions = position
    with nogil:
        for a in range(n):
            for e in range(days.offsets[a], days.offsets[a + 1]):
                if not days.grouped[days.kind[e]]:
                    positions[starts[a]] = <int32_t>(e - days.offsets[a])
                    starts[a] += 1
        for a in range(n, 0, -1):  # back from each row's end to its start
            starts[a] = starts[a - 1]
        starts[0] = 0
    days.tie_walk_memory = (start, position)
    days.tie_walk_start = &starts[0]
    days.tie_walk_pos = &positions[0]
    return 0


cdef int _seed(_MediaRun run, _CalendarRun days, const int32_t[::1] seeds,
               const uint8_t[::1] seed_media) except -1:
    """The initial holders start holding on step 0 (their clocks, in the calendar kernel, from
    step 1)."""
    cdef int64_t i
    with nogil:
        for i in range(seeds.shape[0]):
            run.start_holding(seeds[i], S, seed_media[i])
            if days is not None:
                days.begin_holding(seeds[i], 1)
            else:
                run.active.push_back(seeds[i])
        if days is None:
            run.merge_new_holders(0)
    return 0


cdef int64_t _run_steps(_MediaRun run, _CalendarRun days, int64_t horizon,
                        const int64_t[::1] entry_offsets, const int32_t[::1] entrants,
                        const uint8_t[::1] entrant_media, const int64_t[::1] public_start,
                        const double[::1] public_p, vector[int64_t]* series,
                        vector[int64_t]* by_medium, vector[int64_t]* regions,
                        vector[int64_t]* seen) except -1:
    """Step the run to its horizon (or until no holder remains), recording every step's counts;
    returns the number of steps. Ctrl-C stops it between steps."""
    cdef int64_t t = 0, seg = 0, pseg = 0, entering
    cdef int64_t n_steps_entry = entry_offsets.shape[0] - 1
    cdef const int32_t* arrivals
    cdef const uint8_t* arrival_media
    with nogil:
        run.record(series, by_medium, regions, seen)
        while (horizon < 0 and run.counts[I] > 0) or t < horizon:
            t += 1
            while seg + 1 < run.n_segments and run.segment_start[seg + 1] <= t:
                seg += 1
            while pseg + 1 < public_start.shape[0] and public_start[pseg + 1] <= t:
                pseg += 1
            entering = entry_offsets[t] - entry_offsets[t - 1] if t <= n_steps_entry else 0
            arrivals = &entrants[0] + entry_offsets[t - 1] if entering else NULL
            arrival_media = &entrant_media[0] + entry_offsets[t - 1] if entering else NULL
            if days is not None:
                days.day(t, seg, public_p[pseg], arrivals, arrival_media, entering)
            else:
                run.step(t, seg, public_p[pseg], arrivals, arrival_media, entering)
            run.record(series, by_medium, regions, seen)
            with gil:
                PyErr_CheckSignals()  # Ctrl-C stops a long run between steps
    return t


def sort_unique_ids(const int32_t[::1] ids):
    """The calendar kernel's sort of a day's entries: ``ids`` (non-negative) ascending, repeats
    dropped; exposed so that tests can check it against numpy."""
    cdef vector[int32_t] values, scratch
    cdef int64_t i
    for i in range(ids.shape[0]):
        values.push_back(ids[i])
    with nogil:
        sort_unique(values, scratch)
    out = np.empty(values.size(), dtype=np.int32)
    cdef int32_t[::1] view = out
    for i in range(<int64_t>values.size()):
        view[i] = values[i]
    return out


def willingness_uniforms(const uint64_t[::1] key, int64_t n):
    """Two uniforms for each of agents 0..n-1 (refusal, then the multiplier), agent i's at
    address (i, 0, WILLING): drawn once per person, a pure function of the key and the agent."""
    cdef int per = 2
    out = np.empty((n, per), dtype=np.float64)
    cdef double[:, ::1] view = out
    cdef int64_t i
    cdef int j
    cdef Stream draws
    with nogil:
        for i in range(n):
            stream_at(&draws, &key[0], i, 0, WILLING, 0)
            for j in range(per):
                view[i, j] = uniform(&draws)
    return out


cdef object _table(vector[int64_t]& values, tuple shape):
    """A numpy copy of a kernel output vector, in the given shape."""
    if values.size() == 0:
        return np.zeros(shape, dtype=np.int64)
    return np.asarray(<int64_t[:values.size()]> values.data()).reshape(shape).copy()
