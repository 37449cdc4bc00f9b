# The event kernel's boundary (sir.pyx): its parameters as one typed record, its network as
# typed pointers gathered in one place.
#
# Python passes the parameters as a one-row numpy structured array whose dtype matches
# ``EventParams`` (``diffusion.simulate.EVENT_PARAMS_DTYPE``), the way the step kernel gets its
# medium table (model.pxd): the kernel reads fields, never a dict by string key.

from libc.stdint cimport int32_t, int64_t, uint8_t


cdef packed struct EventParams:
    double beta             # per-step sharing along a tie of trust 1 (> 1: a share factor in)
    double gamma            # per-step ceasing
    double p_copy           # probability that a new holder keeps a copy (else it only watched)
    int64_t horizon         # steps to simulate, or -1: until no holder remains
    uint8_t uniform_trust   # 1: every tie has trust 1 (no per-tie trust draw)
    uint8_t track_kinds     # 1: record the kind of tie that reached each agent


cdef struct Ties:
    int64_t n_agents
    const int64_t* offsets      # CSR row starts, n_agents + 1
    const int32_t* neighbours   # CSR columns
    const float* trust          # per tie (read only without uniform_trust)
    const uint8_t* kind         # per tie (read only with track_kinds)
