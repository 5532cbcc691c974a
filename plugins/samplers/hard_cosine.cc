// `hard_cosine`: for each anchor, the K items most cosine-similar to it among all items (or
// among M random candidates) that its user never interacted with, mined from the current
// embeddings at every step. Optionally mixed with uniform random negatives.
//
// Exact top-K without ever writing the anchors x items score matrix: items are normalized
// into panels of 16 (dimension-major), a register-blocked kernel computes the scores of 6
// anchors x 16 items at a time with FMAs, and compares them, still in registers, with each
// anchor's running threshold (its K-th best score so far); only the rare score above it
// leaves the registers. Item blocks of 256 stay in L2 while every anchor of a task passes over
// them. Ties go to the lower item id (the lower candidate index with M).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "absl/status/status.h"
#include "core/cpu/vec.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"
#include "core/model/sampling.h"
#include "plugins/samplers/uniform.h"

namespace hardgnn {
namespace {

constexpr int kRows = 6;             // anchors per register tile (12 accumulators hide the FMA latency)
constexpr int kPanel = 16;           // items per register tile (two 8-float vectors)
constexpr int64_t kRowChunk = 128;   // anchors per task
constexpr int64_t kBlockPanels = 16; // panels per item block (256 items, 64 KB at d = 64)

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

struct AnchorState {
  TopK top;
  int64_t user;
  float threshold;
};

// Scores kRows anchors (a: d x kRows, dimension-major) against the panels [p0, p1) and offers every
// score above an anchor's threshold, outside its user's history, to its top-K. Panel p holds
// items p*16 .. p*16+15 of `pool` (n of them are real), as x[p][dim][16].
HARDGNN_SIMD_CLONES void MinePanels(const float* a, int64_t d, const float* panels, int64_t p0, int64_t p1,
                                    const int64_t* pool, int64_t n, const data::Csr& history, AnchorState* rows) {
  for (int64_t p = p0; p < p1; ++p) {
    const float* x = panels + p * d * kPanel;
    cpu::f8 acc[kRows][2] = {};
    for (int64_t k = 0; k < d; ++k) {
      const cpu::f8 x0 = cpu::Load<float>(x + k * kPanel), x1 = cpu::Load<float>(x + k * kPanel + 8);
#pragma GCC unroll 6
      for (int i = 0; i < kRows; ++i) {
        const cpu::f8 ai = cpu::SplatV<cpu::f8>(a[k * kRows + i]);
        acc[i][0] += ai * x0;
        acc[i][1] += ai * x1;
      }
    }
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const cpu::f8 t = cpu::SplatV<cpu::f8>(rows[i].threshold);
      if (__builtin_expect(!AnyLane((acc[i][0] > t) | (acc[i][1] > t)), 1)) continue;
      float s[kPanel];
      cpu::Store<float>(s, acc[i][0]);
      cpu::Store<float>(s + 8, acc[i][1]);
      for (int l = 0; l < kPanel; ++l) {
        const int64_t j = p * kPanel + l;
        if (j < n && s[l] > rows[i].threshold && !history.Contains(rows[i].user, static_cast<int32_t>(pool[j]))) {
          rows[i].top.Offer(s[l], pool[j]);
          rows[i].threshold = rows[i].top.threshold();
        }
      }
    }
  }
}

at::Tensor NormalizedRows(const at::Tensor& x) {
  at::Tensor f = x.to(at::kFloat).contiguous();
  return (f / at::linalg_vector_norm(f, 2, {1}, true).clamp_min(1e-12)).contiguous();
}

// Normalizes rows[pool[j]] of `items` into dimension-major panels of 16 (zero-padded):
// x[p][dim][16]. Whole-tensor ATen ops, so the per-step packing stays vectorized.
at::Tensor NormalizedPanels(const at::Tensor& items, const std::vector<int64_t>& pool) {
  at::Tensor rows = items;
  if (static_cast<int64_t>(pool.size()) != items.size(0)) {  // a candidate subset
    rows = items.index_select(0, at::from_blob(const_cast<int64_t*>(pool.data()),
                                               {static_cast<int64_t>(pool.size())}, at::kLong));
  }
  const int64_t n = rows.size(0), d = rows.size(1), num_panels = (n + kPanel - 1) / kPanel;
  const at::Tensor padded = at::constant_pad_nd(NormalizedRows(rows), {0, 0, 0, num_panels * kPanel - n});
  return padded.view({num_panels, kPanel, d}).transpose(1, 2).contiguous();
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
    absl::Status status = CheckNegativesExist(request, "hard_cosine");
    if (!status.ok()) return status;
    // The items mined: all of them, or M distinct ones drawn for this step.
    std::vector<int64_t> pool;
    if (candidates_ > 0 && candidates_ < request.num_items) {
      pool = DistinctUniform(request.num_items, candidates_, request.seed);
    } else {
      pool.resize(request.num_items);
      for (int64_t i = 0; i < request.num_items; ++i) pool[i] = i;
    }
    const at::Tensor panels = NormalizedPanels(request.items, pool);
    const at::Tensor anchors = NormalizedRows(request.anchors);
    const int64_t n = static_cast<int64_t>(pool.size()), d = anchors.size(1), num_panels = panels.size(0);
    const float* a = anchors.data_ptr<float>();
    const float* x = panels.data_ptr<float>();

    at::Tensor ids = at::empty({batch, total}, at::kLong);
    int64_t* out = ids.data_ptr<int64_t>();
    at::parallel_for(0, (batch + kRowChunk - 1) / kRowChunk, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t chunk = c0; chunk < c1; ++chunk) {
        const int64_t r0 = chunk * kRowChunk, rows = std::min(kRowChunk, batch - r0);
        const int64_t groups = (rows + kRows - 1) / kRows;
        std::vector<AnchorState> state;
        for (int64_t r = 0; r < groups * kRows; ++r) {
          state.push_back({TopK(k_), r < rows ? users[r0 + r] : 0, -std::numeric_limits<float>::infinity()});
        }
        // Padding anchors (past the batch) must never take candidates.
        for (int64_t r = rows; r < groups * kRows; ++r) state[r].threshold = std::numeric_limits<float>::infinity();
        // The chunk's anchors packed once as [group][dim][kRows], so each broadcast is one load.
        std::vector<float> tiles(groups * kRows * d, 0.0f);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t k = 0; k < d; ++k) tiles[((r / kRows) * d + k) * kRows + r % kRows] = a[(r0 + r) * d + k];
        }
        for (int64_t p0 = 0; p0 < num_panels; p0 += kBlockPanels) {
          const int64_t p1 = std::min(num_panels, p0 + kBlockPanels);
          for (int64_t g = 0; g < groups; ++g) {
            MinePanels(tiles.data() + g * d * kRows, d, x, p0, p1, pool.data(), n, history, state.data() + g * kRows);
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t b = r0 + r, user = users[b];
          Rng rng(request.seed, static_cast<uint64_t>(b));
          int64_t j = 0;
          for (const auto& [score, id] : state[r].top.entries()) out[b * total + j++] = id;
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
