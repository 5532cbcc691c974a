#ifndef HARDGNN_CORE_CLI_NPY_H_
#define HARDGNN_CORE_CLI_NPY_H_

#include <cstdint>
#include <string>

namespace hardgnn {

// A rows x cols float32 matrix as a NumPy .npy file, format version 1.0: the magic
// "\x93NUMPY", version bytes 1 0, a little-endian uint16 header length, the header
// "{'descr': '<f4', 'fortran_order': False, 'shape': (rows, cols), }" padded with spaces and
// ended by '\n' so the data starts at a multiple of 64 bytes, then the values little-endian in
// C (row-major) order. numpy.load reads it; so can any reader of the documented format.
std::string NpyFloat32Matrix(int64_t rows, int64_t cols, const float* values);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_NPY_H_
