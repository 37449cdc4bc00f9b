# What the kernels share: the states, the per-medium table and the layout of their outputs.
#
# A model's media are a small table (``Params.media``), passed to the step kernel as a numpy
# structured array whose dtype matches ``MediumSpec`` (``diffusion.simulate.MEDIUM_DTYPE``), the
# way scikit-learn hands its tree nodes to Cython. The kernel never branches on a medium's name,
# only on its fields.

from libc.stdint cimport uint8_t

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
