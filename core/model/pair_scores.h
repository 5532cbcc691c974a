#ifndef HARDGNN_CORE_MODEL_PAIR_SCORES_H_
#define HARDGNN_CORE_MODEL_PAIR_SCORES_H_

#include <utility>

#include <ATen/ATen.h>

#include "core/model/batch.h"
#include "core/model/views.h"

namespace hardgnn {

// Scores of the batch's ranking pairs: (<user[row], item[pos]>, <user[row], item[neg]>).
inline std::pair<at::Tensor, at::Tensor> PairScores(const Batch& batch, const Views& views) {
  const at::Tensor& user = views.Get(view::kUser);
  const at::Tensor& item = views.Get(view::kItem);
  at::Tensor u = user.index_select(0, batch.pair_rows);
  return {(u * item.index_select(0, batch.pair_pos)).sum(1),
          (u * item.index_select(0, batch.pair_neg)).sum(1)};
}

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_PAIR_SCORES_H_
