#include "core/train/fused_adam.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>
#include <c10/util/string_utils.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/cpu/parallel.h"
#include "core/cpu/reduce.h"

namespace hardgnn {
namespace {

// The update's constants, each rounded to float as ATen rounds a double Scalar for a float
// tensor.
struct Constants {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, root_bc2, eps, neg_step_size, decay;
};

Constants ConstantsAt(const torch::optim::AdamOptions& o, int64_t step, double decay) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double bias_correction1 = 1 - std::pow(beta1, step), bias_correction2 = 1 - std::pow(beta2, step);
  return {static_cast<float>(beta1),
          static_cast<float>(1 - beta1),
          static_cast<float>(beta2),
          static_cast<float>(1 - beta2),
          static_cast<float>(std::sqrt(bias_correction2)),
          static_cast<float>(o.eps()),
          static_cast<float>(-(o.lr() / bias_correction1)),
          static_cast<float>(decay)};
}

// Eight elements' update in place (p, m, v) from their gradient g (with the coupled decay, as
// ATen's add(g, p, alpha = decay) computes it: one fma).
__attribute__((target("avx2,fma"), always_inline)) inline void UpdateLanes(const Constants& c, __m256 g, __m256& p,
                                                                           __m256& m, __m256& v) {
  if (c.decay != 0) g = _mm256_fmadd_ps(p, _mm256_set1_ps(c.decay), g);
  m = _mm256_fmadd_ps(g, _mm256_set1_ps(c.one_minus_beta1), _mm256_mul_ps(m, _mm256_set1_ps(c.beta1)));
  v = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(c.one_minus_beta2), g), g, _mm256_mul_ps(v, _mm256_set1_ps(c.beta2)));
  const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), _mm256_set1_ps(c.root_bc2)), _mm256_set1_ps(c.eps));
  p = _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(c.neg_step_size), m), denom));
}

// Elements [b, e) with AVX2 and FMA, the tail as one masked vector so that every element takes
// the same instructions (a thread's share of the tensor changes nothing). g == nullptr: zeros.
// squares != nullptr: squares[k] = the sum of squares of the new p over cpu::kSquaresChunk's
// chunk k, for each chunk in [b, e) (b a multiple of the chunk), in cpu::FixedOrderSumOfSquares's
// order: each vector's two halves go into four double lanes as they are written (an FMA of a
// float's square, which is exact in double, rounds as the add alone does).
__attribute__((target("avx2,fma"))) void UpdateAvx2(const Constants& c, float* p, const float* g, float* m, float* v,
                                                    int64_t b, int64_t e, double* squares) {
  for (int64_t s = b; s < e; s += cpu::kSquaresChunk) {
    const int64_t se = std::min(e, s + cpu::kSquaresChunk);
    __m256d lanes = _mm256_setzero_pd();
    int64_t j = s;
    for (; j + 8 <= se; j += 8) {
      __m256 pj = _mm256_loadu_ps(p + j), mj = _mm256_loadu_ps(m + j), vj = _mm256_loadu_ps(v + j);
      UpdateLanes(c, g ? _mm256_loadu_ps(g + j) : _mm256_setzero_ps(), pj, mj, vj);
      _mm256_storeu_ps(p + j, pj);
      _mm256_storeu_ps(m + j, mj);
      _mm256_storeu_ps(v + j, vj);
      if (squares != nullptr) {
        const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(pj)),
                      hi = _mm256_cvtps_pd(_mm256_extractf128_ps(pj, 1));
        lanes = _mm256_fmadd_pd(hi, hi, _mm256_fmadd_pd(lo, lo, lanes));
      }
    }
    if (j < se) {
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(se - j)),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      // Masked-off lanes load zeros: sqrt(0) / r + eps is eps, no fault and no NaN.
      __m256 pj = _mm256_maskload_ps(p + j, mask), mj = _mm256_maskload_ps(m + j, mask),
             vj = _mm256_maskload_ps(v + j, mask);
      UpdateLanes(c, g ? _mm256_maskload_ps(g + j, mask) : _mm256_setzero_ps(), pj, mj, vj);
      _mm256_maskstore_ps(p + j, mask, pj);
      _mm256_maskstore_ps(m + j, mask, mj);
      _mm256_maskstore_ps(v + j, mask, vj);
    }
    if (squares != nullptr) {
      double sums[4];
      _mm256_storeu_pd(sums, lanes);
      squares[s / cpu::kSquaresChunk] = cpu::FinishSquaresChunk(sums, p, j, se);  // the tail, written above
    }
  }
}

// The same without FMA, as ATen's default kernels compute it: m b1 + g (1 - b1), two roundings
// (this file is compiled with -ffp-contract=off, so no multiply-add is fused behind our back).
void UpdatePortable(const Constants& c, float* p, const float* g, float* m, float* v, int64_t b, int64_t e,
                    double* squares) {
  for (int64_t j = b; j < e; ++j) {
    float gj = g ? g[j] : 0.0f;
    if (c.decay != 0) gj = gj + c.decay * p[j];
    m[j] = m[j] * c.beta1 + gj * c.one_minus_beta1;
    v[j] = v[j] * c.beta2 + (c.one_minus_beta2 * gj) * gj;
    p[j] = p[j] + (c.neg_step_size * m[j]) / (std::sqrt(v[j]) / c.root_bc2 + c.eps);
  }
  if (squares == nullptr) return;
  const double zeros[4] = {0, 0, 0, 0};
  for (int64_t s = b; s < e; s += cpu::kSquaresChunk) {
    squares[s / cpu::kSquaresChunk] = cpu::FinishSquaresChunk(zeros, p, s, std::min(e, s + cpu::kSquaresChunk));
  }
}

