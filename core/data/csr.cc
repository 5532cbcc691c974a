#include "core/data/csr.h"

#include <algorithm>

namespace hardgnn::data {

bool Csr::Contains(int64_t r, int32_t c) const {
  return std::binary_search(RowBegin(r), RowEnd(r), c);
}

Csr Csr::Transposed() const {
  Csr t;
  t.num_rows = num_cols;
  t.num_cols = num_rows;
  t.row_ptr.assign(num_cols + 1, 0);
  for (int32_t c : col) ++t.row_ptr[c + 1];
  for (int64_t i = 0; i < num_cols; ++i) t.row_ptr[i + 1] += t.row_ptr[i];
  t.col.resize(col.size());
  std::vector<int64_t> next(t.row_ptr.begin(), t.row_ptr.end() - 1);
  // Rows visited in ascending order, so each transposed row comes out sorted.
  for (int64_t r = 0; r < num_rows; ++r) {
    for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) t.col[next[col[k]]++] = static_cast<int32_t>(r);
  }
  return t;
}

Csr CsrFromPairs(int64_t num_rows, int64_t num_cols, std::vector<std::pair<int32_t, int32_t>> pairs) {
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  Csr m;
  m.num_rows = num_rows;
  m.num_cols = num_cols;
  m.row_ptr.assign(num_rows + 1, 0);
  m.col.reserve(pairs.size());
  for (const auto& [r, c] : pairs) {
    ++m.row_ptr[r + 1];
    m.col.push_back(c);
  }
  for (int64_t r = 0; r < num_rows; ++r) m.row_ptr[r + 1] += m.row_ptr[r];
  return m;
}

}  // namespace hardgnn::data
