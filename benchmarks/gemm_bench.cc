// The step's small-k products at their real shapes: the chain kernel (core/cpu/fma_chain_gemm.h,
// what cpu::Gemm runs on AVX-512) and the AVX2 chain panels with the weight packed once
// (cpu::ChainPanelsGemm, what the layers' weights run on AVX2 CPUs) against OpenBLAS's sgemm on
// the same row blocks, each block one single-threaded call, blocks in parallel (as the LSTM and
// Linear call them); and the
// evaluator's score blocks, compared with a target in the register tiles (cpu::ChainNotBelow,
// core/cpu/chain_product.h: that kernel, or AVX2 tiles without AVX-512) against sgemm's product.
// 245,760 rows (Linear at the published Yelp shape: about 20,000 rows x G = 12). GFLOP/s counts
// 2·m·n·k.
// Run: bazel run //benchmarks:gemm_bench
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "benchmarks/common.h"
#include "core/cpu/blas.h"
#include "core/cpu/chain_product.h"
#include "core/cpu/fma_chain_gemm.h"
#include "core/cpu/parallel.h"

namespace hardgnn::bench {
namespace {

constexpr int64_t kRows = 245760;

struct Shape {
  int64_t block, n, k;  // C[block, n] = A[block, k] · B[k, n] per call
};

// Linear (QKV projection): forward [512, 64] x [64, 192]; input gradient [512, 192] x [192, 64].
// LSTM (blocks of 128 rows): gates [128, 128] x [128, 256]; recurrent gradient [128, 256] x
// [256, 64]; input gradient over a block's 12 steps [1536, 256] x [256, 64].
// Evaluation (core/eval/chain_scores.cc): 256 queries x one panel of 192 items, k = 64.
constexpr Shape kLinearForward{512, 192, 64}, kLinearDx{512, 64, 192}, kLstmGates{128, 256, 128},
    kLstmDh{128, 64, 256}, kLstmDx{1536, 64, 256}, kEvalScores{256, 192, 64};

enum class Kernel { kChain, kSgemm, kChainNotBelow, kChainPanels };

void Product(benchmark::State& state, Shape s, Kernel kernel, cpu::ChainTiles tiles = cpu::ChainTiles::kByCpu) {
  const cpu::ScopedChainTiles forced(tiles);
  at::set_num_threads(BenchThreads());
  at::manual_seed(0);
  const at::Tensor a = at::randn({kRows, s.k}), b = at::randn({s.k, s.n});
  at::Tensor c = at::empty({kRows, s.n});
  const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
  float* pc = c.data_ptr<float>();
  if (kernel == Kernel::kChain && !cpu::FmaChainGemmApplies(s.n)) {
    return state.SkipWithError("no AVX-512 here: no chain kernel");
  }
  if (kernel == Kernel::kChainNotBelow && !cpu::ChainProductsApply()) return state.SkipWithError("no AVX2 here");
  if (kernel == Kernel::kChainPanels && !cpu::ChainPanelsApply()) return state.SkipWithError("no AVX2 here");
  // Packed once, as a layer packs its weight once for all its blocks.
  const std::vector<float> panels = kernel == Kernel::kChainPanels ? cpu::ChainPanels(pb, s.k, s.n, s.n, 1)
                                                                   : std::vector<float>();
  const std::vector<float> targets(kRows, 0.0f);
  std::vector<uint8_t> bits(kernel == Kernel::kChainNotBelow ? kRows * s.n / 8 : 0);
  for (auto _ : state) {
    cpu::ForEachChunk(kRows, s.block, [&](int64_t r0, int64_t r1, int64_t) {
      if (kernel == Kernel::kChain) {
        return cpu::FmaChainGemm(r1 - r0, s.n, s.k, pa + r0 * s.k, s.k, pb, s.n, false, pc + r0 * s.n, s.n);
      }
      if (kernel == Kernel::kChainPanels) {
        return cpu::ChainPanelsGemm(r1 - r0, s.n, s.k, pa + r0 * s.k, s.k, panels.data(), s.k, nullptr, false,
                                    pc + r0 * s.n, s.n);
      }
      if (kernel == Kernel::kChainNotBelow) {
        return cpu::ChainNotBelow(r1 - r0, s.n, s.k, pa + r0 * s.k, s.k, pb, s.n, targets.data() + r0,
                                  bits.data() + r0 * s.n / 8, s.n / 8);
      }
      cpu::Sgemm(false, false, r1 - r0, s.n, s.k, 1.0f, pa + r0 * s.k, s.k, pb, s.n, 0.0f, pc + r0 * s.n, s.n);
    });
    benchmark::DoNotOptimize(pc);
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kRows * s.n * s.k * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// _chain takes the tiles chosen by CPU (fma_chain_gemm.h's ChainTiles); _chain6 and _chain8 force
// the 6 x 64 tiles or the 8-row (and 4 x 64) ones, to compare them on one CPU.
#define PRODUCT_BENCH(name, shape)                                                                               \
  BENCHMARK_CAPTURE(Product, name##_chain, shape, Kernel::kChain)->Apply(Timed);                                  \
  BENCHMARK_CAPTURE(Product, name##_chain6, shape, Kernel::kChain, cpu::ChainTiles::kSixRows)->Apply(Timed);      \
  BENCHMARK_CAPTURE(Product, name##_chain8, shape, Kernel::kChain, cpu::ChainTiles::kEightRows)->Apply(Timed);    \
  BENCHMARK_CAPTURE(Product, name##_panels, shape, Kernel::kChainPanels)->Apply(Timed);                           \
  BENCHMARK_CAPTURE(Product, name##_sgemm, shape, Kernel::kSgemm)->Apply(Timed)

PRODUCT_BENCH(linear_forward, kLinearForward);
PRODUCT_BENCH(linear_dx, kLinearDx);
PRODUCT_BENCH(lstm_gates, kLstmGates);
PRODUCT_BENCH(lstm_dh, kLstmDh);
PRODUCT_BENCH(lstm_dx, kLstmDx);
// Weight gradients, xᵀ · dy over blocks of rows, each block one single-threaded call into its own
// partial, blocks in parallel: the LSTM's per block of 128 rows x 12 steps ([1536, 128]ᵀ x
// [1536, 256], onto the partial), the QKV projection's per group of 8,192 rows ([8192, 64]ᵀ x
// [8192, 192], onto +0). cpu::Gemm (panel chains where GemmTakesTransAChain) against sgemm.
struct GradShape {
  int64_t block, in, out;
  bool accumulate;
};
constexpr GradShape kLstmDw{1536, 128, 256, true}, kLinearDw{8192, 64, 192, false};

void WeightGradient(benchmark::State& state, GradShape s, bool sgemm, cpu::ChainTiles tiles = cpu::ChainTiles::kByCpu) {
  const cpu::ScopedChainTiles forced(tiles);  // the chain's 6 x 64 or 4 x 64 tiles, or the CPU's
  at::set_num_threads(BenchThreads());
  at::manual_seed(0);
  if (!sgemm && !cpu::GemmTakesTransAChain(s.in, s.out)) return state.SkipWithError("no panel chains here");
  const at::Tensor x = at::randn({kRows, s.in}), dy = at::randn({kRows, s.out});
  std::vector<float> partials(cpu::DivUp(kRows, s.block) * s.in * s.out, 0.0f);
  const float *px = x.data_ptr<float>(), *pdy = dy.data_ptr<float>();
  const float beta = s.accumulate ? 1.0f : 0.0f;
  for (auto _ : state) {
    cpu::ForEachChunk(kRows, s.block, [&](int64_t r0, int64_t r1, int64_t c) {
      float* part = partials.data() + c * s.in * s.out;
      if (sgemm) {
        return cpu::Sgemm(true, false, s.in, s.out, r1 - r0, 1.0f, px + r0 * s.in, s.in, pdy + r0 * s.out, s.out, beta,
                          part, s.out);
      }
      cpu::Gemm(true, false, s.in, s.out, r1 - r0, 1.0f, px + r0 * s.in, s.in, pdy + r0 * s.out, s.out, beta, part,
                s.out);
    });
    benchmark::DoNotOptimize(partials.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kRows * s.in * s.out * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
#define GRAD_BENCH(name, shape)                                                                              \
  BENCHMARK_CAPTURE(WeightGradient, name##_chain, shape, false)->Apply(Timed);                               \
  BENCHMARK_CAPTURE(WeightGradient, name##_chain6, shape, false, cpu::ChainTiles::kSixRows)->Apply(Timed);   \
  BENCHMARK_CAPTURE(WeightGradient, name##_chain4, shape, false, cpu::ChainTiles::kEightRows)->Apply(Timed); \
  BENCHMARK_CAPTURE(WeightGradient, name##_sgemm, shape, true)->Apply(Timed)

GRAD_BENCH(lstm_dw, kLstmDw);
GRAD_BENCH(linear_dw, kLinearDw);

BENCHMARK_CAPTURE(Product, eval_scores_not_below, kEvalScores, Kernel::kChainNotBelow)->Apply(Timed);
BENCHMARK_CAPTURE(Product, eval_scores_sgemm, kEvalScores, Kernel::kSgemm)->Apply(Timed);
BENCHMARK(Calibration)->Apply(Timed);

}  // namespace
}  // namespace hardgnn::bench
