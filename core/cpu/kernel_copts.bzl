"""Compiler options for the CPU kernel libraries."""

# -O3: full loop vectorization of the kernels.
# -fopenmp: at::parallel_for is a header template that silently runs serially in a TU compiled
#   without it (ATen defines INTRA_OP_PARALLEL only under _OPENMP).
# -Wno-psabi: GCC's note on 256-bit vector arguments of always-inline helpers (core/cpu/vec.h);
#   no call boundary is affected.
KERNEL_COPTS = [
    "-O3",
    "-fopenmp",
    "-Wno-psabi",
]
