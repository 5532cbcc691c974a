// Known answers for the individual samplers: hard_cosine against a brute-force full sort
// (ties and excluded items included) with either screen, and its int16 screen against its
// float one on near-ties; the debiased weights against their formula, random's bounded time
// when a user has a single item left.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <set>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "core/cpu/kernel_path.h"
#include "core/data/csr.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"
#include "gtest/gtest.h"
#include "plugins/samplers/cosine_top_k.h"

namespace hardgnn {
namespace {

std::unique_ptr<Sampler> Make(const std::string& name, ArgMap args) {
  auto s = SamplerRegistry::Global().Create(name, args, {});
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

data::Csr RandomHistory(int64_t users, int64_t items, int64_t per_user, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t u = 0; u < users; ++u) {
    for (int64_t j = 0; j < per_user; ++j) pairs.push_back({u, static_cast<int32_t>(rng.Below(items))});
  }
  return data::CsrFromPairs(users, items, pairs);
}

// Brute force: cosine in double for every allowed item, stable sort (ties: lower id first).
std::vector<int64_t> BruteTopK(const at::Tensor& anchors, const at::Tensor& items, const data::Csr& history,
                               int64_t row, int64_t k, std::vector<double>* all_scores = nullptr) {
  at::Tensor a = anchors[row].to(at::kDouble);
  a = a / a.norm();
  at::Tensor x = items.to(at::kDouble);
  at::Tensor cos_t = at::mv(x / x.norm(2, {1}, true), a).contiguous();
  const double* cos = cos_t.data_ptr<double>();
  std::vector<std::pair<double, int64_t>> list;
  for (int64_t i = 0; i < items.size(0); ++i) {
    if (!history.Contains(row, static_cast<int32_t>(i))) list.push_back({cos[i], i});
  }
  std::stable_sort(list.begin(), list.end(), [](auto& l, auto& r) { return l.first > r.first; });
  if (all_scores != nullptr) all_scores->assign(cos, cos + items.size(0));
  std::vector<int64_t> top;
  for (int64_t j = 0; j < k; ++j) top.push_back(list[j].second);
  return top;
}

Sampler::Request MakeRequest(const at::Tensor& anchors, const at::Tensor& items, const data::Csr& history) {
  Sampler::Request r;
  r.anchors = anchors;
  r.items = items;
  r.users = at::arange(anchors.size(0), at::kLong);
  r.positives = at::zeros({anchors.size(0)}, at::kLong);
  r.history = &history;
  r.num_items = items.size(0);
  r.seed = 5;
  return r;
}

TEST(HardCosineTest, EqualsAFullSortWithExactTiesAndExclusions) {
  // Items are multiples of axis vectors: normalized, each is exactly a unit axis, so every
  // score is exactly a normalized anchor coordinate and many items tie.
  const int64_t d = 8, n = 2000, batch = 150, k = 7;
  at::Tensor items = at::zeros({n, d});
  for (int64_t i = 0; i < n; ++i) items[i][(i * 5) % d] = static_cast<float>(1 + i % 3);
  at::manual_seed(2);
  at::Tensor anchors = at::randint(-3, 4, {batch, d}).to(at::kFloat);
  anchors.select(1, 0).add_(0.5);  // no all-zero anchor
  const data::Csr history = RandomHistory(batch, n, 300, 4);
  // The int16, 8-bit and float screens of the kernels; the ATen formulation (what --device=cuda mines with), forced
  // on the CPU, over every item and over a candidate pool of all items.
  const std::vector<std::pair<bool, ArgMap>> configs = {{false, {{"int8_screen", "false"}}},
                                                        {false, {{"int8_screen", "true"}}},
                                                        {false, {{"int16_screen", "false"}}},
                                                        {true, {}},
                                                        {true, {{"candidates", "2000"}}}};
  for (const auto& [aten, extra] : configs) {
    ArgMap args = extra;
    args["k"] = std::to_string(k);
    std::optional<cpu::ScopedAtenKernels> forced;
    if (aten) forced.emplace();
    auto result = Make("hard_cosine", args)->Sample(MakeRequest(anchors, items, history));
    ASSERT_TRUE(result.ok()) << result.status();
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<int64_t> got(result->ids[b].data_ptr<int64_t>(), result->ids[b].data_ptr<int64_t>() + k);
      ASSERT_EQ(got, BruteTopK(anchors, items, history, b, k))
          << "row " << b << (aten ? ", ATen path" : ", kernels") << ", " << args.size() << " args";
    }
  }
}

// The int8 screen packs items with AVX-512 where its tiles run: byte for byte what the portable
// packer writes (quads + 128 at the panel's scale, each item's start, the scale), at dimensions that fill 16-lane
// vectors and quads exactly or not, a last panel part-filled, and rows that are zero, NaN,
// infinite, tiny or with one coordinate far above the rest.
TEST(HardCosineTest, Avx512Int8PackingWritesThePortablePackersBytes) {
  if (!VnniTilesAvailable()) GTEST_SKIP() << "no AVX-512 VNNI: the int8 screen does not run here";
  for (const int64_t d : {1, 3, 4, 16, 37, 64, 130}) {
    at::manual_seed(d);
    at::Tensor items = at::randn({45, d});
    items[2].zero_();
    items[3].fill_(std::nanf(""));
    items[4][0] = INFINITY;
    items[5] *= 1e-30;
    items[6][d - 1] = 1e4;
    const std::vector<uint8_t> portable = Int8ItemPanelsForTest(items, false), avx512 = Int8ItemPanelsForTest(items, true);
    ASSERT_EQ(portable.size(), avx512.size());
    for (size_t i = 0; i < portable.size(); ++i) ASSERT_EQ(portable[i], avx512[i]) << "d " << d << ", byte " << i;
  }
}

// The float screen's picks (int16_screen=false) against the 8-bit screen (VNNI), the int16
// screen's VNNI tiles (where the CPU has them) and its AVX2 tiles, `args` otherwise the same.
void ExpectIntegerScreensPickWhatTheFloatScreenPicks(const at::Tensor& anchors, const at::Tensor& items,
                                                     const data::Csr& history, ArgMap args, const std::string& context) {
  args["int16_screen"] = "false";
  auto exact = Make("hard_cosine", args)->Sample(MakeRequest(anchors, items, history));
  ASSERT_TRUE(exact.ok());
  args["int16_screen"] = "true";
  for (const auto& [int8, vnni] : {std::pair{"true", "true"}, {"false", "true"}, {"false", "false"}}) {
    args["int8_screen"] = int8;
    args["vnni"] = vnni;
    auto screened = Make("hard_cosine", args)->Sample(MakeRequest(anchors, items, history));
    ASSERT_TRUE(screened.ok());
    EXPECT_TRUE(at::equal(screened->ids, exact->ids)) << context << ", int8 " << int8 << ", vnni " << vnni;
  }
}

// The integer screens only discard items their error bound proves cannot enter, and score the
// rest as the float tiles do: every screen chooses the same ids, in the same order, whichever
// instructions (AVX2 or AVX-512 VNNI) compute the integer products. Near-duplicate items (copies
// perturbed below the 2^-14 fixed-point step, or, for the 8-bit screen, below its 1/127 step)
// have equal integer products but different float scores, so the float rescoring alone decides
// among them.
TEST(HardCosineTest, IntegerScreensChooseWhatTheFloatScoresChoose) {
  if (!Int16ScreenAvailable()) GTEST_SKIP() << "no AVX2+FMA: the int16 screen falls back to float";
  if (!VnniTilesAvailable()) std::cout << "no AVX-512 VNNI here: both runs use the AVX2 tiles\n";
  // 16, 2 and 3 quads, 32, 4 and 5 int16 pairs (the VNNI tiles sum even and odd units apart);
  // 133 anchors: 23 groups of 6, the int8 screen's last pair of groups part-filled.
  for (const int64_t d : {64, 7, 9}) {
    const int64_t n = 4000, batch = 133;
    at::manual_seed(11 + d);
    const at::Tensor base = at::randn({n / 8, d});
    const at::Tensor noise = (at::arange(n) % 2).to(at::kFloat).unsqueeze(1) * 2e-3 + 1e-7;  // odd rows: 2e-3
    at::Tensor items = base.repeat({8, 1}) * (1 + 1e-6 * at::randn({n, 1})) + noise * at::randn({n, d});
    items.narrow(0, 0, 50).fill_(std::nanf(""));  // never chosen by either screen
    items.narrow(0, 50, 3).fill_(INFINITY);
    at::Tensor anchors = at::randn({batch, d});
    anchors[1].fill_(std::nanf(""));  // no hard negative: both fill the row with uniform ones
    const data::Csr history = RandomHistory(batch, n, 200, 12);
    for (const std::string k : {"1", "5", "50"}) {
      for (const std::string candidates : {"0", "1500"}) {
        ExpectIntegerScreensPickWhatTheFloatScreenPicks(anchors, items, history, {{"k", k}, {"candidates", candidates}},
                                                        "d " + std::to_string(d) + ", k " + k + ", candidates " + candidates);
      }
    }
  }
}

// At the 8-bit screen's largest dimension (4,096) its sums reach their proven ranges: rows of
// equal-magnitude coordinates round every coordinate to +-127, so an item equal to the anchor
// sums 127^2 d and the items' offset adds 128 x 127 d more. Near-duplicates of such rows, their
// negations and a part-filled last panel: every screen must still pick what the float screen
// picks.
TEST(HardCosineTest, IntegerScreensAgreeAtTheEightBitScreensLargestDimension) {
  if (!Int16ScreenAvailable()) GTEST_SKIP() << "no AVX2+FMA: the int16 screen falls back to float";
  const int64_t d = 4096, n = 301, batch = 13;
  at::manual_seed(41);
  const at::Tensor signs = at::randint(0, 2, {8, d}).to(at::kFloat) * 2 - 1;
  at::Tensor items = 1e-3 * at::randn({n, d});
  items.narrow(0, 0, 8 * 30) += signs.repeat({30, 1});  // 30 near-copies of each of 8 sign rows
  items.narrow(0, 8 * 30, 8) -= signs;                     // and their negations
  items.narrow(0, 250, 51) += at::randn({51, d});
  at::Tensor anchors = at::randn({batch, d});
  anchors.narrow(0, 0, 8).copy_(signs);
  anchors[8] = -signs[0];
  const data::Csr history = RandomHistory(batch, n, 20, 14);
  for (const std::string k : {"1", "5", "16"}) {
    ExpectIntegerScreensPickWhatTheFloatScreenPicks(anchors, items, history, {{"k", k}}, "d 4096, k " + k);
  }
}

// Past the first 16 item blocks (the seed, each anchor in one worker) the two workers split the
// items: the integer screens must still choose what the float scores choose, with near-ties
// throughout the pool.
TEST(HardCosineTest, IntegerScreensAgreeWhereTheWorkersSplitTheItems) {
  if (!Int16ScreenAvailable()) GTEST_SKIP() << "no AVX2+FMA: the int16 screen falls back to float";
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  for (const int64_t d : {64, 9}) {  // 448 and 1,632 items an int8 block, 256 and 1,632 an int16 one
    const int64_t n = 40000, batch = 70;
    at::manual_seed(31 + d);
    const at::Tensor base = at::randn({n / 4, d});
    at::Tensor items = base.repeat({4, 1}) + 1e-3 * at::randn({n, d});
    const at::Tensor anchors = at::randn({batch, d});
    const data::Csr history = RandomHistory(batch, n, 300, 13);
    for (const std::string k : {"1", "5"}) {
      ExpectIntegerScreensPickWhatTheFloatScreenPicks(anchors, items, history, {{"k", k}}, "d " + std::to_string(d) + ", k " + k);
    }
  }
  at::set_num_threads(threads);
}

TEST(HardCosineTest, RandomDataMatchesUpToFloatRounding) {
  const int64_t d = 64, n = 5000, batch = 200, k = 50;
  at::manual_seed(3);
  at::Tensor items = at::randn({n, d}), anchors = at::randn({batch, d});
  const data::Csr history = RandomHistory(batch, n, 80, 6);
  auto result = Make("hard_cosine", {{"k", std::to_string(k)}})->Sample(MakeRequest(anchors, items, history));
  ASSERT_TRUE(result.ok()) << result.status();
  int64_t exact_rows = 0;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> cos;
    std::vector<int64_t> expected = BruteTopK(anchors, items, history, b, k, &cos);
    std::vector<int64_t> got(result->ids[b].data_ptr<int64_t>(), result->ids[b].data_ptr<int64_t>() + k);
    exact_rows += got == expected;
    // Whatever float rounding does, the chosen K are allowed, distinct, and no allowed item
    // left out beats the weakest chosen one by more than rounding.
    std::set<int64_t> chosen(got.begin(), got.end());
    ASSERT_EQ(chosen.size(), static_cast<size_t>(k));
    double weakest = 1e9;
    for (int64_t id : got) {
      ASSERT_FALSE(history.Contains(b, static_cast<int32_t>(id)));
      weakest = std::min(weakest, cos[id]);
    }
    for (int64_t i = 0; i < n; ++i) {
      if (!chosen.count(i) && !history.Contains(b, static_cast<int32_t>(i))) {
        ASSERT_LE(cos[i], weakest + 1e-5);
      }
    }
  }
  EXPECT_GE(exact_rows, batch - 2);
}

