#ifndef HARDGNN_PLUGINS_SAMPLERS_COSINE_TOP_K_H_
#define HARDGNN_PLUGINS_SAMPLERS_COSINE_TOP_K_H_

// Exact top-K cosine search of anchors over an item pool, with each anchor's user history
// excluded, without ever writing the anchors x items score matrix.

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/data/csr.h"

namespace hardgnn {

enum class CosineScreen {
  // Every score in float (FMA register tiles), compared in registers with the anchor's running
  // K-th best score.
  kFloat,
  // Every score first as an exact integer product of the vectors rounded to 14-bit fixed point
  // (twice the float throughput on AVX2); only the scores that the rounding-error bound cannot
  // rule out of the running top-K are recomputed in float, in the order kFloat uses. Same
  // result as kFloat, bit for bit. Needs AVX2 and FMA (see Int16ScreenAvailable).
  kInt16,
};

bool Int16ScreenAvailable();

// For each anchor b (a row of `anchors`, B x d), the ids of the at most k items of `pool`
// (row indices of `items`, N x d; null: every row) with the highest cosine similarity to it,
// leaving out the items in history row users[b]; best first, ties to the earlier pool position.
// NaN scores are never chosen, so a row can get fewer than k.
std::vector<std::vector<int64_t>> CosineTopK(const at::Tensor& anchors, const at::Tensor& items,
                                             const std::vector<int64_t>* pool, const int64_t* users,
                                             const data::Csr& history, int64_t k, CosineScreen screen);

}  // namespace hardgnn

#endif  // HARDGNN_PLUGINS_SAMPLERS_COSINE_TOP_K_H_
