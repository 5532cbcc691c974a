#ifndef HARDGNN_PLUGINS_SAMPLERS_UNIFORM_H_
#define HARDGNN_PLUGINS_SAMPLERS_UNIFORM_H_

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "core/model/sampler.h"

namespace hardgnn {

// A FailedPrecondition error naming `sampler` if some user of the request interacted with
// every item, so that no negative exists for it.
absl::Status CheckNegativesExist(const Sampler::Request& request, const char* sampler);

// [B, k] items, each uniform over the items row b's user never interacted with (with
// replacement), in bounded time; row b draws from Rng(request.seed, request.first_row + b),
// so the result does not depend on the thread count (nor on which rank computes the row).
// Call CheckNegativesExist first.
at::Tensor UniformNegatives(const Sampler::Request& request, int64_t k);

}  // namespace hardgnn

#endif  // HARDGNN_PLUGINS_SAMPLERS_UNIFORM_H_
