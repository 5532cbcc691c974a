// `hard_cosine`: for each anchor, the K items most cosine-similar to it among all items (or
// among M random candidates) that its user never interacted with, mined from the current
// embeddings at every step, exactly (cosine_top_k.h: no anchors x items score matrix is ever
// written). Ties go to the lower item id (the lower candidate index with M). Optionally mixed
// with uniform random negatives.
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "absl/status/status.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"
#include "core/model/sampling.h"
#include "plugins/samplers/cosine_top_k.h"
#include "plugins/samplers/uniform.h"

namespace hardgnn {
namespace {

class HardCosineSampler : public Sampler {
 public:
  HardCosineSampler(int64_t k, int64_t candidates, int64_t random, CosineScreen screen, bool vnni)
      : k_(k), candidates_(candidates), random_(random), screen_(screen), vnni_(vnni) {}
  int64_t NumNegatives() const override { return k_ + random_; }
  bool NeedsItemTable() const override { return true; }

  absl::StatusOr<Result> Sample(const Request& request) override {
    const int64_t batch = request.anchors.size(0), total = k_ + random_;
    const data::Csr& history = *request.history;
    at::Tensor users_t = request.users.contiguous();
    const int64_t* users = users_t.data_ptr<int64_t>();
    absl::Status status = CheckNegativesExist(request, "hard_cosine");
    if (!status.ok()) return status;
    // The items mined: all of them, or M distinct ones drawn for this step.
    const bool sampled = candidates_ > 0 && candidates_ < request.num_items;
    const std::vector<int64_t> pool = sampled ? DistinctUniform(request.num_items, candidates_, request.seed) : std::vector<int64_t>();
    const std::vector<std::vector<int64_t>> hard =
        CosineTopK(request.anchors, request.items.narrow(0, 0, request.num_items), sampled ? &pool : nullptr, users, history, k_,
                   screen_, vnni_ ? IntTiles::kBest : IntTiles::kAvx2);
    at::Tensor ids = at::empty({batch, total}, at::kLong);
    int64_t* out = ids.data_ptr<int64_t>();
    at::parallel_for(0, batch, 256, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t user = users[b];
        Rng rng(request.seed, static_cast<uint64_t>(request.first_row + b));
        int64_t j = 0;
        for (const int64_t id : hard[b]) out[b * total + j++] = id;
        // Too few allowed items mined (tiny M, NaN scores) and the random mix: uniform.
        for (; j < total; ++j) {
          out[b * total + j] = UniformOutside(rng, request.num_items, history.RowBegin(user), history.RowSize(user));
        }
      }
    });
    return Result{ids, at::Tensor()};
  }

 private:
  // m distinct items in [0, n), uniformly (Floyd's algorithm), sorted.
  static std::vector<int64_t> DistinctUniform(int64_t n, int64_t m, uint64_t seed) {
    Rng rng(seed, ~0ULL);
    std::vector<int64_t> chosen;
    std::vector<bool> taken(n, false);
    for (int64_t j = n - m; j < n; ++j) {
      int64_t t = static_cast<int64_t>(rng.Below(j + 1));
      if (taken[t]) t = j;
      taken[t] = true;
    }
    for (int64_t i = 0; i < n; ++i) {
      if (taken[i]) chosen.push_back(i);
    }
    return chosen;
  }

  int64_t k_, candidates_, random_;
  CosineScreen screen_;
  bool vnni_;
};

const Registration<Sampler> kRegistration(
    "hard_cosine",
    {"the K items most cosine-similar to the anchor that the user never interacted with, exact, "
     "from the current embeddings at every step (HardGNN)",
     {{"k", ParamType::kInt, "5", "hard negatives per anchor"},
      {"candidates", ParamType::kInt, "0", "mine among this many random items per step (0 = all items)"},
      {"random", ParamType::kInt, "0", "uniform random negatives added to the K hard ones"},
      {"int16_screen", ParamType::kBool, "true",
       "screen the scores with an exact 14-bit fixed-point product and its error bound, then score the "
       "survivors in float: the same negatives, faster (AVX2+FMA CPUs; float everywhere otherwise)"},
      {"int8_screen", ParamType::kBool, "true",
       "with the int16 screen on and k <= 16, screen with an 8-bit product at each row's own scale and "
       "its error bound instead, scoring what passes in float as it goes (AVX-512 VNNI CPUs; int16 "
       "otherwise): the same negatives"},
      {"vnni", ParamType::kBool, "true",
       "the integer screens' products by AVX-512 VNNI where the CPU has it; false (or no VNNI): the int16 "
       "screen on AVX2: the same negatives"}}},
    [](const PluginArgs& a, const Sampler::Context&) -> absl::StatusOr<std::unique_ptr<Sampler>> {
      if (a.Int("k") < 1 || a.Int("candidates") < 0 || a.Int("random") < 0) {
        return absl::InvalidArgumentError("hard_cosine: k >= 1, candidates >= 0 and random >= 0");
      }
      return std::make_unique<HardCosineSampler>(a.Int("k"), a.Int("candidates"), a.Int("random"),
                                                 !a.Bool("int16_screen") ? CosineScreen::kFloat
                                                 : a.Bool("int8_screen") ? CosineScreen::kInt8
                                                                         : CosineScreen::kInt16,
                                                 a.Bool("vnni"));
    });

}  // namespace
}  // namespace hardgnn
