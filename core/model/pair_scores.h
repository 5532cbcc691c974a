#ifndef HARDGNN_CORE_MODEL_PAIR_SCORES_H_
#define HARDGNN_CORE_MODEL_PAIR_SCORES_H_

#include <utility>

#include <ATen/ATen.h>

#include "core/cpu/sparse_rows.h"
#include "core/model/batch.h"
#include "core/model/views.h"

namespace hardgnn {

// Scores of the batch's ranking pairs: (<user[row], item[pos]>, <user[row], item[neg]>). The rows'
// gradients are index_select's (the same bits) in one parallel pass, not its serial index_add_.
inline std::pair<at::Tensor, at::Tensor> PairScores(const Batch& batch, const Views& views) {
  const at::Tensor& user = views.Get(view::kUser);
  const at::Tensor& item = views.Get(view::kItem);
  at::Tensor u = cpu::GatherRowsDenseGradient(user, batch.pair_rows);
  return {(u * cpu::GatherRowsDenseGradient(item, batch.pair_pos)).sum(1),
          (u * cpu::GatherRowsDenseGradient(item, batch.pair_neg)).sum(1)};
}

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_PAIR_SCORES_H_