// On random data the ATen path picks what the kernels pick, but for rows where float rounding
// in a different summation order swaps a near-tie; NaN and infinite items are never picked, and
// an anchor with a NaN gets the same uniform negatives from both.
TEST(HardCosineTest, AtenPathChoosesWhatTheKernelsChoose) {
  const int64_t d = 64, n = 5000, batch = 200;
  at::manual_seed(13);
  at::Tensor items = at::randn({n, d}), anchors = at::randn({batch, d});
  items.narrow(0, 0, 40).fill_(std::nanf(""));
  items.narrow(0, 40, 3).fill_(INFINITY);
  anchors[1].fill_(std::nanf(""));
  const data::Csr history = RandomHistory(batch, n, 80, 14);
  for (const std::string k : {"5", "50"}) {
    for (const std::string candidates : {"0", "1500"}) {
      const ArgMap args{{"k", k}, {"candidates", candidates}};
      auto kernel = Make("hard_cosine", args)->Sample(MakeRequest(anchors, items, history));
      std::optional<absl::StatusOr<Sampler::Result>> aten;
      {
        cpu::ScopedAtenKernels forced;
        aten.emplace(Make("hard_cosine", args)->Sample(MakeRequest(anchors, items, history)));
      }
      ASSERT_TRUE(kernel.ok() && aten->ok());
      const at::Tensor& got = (*aten)->ids;
      // Every row but the NaN anchor's is mined whole, so no NaN or infinite item is in it.
      const at::Tensor mined = at::cat({got.narrow(0, 0, 1), got.narrow(0, 2, batch - 2)});
      EXPECT_EQ(mined.lt(43).sum().item<int64_t>(), 0) << "a NaN or infinite item was mined";
      EXPECT_TRUE(at::equal(got[1], kernel->ids[1])) << "the NaN anchor's uniform negatives";
      EXPECT_GE(got.eq(kernel->ids).all(1).sum().item<int64_t>(), batch - 2) << "k " << k << ", candidates " << candidates;
    }
  }
}

