// Graph propagation at the Yelp shape: 20k users, 38k items, 12 slices, ~700k interactions,
// d = 64, 3 layers. Run: bazel run -c opt --jobs=2 //benchmarks:propagate_bench
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "benchmarks/common.h"
#include "core/graph/residual_gcn.h"
#include "core/graph/spmm.h"

namespace hardgnn::bench {
namespace {

using graph::CsrGraph;
using S = YelpShape;

struct Graphs {
  std::vector<data::Csr> slices = SyntheticSlices(S::kUsers, S::kItems, S::kSlices, S::kInteractions);
  std::vector<CsrGraph> per_slice;
  CsrGraph all;
  Graphs() {
    for (const auto& s : slices) per_slice.emplace_back(s);
    all = CsrGraph::BlockDiagonal(slices);
  }
  static const Graphs& Get() {
    static const Graphs* g = new Graphs();
    return *g;
  }
};

// The SelfGNN short-term encoder's propagation for all slices and layers, both directions:
//   z_u = LR(A e_i), z_i = LR(Aᵀ e_u), e' = z + e, output = Σ_l e^l.
// `batched`: one block-diagonal call per layer and direction; otherwise one call per slice.
void Encoder(benchmark::State& state, bool batched, bool backward) {
  at::set_num_threads(BenchThreads());
  const Graphs& g = Graphs::Get();
  state.counters["nnz"] = static_cast<double>(g.all.nnz());
  const at::Tensor u0 = (at::randn({S::kSlices, S::kUsers, S::kDim}) * 0.01).requires_grad_(backward);
  const at::Tensor i0 = (at::randn({S::kSlices, S::kItems, S::kDim}) * 0.01).requires_grad_(backward);
  for (auto _ : state) {
    at::Tensor eu = u0, ei = i0, su = u0, si = i0;
    for (int l = 0; l < S::kLayers; ++l) {
      at::Tensor zu, zi;
      if (batched) {
        zu = graph::Propagate(g.all, ei);
        zi = graph::PropagateTransposed(g.all, eu);
      } else {
        std::vector<at::Tensor> us, is;
        for (int k = 0; k < S::kSlices; ++k) {
          us.push_back(graph::Propagate(g.per_slice[k], ei[k]));
          is.push_back(graph::PropagateTransposed(g.per_slice[k], eu[k]));
        }
        zu = at::stack(us);
        zi = at::stack(is);
      }
      eu = at::leaky_relu(zu, 0.5) + eu;
      ei = at::leaky_relu(zi, 0.5) + ei;
      su = su + eu;
      si = si + ei;
    }
    if (backward) {
      (su.sum() + si.sum()).backward();
    }
    benchmark::DoNotOptimize(su.data_ptr());
  }
}

// The same computation through the fused op (graph::ResidualGcn). batch_users: the last layer
// computes only the rows of a training batch's 512 users in every slice (what a SelfGNN step
// reads; residual_gcn.h), the backward given gradients on those rows only.
void Fused(benchmark::State& state, bool backward, bool batch_users) {
  at::set_num_threads(BenchThreads());
  const Graphs& g = Graphs::Get();
  const at::Tensor u0 = (at::randn({S::kSlices, S::kUsers, S::kDim}) * 0.01).requires_grad_(backward);
  const at::Tensor i0 = (at::randn({S::kSlices, S::kItems, S::kDim}) * 0.01).requires_grad_(backward);
  at::Tensor rows, users;
  if (batch_users) {
    users = std::get<0>(at::randperm(S::kUsers).narrow(0, 0, 512).sort());
    rows = (at::arange(S::kSlices).unsqueeze(1) * S::kUsers + users.unsqueeze(0)).reshape(-1);
  }
  for (auto _ : state) {
    const graph::ResidualGcnResult out = graph::ResidualGcn(g.all, u0, i0, S::kLayers, 0.5, {}, rows);
    if (backward) (out.rows.sum() + out.cols.sum()).backward();  // out.rows: the listed rows' where listed
    benchmark::DoNotOptimize(out.rows.data_ptr());
  }
}

// Only the sparse products: one direction pair per layer, all slices, no elementwise ops.
void SpmmOnly(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  const Graphs& g = Graphs::Get();
  const at::Tensor ei = at::randn({S::kSlices * S::kItems, S::kDim});
  const at::Tensor eu = at::randn({S::kSlices * S::kUsers, S::kDim});
  at::Tensor zu = at::empty({S::kSlices * S::kUsers, S::kDim});
  at::Tensor zi = at::empty({S::kSlices * S::kItems, S::kDim});
  for (auto _ : state) {
    graph::SpmmInto(g.all.forward(), {}, ei, zu);
    graph::SpmmInto(g.all.transposed(), {}, eu, zi);
  }
  state.counters["GB/s(gather)"] =
      benchmark::Counter(2.0 * g.all.nnz() * S::kDim * 4 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// The row kernel's gathers against the size of the table they read: 700,000 entries, 8 a row,
// at uniform random source rows of a [MB · 2^20 / 256, 64] table (2 threads). What the GCN's
// gathers could reach where a slice's sources stay in L2, in L3 (a slice of the Yelp shape: 5
// MB of users, 10 MB of items), or come from memory (the whole 178 MB).
void SpmmTableSize(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  const int64_t table_rows = (state.range(0) << 20) / (S::kDim * 4), per_row = 8;
  data::Csr a;
  a.num_rows = S::kInteractions / per_row;
  a.num_cols = table_rows;
  std::mt19937_64 gen(1);
  for (int64_t r = 0; r < a.num_rows; ++r) {
    std::vector<int32_t> cols;
    while (static_cast<int64_t>(cols.size()) < per_row) {
      const auto c = static_cast<int32_t>(gen() % table_rows);
      if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
    }
    std::sort(cols.begin(), cols.end());
    a.col.insert(a.col.end(), cols.begin(), cols.end());
    a.row_ptr.push_back(static_cast<int64_t>(a.col.size()));
  }
  const CsrGraph g(a);
  const at::Tensor src = at::randn({table_rows, S::kDim});
  at::Tensor out = at::empty({a.num_rows, S::kDim});
  for (auto _ : state) graph::SpmmInto(g.forward(), {}, src, out);
  state.counters["GB/s(gather)"] =
      benchmark::Counter(1.0 * g.nnz() * S::kDim * 4 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// Baseline: LibTorch's sparse COO matmul for the same A·e_i and Aᵀ·e_u over all slices.
void TorchSparseCoo(benchmark::State& state) {
  at::set_num_threads(BenchThreads());
  const Graphs& g = Graphs::Get();
  const auto& f = g.all.forward();
  const at::Tensor rows = at::repeat_interleave(at::arange(f.rows, at::kLong), f.row_ptr.diff());
  const at::Tensor idx = at::stack({rows, f.col.to(at::kLong)});
  const at::Tensor a = at::sparse_coo_tensor(idx, at::ones({g.all.nnz()}), {f.rows, f.cols}).coalesce();
  const at::Tensor at_ = a.t().coalesce();
  const at::Tensor ei = at::randn({S::kSlices * S::kItems, S::kDim});
  const at::Tensor eu = at::randn({S::kSlices * S::kUsers, S::kDim});
  for (auto _ : state) {
    benchmark::DoNotOptimize(at::mm(a, ei).data_ptr());
    benchmark::DoNotOptimize(at::mm(at_, eu).data_ptr());
  }
}

BENCHMARK_CAPTURE(Fused, forward, false, false)->Apply(Timed);
BENCHMARK_CAPTURE(Fused, forward_backward, true, false)->Apply(Timed);
BENCHMARK_CAPTURE(Fused, forward_batch_users_last, false, true)->Apply(Timed);
BENCHMARK_CAPTURE(Fused, forward_backward_batch_users_last, true, true)->Apply(Timed);
BENCHMARK_CAPTURE(Encoder, batched_forward, true, false)->Apply(Timed);
BENCHMARK_CAPTURE(Encoder, batched_forward_backward, true, true)->Apply(Timed);
BENCHMARK_CAPTURE(Encoder, per_slice_forward, false, false)->Apply(Timed);
BENCHMARK_CAPTURE(Encoder, per_slice_forward_backward, false, true)->Apply(Timed);
BENCHMARK(SpmmOnly)->Arg(1)->Arg(2)->Apply(Timed);
BENCHMARK(SpmmTableSize)->Arg(1)->Arg(4)->Arg(16)->Arg(32)->Arg(64)->Arg(178)->Apply(Timed);
BENCHMARK(TorchSparseCoo)->Apply(Timed);
BENCHMARK(Calibration)->Apply(Timed);

}  // namespace
}  // namespace hardgnn::bench
