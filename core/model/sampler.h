#ifndef HARDGNN_CORE_MODEL_SAMPLER_H_
#define HARDGNN_CORE_MODEL_SAMPLER_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "core/data/csr.h"
#include "core/registry/registry.h"

namespace hardgnn {

// Chooses negatives for a contrastive loss. A sampler sees no model: anchors, an item
// table and each user's history, so it can be tested and benchmarked on random tensors.
class Sampler {
 public:
  static constexpr char kKind[] = "sampler";
  struct Context {};

  struct Request {
    // Defined when NeedsItemTable(); a sampler that needs no table runs before the encoder.
    at::Tensor anchors;    // [B,d] float, no grad
    at::Tensor items;      // [I,d] float, no grad
    at::Tensor users;      // [B] int64 global user ids (rows of `history`)
    at::Tensor positives;  // [B] int64
    const data::Csr* history = nullptr;  // users x items: never returned as a negative
    int64_t num_items = 0;
    uint64_t seed = 0;     // the step's seed; the result is a function of it and the inputs
    // Data-parallel training (core/dist): the anchors are rows first_row, first_row + 1, ...
    // of the step's whole batch, whose positives are batch_positives (undefined: the request
    // is the whole batch). Row b draws from the stream of row first_row + b, and negatives
    // taken from the batch come from batch_positives, so a rank's share of the rows gets the
    // rows of the whole batch's result.
    int64_t first_row = 0;
    at::Tensor batch_positives;  // [B_all] int64, or undefined
  };

  struct Result {
    at::Tensor ids;      // [B,K] int64, never in the row's history
    at::Tensor weights;  // [B,K] float importance weights (mean 1 per row), or undefined
  };

  virtual ~Sampler() = default;
  virtual int64_t NumNegatives() const = 0;  // K
  virtual bool NeedsItemTable() const = 0;
  virtual absl::StatusOr<Result> Sample(const Request& request) = 0;
};

using SamplerRegistry = Registry<Sampler>;

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_SAMPLER_H_
