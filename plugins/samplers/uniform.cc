#include "plugins/samplers/uniform.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "absl/strings/str_cat.h"
#include "core/model/rng.h"
#include "core/model/sampling.h"

namespace hardgnn {

absl::Status CheckNegativesExist(const Sampler::Request& request, const char* sampler) {
  const at::Tensor users = request.users.contiguous();
  const int64_t* user = users.data_ptr<int64_t>();
  for (int64_t b = 0; b < users.size(0); ++b) {
    if (request.history->RowSize(user[b]) >= request.num_items) {
      return absl::FailedPreconditionError(
          absl::StrCat(sampler, " sampler: user ", user[b], " interacted with every item; no negative exists"));
    }
  }
  return absl::OkStatus();
}

at::Tensor UniformNegatives(const Sampler::Request& request, int64_t k) {
  const at::Tensor users = request.users.contiguous();
  const int64_t* user = users.data_ptr<int64_t>();
  const int64_t batch = users.size(0);
  const data::Csr& history = *request.history;
  at::Tensor ids = at::empty({batch, k}, at::kLong);
  int64_t* out = ids.data_ptr<int64_t>();
  at::parallel_for(0, batch, 64, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      Rng rng(request.seed, static_cast<uint64_t>(request.first_row + b));
      for (int64_t j = 0; j < k; ++j) {
        out[b * k + j] = UniformOutside(rng, request.num_items, history.RowBegin(user[b]), history.RowSize(user[b]));
      }
    }
  });
  return ids;
}

}  // namespace hardgnn