TEST(HardCosineTest, CandidatePoolAndRandomMix) {
  const int64_t d = 16, n = 3000, batch = 40;
  at::manual_seed(4);
  at::Tensor items = at::randn({n, d}), anchors = at::randn({batch, d});
  const data::Csr history = RandomHistory(batch, n, 30, 8);
  auto full = Make("hard_cosine", {{"k", "5"}})->Sample(MakeRequest(anchors, items, history));
  auto all_pool = Make("hard_cosine", {{"k", "5"}, {"candidates", "3000"}})->Sample(MakeRequest(anchors, items, history));
  ASSERT_TRUE(full.ok() && all_pool.ok());
  EXPECT_TRUE(at::equal(full->ids, all_pool->ids)) << "a pool of every item is the full scan";
  auto pool = Make("hard_cosine", {{"k", "5"}, {"candidates", "200"}})->Sample(MakeRequest(anchors, items, history));
  ASSERT_TRUE(pool.ok());
  // Mined from 200 items, the hard negatives are less similar than the full scan's.
  at::Tensor a = anchors / anchors.norm(2, {1}, true), x = items / items.norm(2, {1}, true);
  auto mean_cos = [&](const at::Tensor& ids) {
    return (x.index_select(0, ids.reshape(-1)).view({batch, -1, d}) * a.unsqueeze(1)).sum(2).mean().item<double>();
  };
  EXPECT_LT(mean_cos(pool->ids), mean_cos(full->ids));
  auto mixed = Make("hard_cosine", {{"k", "5"}, {"random", "3"}})->Sample(MakeRequest(anchors, items, history));
  ASSERT_TRUE(mixed.ok());
  ASSERT_EQ(mixed->ids.size(1), 8);
  EXPECT_TRUE(at::equal(mixed->ids.narrow(1, 0, 5), full->ids));
  EXPECT_LT(mean_cos(mixed->ids.narrow(1, 5, 3).contiguous()), mean_cos(full->ids));
}

