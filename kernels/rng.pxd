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


cdef inline int64_t first_success_within(bitgen_t* rng, PowerTable* table, int64_t n) noexcept nogil:
    """Index (1..n) of the first success in n Bernoulli(p) trials, or 0 if none succeeds.

    One uniform v decides: the first success is the smallest k with (1 - p)**k < v. A galloping
    search (1, 2, 4, ... then bisection) finds it in O(log k) comparisons, and k is usually small.
    """
    cdef int64_t base = 0, span, lo, hi, mid
    cdef double v
    if table.p <= 0.0:
        return 0
    while n > 0:
        span = n if n < TABLE_SPAN else TABLE_SPAN
        v = 1.0 - uniform(rng)  # in (0, 1]: P(first success <= k) = P(v > pw[k]) = 1 - pw[k]
        if v > table.pw[span]:
            hi = 1
            while table.pw[hi] >= v:
                hi = 2 * hi if 2 * hi < span else span
            lo = (hi >> 1) + 1
            while lo < hi:
                mid = (lo + hi) >> 1
                if table.pw[mid] < v:
                    hi = mid
                else:
                    lo = mid + 1
            return base + lo
        base += span
        n -= span
    return 0
