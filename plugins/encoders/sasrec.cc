// `sasrec`: SASRec (Kang & McAuley, ICDM 2018), self-attentive sequential recommendation.
// Item embeddings (one table, the input and the output as the paper) scaled by sqrt(d), plus
// learned position embeddings for the max_len = Context::max_seq_len columns of Batch::seq
// (the latest item always at position max_len-1), dropout, padding zeroed; `blocks` causal
// self-attention blocks and a final LayerNorm, padded rows zeroed again (sasrec::Net; each
// row is computed over its own span only, Net::ForwardBySpan).
//
// Views: seq_hidden [B,M,d] (every position's hidden state: the `next_item` loss trains
// position t on the item at t+1, the last on the batch target, as the paper); user = the
// hidden state at the last position (the scoring query, score = <user, item>); user_seq =
// the same vector, an instance-level sequence embedding, so contrastive losses can anchor on
// it under either name; item = the item embedding table (every row carries its gradient).
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model/encoder.h"
#include "plugins/encoders/sasrec_modules.h"

namespace hardgnn::sasrec {
namespace {

class SasRec;

class SasRecScorer : public EvalScorer {
 public:
  SasRecScorer(SasRec& model, at::Tensor items) : model_(model), items_(std::move(items)) {}
  at::Tensor Items() override { return items_; }
  at::Tensor Queries(const Batch& batch) override;

 private:
  SasRec& model_;
  at::Tensor items_;
};

class SasRec : public Encoder {
 public:
  SasRec(const data::PreparedDataset& d, const NetOptions& o, uint64_t seed) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    net_ = register_module("net", Net(d.num_items, o, gen));
  }

  std::vector<std::string> ProvidedViews() const override {
    return {view::kUser, view::kItem, view::kUserSeq, view::kSeqHidden};
  }

  Views Forward(const Batch& batch, bool) override {
    at::Tensor hidden = Hidden(batch);
    at::Tensor last = hidden.select(1, hidden.size(1) - 1);
    Views v;
    v.Set(view::kUser, last);
    v.Set(view::kUserSeq, last);
    v.Set(view::kItem, net_->items());
    v.Set(view::kSeqHidden, hidden);
    return v;
  }

  // The embedding tables (the paper trains without L2; `l2` adds it on these).
  std::vector<at::Tensor> RegularizedParameters() override { return {net_->items(), net_->positions()}; }
  bool RegularizedBeforeForward() const override { return true; }

  std::unique_ptr<EvalScorer> MakeEvalScorer() override {
    return std::make_unique<SasRecScorer>(*this, net_->items().detach());
  }

  at::Tensor Hidden(const Batch& batch) { return net_->ForwardBySpan(batch.seq, batch.seq_mask); }

 private:
  Net net_{nullptr};
};

at::Tensor SasRecScorer::Queries(const Batch& batch) {
  torch::NoGradGuard no_grad;
  at::Tensor hidden = model_.Hidden(batch);
  return hidden.select(1, hidden.size(1) - 1);
}

const Registration<Encoder> kRegistration(
    "sasrec",
    {"SASRec: causal self-attention over the input sequence (item + position embeddings), user = the "
     "last position's hidden state, items shared between input and output; train with next_item "
     "(every position predicts the next item) or any loss on user/item",
     {{"dim", ParamType::kInt, "64", "embedding width"},
      {"blocks", ParamType::kInt, "2", "self-attention blocks"},
      {"heads", ParamType::kInt, "1", "attention heads (dim must be a multiple)"},
      {"dropout", ParamType::kDouble, "0.2",
       "dropout rate on the input embeddings, the attention weights and every sub-layer"}}},
    [](const PluginArgs& a, const Encoder::Context& ctx) -> absl::StatusOr<std::unique_ptr<Encoder>> {
      const NetOptions o{a.Int("dim"), a.Int("blocks"), a.Int("heads"), a.Double("dropout"), ctx.max_seq_len};
      if (o.dim < 1 || o.heads < 1 || o.dim % o.heads != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("sasrec: dim (", o.dim, ") must be a positive multiple of heads (", o.heads, ")"));
      }
      if (o.blocks < 0) return absl::InvalidArgumentError("sasrec: blocks must be >= 0");
      if (!(o.dropout >= 0 && o.dropout < 1)) return absl::InvalidArgumentError("sasrec: dropout must be in [0, 1)");
      if (o.max_len < 1) return absl::InvalidArgumentError("sasrec: max_seq_len must be >= 1");
      return std::make_unique<SasRec>(*ctx.dataset, o, ctx.seed);
    });

}  // namespace
}  // namespace hardgnn::sasrec