TEST(RandomSamplerTest, UserWithOneItemLeftGetsItAtOnce) {
  const int64_t n = 100000;
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t i = 0; i < n; ++i) {
    if (i != 76543) pairs.push_back({0, i});
  }
  const data::Csr history = data::CsrFromPairs(1, n, pairs);
  at::Tensor anchors = at::zeros({1, 4});
  auto result = Make("random", {{"k", "50"}})->Sample(MakeRequest(anchors, at::zeros({n, 4}), history));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE((result->ids == 76543).all().item<bool>());
}

TEST(RandomSamplerTest, UniformOverTheAllowedItems) {
  const int64_t n = 10;
  const data::Csr history = data::CsrFromPairs(1, n, {{0, 2}, {0, 3}, {0, 7}});
  auto result = Make("random", {{"k", "70000"}})->Sample(MakeRequest(at::zeros({1, 2}), at::zeros({n, 2}), history));
  ASSERT_TRUE(result.ok());
  at::Tensor counts = at::bincount(result->ids.view(-1), {}, n);
  for (int64_t i : {2, 3, 7}) EXPECT_EQ(counts[i].item<int64_t>(), 0);
  for (int64_t i : {0, 1, 4, 5, 6, 8, 9}) EXPECT_NEAR(counts[i].item<int64_t>(), 10000, 400);  // ~4 sigma
}

