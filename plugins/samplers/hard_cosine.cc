// `hard_cosine`: for each anchor, the K items most cosine-similar to it among all items (or
// among M random candidates) that its user never interacted with, mined from the current
// embeddings at every step. Optionally mixed with uniform random negatives.
//
// Exact top-K without the anchors x items score matrix: items are scored in cache-sized
// blocks (one small GEMM per block of anchors x block of items), and each anchor keeps a
// running threshold, its K-th best score so far, so almost every score is rejected by one
// vector comparison. Ties go to the lower item id (the lower candidate index with M).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "absl/status/status.h"
#include "core/cpu/blas.h"
#include "core/cpu/vec.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"
#include "core/model/sampling.h"

namespace hardgnn {
namespace {

constexpr int64_t kRowChunk = 64;    // anchors per task
constexpr int64_t kItemBlock = 512;  // items per GEMM block: scores and items stay in L2

// The K best (score, id) of one anchor, best first; ties keep the earlier id.
class TopK {
 public:
  explicit TopK(int64_t k) : k_(k) { entries_.reserve(k + 1); }
  float threshold() const {
    return static_cast<int64_t>(entries_.size()) < k_ ? -std::numeric_limits<float>::infinity()
                                                      : entries_.back().first;
  }
  bool full() const { return static_cast<int64_t>(entries_.size()) == k_; }
  void Offer(float score, int64_t id) {  // caller ensures score > threshold()
    auto pos = std::upper_bound(entries_.begin(), entries_.end(), score,
                                [](float s, const std::pair<float, int64_t>& e) { return s > e.first; });
    entries_.insert(pos, {score, id});
    if (static_cast<int64_t>(entries_.size()) > k_) entries_.pop_back();
  }
  const std::vector<std::pair<float, int64_t>>& entries() const { return entries_; }

 private:
  int64_t k_;
  std::vector<std::pair<float, int64_t>> entries_;
};

HARDGNN_INLINE bool AnyLane(cpu::i8 m) {
  typedef int64_t l4 __attribute__((vector_size(32)));
  const l4 x = reinterpret_cast<l4&>(m);
  return (x[0] | x[1] | x[2] | x[3]) != 0;
}

// Scans one anchor's scores for a block; `ids` maps block columns to item ids.
HARDGNN_SIMD_CLONES void ScanBlock(const float* scores, int64_t n, const int64_t* ids, int64_t user,
                                   const data::Csr& history, TopK& top) {
  float thr = top.threshold();
  cpu::f8 thr8 = cpu::f8{} + thr;
  int64_t j = 0;
  auto consider = [&](int64_t c) {
    const float s = scores[c];
    if (!(s > thr) || history.Contains(user, static_cast<int32_t>(ids[c]))) return;
    top.Offer(s, ids[c]);
    thr = top.threshold();
    thr8 = cpu::f8{} + thr;
  };
  for (; j + 8 <= n; j += 8) {
    const cpu::f8 v = cpu::Load<float>(scores + j);
    if (__builtin_expect(AnyLane(v > thr8), 0)) {
      for (int64_t c = j; c < j + 8; ++c) consider(c);
    }
  }
  for (; j < n; ++j) consider(j);
}

at::Tensor NormalizedRows(const at::Tensor& x) {
  at::Tensor f = x.to(at::kFloat).contiguous();
  return (f / at::linalg_vector_norm(f, 2, {1}, true).clamp_min(1e-12)).contiguous();
}

class HardCosineSampler : public Sampler {
 public:
  HardCosineSampler(int64_t k, int64_t candidates, int64_t random) : k_(k), candidates_(candidates), random_(random) {}
  int64_t NumNegatives() const override { return k_ + random_; }
  bool NeedsItemTable() const override { return true; }

  absl::StatusOr<Result> Sample(const Request& request) override {
    const int64_t batch = request.anchors.size(0), total = k_ + random_;
    const data::Csr& history = *request.history;
    at::Tensor users_t = request.users.contiguous();
    const int64_t* users = users_t.data_ptr<int64_t>();
    for (int64_t b = 0; b < batch; ++b) {
      if (history.RowSize(users[b]) >= request.num_items) {
        return absl::FailedPreconditionError("hard_cosine sampler: a user interacted with every item");
      }
    }
    // The items mined: all of them, or M distinct ones drawn for this step.
    std::vector<int64_t> pool;
    at::Tensor items;
    if (candidates_ > 0 && candidates_ < request.num_items) {
      pool = DistinctUniform(request.num_items, candidates_, request.seed);
      items = NormalizedRows(request.items.index_select(0, at::tensor(at::ArrayRef<int64_t>(pool))));
    } else {
      pool.resize(request.num_items);
      for (int64_t i = 0; i < request.num_items; ++i) pool[i] = i;
      items = NormalizedRows(request.items);
    }
    const at::Tensor anchors = NormalizedRows(request.anchors);
    const int64_t n = items.size(0), d = items.size(1);
    const float* a = anchors.data_ptr<float>();
    const float* x = items.data_ptr<float>();

    at::Tensor ids = at::empty({batch, total}, at::kLong);
    int64_t* out = ids.data_ptr<int64_t>();
    at::parallel_for(0, (batch + kRowChunk - 1) / kRowChunk, 1, [&](int64_t c0, int64_t c1) {
      std::vector<float> scores(kRowChunk * kItemBlock);
      for (int64_t chunk = c0; chunk < c1; ++chunk) {
        const int64_t r0 = chunk * kRowChunk, rows = std::min(kRowChunk, batch - r0);
        std::vector<TopK> tops(rows, TopK(k_));
        for (int64_t i0 = 0; i0 < n; i0 += kItemBlock) {
          const int64_t cols = std::min(kItemBlock, n - i0);
          cpu::Gemm(false, true, rows, cols, d, 1.0f, a + r0 * d, d, x + i0 * d, d, 0.0f, scores.data(), cols);
          for (int64_t r = 0; r < rows; ++r) {
            ScanBlock(scores.data() + r * cols, cols, pool.data() + i0, users[r0 + r], history, tops[r]);
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t b = r0 + r, user = users[b];
          Rng rng(request.seed, static_cast<uint64_t>(b));
          int64_t j = 0;
          for (const auto& [score, id] : tops[r].entries()) out[b * total + j++] = id;
          // Too few allowed items mined (tiny M, NaN scores) and the random mix: uniform.
          for (; j < total; ++j) {
            out[b * total + j] =
                UniformOutside(rng, request.num_items, history.RowBegin(user), history.RowSize(user));
          }
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
};

const Registration<Sampler> kRegistration(
    "hard_cosine",
    {"the K items most cosine-similar to the anchor that the user never interacted with, exact, "
     "from the current embeddings at every step (HardGNN)",
     {{"k", ParamType::kInt, "5", "hard negatives per anchor"},
      {"candidates", ParamType::kInt, "0", "mine among this many random items per step (0 = all items)"},
      {"random", ParamType::kInt, "0", "uniform random negatives added to the K hard ones"}}},
    [](const PluginArgs& a, const Sampler::Context&) -> absl::StatusOr<std::unique_ptr<Sampler>> {
      if (a.Int("k") < 1 || a.Int("candidates") < 0 || a.Int("random") < 0) {
        return absl::InvalidArgumentError("hard_cosine: k >= 1, candidates >= 0 and random >= 0");
      }
      return std::make_unique<HardCosineSampler>(a.Int("k"), a.Int("candidates"), a.Int("random"));
    });

}  // namespace
}  // namespace hardgnn
