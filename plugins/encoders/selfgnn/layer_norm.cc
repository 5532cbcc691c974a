#include "plugins/encoders/selfgnn/layer_norm.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/cpu/parallel.h"
#include "core/cpu/vec.h"
#include "core/model/profile.h"

namespace hardgnn::selfgnn {
namespace {

using cpu::LoadV;
using cpu::SplatV;
using cpu::StoreV;

constexpr int64_t kChunkRows = kBlockLayerNormChunkRows;

// Sum of n values in a fixed order: lanes of V, then the lanes in order.
template <typename V>
HARDGNN_INLINE typename cpu::Lanes<V>::T Sum(const typename cpu::Lanes<V>::T* x, int64_t n) {
  constexpr int L = cpu::Lanes<V>::kN;
  V acc = V{};
  for (int64_t i = 0; i < n; i += L) acc += LoadV<V>(x + i);
  if constexpr (L == 1) {
    return acc;
  } else {
    return cpu::HorizontalSum(acc);
  }
}

// Rows [r0, r1): y, and per row mean and 1/σ. m = G·d values per row, d per γ/β.
template <typename V>
HARDGNN_INLINE void ForwardWith(int64_t r0, int64_t r1, int64_t m, int64_t d, const typename cpu::Lanes<V>::T* x,
                                const typename cpu::Lanes<V>::T* gamma, const typename cpu::Lanes<V>::T* beta,
                                typename cpu::Lanes<V>::T eps, typename cpu::Lanes<V>::T* y,
                                typename cpu::Lanes<V>::T* mean, typename cpu::Lanes<V>::T* rstd) {
  using T = typename cpu::Lanes<V>::T;
  constexpr int L = cpu::Lanes<V>::kN;
  for (int64_t r = r0; r < r1; ++r) {
    const T* xr = x + r * m;
    const T mu = Sum<V>(xr, m) / T(m);
    V acc = V{};
    const V vmu = SplatV<V>(mu);
    for (int64_t i = 0; i < m; i += L) {
      const V c = LoadV<V>(xr + i) - vmu;
      acc += c * c;
    }
    T var;
    if constexpr (L == 1) {
      var = acc / T(m);
    } else {
      var = cpu::HorizontalSum(acc) / T(m);
    }
    const T rs = T(1) / std::sqrt(var + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const V vrs = SplatV<V>(rs);
    T* yr = y + r * m;
    for (int64_t t = 0; t < m; t += d) {
      for (int64_t k = 0; k < d; k += L) {
        StoreV<V>(yr + t + k, (LoadV<V>(xr + t + k) - vmu) * vrs * LoadV<V>(gamma + k) + LoadV<V>(beta + k));
      }
    }
  }
}

// Rows [r0, r1): dx (where kDx), and the γ/β gradient terms added into part[0..d) and
// part[d..2d) (where kPartials), row by row in order.
template <typename V, bool kDx = true, bool kPartials = true>
HARDGNN_INLINE void BackwardWith(int64_t r0, int64_t r1, int64_t m, int64_t d, const typename cpu::Lanes<V>::T* x,
                                 const typename cpu::Lanes<V>::T* gamma, const typename cpu::Lanes<V>::T* mean,
                                 const typename cpu::Lanes<V>::T* rstd, const typename cpu::Lanes<V>::T* gy,
                                 typename cpu::Lanes<V>::T* dx, typename cpu::Lanes<V>::T* part) {
  using T = typename cpu::Lanes<V>::T;
  constexpr int L = cpu::Lanes<V>::kN;
  for (int64_t r = r0; r < r1; ++r) {
    const T *xr = x + r * m, *gr = gy + r * m;
    const V vmu = SplatV<V>(mean[r]), vrs = SplatV<V>(rstd[r]);
    // g = gy·γ; sums of g and g·x̂; γ/β partials.
    V sg = V{}, sgx = V{};
    for (int64_t t = 0; t < m; t += d) {
      for (int64_t k = 0; k < d; k += L) {
        const V xh = (LoadV<V>(xr + t + k) - vmu) * vrs;
        const V gyv = LoadV<V>(gr + t + k);
        if constexpr (kDx) {
          const V g = gyv * LoadV<V>(gamma + k);
          sg += g;
          sgx += g * xh;
        }
        if constexpr (kPartials) {
          StoreV<V>(part + k, LoadV<V>(part + k) + gyv * xh);
          StoreV<V>(part + d + k, LoadV<V>(part + d + k) + gyv);
        }
      }
    }
    if constexpr (kDx) {
      T mg, mgx;
      if constexpr (L == 1) {
        mg = sg / T(m);
        mgx = sgx / T(m);
      } else {
        mg = cpu::HorizontalSum(sg) / T(m);
        mgx = cpu::HorizontalSum(sgx) / T(m);
      }
      const V vmg = SplatV<V>(mg), vmgx = SplatV<V>(mgx);
      T* dr = dx + r * m;
      for (int64_t t = 0; t < m; t += d) {
        for (int64_t k = 0; k < d; k += L) {
          const V xh = (LoadV<V>(xr + t + k) - vmu) * vrs;
          const V g = LoadV<V>(gr + t + k) * LoadV<V>(gamma + k);
          StoreV<V>(dr + t + k, vrs * (g - vmg - xh * vmgx));
        }
      }
    }
  }
}

template <typename T>
HARDGNN_SIMD_CLONES void LayerNormForwardRows(int64_t r0, int64_t r1, int64_t m, int64_t d, const T* x, const T* gamma,
                                              const T* beta, T eps, T* y, T* mean, T* rstd) {
  if (d % cpu::kLanes<T> == 0) {
    ForwardWith<cpu::Vec<T>>(r0, r1, m, d, x, gamma, beta, eps, y, mean, rstd);
  } else {
    ForwardWith<T>(r0, r1, m, d, x, gamma, beta, eps, y, mean, rstd);
  }
}

template <typename T>
HARDGNN_SIMD_CLONES void LayerNormBackwardRows(int64_t r0, int64_t r1, int64_t m, int64_t d, const T* x, const T* gamma,
                                               const T* mean, const T* rstd, const T* gy, T* dx, T* part) {
  if (d % cpu::kLanes<T> == 0) {
    BackwardWith<cpu::Vec<T>>(r0, r1, m, d, x, gamma, mean, rstd, gy, dx, part);
  } else {
    BackwardWith<T>(r0, r1, m, d, x, gamma, mean, rstd, gy, dx, part);
  }
}

// The backward's two parts apart, float rows (FusedLstmLayerNorm's blocks).
HARDGNN_SIMD_CLONES void LayerNormDxRows(int64_t rows, int64_t m, int64_t d, const float* x, const float* gamma,
                                         const float* mean, const float* rstd, const float* gy, float* dx) {
  if (d % cpu::kLanes<float> == 0) {
    BackwardWith<cpu::Vec<float>, true, false>(0, rows, m, d, x, gamma, mean, rstd, gy, dx, nullptr);
  } else {
    BackwardWith<float, true, false>(0, rows, m, d, x, gamma, mean, rstd, gy, dx, nullptr);
  }
}

HARDGNN_SIMD_CLONES void LayerNormPartialRows(int64_t rows, int64_t m, int64_t d, const float* x, const float* mean,
                                              const float* rstd, const float* gy, float* part) {
  if (d % cpu::kLanes<float> == 0) {
    BackwardWith<cpu::Vec<float>, false, true>(0, rows, m, d, x, nullptr, mean, rstd, gy, nullptr, part);
  } else {
    BackwardWith<float, false, true>(0, rows, m, d, x, nullptr, mean, rstd, gy, nullptr, part);
  }
}

template <typename T>
void Forward(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta, double eps, at::Tensor& y,
             at::Tensor& mean, at::Tensor& rstd) {
  const int64_t n = x.size(0), d = x.size(2), m = x.size(1) * d;
  cpu::ForEachChunk(n, kChunkRows, [&](int64_t r0, int64_t r1, int64_t) {
    LayerNormForwardRows<T>(r0, r1, m, d, x.data_ptr<T>(), gamma.data_ptr<T>(), beta.data_ptr<T>(), static_cast<T>(eps),
                            y.data_ptr<T>(), mean.data_ptr<T>(), rstd.data_ptr<T>());
  });
}

template <typename T>
void Backward(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& mean, const at::Tensor& rstd,
              const at::Tensor& gy, at::Tensor& dx, at::Tensor& dgamma, at::Tensor& dbeta) {
  const int64_t n = x.size(0), d = x.size(2), m = x.size(1) * d;
  cpu::ChunkPartials<T> partial(cpu::DivUp(n, kChunkRows), 2 * d);
  cpu::ForEachChunk(n, kChunkRows, [&](int64_t r0, int64_t r1, int64_t c) {
    LayerNormBackwardRows<T>(r0, r1, m, d, x.data_ptr<T>(), gamma.data_ptr<T>(), mean.data_ptr<T>(), rstd.data_ptr<T>(),
                             gy.data_ptr<T>(), dx.data_ptr<T>(), partial.Chunk(c));
  });
  std::vector<T> sum(2 * d);
  partial.SumInto(sum.data(), /*accumulate=*/false);
  std::copy_n(sum.data(), d, dgamma.data_ptr<T>());
  std::copy_n(sum.data() + d, d, dbeta.data_ptr<T>());
}

struct BlockLayerNormFunction : public torch::autograd::Function<BlockLayerNormFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& gamma,
                            const at::Tensor& beta, double eps) {
    const at::Tensor xc = x.contiguous(), gc = gamma.contiguous(), bc = beta.contiguous();
    at::Tensor y = at::empty_like(xc);
    at::Tensor mean = at::empty({xc.size(0)}, xc.options()), rstd = at::empty({xc.size(0)}, xc.options());
    if (xc.scalar_type() == at::kFloat) {
      Forward<float>(xc, gc, bc, eps, y, mean, rstd);
    } else {
      Forward<double>(xc, gc, bc, eps, y, mean, rstd);
    }
    ctx->save_for_backward({xc, gc, mean, rstd});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    ScopedPhase phase("backward: block layer norm");  // nested in the trainer's "backward" (--profile)
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &xc = saved[0], &gc = saved[1], &mean = saved[2], &rstd = saved[3];
    const at::Tensor gy = grads[0].contiguous();
    at::Tensor dx = at::empty_like(xc), dgamma = at::empty_like(gc), dbeta = at::empty_like(gc);
    if (xc.scalar_type() == at::kFloat) {
      Backward<float>(xc, gc, mean, rstd, gy, dx, dgamma, dbeta);
    } else {
      Backward<double>(xc, gc, mean, rstd, gy, dx, dgamma, dbeta);
    }
    return {dx, dgamma, dbeta, at::Tensor()};
  }
};

}  // namespace

