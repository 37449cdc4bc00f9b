# What the kernels share: the states, the per-medium table and the layout of their outputs.
#
# A model's media are a small table (``Params.media``), passed to the step kernel as a numpy
# structured array whose dtype matches ``MediumSpec`` (``diffusion.simulate.MEDIUM_DTYPE``), the
# way scikit-learn hands its tree nodes to Cython. The kernel never branches on a medium's name,
# only on its fields.

from libc.stdint cimport int64_t, uint8_t

cdef enum:
    S = 0
    W = 1
    I = 2  # no-cython-lint (E741: the model's name for holders)
    R = 3
    D = 4
    N_STATES = 5


cdef packed struct MediumSpec:
    double share       # multiplier on sharing (beta tie by tie, host_prob in viewings)
    double conceal     # multiplier on detection
    double p_copy      # copied media: probability that a viewer keeps a copy
    uint8_t lent       # 1: the object moves to one viewer (DVD); 0: copied (USB drive)


# The full-model kernels' parameters (media.pyx), passed by Python as a one-row numpy structured
# array whose dtype matches (``diffusion.simulate.MEDIA_PARAMS_DTYPE``): the kernel reads fields,
# never a dict by string key.
cdef packed struct MediaParams:
    double beta             # per-day sharing along a tie of trust 1, times share and acceptance
    double gamma            # per-day ceasing
    double host_prob        # group mode: per-day probability that a holder hosts a viewing
    double informant_risk   # multiplier on detection after showing media to an informant
    double p_bribe          # a detection or implication is bought off
    double p_implicate      # a detected agent implicates each of its audience and holding ties
    double fear_factor      # multiplier on the sharing of someone afraid (<= 1)
    double deterrence       # multiplier on acceptance in a region after a public trial there
    double attendance       # a resident attends a public trial of its region
    double market_rate      # a trader's sales per customer and day, times its acceptance
    double acceptance_older     # acceptance of the older cohort
    double acceptance_market    # acceptance of the market generation
    int64_t fear_steps      # days a detection's neighbours stay afraid
    int64_t deterrence_steps  # days a region stays deterred after a public trial
    int64_t horizon         # steps to simulate, or -1: until no holder remains
    uint8_t group_mode      # 1: holders share in viewings of their groups
    uint8_t market_kind     # the tie kind of market ties (diffusion.ties.KIND["market"])
    uint8_t sale_channel    # the channel code of a sale (diffusion.ties.SALE_CHANNEL)
    uint8_t entry_channel   # the channel code of a smuggled copy (diffusion.ties.ENTRY_CHANNEL)
    uint8_t calendar        # 1: the calendar kernel; 0: the step kernel
