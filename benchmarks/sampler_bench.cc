// Every registered sampler at B anchors x N items x d dims, K negatives, with user histories
// excluded; beside each shape, the bare dense product A·Xᵀ writing the full B x N score
// matrix, and the straightforward hard-negative miner (normalize, that product, mask the
// history, topk); hard_cosine_float_screen is hard_cosine with its integer screens off,
// hard_cosine_int16_screen with its 8-bit screen off (hard_cosine uses it where the CPU has
// AVX-512 VNNI and K <= 16), hard_cosine_avx2_tiles the int16 screen without AVX-512 VNNI,
// hard_cosine_no_survivors (and _int16_no_survivors) the same miner on data where almost
// nothing passes its screen. Counter x_matmul = time / the bare product's time of the same
// shape. vnni_peak/int16 and vnni_peak/int8: the integer screens' multiply rates on one core
// (MAC/s), their instructions alone; avx2_peak/*: the same for AVX2's integer multiplies.
//   bazel run //benchmarks:sampler_bench -- --benchmark_filter=...
#include <chrono>
#include <map>
#include <string>
#include <tuple>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include "benchmarks/common.h"
#include "core/cli/runtime_info.h"
#include "core/data/csr.h"
#include "core/model/rng.h"
#include "core/model/sampler.h"

namespace hardgnn::bench {
namespace {

constexpr int64_t kHistory = 50;  // items per user excluded

struct Shape {
  int64_t b, n, d, k;
  auto key() const { return std::make_tuple(b, n, d); }
};

std::map<std::tuple<int64_t, int64_t, int64_t>, double>& DenseSeconds() {
  static auto* m = new std::map<std::tuple<int64_t, int64_t, int64_t>, double>();
  return *m;
}

struct Inputs {
  at::Tensor anchors, items;
  data::Csr history;
  Sampler::Request request;
};

// With `planted`, items 0..B·K-1 are K copies of each anchor (never in a history), so each
// anchor meets its K copies within the first B·K items and almost nothing after them beats its
// running K-th best: the miner's cost with almost nothing admitted past the screen.
Inputs MakeInputs(const Shape& s, bool planted = false) {
  Inputs in;
  at::manual_seed(1);
  in.anchors = at::randn({s.b, s.d});
  in.items = at::randn({s.n, s.d});
  if (planted) in.items.narrow(0, 0, s.b * s.k).copy_(in.anchors.repeat_interleave(s.k, 0));
  const int64_t first = planted ? s.b * s.k : 0;
  Rng rng(2);
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t u = 0; u < s.b; ++u) {
    for (int64_t j = 0; j < kHistory; ++j) pairs.push_back({u, static_cast<int32_t>(first + rng.Below(s.n - first))});
  }
  in.history = data::CsrFromPairs(s.b, s.n, pairs);
  in.request.anchors = in.anchors;
  in.request.items = in.items;
  in.request.users = at::arange(s.b, at::kLong);
  in.request.positives = at::zeros({s.b}, at::kLong);
  in.request.num_items = s.n;
  return in;
}

template <typename F>
void Timed(benchmark::State& state, const Shape& s, F&& body, bool is_dense) {
  double total = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++runs;
  }
  const double per = total / runs;
  if (is_dense) DenseSeconds()[s.key()] = per;
  auto dense = DenseSeconds().find(s.key());
  if (dense != DenseSeconds().end()) state.counters["x_matmul"] = per / dense->second;
  state.counters["negatives/s"] = benchmark::Counter(static_cast<double>(s.b * s.k) * runs, benchmark::Counter::kIsRate);
}

void Dense(benchmark::State& state, Shape s) {
  Inputs in = MakeInputs(s);
  at::Tensor out = at::empty({s.b, s.n});
  Timed(state, s, [&] { at::mm_out(out, in.anchors, in.items.t()); benchmark::DoNotOptimize(out.data_ptr()); }, true);
}

void Straightforward(benchmark::State& state, Shape s) {
  Inputs in = MakeInputs(s);
  std::vector<int64_t> rows, cols;
  for (int64_t u = 0; u < s.b; ++u) {
    for (const int32_t* c = in.history.RowBegin(u); c != in.history.RowEnd(u); ++c) {
      rows.push_back(u);
      cols.push_back(*c);
    }
  }
  const at::Tensor r = at::tensor(rows), c = at::tensor(cols);
  Timed(state, s, [&] {
    at::Tensor a = in.anchors / in.anchors.norm(2, {1}, true);
    at::Tensor x = in.items / in.items.norm(2, {1}, true);
    at::Tensor scores = at::mm(a, x.t());
    scores.index_put_({r, c}, -std::numeric_limits<float>::infinity());
    auto top = at::topk(scores, s.k, 1);
    benchmark::DoNotOptimize(std::get<1>(top).data_ptr());
  }, false);
}