void BlockLayerNormRowsInPlace(float* x, int64_t rows, int64_t g, int64_t d, const float* gamma, const float* beta,
                               double eps) {
  std::vector<float> stats(2 * rows);  // mean and 1/σ, not kept
  BlockLayerNormRowsInPlace(x, rows, g, d, gamma, beta, eps, stats.data(), stats.data() + rows);
}

void BlockLayerNormRowsInPlace(float* x, int64_t rows, int64_t g, int64_t d, const float* gamma, const float* beta,
                               double eps, float* mean, float* rstd) {
  LayerNormForwardRows<float>(0, rows, g * d, d, x, gamma, beta, static_cast<float>(eps), x, mean, rstd);
}

void BlockLayerNormRowsDx(int64_t rows, int64_t g, int64_t d, const float* x, const float* gamma, const float* mean,
                          const float* rstd, const float* gy, float* dx) {
  LayerNormDxRows(rows, g * d, d, x, gamma, mean, rstd, gy, dx);
}

void BlockLayerNormRowsAddPartials(int64_t rows, int64_t g, int64_t d, const float* x, const float* mean,
                                   const float* rstd, const float* gy, float* part) {
  LayerNormPartialRows(rows, g * d, d, x, mean, rstd, gy, part);
}

at::Tensor BlockLayerNorm(const at::Tensor& x, const at::Tensor& gamma, const at::Tensor& beta, double eps) {
  if (x.dim() != 3 || gamma.dim() != 1 || beta.dim() != 1 || gamma.size(0) != x.size(2) || beta.size(0) != x.size(2)) {
    throw std::invalid_argument("BlockLayerNorm: need x [N, G, d], gamma [d], beta [d]");
  }
  if ((x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble) || gamma.scalar_type() != x.scalar_type() ||
      beta.scalar_type() != x.scalar_type()) {
    throw std::invalid_argument("BlockLayerNorm: x, gamma, beta must all be float or all double");
  }
  return BlockLayerNormFunction::apply(x, gamma, beta, eps);
}

}  // namespace hardgnn::selfgnn
