// The SelfGNN encoder: the fast path (fused kernels, only the rows a step reads) computes
// what the straightforward published formulation (stock LSTM and attention over every user
// and item) computes, for everything the losses read, values and gradients; the published
// length-1 "self-attention" of the sequence encoder equals w * (W_V y + b_V).
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/cpu/kernel_path.h"
#include "core/data/prepare.h"
#include "core/model/encoder.h"
#include "core/model/loss.h"
#include "core/model/rng.h"
#include "core/train/batch_builder.h"
#include "gtest/gtest.h"
#include "plugins/encoders/selfgnn/dropout.h"
#include "plugins/encoders/selfgnn/options.h"
#include "plugins/encoders/selfgnn/sequence_encoder.h"

namespace hardgnn {
namespace {

constexpr int64_t kSeqLen = 16;

data::PreparedDataset Dataset() {
  std::vector<data::Triple> triples;
  for (int u = 0; u < 40; ++u) {
    for (int j = 0; j < 6 + u % 11; ++j) {
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 7 + j * j) % 45), 10 * j + u % 7});
    }
  }
  auto d = data::PrepareTriples(triples, /*num_slices=*/4, /*eval_negatives=*/20);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

std::unique_ptr<Encoder> MakeSelfGnn(const data::PreparedDataset& d, bool fast) {
  ArgMap args = {{"gnn_layers", "2"}, {"att_layers", "2"}, {"dim", "32"}, {"heads", "8"}};
  args["fused"] = fast ? "true" : "false";
  args["all_rows"] = fast ? "false" : "true";
  auto e = EncoderRegistry::Global().Create("selfgnn", args, {&d, 5, kSeqLen});
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(*e);
}

// A training batch of `users` with `negatives` hinge and `sal` SAL samples per user.
Batch MakeBatch(const data::PreparedDataset& d, const std::vector<int32_t>& users, uint64_t seed,
                int64_t negatives, int64_t sal) {
  BatchOptions o;
  o.max_seq_len = kSeqLen;
  o.rec_negatives = negatives;
  o.sal_samples = sal;
  return BatchBuilder(d, o).Build(users, seed);
}

TEST(SelfGnnTest, FastPathEqualsThePublishedFormulationInValuesAndGradients) {
  const data::PreparedDataset d = Dataset();
  const Batch batch = MakeBatch(d, {1, 5, 8, 13, 21, 34}, 9, /*negatives=*/5, /*sal=*/3);
  std::unique_ptr<Encoder> fast = MakeSelfGnn(d, true), slow = MakeSelfGnn(d, false);
  std::vector<std::unique_ptr<Loss>> losses;
  for (const char* name : {"hinge", "sal", "l2"}) losses.push_back(std::move(*LossRegistry::Global().Create(name, {}, {})));
  std::vector<at::Tensor> totals;
  for (Encoder* e : {fast.get(), slow.get()}) {
    e->eval();  // no dropout: both paths see identical inputs
    Views v = e->Forward(batch, false);
    at::Tensor total = at::zeros({});
    for (auto& l : losses) total = total + l->Compute(Loss::Input{batch, v, *e, nullptr, &d.interacted});
    total.backward();
    totals.push_back(total.detach());
    if (e == fast.get()) continue;
    Views fv = fast->Forward(batch, false);
    for (const char* name : {view::kUser, view::kUserLong, view::kUserSeq, view::kUserShort, view::kSalWeight}) {
      EXPECT_TRUE(at::allclose(fv.Get(name), v.Get(name), 1e-4, 1e-5)) << name;
    }
    at::Tensor touched = batch.touched_items;
    EXPECT_TRUE(at::allclose(fv.Get(view::kItem).index_select(0, touched), v.Get(view::kItem).index_select(0, touched),
                             1e-4, 1e-5));
  }
  EXPECT_NEAR(totals[0].item<double>(), totals[1].item<double>(), 1e-4 * std::abs(totals[1].item<double>()));
  auto fast_params = fast->named_parameters(), slow_params = slow->named_parameters();
  ASSERT_EQ(fast_params.size(), slow_params.size());
  for (const auto& p : slow_params) {
    const at::Tensor& g_slow = p.value().grad();
    const at::Tensor& g_fast = fast_params[p.key()].grad();
    ASSERT_EQ(g_slow.defined(), g_fast.defined()) << p.key();
    if (!g_slow.defined()) continue;
    const double scale = g_slow.abs().max().item<double>() + 1e-12;
    EXPECT_LT((g_fast - g_slow).abs().max().item<double>() / scale, 1e-3) << p.key();
  }
}

