#ifndef HARDGNN_PLUGINS_ENCODERS_TABLE_SCORER_H_
#define HARDGNN_PLUGINS_ENCODERS_TABLE_SCORER_H_

#include <utility>

#include <ATen/ATen.h>

#include "core/model/encoder.h"

namespace hardgnn {

// Evaluation of a model whose final embeddings are tables: users [U,d], items [I,d], computed
// once per evaluation (mf's embeddings, lightgcn's layer means). A query is its user's row.
class TableScorer : public EvalScorer {
 public:
  TableScorer(at::Tensor users, at::Tensor items) : users_(std::move(users)), items_(std::move(items)) {}
  at::Tensor Items() override { return items_; }
  at::Tensor Queries(const Batch& batch) override { return users_.index_select(0, batch.users); }

 private:
  at::Tensor users_, items_;
};

}  // namespace hardgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_TABLE_SCORER_H_
