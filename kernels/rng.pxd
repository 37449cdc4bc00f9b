# Random draws for the kernels: every decision has its own address (common random numbers).
#
# A draw is a pure function of the run's 128-bit key and the decision's address: (agent, step,
# purpose, other agent), hashed by the counter-based generator Philox4x64-10 (Salmon, Moraes,
# Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the generator numpy
# ships as numpy.random.Philox, against which tests/test_rng.py checks this one). So two runs
# of the same replicate that differ in one respect (where a strategy's copies go) give an agent
# the same draws wherever its history agrees, instead of shifting every draw after the first
# difference; and a run is a pure function of its key on any machine and in any process.
#
# A Stream is the sequence of draws at one address: blocks of four 64-bit outputs, block b at
# counter (agent, step, purpose << 32 | b, other). Uniforms have 53 bits of resolution.
#
# Geometric draws use a table of powers (1 - p)**k built by repeated multiplication and a binary
# search instead of log(): no transcendental call on the hot path, and exact IEEE arithmetic, so
# no dependence on the platform's libm.

from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport malloc

cdef extern from *:
    """
    #include <stdint.h>
    /* Philox4x64-10 (Random123, numpy's Philox): counter ctr under key -> out. Needs a compiler
       with 128-bit integers (gcc, clang on 64-bit targets). */
    static inline void diffusion_philox4x64_10(const uint64_t* ctr, const uint64_t* key,
                                               uint64_t* out) {
        uint64_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
        uint64_t k0 = key[0], k1 = key[1];
        for (int round = 0; round < 10; round++) {
            if (round) {
                k0 += 0x9E3779B97F4A7C15ULL;
                k1 += 0xBB67AE8584CAA73BULL;
            }
            __uint128_t p0 = (__uint128_t)0xD2E7470EE14C6C93ULL * c0;
            __uint128_t p1 = (__uint128_t)0xCA5A826395121157ULL * c2;
            uint64_t hi0 = (uint64_t)(p0 >> 64), lo0 = (uint64_t)p0;
            uint64_t hi1 = (uint64_t)(p1 >> 64), lo1 = (uint64_t)p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
        }
        out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
    }
    """
    void philox4x64_10 "diffusion_philox4x64_10"(
        const uint64_t* ctr, const uint64_t* key, uint64_t* out) noexcept nogil

# What a draw decides (the third word of its address). Values are part of the results: never
# renumber one, add new ones at the end.
cdef enum Purpose:
    HOLDER = 1        # event kernel: a new holder's removal, then its sharing along its ties
    HOLDER_STEP = 2   # step kernel: a holder's draws of a step (detection to sharing)
    SHARE_TIE = 3     # event kernel, ties of their own trust: the trials along one tie
    KEEP_COPY = 4     # a viewer keeps a copy of a copied medium (p_copy)
    IMPLICATE = 5     # full model: a detected agent implicates another
    WILLING = 6       # a person's willingness, drawn once (step 0): refusal, then multiplier
    PUBLIC_TRIAL = 7  # full model: a detection becomes a public trial
    WITNESS = 8       # full model: who of the region attends a public trial (geometric skips)
    MARKET_SALE = 9   # step kernel: a trader's sales and rentals to its customers of a step
    CLOCK = 10        # calendar kernel: a holder's wait for a clock, from a day (other: clock)
    HOLDER_DAY = 11   # calendar kernel: a holder's draws when one clock fires (other: clock)


cdef struct Stream:
    uint64_t key[2]
    uint64_t ctr[4]
    uint64_t out[4]
    int used        # outputs of ``out`` already drawn (4: the next draw computes a block)


cdef inline void stream_at(Stream* s, const uint64_t* key, int64_t agent, int64_t step,
                           uint32_t purpose, int64_t other) noexcept nogil:
    """Point ``s`` at the draws of one address; the first draw computes its first block."""
    s.key[0] = key[0]
    s.key[1] = key[1]
    s.ctr[0] = <uint64_t>agent
    s.ctr[1] = <uint64_t>step
    s.ctr[2] = (<uint64_t>purpose) << 32
    s.ctr[3] = <uint64_t>other
    s.used = 4


cdef inline uint64_t next_u64(Stream* s) noexcept nogil:
    if s.used == 4:
        philox4x64_10(s.ctr, s.key, s.out)
        s.ctr[2] += 1
        s.used = 0
    s.used += 1
    return s.out[s.used - 1]


cdef inline double uniform(Stream* s) noexcept nogil:
    """A uniform draw in [0, 1) (53 bits)."""
    return <double>(next_u64(s) >> 11) * 1.1102230246251565e-16


cdef inline bint bernoulli(Stream* s, double p) noexcept nogil:
    """True with probability p (exactly never for p = 0, always for p = 1)."""
    return uniform(s) < p


cdef inline double uniform_at(const uint64_t* key, int64_t agent, int64_t step, uint32_t purpose,
                              int64_t other) noexcept nogil:
    """The first uniform of one address: a single decision."""
    cdef Stream s
    stream_at(&s, key, agent, step, purpose, other)
    return uniform(&s)


# Entries of a power table beyond k = 0; waits longer than this restart (geometric waits are
# memoryless, so restarting is exact).
cdef enum:
    TABLE_SPAN = 4096

cdef struct PowerTable:
    double p            # success probability per trial
    double pw[TABLE_SPAN + 1]  # pw[k] = (1 - p) ** k