void RunSampler(benchmark::State& state, std::string name, ArgMap args, Shape s, bool planted) {
  args["k"] = std::to_string(s.k);
  if (planted && s.b * s.k * 2 > s.n) {
    state.SkipWithError("too few items to plant K copies of every anchor in the first half");
    return;
  }
  auto sampler = SamplerRegistry::Global().Create(name, args, {});
  if (!sampler.ok()) {
    state.SkipWithError(std::string(sampler.status().message()).c_str());
    return;
  }
  Inputs in = MakeInputs(s, planted);
  in.request.history = &in.history;
  uint64_t seed = 0;
  Timed(state, s, [&] {
    in.request.seed = ++seed;
    auto result = (*sampler)->Sample(in.request);
    benchmark::DoNotOptimize(result->ids.data_ptr());
  }, false);
}

// An integer screen's ceiling on this core: its instruction alone (`vpdpwssd`, 32 multiply-adds,
// or `vpdpbusd`, 64), 512-bit, 12 independent accumulators in registers (as many as a tile's
// latency needs), one thread. Counter MAC/s: multiply-adds a second.
template <bool kInt8>
__attribute__((target("avx512f,avx512vnni"))) void VnniPeak(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni")) {
    state.SkipWithError("no AVX-512 VNNI on this CPU");
    return;
  }
  constexpr int kAcc = 12, kReps = 1 << 16;
  __m512i acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i x = _mm512_set1_epi32(0x00010001), y = _mm512_set1_epi32(0x00020002);
  int64_t instructions = 0;
  for (auto _ : state) {
    asm volatile("" : "+v"(x), "+v"(y));  // not constants to the compiler
    for (int r = 0; r < kReps; ++r) {
#pragma GCC unroll 12
      for (int i = 0; i < kAcc; ++i) acc[i] = kInt8 ? _mm512_dpbusd_epi32(acc[i], x, y) : _mm512_dpwssd_epi32(acc[i], x, y);
    }
    instructions += int64_t{kReps} * kAcc;
  }
  for (int i = 0; i < kAcc; ++i) benchmark::DoNotOptimize(acc[i]);
  state.counters["MAC/s"] = benchmark::Counter((kInt8 ? 64.0 : 32.0) * instructions, benchmark::Counter::kIsRate);
}

// AVX2's integer multiplies on this core, 8 independent sums in registers, one thread (inline
// assembly: the compiler would hoist a product of unchanging operands out of the loop):
// int16, the int16 tiles' vpmaddwd + vpaddd (16 multiply-adds a multiply instruction); int8,
// vpmaddubsw summing byte pairs into int16, widened by vpmaddwd by ones, + vpaddd (32 in two);
// int8_pairs, two vpmaddubsw summed in int16 (vpaddw) before one widening (64 in three);
// madd_only and maddubs_only, the multiply alone. Counters MAC/s and multiplies/s (multiply
// instructions a second): on a CPU whose limit is its multiply ports, the last is the same in every row.
#define HARDGNN_X8(body) body(0) body(1) body(2) body(3) body(4) body(5) body(6) body(7)
#define HARDGNN_INT16(i) "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n vpaddd %%ymm8, %%ymm" #i ", %%ymm" #i "\n"
#define HARDGNN_INT8(i) "vpmaddubsw %%ymm14, %%ymm15, %%ymm8\n vpmaddwd %%ymm13, %%ymm8, %%ymm8\n vpaddd %%ymm8, %%ymm" #i ", %%ymm" #i "\n"
#define HARDGNN_INT8_PAIRS(i)                                                                                   \
  "vpmaddubsw %%ymm14, %%ymm15, %%ymm8\n vpmaddubsw %%ymm15, %%ymm14, %%ymm9\n vpaddw %%ymm9, %%ymm8, %%ymm8\n" \
  "vpmaddwd %%ymm13, %%ymm8, %%ymm8\n vpaddd %%ymm8, %%ymm" #i ", %%ymm" #i "\n"
#define HARDGNN_MADD(i) "vpmaddwd %%ymm14, %%ymm15, %%ymm" #i "\n"
#define HARDGNN_MADDUBS(i) "vpmaddubsw %%ymm14, %%ymm15, %%ymm" #i "\n"
#define HARDGNN_AVX2_LOOP(body)                                                                                 \
  asm volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n mov %0, %%rcx\n 1:\n" HARDGNN_X8(body) "dec %%rcx\n jnz 1b\n" \
               :                                                                                                \
               : "r"(reps)                                                                                      \
               : "rcx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm13", "xmm14", "xmm15")

