// `next_item`: SASRec's objective, next-item prediction at every position of the input
// sequence. Position t of row b (where seq_mask is 1) has hidden state h = seq_hidden[b,t]
// and target y = seq[b,t+1], or batch.targets[b] at the last position; each such position
// counts once and the loss is the mean over them of
//   binary cross-entropy: -log σ(<h, e_y>) - Σ_{k<K} log(1 - σ(<h, e_{n_k}>)),
//     n_k uniform over the items outside the row's user's history (Loss::Input::history:
//     the items training treats as seen), K = `negatives` (the paper: 1);
//   softmax:  logsumexp_i <h, e_i> - <h, e_y>  over every item.
// The negatives are a function of (the generator seed the trainer sets per step with
// at::manual_seed, the row's place in the whole batch, position): repeated calls within a
// step draw the same ones, nothing is consumed from the generator, and a data-parallel rank's
// share of the rows draws what the whole batch would.
#include <memory>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "absl/status/status.h"
#include "core/cpu/reduce.h"
#include "core/model/loss.h"
#include "core/model/rng.h"
#include "core/model/sampling.h"

namespace hardgnn {
namespace {

constexpr uint64_t kStreamSalt = 0x6E657874'6974656DULL;  // "nextitem": apart from other users of the seed

class NextItem : public Loss {
 public:
  NextItem(int64_t negatives, bool softmax) : negatives_(negatives), softmax_(softmax) {}
  std::vector<std::string> RequiredViews() const override { return {view::kSeqHidden, view::kItem}; }
  Reduction BatchReduction(const Input& input) const override {
    return {Reduction::kMean, input.batch.seq_mask.gt(0).sum().item<int64_t>()};
  }

  at::Tensor Compute(const Input& input) override {
    const Batch& batch = input.batch;
    const at::Tensor& hidden = input.views.Get(view::kSeqHidden);  // [B,M,d]
    const at::Tensor& items = input.views.Get(view::kItem);        // [I,d]
    const int64_t m = hidden.size(1);
    TORCH_CHECK(batch.seq.size(1) == m, "next_item: seq_hidden has ", m, " positions, the batch's seq ",
                batch.seq.size(1));
    const at::Tensor next = at::cat({batch.seq.narrow(1, 1, m - 1), batch.targets.unsqueeze(1)}, 1);
    const at::Tensor where = batch.seq_mask.gt(0).nonzero();  // [N,2]: (row, position), row-major
    const int64_t n = where.size(0);
    if (n == 0) return (hidden.sum() + items.sum()) * 0;  // nothing to predict; keeps the graph
    const at::Tensor rows = where.select(1, 0).contiguous(), positions = where.select(1, 1).contiguous();
    const at::Tensor flat = rows * m + positions;
    const at::Tensor h = hidden.reshape({-1, hidden.size(2)}).index_select(0, flat);  // [N,d]
    const at::Tensor targets = next.reshape(-1).index_select(0, flat);                 // [N]
    at::Tensor per_position;
    if (softmax_) {
      const at::Tensor logits = at::matmul(h, items.t());  // [N,I]
      per_position = at::logsumexp(logits, 1) - logits.gather(1, targets.unsqueeze(1)).squeeze(1);
    } else {
      const at::Tensor negatives = Negatives(input, rows, positions, targets, items.size(0));  // [N,K]
      const at::Tensor pos = (h * items.index_select(0, targets)).sum(1);
      const at::Tensor neg =
          (h.unsqueeze(1) * items.index_select(0, negatives.view(-1)).view({n, negatives_, -1})).sum(2);
      per_position = at::softplus(-pos) + at::softplus(neg).sum(1);  // -log σ(x) = softplus(-x)
    }
    return cpu::FixedOrderMean(per_position);
  }

 private:
  // K items per position, uniform outside the user's history (or, without one, any item but
  // the position's target).
  at::Tensor Negatives(const Input& input, const at::Tensor& rows, const at::Tensor& positions,
                       const at::Tensor& targets, int64_t num_items) const {
    const uint64_t seed = at::detail::getDefaultCPUGenerator().current_seed() ^ kStreamSalt;
    const int64_t n = rows.size(0);
    // Drawn on the host (a copy off the CPU), returned on the targets' device.
    const at::Tensor users = input.batch.users.cpu().contiguous(), target_ids = targets.cpu().contiguous();
    const at::Tensor host_rows = rows.cpu().contiguous(), host_positions = positions.cpu().contiguous();
    const int64_t *row = host_rows.data_ptr<int64_t>(), *position = host_positions.data_ptr<int64_t>();
    at::Tensor out = at::empty({n, negatives_}, at::kLong);
    int64_t* o = out.data_ptr<int64_t>();
    for (int64_t j = 0; j < n; ++j) {
      const uint64_t batch_row = static_cast<uint64_t>(input.batch.first_row + row[j]);  // its row in the whole batch
      Rng rng(seed, (batch_row << 32) | static_cast<uint64_t>(position[j]));
      int32_t target = static_cast<int32_t>(target_ids.data_ptr<int64_t>()[j]);
      const int32_t* excluded = &target;
      int64_t num_excluded = 1;
      if (input.history != nullptr) {
        const int64_t u = users.data_ptr<int64_t>()[row[j]];
        excluded = input.history->RowBegin(u);
        num_excluded = input.history->RowSize(u);
      }
      TORCH_CHECK(num_excluded < num_items, "next_item: a user has seen every item: no negative to draw");
      for (int64_t k = 0; k < negatives_; ++k) {
        o[j * negatives_ + k] = UniformOutside(rng, num_items, excluded, num_excluded);
      }
    }
    return out.to(targets.device());
  }

  int64_t negatives_;
  bool softmax_;
};

const Registration<Loss> kRegistration(
    "next_item",
    {"next-item prediction at every position of the input sequence (SASRec), on the seq_hidden view: "
     "binary cross-entropy against sampled negatives, or softmax cross-entropy over every item",
     {{"negatives", ParamType::kInt, "1", "binary cross-entropy: uniform negatives per position, outside the user's history"},
      {"softmax", ParamType::kBool, "false", "full softmax cross-entropy over all items instead (no negatives)"}}},
    [](const PluginArgs& a, const Loss::Context&) -> absl::StatusOr<std::unique_ptr<Loss>> {
      if (a.Int("negatives") < 1) return absl::InvalidArgumentError("next_item: negatives must be >= 1");
      return std::make_unique<NextItem>(a.Int("negatives"), a.Bool("softmax"));
    });

}  // namespace
}  // namespace hardgnn