cdef inline PowerTable* power_table_new(double p) noexcept nogil:
    """A table of (1 - p)**k for one success probability; NULL when out of memory."""
    cdef PowerTable* table = <PowerTable*> malloc(sizeof(PowerTable))
    cdef int k
    if table == NULL:
        return NULL
    table.p = p
    table.pw[0] = 1.0
    for k in range(1, TABLE_SPAN + 1):
        table.pw[k] = table.pw[k - 1] * (1.0 - p)
    return table


cdef enum:
    LINEAR_PROBES = 16  # first_below checks k = 1..16 one by one before galloping


cdef inline int64_t first_below(const double* pw, double v, int64_t stride,
                                int64_t span) noexcept nogil:
    """Smallest k in 1..span with pw[stride * k] < v, given that pw[stride * span] < v.

    pw is non-increasing, so the answer is unique whatever the search. k is usually small (a
    few trials, a few ties), so k = 1..16 are probed in order (one mispredicted branch, at the
    exit), then a galloping search (steps 1, 2, 4, ... then bisection) takes O(log k).
    """
    cdef int64_t k = 1, lo, hi, step = 1, mid
    cdef int64_t stop = span if span < LINEAR_PROBES else LINEAR_PROBES
    while k <= stop:
        if pw[stride * k] < v:
            return k
        k += 1
    lo = k  # every k < lo fails; pw[stride * span] < v bounds the gallop
    hi = lo
    while pw[stride * hi] >= v:
        lo = hi + 1
        hi = hi + step if hi + step < span else span
        step *= 2
    while lo < hi:
        mid = (lo + hi) >> 1
        if pw[stride * mid] < v:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef inline int64_t first_success_within(Stream* rng, PowerTable* table, int64_t n) noexcept nogil:
    """Index (1..n) of the first success in n Bernoulli(p) trials, or 0 if none succeeds.

    One uniform v decides: the first success is the smallest k with (1 - p)**k < v.
    """
    return first_success_of_blocks(rng, table, 1, n)


cdef inline int64_t first_success_of_blocks(Stream* rng, PowerTable* table, int64_t block,
                                            int64_t n) noexcept nogil:
    """Index (1..n) of the first of n blocks of ``block`` Bernoulli(p) trials holding a success,
    or 0 if none does (a block succeeds with probability 1 - (1 - p)**block). ``block`` must be
    at most TABLE_SPAN; longer runs of blocks restart with a fresh draw (memoryless, so exact).
    """
    cdef int64_t base = 0, span, most = TABLE_SPAN // block
    cdef double v
    if table.p <= 0.0:
        return 0
    if table.p >= 1.0:
        return 1 if n > 0 else 0
    while n > 0:
        span = n if n < most else most
        v = 1.0 - uniform(rng)  # in (0, 1]: P(first success <= k) = 1 - pw[block * k]
        if v > table.pw[block * span]:
            return base + first_below(table.pw, v, block, span)
        base += span
        n -= span
    return 0


cdef inline int64_t first_success_given_one(double u, PowerTable* table, int64_t n) noexcept nogil:
    """Index (1..n) of the first success in n Bernoulli(p) trials, given that one succeeds, from
    a uniform ``u`` in [0, 1) (the caller draws it, so that it can draw one whether or not it
    needs the answer).

    v is uniform on (pw[n], 1], the part of (0, 1] in which first_success_within succeeds.
    Requires n <= TABLE_SPAN.
    """
    if n == 1:
        return 1
    return first_below(table.pw, 1.0 - u * (1.0 - table.pw[n]), 1, n)


cdef inline int64_t first_success_somewhere(Stream* rng, PowerTable* table,
                                            int64_t n) noexcept nogil:
    """Index (1..n) of the first success in n Bernoulli(p) trials, given that at least one
    succeeds (p > 0): the inverse of the conditional distribution up to TABLE_SPAN trials,
    rejection beyond (where a success is all but certain)."""
    cdef int64_t k
    if n <= TABLE_SPAN:
        return first_success_given_one(uniform(rng), table, n)
    k = first_success_within(rng, table, n)
    while k == 0:
        k = first_success_within(rng, table, n)
    return k


cdef inline int64_t first_day_within(Stream* rng, PowerTable* table, int64_t trials,
                                     int64_t window) noexcept nogil:
    """Index (1..window) of the first of ``window`` days of ``trials`` Bernoulli(p) trials each
    that holds a success, or 0 if none does, from exactly one uniform (none when p is 0 or 1),
    so that what is drawn after it sits at the same place whatever the answer. Requires
    ``trials * window <= TABLE_SPAN``, or ``window == 1`` (a day of more trials: its failure
    probability is a product of table entries)."""
    cdef double v, fail
    cdef int64_t rest
    if table.p <= 0.0 or trials <= 0 or window <= 0:
        return 0
    if trials * window <= TABLE_SPAN:  # days are blocks of trials, all in one span: one uniform
        return first_success_of_blocks(rng, table, trials, window)
    if table.p >= 1.0:
        return 1
    v = 1.0 - uniform(rng)  # in (0, 1]: the day fails with probability pw[trials] (a product)
    fail = table.pw[trials % TABLE_SPAN]
    rest = trials // TABLE_SPAN
    while rest > 0 and fail > 0.0:
        fail *= table.pw[TABLE_SPAN]
        rest -= 1
    return 1 if v > fail else 0
