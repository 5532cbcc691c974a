// Every registered sampler, with its default parameters: shapes, range, history exclusion,
// determinism under a seed. A new sampler is covered by linking it in.
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "core/data/csr.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

constexpr int64_t kBatch = 48, kItems = 300, kDim = 16;

// Users 0..kBatch-1 with histories of varied size; user 0 has touched all items but one
// and user 1 all but three, which bounded-time samplers must handle.
data::Csr MakeHistory() {
  std::vector<std::pair<int32_t, int32_t>> pairs;
  Rng rng(7);
  for (int32_t u = 0; u < kBatch; ++u) {
    int64_t n = u == 0 ? kItems - 1 : u == 1 ? kItems - 3 : 1 + static_cast<int64_t>(rng.Below(40));
    std::vector<int32_t> all(kItems);
    for (int32_t i = 0; i < kItems; ++i) all[i] = i;
    for (int64_t j = 0; j < n; ++j) {  // partial Fisher-Yates: n distinct items
      std::swap(all[j], all[j + rng.Below(kItems - j)]);
      pairs.push_back({u, all[j]});
    }
  }
  return data::CsrFromPairs(kBatch, kItems, pairs);
}

class SamplerConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto created = SamplerRegistry::Global().Create(GetParam(), {}, {});
    ASSERT_TRUE(created.ok()) << created.status();
    sampler_ = std::move(*created);
    history_ = MakeHistory();
    at::manual_seed(3);
    request_.anchors = at::randn({kBatch, kDim});
    request_.items = at::randn({kItems, kDim});
    request_.users = at::arange(kBatch, at::kLong);
    request_.positives = at::empty({kBatch}, at::kLong);
    for (int64_t b = 0; b < kBatch; ++b) request_.positives[b] = *history_.RowBegin(b);
    request_.history = &history_;
    request_.num_items = kItems;
    request_.seed = 11;
  }
  std::unique_ptr<Sampler> sampler_;
  data::Csr history_;
  Sampler::Request request_;
};

TEST_P(SamplerConformance, ShapesRangeAndExclusion) {
  auto result = sampler_->Sample(request_);
  ASSERT_TRUE(result.ok()) << result.status();
  const int64_t k = sampler_->NumNegatives();
  ASSERT_GE(k, 1);
  ASSERT_EQ(result->ids.scalar_type(), at::kLong);
  ASSERT_EQ(result->ids.sizes(), (std::vector<int64_t>{kBatch, k}));
  at::Tensor ids = result->ids.contiguous();
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t j = 0; j < k; ++j) {
      int64_t item = ids[b][j].item<int64_t>();
      ASSERT_GE(item, 0);
      ASSERT_LT(item, kItems);
      ASSERT_FALSE(history_.Contains(b, static_cast<int32_t>(item)))
          << "row " << b << " got item " << item << " from its own history";
    }
  }
  // User 0 has exactly one item left: every negative must be that item.
  std::set<int64_t> left;
  for (int64_t j = 0; j < k; ++j) left.insert(ids[0][j].item<int64_t>());
  EXPECT_EQ(left.size(), 1u);
  if (result->weights.defined()) {
    ASSERT_EQ(result->weights.sizes(), result->ids.sizes());
    EXPECT_TRUE(at::isfinite(result->weights).all().item<bool>());
    EXPECT_TRUE((result->weights >= 0).all().item<bool>());
  }
}

TEST_P(SamplerConformance, DeterministicUnderSeed) {
  at::set_num_threads(2);
  auto a = sampler_->Sample(request_);
  auto b = sampler_->Sample(request_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(at::equal(a->ids, b->ids));
  at::set_num_threads(1);
  auto one_thread = sampler_->Sample(request_);
  ASSERT_TRUE(one_thread.ok());
  EXPECT_TRUE(at::equal(a->ids, one_thread->ids)) << "result depends on the thread count";
}

INSTANTIATE_TEST_SUITE_P(AllSamplers, SamplerConformance,
                         ::testing::ValuesIn(SamplerRegistry::Global().Names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hardgnn
