#include "core/cli/npy.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace hardgnn {

std::string NpyFloat32Matrix(int64_t rows, int64_t cols, const float* values) {
  static_assert(sizeof(float) == 4, "float32");
  std::string header = absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", rows, ", ", cols, "), }");
  const size_t preamble = 10;  // magic (6), version (2), header length (2)
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  const size_t begin = out.size();
  out.resize(begin + rows * cols * 4);
  for (int64_t i = 0; i < rows * cols; ++i) {  // little-endian whatever the host
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) out[begin + 4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

}  // namespace hardgnn
