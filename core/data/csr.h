#ifndef HARDGNN_CORE_DATA_CSR_H_
#define HARDGNN_CORE_DATA_CSR_H_

#include <cstdint>
#include <vector>

namespace hardgnn::data {

// A binary sparse matrix in compressed-row form: row r holds the columns
// col[row_ptr[r] .. row_ptr[r+1]), ascending and distinct.
struct Csr {
  int64_t num_rows = 0;
  int64_t num_cols = 0;
  std::vector<int64_t> row_ptr = {0};
  std::vector<int32_t> col;

  int64_t nnz() const { return static_cast<int64_t>(col.size()); }
  int64_t RowSize(int64_t r) const { return row_ptr[r + 1] - row_ptr[r]; }
  const int32_t* RowBegin(int64_t r) const { return col.data() + row_ptr[r]; }
  const int32_t* RowEnd(int64_t r) const { return col.data() + row_ptr[r + 1]; }
  bool Contains(int64_t r, int32_t c) const;  // binary search within row r
  Csr Transposed() const;
};

// Builds a Csr from (row, col) pairs in any order; duplicates collapse to one entry.
Csr CsrFromPairs(int64_t num_rows, int64_t num_cols, std::vector<std::pair<int32_t, int32_t>> pairs);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_CSR_H_
