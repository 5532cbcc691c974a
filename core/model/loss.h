#ifndef HARDGNN_CORE_MODEL_LOSS_H_
#define HARDGNN_CORE_MODEL_LOSS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/model/batch.h"
#include "core/model/encoder.h"
#include "core/model/sampler.h"
#include "core/model/views.h"
#include "core/registry/registry.h"

namespace hardgnn {

// What a loss needs the batch builder to sample for it.
struct BatchNeeds {
  int64_t rec_negatives = 0;  // ranking negatives per user (pair_rows/pair_pos/pair_neg)
  int64_t sal_samples = 0;    // SAL items per user per slice (Batch::sal)
};

// Data-parallel training (core/dist) gives each rank a share of a batch's rows. A loss whose
// terms pair entries of different rows (SAL pairs entry j with entry j + n of the whole
// batch) gathers per-entry values from every rank through this.
class BatchExchange {
 public:
  virtual ~BatchExchange() = default;
  // Every rank's `local` ([n_r, ...], its entries in row order) concatenated in rank order:
  // the whole batch's entries, as one process lists them. Differentiable: every rank computes
  // the same function of the result, and the gradient reaches each rank's own rows only, so
  // the ranks' gradients sum to one process's.
  virtual at::Tensor AllGather(const at::Tensor& local) const = 0;
};

// One term of the objective; the trainer sums the chosen terms with their weights.
class Loss {
 public:
  static constexpr char kKind[] = "loss";
  struct Context {
    std::string anchor_view = view::kUserShort;  // contrastive losses: the anchor
  };

  struct Input {
    const Batch& batch;
    const Views& views;
    Encoder& encoder;
    const Sampler::Result* negatives = nullptr;  // set when NeedsNegatives()
    const data::Csr* history = nullptr;  // users x items interacted; contrastive losses mask these
    const BatchExchange* exchange = nullptr;  // set when the batch is one rank's share of the rows
    // Where set, the sum of squares of a parameter's entries when it is already known, with
    // the bits of cpu::FixedOrderSumOfSquares(p) in double (the trainer's optimizer computes it
    // as it writes the parameter); nullopt where not. A value without gradient: for use only
    // where autograd is off (a folded term, CoupledDecay()).
    std::function<std::optional<double>(const at::Tensor&)> known_sum_of_squares;
  };

  virtual ~Loss() = default;
  virtual std::vector<std::string> RequiredViews() const = 0;
  // Views read under a stop-gradient (the published SAL stops the long-term scores').
  virtual std::vector<std::string> DetachedViews() const { return {}; }
  virtual BatchNeeds Needs() const { return {}; }
  virtual bool NeedsNegatives() const { return false; }
  // The view a sampler should use as anchors, when NeedsNegatives().
  virtual std::string AnchorView() const { return ""; }
  virtual at::Tensor Compute(const Input& input) = 0;  // a scalar
  // c when the term is (c / 2) sum ||p||^2 over encoder.RegularizedParameters() (L2: 2), else
  // 0. Its gradient, c p for each, is then one the optimizer can add in its own pass over p
  // (FusedAdam's coupled decay; TrainOptions::fold_parameter_penalties) rather than autograd
  // building a full-size tensor per table and summing it into the table's gradient.
  virtual double CoupledDecay() const { return 0; }

  // How the term adds up over a batch. Data-parallel training (core/dist) computes each term
  // on every rank's share of a step's rows and sums the ranks' terms, weighted so that the sum
  // is the whole batch's term: a mean over `count` units of this input (rows, pairs,
  // positions) is weighted by its share of all ranks' units, a sum by 1, a term of the
  // parameters alone is counted once (computed on rank 0), and a term computed whole on every
  // rank from values gathered with input.exchange (kGathered) is counted once with its
  // gradient kept on every rank. kUnknown (the default) cannot be split over ranks.
  struct Reduction {
    enum Kind { kUnknown, kMean, kSum, kParameters, kGathered };
    Kind kind = kUnknown;
    int64_t count = 0;  // kMean: the units the mean runs over in this input
  };
  virtual Reduction BatchReduction(const Input& input) const { return {}; }
};

using LossRegistry = Registry<Loss>;

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_LOSS_H_
