#ifndef HARDGNN_CORE_DATA_VALIDATE_H_
#define HARDGNN_CORE_DATA_VALIDATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/data/dataset.h"

namespace hardgnn::data {

// A well-formed num_rows x num_cols Csr: row_ptr of num_rows+1 non-decreasing offsets from
// 0 to nnz, columns strictly ascending within each row and in [0, num_cols). The message
// names `what`.
absl::Status ValidateCsr(const Csr& m, int64_t num_rows, int64_t num_cols, absl::string_view what);

// Structural checks that make every index in `ds` safe to use: array sizes agree, ids are in
// range, offsets are monotone, the CSRs are well-formed, slice_item_user[k] is exactly the
// transpose of slice_user_item[k], eval_users is ascending and distinct. Run on every
// loaded cache. Does not check semantic properties such as "negatives avoid interacted".
absl::Status ValidatePreparedDataset(const PreparedDataset& ds);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_VALIDATE_H_
