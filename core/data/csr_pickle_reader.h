#ifndef HARDGNN_CORE_DATA_CSR_PICKLE_READER_H_
#define HARDGNN_CORE_DATA_CSR_PICKLE_READER_H_

// The reader of `prepare --format=csr_pickle`: a Python pickle of one scipy csr_matrix
// (users x items) whose stored values are event times, such as SSLRec's Tmall trn_buy.pkl.
// Decoded by the safe pickle reader (pickle.h), the same path as a SelfGNN release's
// trn_mat_time slices.

#include <string>

#include "absl/status/statusor.h"
#include "core/data/interaction_log.h"

namespace hardgnn::data {

// Every stored entry (row u, column i, value t) becomes the event (user u, item i, time t):
// rows in order, each row's entries in stored order; users and items are named by their
// decimal row and column index ("0", "17", ...), so rows and columns without entries are
// not in the log. `bytes` is the whole file (decompressed); `file` names it in errors.
//
// Errors "<file>: <problem>", like the text readers refusing any bad line: not a pickle, a
// pickled object other than a csr_matrix, arrays that disagree (indptr against the shape
// or against indices and data, a column outside the shape), values that are not integers
// (a float value with a fraction, not finite or beyond 2^53), values <= 0 (not event
// times; a stored 0 is an explicit zero of the sparse matrix), or no entries at all. The
// value errors say how many entries fail and where the first one is. When every entry has
// the same value (e.g. a 0/1 matrix) the log gets a warning: there is no time to split by.
// Times are returned as stored: ParseInteractions (input_format.h) converts their unit.
absl::StatusOr<InteractionLog> ParseCsrPickle(std::string bytes, const std::string& file);

}  // namespace hardgnn::data

#endif  // HARDGNN_CORE_DATA_CSR_PICKLE_READER_H_