template <int kKind>  // 0 int16, 1 int8, 2 int8_pairs, 3 madd_only, 4 maddubs_only
void Avx2Peak(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2")) {
    state.SkipWithError("no AVX2 on this CPU");
    return;
  }
  const int64_t reps = 1 << 16;
  int64_t loops = 0;
  for (auto _ : state) {
    if constexpr (kKind == 0) HARDGNN_AVX2_LOOP(HARDGNN_INT16);
    if constexpr (kKind == 1) HARDGNN_AVX2_LOOP(HARDGNN_INT8);
    if constexpr (kKind == 2) HARDGNN_AVX2_LOOP(HARDGNN_INT8_PAIRS);
    if constexpr (kKind == 3) HARDGNN_AVX2_LOOP(HARDGNN_MADD);
    if constexpr (kKind == 4) HARDGNN_AVX2_LOOP(HARDGNN_MADDUBS);
    loops += reps * 8;
  }
  constexpr double kMacs[] = {16, 32, 64, 16, 32}, kMultiplies[] = {1, 2, 3, 1, 1};
  state.counters["MAC/s"] = benchmark::Counter(kMacs[kKind] * loops, benchmark::Counter::kIsRate);
  state.counters["multiplies/s"] = benchmark::Counter(kMultiplies[kKind] * loops, benchmark::Counter::kIsRate);
}

}  // namespace
}  // namespace hardgnn::bench

int main(int argc, char** argv) {
  using namespace hardgnn::bench;
  hardgnn::EnsureStartupEnvironment(argv, /*passive_openmp_waits=*/false);  // may re-execute
  at::set_num_threads(2);
  for (int64_t b : {512, 2048}) {
    for (int64_t n : {10000, 50000, 200000}) {
      for (int64_t d : {64, 128}) {
        const std::string shape = "/B" + std::to_string(b) + "/N" + std::to_string(n) + "/d" + std::to_string(d);
        benchmark::RegisterBenchmark(("dense_product" + shape).c_str(), Dense, Shape{b, n, d, 0})
            ->Unit(benchmark::kMillisecond)->UseRealTime();
        for (int64_t k : {5, 50}) {
          const Shape s{b, n, d, k};
          const std::string suffix = shape + "/K" + std::to_string(k);
          benchmark::RegisterBenchmark(("straightforward_hard" + suffix).c_str(), Straightforward, s)
              ->Unit(benchmark::kMillisecond)->UseRealTime();
          for (const std::string& name : hardgnn::SamplerRegistry::Global().Names()) {
            benchmark::RegisterBenchmark((name + suffix).c_str(), RunSampler, name, hardgnn::ArgMap{}, s, false)
                ->Unit(benchmark::kMillisecond)->UseRealTime();
          }
          // hard_cosine with every score in float (its integer screens off), for the screens' gain;
          // with its int16 screen (the 8-bit one off); with the int16 AVX2 tiles, for VNNI's
          // gain; and on planted data where almost no item passes the screen, for the cost of those
          // that do.
          benchmark::RegisterBenchmark(("hard_cosine_float_screen" + suffix).c_str(), RunSampler, "hard_cosine",
                                       hardgnn::ArgMap{{"int16_screen", "false"}}, s, false)
              ->Unit(benchmark::kMillisecond)->UseRealTime();
          benchmark::RegisterBenchmark(("hard_cosine_int16_screen" + suffix).c_str(), RunSampler, "hard_cosine",
                                       hardgnn::ArgMap{{"int8_screen", "false"}}, s, false)
              ->Unit(benchmark::kMillisecond)->UseRealTime();
          benchmark::RegisterBenchmark(("hard_cosine_avx2_tiles" + suffix).c_str(), RunSampler, "hard_cosine",
                                       hardgnn::ArgMap{{"int8_screen", "false"}, {"vnni", "false"}}, s, false)
              ->Unit(benchmark::kMillisecond)->UseRealTime();
          benchmark::RegisterBenchmark(("hard_cosine_no_survivors" + suffix).c_str(), RunSampler, "hard_cosine",
                                       hardgnn::ArgMap{}, s, true)
              ->Unit(benchmark::kMillisecond)->UseRealTime();
          benchmark::RegisterBenchmark(("hard_cosine_int16_no_survivors" + suffix).c_str(), RunSampler, "hard_cosine",
                                       hardgnn::ArgMap{{"int8_screen", "false"}}, s, true)
              ->Unit(benchmark::kMillisecond)->UseRealTime();
        }
      }
    }
  }
  benchmark::RegisterBenchmark("vnni_peak/int16", VnniPeak<false>)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("vnni_peak/int8", VnniPeak<true>)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("avx2_peak/int16", Avx2Peak<0>)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("avx2_peak/int8", Avx2Peak<1>)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("avx2_peak/int8_pairs", Avx2Peak<2>)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("avx2_peak/madd_only", Avx2Peak<3>)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("avx2_peak/maddubs_only", Avx2Peak<4>)->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