// A table sampler sees every item row; rows outside touched_items carry no gradient until
// AddItemRows makes the sampler's picks differentiable. Values and gradients of the picked
// rows must equal the published formulation's, where every row is differentiable.
TEST(SelfGnnTest, ItemRowsAddedAfterSamplingMatchTheAllRowsFormulation) {
  const data::PreparedDataset d = Dataset();
  const Batch batch = MakeBatch(d, {2, 3, 7}, 11, /*negatives=*/2, /*sal=*/2);
  std::unique_ptr<Encoder> fast = MakeSelfGnn(d, true), slow = MakeSelfGnn(d, false);
  at::Tensor untouched = at::ones({d.num_items}, at::kBool).index_fill_(0, batch.touched_items, false).nonzero().view(-1);
  ASSERT_GE(untouched.size(0), 3);
  const at::Tensor picks = untouched.narrow(0, 0, 3);
  const at::Tensor weights = at::randn({3, 32});
  std::vector<at::Tensor> tables;
  for (Encoder* e : {fast.get(), slow.get()}) {
    e->eval();
    Views v = e->Forward(batch, /*all_items=*/true);
    tables.push_back(v.Get(view::kItem).detach().clone());
    e->AddItemRows(v, picks);
    (v.Get(view::kItem).index_select(0, picks) * weights).sum().backward();
  }
  EXPECT_TRUE(at::allclose(tables[0], tables[1], 1e-4, 1e-5)) << "every row of the mining table";
  auto fast_params = fast->named_parameters(), slow_params = slow->named_parameters();
  int compared = 0;
  for (const auto& p : slow_params) {
    const at::Tensor& g_slow = p.value().grad();
    const at::Tensor& g_fast = fast_params[p.key()].grad();
    if (!g_slow.defined()) continue;
    ASSERT_TRUE(g_fast.defined()) << p.key() << ": the picked rows lost their gradient";
    const double scale = g_slow.abs().max().item<double>() + 1e-12;
    EXPECT_LT((g_fast - g_slow).abs().max().item<double>() / scale, 1e-3) << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

// RowDropout's ATen mask (int64 tensor ops, what CUDA computes) is the kernel's SplitMix mask
// bit for bit, forward and backward, for keys of any sign and size; row widths below, at and
// past the kernel's eight and sixteen lanes (its vector bodies and scalar tail; the 16-lane body
// where the CPU has AVX-512), in float and double (the scalar loop). And both are the mask
// Rng::Next draws, computed here one draw at a time.
TEST(SelfGnnTest, RowDropoutAtenMaskIsTheKernelsMask) {
  at::manual_seed(8);
  const at::Tensor keys = at::cat({at::randint(-1000000, 1000000, {30}, at::kLong),
                                   at::tensor({int64_t{0}, INT64_MAX, INT64_MIN, int64_t{-1}}, at::kLong)});
  constexpr uint64_t kSeed = 0xDEADBEEFCAFEULL;
  for (const auto& [slices, dim, dtype, narrow] :
       {std::tuple{3, 5, at::kFloat, false}, std::tuple{1, 8, at::kFloat, false}, std::tuple{1, 24, at::kFloat, false},
        std::tuple{1, 33, at::kFloat, false}, std::tuple{12, 64, at::kFloat, false},
        std::tuple{1, 33, at::kFloat, true}, std::tuple{12, 64, at::kFloat, true},
        std::tuple{2, 13, at::kDouble, false}}) {
    SCOPED_TRACE(testing::Message() << slices << "x" << dim << " " << dtype << (narrow ? ", 8 lanes" : ""));
    std::optional<cpu::ScopedNarrowVectors> eight_lanes;
    if (narrow) eight_lanes.emplace();
    const at::Tensor x0 = at::randn({34, slices, dim}, dtype), weights = at::randn({34, slices, dim}, dtype);
    std::vector<at::Tensor> outs, grads;
    for (const bool aten : {false, true}) {
      std::optional<cpu::ScopedAtenKernels> forced;
      if (aten) forced.emplace();
      const at::Tensor x = x0.clone().requires_grad_();
      const at::Tensor y = selfgnn::RowDropout(x, 0.3, /*training=*/true, kSeed, keys);
      (y * weights).sum().backward();
      outs.push_back(y.detach());
      grads.push_back(x.grad());
    }
    EXPECT_TRUE(at::equal(outs[0], outs[1]));
    EXPECT_TRUE(at::equal(grads[0], grads[1]));
    const double kept = outs[0].ne(0).to(at::kDouble).mean().item<double>();
    EXPECT_NEAR(kept, 0.7, 0.08) << "the mask keeps about 1 - p";
    const uint64_t threshold = static_cast<uint64_t>(std::ldexp(0.7, 64));
    const at::Tensor flat = outs[0].reshape({34, -1}).ne(0);
    for (int64_t r = 0; r < 34; r += 11) {  // rows 0, 11, 22, 33 (33: INT64_MIN's key)
      Rng rng(kSeed, static_cast<uint64_t>(keys[r].item<int64_t>()));
      for (int64_t j = 0; j < flat.size(1); ++j) {
        ASSERT_EQ(flat[r][j].item<bool>(), rng.Next() < threshold) << "row " << r << " element " << j;
      }
    }
  }
}

// The whole encoder with the ATen formulation forced (stock LSTM and attention, layer norm,
// matmul, the tensor-op dropout mask, propagation by gather and index_add: what --device=cuda
// runs) against the fused kernels, in a training step with dropout and the mining table:
// every view and every parameter's gradient.
TEST(SelfGnnTest, AtenPathEqualsTheKernelsInATrainingStep) {
  const data::PreparedDataset d = Dataset();
  const Batch batch = MakeBatch(d, {1, 5, 8, 13, 21, 34}, 9, /*negatives=*/5, /*sal=*/3);
  std::unique_ptr<Encoder> kernels = MakeSelfGnn(d, true), aten = MakeSelfGnn(d, true);
  std::vector<std::unique_ptr<Loss>> losses;
  for (const char* name : {"hinge", "sal", "l2"}) losses.push_back(std::move(*LossRegistry::Global().Create(name, {}, {})));
  std::vector<Views> views;
  std::vector<double> totals;
  for (Encoder* e : {kernels.get(), aten.get()}) {
    std::optional<cpu::ScopedAtenKernels> forced;
    if (e == aten.get()) forced.emplace();
    e->train();
    at::manual_seed(21);  // the same dropout seeds for both
    Views v = e->Forward(batch, /*all_items=*/true);
    at::Tensor total = at::zeros({});
    for (auto& l : losses) total = total + l->Compute(Loss::Input{batch, v, *e, nullptr, &d.interacted});
    total.backward();
    totals.push_back(total.item<double>());
    views.push_back(v);
  }
  for (const char* name : {view::kUser, view::kItem, view::kUserLong, view::kUserSeq, view::kUserShort, view::kSalWeight}) {
    EXPECT_TRUE(at::allclose(views[1].Get(name), views[0].Get(name), 1e-4, 1e-5)) << name;
  }
  EXPECT_NEAR(totals[1], totals[0], 1e-4 * std::abs(totals[0]));
  auto kernel_params = kernels->named_parameters(), aten_params = aten->named_parameters();
  int compared = 0;
  for (const auto& p : kernel_params) {
    const at::Tensor& g = p.value().grad();
    const at::Tensor& g_aten = aten_params[p.key()].grad();
    ASSERT_EQ(g.defined(), g_aten.defined()) << p.key();
    if (!g.defined()) continue;
    const double scale = g.abs().max().item<double>() + 1e-12;
    EXPECT_LT((g_aten - g).abs().max().item<double>() / scale, 1e-3) << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 10);
}

TEST(SelfGnnTest, PublishedSequenceAttentionIsAResidualLinearBlock) {
  selfgnn::Options o;
  o.dim = 8;
  o.heads = 2;
  o.att_layers = 1;
  o.max_seq_len = 5;
  at::Generator gen = at::detail::createCPUGenerator(3);
  selfgnn::SequenceEncoder encoder(o, gen);
  at::Tensor items = at::randn({6, 8}, at::kDouble);
  for (auto& p : encoder->parameters()) p.set_data(p.detach().to(at::kDouble) + 0.1 * at::randn(p.sizes(), at::kDouble));
  at::Tensor seq = at::tensor({0, 0, 3, 1, 5, 0, 2, 2, 4, 1}, at::kLong).view({2, 5});
  at::Tensor mask = at::tensor({0, 0, 1, 1, 1, 0, 1, 1, 1, 1}, at::kDouble).view({2, 5});
  torch::NoGradGuard no_grad;
  at::Tensor got = encoder->forward(seq, mask, items);

  auto params = encoder->named_parameters();
  auto ln = [](const at::Tensor& x, const at::Tensor& g, const at::Tensor& b) {
    at::Tensor mu = x.mean(-1, true), var = (x - mu).pow(2).mean(-1, true);
    return (x - mu) / at::sqrt(var + 1e-12) * g + b;
  };
  for (int64_t b = 0; b < 2; ++b) {
    at::Tensor bag = at::zeros({8}, at::kDouble), pos = at::zeros({8}, at::kDouble);
    for (int64_t m = 0; m < 5; ++m) {
      if (mask[b][m].item<double>() == 0) continue;
      bag += items[seq[b][m].item<int64_t>()];
      pos += params["positions"][m];
    }
    at::Tensor h = ln(bag, params["ln_items_gamma"], params["ln_items_beta"]) +
                   ln(pos, params["ln_positions_gamma"], params["ln_positions_beta"]);
    at::Tensor y = ln(h, params["layer0_ln_gamma"], params["layer0_ln_beta"]);
    at::Tensor qkv = at::matmul(y, params["layer0_w_qkv"]) + params["layer0_b_qkv"];
    at::Tensor out = at::zeros({8}, at::kDouble);
    for (int64_t head = 0; head < 2; ++head) {
      at::Tensor q = qkv.narrow(0, head * 4, 4), k = qkv.narrow(0, 8 + head * 4, 4), v = qkv.narrow(0, 16 + head * 4, 4);
      const double s = (q * k).sum().item<double>() / 2.0;            // one position: a single score
      const double w = std::exp(s) / (std::exp(s) + 1e-8);            // the published softmax
      out.narrow(0, head * 4, 4).copy_(w * v);
    }
    at::Tensor expected = at::leaky_relu(out, 0.5) + h;
    EXPECT_TRUE(at::allclose(got[b], expected, 1e-10, 1e-12)) << got[b] << expected;
  }
}

}  // namespace
}  // namespace hardgnn