TEST(DebiasedSamplerTest, WeightsFollowTheTiltFormula) {
  const int64_t n = 50, d = 3, batch = 4, k = 6;
  at::manual_seed(5);
  at::Tensor items = at::randn({n, d}), anchors = at::randn({batch, d});
  const data::Csr history = RandomHistory(batch, n, 5, 9);
  auto result = Make("debiased", {{"k", "6"}, {"beta", "0.5"}, {"tau", "0.2"}})->Sample(MakeRequest(anchors, items, history));
  ASSERT_TRUE(result.ok());
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> w;
    double mean = 0;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t id = result->ids[b][j].item<int64_t>();
      EXPECT_FALSE(history.Contains(b, static_cast<int32_t>(id)));
      at::Tensor x = items[id].to(at::kDouble), a = anchors[b].to(at::kDouble);
      w.push_back(std::exp(0.5 * ((x * a).sum() / (x.norm() * a.norm())).item<double>() / 0.2));
      mean += w.back() / k;
    }
    for (int64_t j = 0; j < k; ++j) EXPECT_NEAR(result->weights[b][j].item<float>(), w[j] / mean, 1e-5);
  }
  auto flat = Make("debiased", {{"beta", "0"}})->Sample(MakeRequest(anchors, items, history));
  ASSERT_TRUE(flat.ok());
  EXPECT_TRUE((flat->weights == 1).all().item<bool>());
}

}  // namespace
}  // namespace hardgnn
