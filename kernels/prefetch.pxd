# A software prefetch hint for the kernels' dependent loads (adjacency rows, per-agent flags);
# a no-op on compilers without __builtin_prefetch.

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define DIFFUSION_PREFETCH(p) __builtin_prefetch((const void*)(p))
    #else
    #define DIFFUSION_PREFETCH(p) ((void)0)
    #endif
    """
    void DIFFUSION_PREFETCH(const void* p) noexcept nogil
