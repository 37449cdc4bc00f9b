# Random draws for the kernels, on top of numpy's BitGenerator C API.
#
# Every draw starts from a 32-bit output of the run's own bit generator (PCG64 by default),
# so a run is a pure function of its seed: the same seed gives bit-identical results on any
# machine and in any process. Uniforms have a resolution of 2**-32, far below any sampling
# error a run of fewer than 10**9 agents can show.
#
# Geometric draws use a table of powers (1 - p)**k built by repeated multiplication and a binary
# search instead of log(): no transcendental call on the hot path, and exact IEEE arithmetic, so
# no dependence on the platform's libm.

from libc.stdint cimport int64_t, uint32_t
from libc.stdlib cimport malloc
from numpy.random cimport bitgen_t

# Entries of a power table beyond k = 0; waits longer than this restart (geometric waits are
# memoryless, so restarting is exact).
cdef enum:
    TABLE_SPAN = 4096

cdef struct PowerTable:
    double p            # success probability per trial
    double pw[TABLE_SPAN + 1]  # pw[k] = (1 - p) ** k


cdef inline uint32_t next_u32(bitgen_t* rng) noexcept nogil:
    return rng.next_uint32(rng.state)


cdef inline double uniform(bitgen_t* rng) noexcept nogil:
    """A uniform draw in [0, 1)."""
    return <double>rng.next_uint32(rng.state) * 2.3283064365386963e-10


cdef inline bint bernoulli(bitgen_t* rng, double p) noexcept nogil:
    """True with probability p (exactly never for p = 0, always for p = 1)."""
    return uniform(rng) < p


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


cdef inline int64_t first_below(const double* pw, double v, int64_t stride, int64_t span) noexcept nogil:
    """Smallest k in 1..span with pw[stride * k] < v, given that pw[stride * span] < v.

    A galloping search (1, 2, 4, ... then bisection): O(log k) comparisons, and k is usually small.
    """
    cdef int64_t lo, hi = 1, mid
    while pw[stride * hi] >= v:
        hi = 2 * hi if 2 * hi < span else span
    lo = (hi >> 1) + 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if pw[stride * mid] < v:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef inline int64_t first_success_within(bitgen_t* rng, PowerTable* table, int64_t n) noexcept nogil:
    """Index (1..n) of the first success in n Bernoulli(p) trials, or 0 if none succeeds.

    One uniform v decides: the first success is the smallest k with (1 - p)**k < v.
    """
    return first_success_of_blocks(rng, table, 1, n)


cdef inline int64_t first_success_of_blocks(bitgen_t* rng, PowerTable* table, int64_t block,
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


cdef inline int64_t first_success_given_one(bitgen_t* rng, PowerTable* table, int64_t n) noexcept nogil:
    """Index (1..n) of the first success in n Bernoulli(p) trials, given that one succeeds.

    v is uniform on (pw[n], 1], the part of (0, 1] in which first_success_within succeeds.
    Requires n <= TABLE_SPAN.
    """
    cdef double v
    if n == 1:
        return 1
    v = 1.0 - uniform(rng) * (1.0 - table.pw[n])
    return first_below(table.pw, v, 1, n)