// Elements a task updates: a multiple of cpu::kSquaresChunk.
constexpr int64_t kChunk = 1 << 15;
static_assert(kChunk % cpu::kSquaresChunk == 0);

std::atomic<bool> force_portable{false};

bool Avx2Update() { return !force_portable.load() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

// The stock optimizer's key for a parameter's state.
std::string StateKey(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

bool FusableTensor(const torch::Tensor& t) {
  return t.defined() && t.is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided && t.is_contiguous();
}

}  // namespace

internal::ScopedPortableAdamUpdate::ScopedPortableAdamUpdate() : was_(force_portable.exchange(true)) {}
internal::ScopedPortableAdamUpdate::~ScopedPortableAdamUpdate() { force_portable.store(was_); }

bool FusedAdam::Fusable() const {
  for (const auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (o.weight_decay() != 0 || o.amsgrad()) return false;
    for (const auto& p : group.params()) {
      const bool has_grad = p.grad().defined();
      if (!has_grad && CoupledDecay(p) == 0) continue;  // the step leaves it alone
      if (!FusableTensor(p)) return false;
      if (has_grad && (!FusableTensor(p.grad()) || p.grad().sizes() != p.sizes())) return false;
      const auto it = state_.find(StateKey(p));
      if (it == state_.end()) continue;
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      if (!FusableTensor(s.exp_avg()) || !FusableTensor(s.exp_avg_sq()) || s.exp_avg().sizes() != p.sizes() ||
          s.exp_avg_sq().sizes() != p.sizes()) {
        return false;
      }
    }
  }
  return true;
}

void FusedAdam::SetCoupledDecay(const torch::Tensor& p, double decay) {
  if (decay == 0) {
    coupled_decay_.erase(p.unsafeGetTensorImpl());
  } else {
    coupled_decay_[p.unsafeGetTensorImpl()] = decay;
  }
}

double FusedAdam::CoupledDecay(const torch::Tensor& p) const {
  const auto it = coupled_decay_.find(p.unsafeGetTensorImpl());
  return it == coupled_decay_.end() ? 0.0 : it->second;
}

std::optional<double> FusedAdam::SumOfSquares(const torch::Tensor& p) const {
  const auto it = squares_.find(p.unsafeGetTensorImpl());
  if (it == squares_.end() || it->second.version != p._version()) return std::nullopt;
  return it->second.sum;
}

torch::Tensor FusedAdam::StockStep(LossClosure closure) {
  squares_.clear();
  if (coupled_decay_.empty()) return torch::optim::Adam::step(std::move(closure));
  // The decay goes into the gradients the stock step reads, which get their own values back.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> saved;
  {
    torch::NoGradGuard no_grad;
    for (auto& group : param_groups()) {
      for (auto& p : group.params()) {
        const double d = CoupledDecay(p);
        if (d == 0) continue;
        torch::Tensor g = p.grad();
        saved.emplace_back(p, g);
        p.mutable_grad() = (g.defined() ? g : torch::zeros_like(p)).add(p.detach(), d);
      }
    }
  }
  torch::Tensor loss = torch::optim::Adam::step(std::move(closure));
  for (auto& [p, g] : saved) p.mutable_grad() = g;
  return loss;
}

torch::Tensor FusedAdam::step(LossClosure closure) {
  if (!Fusable()) return StockStep(std::move(closure));
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  const bool avx2 = Avx2Update();
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (auto& p : group.params()) {
      const double decay = CoupledDecay(p);
      if (!p.grad().defined() && decay == 0) continue;
      auto& slot = state_[StateKey(p)];
      if (slot == nullptr) {  // the stock step's initial state
        auto state = std::make_unique<torch::optim::AdamParamState>();
        state->step(0);
        state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(state);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      state.step(state.step() + 1);
      const Constants c = ConstantsAt(o, state.step(), decay);
      float* pd = p.data_ptr<float>();
      const float* gd = p.grad().defined() ? p.grad().data_ptr<float>() : nullptr;
      float* md = state.exp_avg().data_ptr<float>();
      float* vd = state.exp_avg_sq().data_ptr<float>();
      // A penalized parameter's sum of squares, for the next step's L2 term, from this pass.
      std::vector<double> squares(decay != 0 ? cpu::DivUp(p.numel(), cpu::kSquaresChunk) : 0);
      double* sd = squares.empty() ? nullptr : squares.data();
      cpu::ForEachChunk(p.numel(), kChunk, [&](int64_t b, int64_t e, int64_t) {
        (avx2 ? UpdateAvx2 : UpdatePortable)(c, pd, gd, md, vd, b, e, sd);
      });
      if (sd == nullptr) {
        squares_.erase(p.unsafeGetTensorImpl());
      } else {
        double total = 0;
        for (double chunk : squares) total += chunk;
        squares_[p.unsafeGetTensorImpl()] = {p._version(), total};
      }
    }
  }
  return loss;
}

}  // namespace hardgnn
