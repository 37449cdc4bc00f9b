# Sorting agent ids, shared by the kernels: the holders a step visits are taken in id order,
# so that their records and adjacency rows are read front to back instead of at random.

from libc.stdint cimport int32_t
from libcpp.vector cimport vector

cdef extern from *:
    """
    #include <algorithm>
    #include <vector>
    #include <cstdint>
    /* Sort non-negative ids and drop repeats: a least-significant-digit radix sort through
       ``scratch`` (at most 13 bits a pass: the counts stay in L1), std::sort when short. */
    static void sort_unique(std::vector<int32_t>& v, std::vector<int32_t>& scratch) {
        size_t n = v.size();
        if (n < 4096) {
            std::sort(v.begin(), v.end());
        } else {
            int32_t top = *std::max_element(v.begin(), v.end());
            int bits = 1;
            while (bits < 31 && (top >> bits)) bits++;
            int passes = (bits + 12) / 13, width = (bits + passes - 1) / passes;
            std::vector<size_t> count((size_t)1 << width);
            scratch.resize(n);
            for (int pass = 0, shift = 0; pass < passes; pass++, shift += width) {
                uint32_t mask = ((uint32_t)1 << width) - 1;
                std::fill(count.begin(), count.end(), 0);
                for (size_t i = 0; i < n; i++) count[((uint32_t)v[i] >> shift) & mask]++;
                size_t sum = 0;
                for (size_t d = 0; d < count.size(); d++) {
                    size_t c = count[d];
                    count[d] = sum;
                    sum += c;
                }
                for (size_t i = 0; i < n; i++)
                    scratch[count[((uint32_t)v[i] >> shift) & mask]++] = v[i];
                v.swap(scratch);
            }
        }
        v.erase(std::unique(v.begin(), v.end()), v.end());
    }
    """
    void sort_unique(vector[int32_t]& v, vector[int32_t]& scratch) except + nogil
