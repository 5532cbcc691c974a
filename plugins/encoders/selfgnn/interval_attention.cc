#include "plugins/encoders/selfgnn/interval_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cpu/vec.h"
#include "plugins/encoders/selfgnn/linear.h"

namespace hardgnn::selfgnn {
namespace {

using cpu::LoadV;
using cpu::SplatV;
using cpu::StoreV;

constexpr double kLogEpsilon = -18.420680743952367;  // ln(1e-8)

struct Dims {
  int64_t g, heads, dh;
  int64_t row_stride, pos_stride;  // qkv strides (elements) over rows and positions
};

// One row's Q (pre-scaled by 1/sqrt(d_h)), K and V in the layout [e][position][head]: for a
// fixed component e and position, the H heads are contiguous, so SIMD lanes run over heads.
template <typename T>
void Transpose(const Dims& s, const T* row, T scale, T* q, T* k, T* v) {
  const int64_t d = s.heads * s.dh, hg = s.g * s.heads;
  for (int64_t a = 0; a < s.g; ++a) {
    const T* pos = row + a * s.pos_stride;
    for (int64_t h = 0; h < s.heads; ++h) {
      for (int64_t e = 0; e < s.dh; ++e) {
        const int64_t i = e * hg + a * s.heads + h, c = h * s.dh + e;
        q[i] = pos[c] * scale;
        k[i] = pos[d + c];
        v[i] = pos[2 * d + c];
      }
    }
  }
}

// For query position a: p[b][·] = ω_ab for all b (per head, as lanes), from q, k in [e][pos][head].
template <typename V, int kNV>
HARDGNN_INLINE void Weights(const Dims& s, int nv, int64_t a, const typename cpu::Lanes<V>::T* q,
                            const typename cpu::Lanes<V>::T* k, typename cpu::Lanes<V>::T* p) {
  using T = typename cpu::Lanes<V>::T;
  constexpr int L = cpu::Lanes<V>::kN;
  const int64_t H = s.heads, hg = s.g * H;
  for (int hv = 0; hv < (kNV > 0 ? kNV : nv); ++hv) {
    const int64_t lane0 = hv * L;
    V m = SplatV<V>(-std::numeric_limits<T>::infinity());
    for (int64_t b = 0; b < s.g; ++b) {
      V sc = V{};
      for (int64_t e = 0; e < s.dh; ++e)
        sc += LoadV<V>(q + e * hg + a * H + lane0) * LoadV<V>(k + e * hg + b * H + lane0);
      StoreV<V>(p + b * H + lane0, sc);
      m = cpu::Max(m, sc);
    }
    V sum = V{};
    for (int64_t b = 0; b < s.g; ++b) {
      const V ex = cpu::Exp(LoadV<V>(p + b * H + lane0) - m);
      StoreV<V>(p + b * H + lane0, ex);
      sum += ex;
    }
    const V inv = SplatV<V>(T(1)) / (sum + cpu::Exp(SplatV<V>(T(kLogEpsilon)) - m));
    for (int64_t b = 0; b < s.g; ++b) StoreV<V>(p + b * H + lane0, LoadV<V>(p + b * H + lane0) * inv);
  }
}

// Scratch sizes (elements) per row.
int64_t ForwardScratch(const Dims& s) { return (3 * s.dh + 2) * s.g * s.heads + s.dh * s.heads; }
int64_t BackwardScratch(const Dims& s) { return (4 * s.dh + 3) * s.g * s.heads + 2 * s.dh * s.heads; }

template <typename V, int kNV>
HARDGNN_INLINE void ForwardRows(const Dims& s, const typename cpu::Lanes<V>::T* qkv, int64_t r0, int64_t r1,
                                typename cpu::Lanes<V>::T* out, typename cpu::Lanes<V>::T* scratch) {
  using T = typename cpu::Lanes<V>::T;
  constexpr int L = cpu::Lanes<V>::kN;
  const int64_t H = s.heads, hg = s.g * H, d = H * s.dh;
  const int nv = static_cast<int>(H / L);
  const T scale = T(1) / std::sqrt(T(s.dh)), inv_g = T(1) / T(s.g);
  T *q = scratch, *k = q + s.dh * hg, *v = k + s.dh * hg, *wbar = v + s.dh * hg, *p = wbar + hg, *o = p + hg;
  for (int64_t r = r0; r < r1; ++r) {
    Transpose(s, qkv + r * s.row_stride, scale, q, k, v);
    std::fill_n(wbar, hg, T(0));
    for (int64_t a = 0; a < s.g; ++a) {
      Weights<V, kNV>(s, nv, a, q, k, p);
      for (int64_t i = 0; i < hg; i += L) StoreV<V>(wbar + i, LoadV<V>(wbar + i) + LoadV<V>(p + i));
    }
    // o[e][h] = Σ_b w̄_b v_b[e], then out[h·d_h + e] = o[e][h] / G.
    for (int64_t e = 0; e < s.dh; ++e) {
      for (int64_t i = 0; i < H; i += L) {
        V acc = V{};
        for (int64_t b = 0; b < s.g; ++b) acc += LoadV<V>(wbar + b * H + i) * LoadV<V>(v + e * hg + b * H + i);
        StoreV<V>(o + e * H + i, acc * inv_g);
      }
    }
    T* dst = out + r * d;
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t e = 0; e < s.dh; ++e) dst[h * s.dh + e] = o[e * H + h];
    }
  }
}

template <typename V, int kNV>
HARDGNN_INLINE void BackwardRows(const Dims& s, const typename cpu::Lanes<V>::T* qkv,
                                 const typename cpu::Lanes<V>::T* gout, int64_t r0, int64_t r1,
                                 typename cpu::Lanes<V>::T* dqkv, typename cpu::Lanes<V>::T* scratch) {
  using T = typename cpu::Lanes<V>::T;
  constexpr int L = cpu::Lanes<V>::kN;
  const int64_t H = s.heads, hg = s.g * H, d = H * s.dh;
  const int nv = static_cast<int>(H / L);
  const T scale = T(1) / std::sqrt(T(s.dh)), inv_g = T(1) / T(s.g);
  T *q = scratch, *k = q + s.dh * hg, *v = k + s.dh * hg, *dk = v + s.dh * hg, *wbar = dk + s.dh * hg;
  T *p = wbar + hg, *u = p + hg, *gt = u + hg, *dq = gt + s.dh * H;
  for (int64_t r = r0; r < r1; ++r) {
    Transpose(s, qkv + r * s.row_stride, scale, q, k, v);
    const T* go = gout + r * d;
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t e = 0; e < s.dh; ++e) gt[e * H + h] = go[h * s.dh + e] * inv_g;
    }
    // u_b = dL/dω_ab (the same for every a) = Σ_e gt[e] v_b[e].
    for (int64_t b = 0; b < s.g; ++b) {
      for (int64_t i = 0; i < H; i += L) {
        V acc = V{};
        for (int64_t e = 0; e < s.dh; ++e) acc += LoadV<V>(gt + e * H + i) * LoadV<V>(v + e * hg + b * H + i);
        StoreV<V>(u + b * H + i, acc);
      }
    }
    std::fill_n(wbar, hg, T(0));
    std::fill_n(dk, s.dh * hg, T(0));
    T* drow = dqkv + r * s.g * 3 * d;
    for (int64_t a = 0; a < s.g; ++a) {
      Weights<V, kNV>(s, nv, a, q, k, p);
      for (int64_t i = 0; i < H; i += L) {
        // wbar += ω; ds_ab = ω_ab (u_b - Σ_c ω_ac u_c), into p.
        V rsum = V{};
        for (int64_t b = 0; b < s.g; ++b) {
          const V w = LoadV<V>(p + b * H + i);
          StoreV<V>(wbar + b * H + i, LoadV<V>(wbar + b * H + i) + w);
          rsum += w * LoadV<V>(u + b * H + i);
        }
        for (int64_t b = 0; b < s.g; ++b) {
          const V w = LoadV<V>(p + b * H + i);
          StoreV<V>(p + b * H + i, w * (LoadV<V>(u + b * H + i) - rsum));
        }
        // dq_a = scale Σ_b ds_ab k_b; dk_b += ds_ab (scale q_a).
        for (int64_t e = 0; e < s.dh; ++e) {
          const V qa = LoadV<V>(q + e * hg + a * H + i);
          V acc = V{};
          for (int64_t b = 0; b < s.g; ++b) {
            const V ds = LoadV<V>(p + b * H + i);
            acc += ds * LoadV<V>(k + e * hg + b * H + i);
            StoreV<V>(dk + e * hg + b * H + i, LoadV<V>(dk + e * hg + b * H + i) + ds * qa);
          }
          StoreV<V>(dq + e * H + i, acc * scale);
        }
      }
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t e = 0; e < s.dh; ++e) drow[a * 3 * d + h * s.dh + e] = dq[e * H + h];
      }
    }
    // dk and dv = w̄_b gt (w̄ summed over a, gt carrying 1/G) back to [position][head·d_h + e].
    for (int64_t b = 0; b < s.g; ++b) {
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t e = 0; e < s.dh; ++e) {
          drow[b * 3 * d + d + h * s.dh + e] = dk[e * hg + b * H + h];
          drow[b * 3 * d + 2 * d + h * s.dh + e] = wbar[b * H + h] * gt[e * H + h];
        }
      }
    }
  }
}

// Dispatch on the number of SIMD vectors per head group (H / lanes); the scalar path when the
// heads are not a multiple of the lanes.
template <typename T, bool kBackward>
HARDGNN_SIMD_CLONES void AttentionRows(const Dims& s, const T* qkv, const T* gout, int64_t r0, int64_t r1, T* out,
                                       T* scratch) {
  constexpr int L = cpu::kLanes<T>;
  using V = cpu::Vec<T>;
  auto run = [&](auto vtag, auto nvtag) __attribute__((always_inline)) {
    using VV = decltype(vtag);
    constexpr int kNV = decltype(nvtag)::value;
    if constexpr (kBackward) {
      BackwardRows<VV, kNV>(s, qkv, gout, r0, r1, out, scratch);
    } else {
      ForwardRows<VV, kNV>(s, qkv, r0, r1, out, scratch);
    }
  };
  if (s.heads % L != 0) {
    run(T{}, std::integral_constant<int, 0>{});
  } else if (s.heads == 2 * L) {
    run(V{}, std::integral_constant<int, 2>{});
  } else if (s.heads == L) {
    run(V{}, std::integral_constant<int, 1>{});
  } else if (s.heads == 4 * L) {
    run(V{}, std::integral_constant<int, 4>{});
  } else {
    run(V{}, std::integral_constant<int, 0>{});
  }
}

template <typename T, bool kBackward>
void RunRows(const Dims& s, int64_t n, const T* qkv, const T* gout, T* out) {
  const int64_t scratch = kBackward ? BackwardScratch(s) : ForwardScratch(s);
  at::parallel_for(0, n, 64, [&](int64_t r0, int64_t r1) {
    std::vector<T> buf(scratch);
    AttentionRows<T, kBackward>(s, qkv, gout, r0, r1, out, buf.data());
  });
}

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("IntervalAttention: " + what);
}

struct PooledAttentionFunction : public torch::autograd::Function<PooledAttentionFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qkv, int64_t heads) {
    const at::Tensor x = qkv.stride(2) == 1 ? qkv : qkv.contiguous();
    const int64_t n = x.size(0), d = x.size(2) / 3;
    const Dims s{x.size(1), heads, d / heads, x.stride(0), x.stride(1)};
    at::Tensor out = at::empty({n, d}, x.options());
    if (x.scalar_type() == at::kFloat) {
      RunRows<float, false>(s, n, x.data_ptr<float>(), nullptr, out.data_ptr<float>());
    } else {
      RunRows<double, false>(s, n, x.data_ptr<double>(), nullptr, out.data_ptr<double>());
    }
    ctx->save_for_backward({x});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const int64_t n = x.size(0), d = x.size(2) / 3;
    const Dims s{x.size(1), heads, d / heads, x.stride(0), x.stride(1)};
    const at::Tensor gout = grads[0].contiguous();
    at::Tensor dqkv = at::empty({n, s.g, 3 * d}, x.options());
    if (x.scalar_type() == at::kFloat) {
      RunRows<float, true>(s, n, x.data_ptr<float>(), gout.data_ptr<float>(), dqkv.data_ptr<float>());
    } else {
      RunRows<double, true>(s, n, x.data_ptr<double>(), gout.data_ptr<double>(), dqkv.data_ptr<double>());
    }
    return {dqkv, at::Tensor()};
  }
};

}  // namespace

at::Tensor PooledAttention(const at::Tensor& qkv, int64_t heads) {
  Check(qkv.dim() == 3 && qkv.size(2) % 3 == 0, "qkv must be [N, G, 3d]");
  Check(qkv.scalar_type() == at::kFloat || qkv.scalar_type() == at::kDouble, "qkv must be float or double");
  Check(heads > 0 && (qkv.size(2) / 3) % heads == 0, "d must be a multiple of heads");
  Check(qkv.size(1) > 0, "G must be positive");
  return PooledAttentionFunction::apply(qkv, heads);
}

at::Tensor IntervalAttention(const at::Tensor& x, const at::Tensor& w_qkv, const at::Tensor& b_qkv, int64_t heads) {
  Check(x.dim() == 3, "x must be [N, G, d]");
  Check(w_qkv.dim() == 2 && w_qkv.size(0) == x.size(2) && w_qkv.size(1) == 3 * x.size(2), "w_qkv must be [d, 3d]");
  Check(b_qkv.dim() == 1 && b_qkv.size(0) == 3 * x.size(2), "b_qkv must be [3d]");
  return PooledAttention(Linear(x, w_qkv, b_qkv), heads);
}

at::Tensor IntervalAttention(const at::Tensor& x, const at::Tensor& w_q, const at::Tensor& w_k, const at::Tensor& w_v,
                             const at::Tensor& b_q, const at::Tensor& b_k, const at::Tensor& b_v, int64_t heads) {
  return IntervalAttention(x, at::cat({w_q, w_k, w_v}, 1), at::cat({b_q, b_k, b_v}), heads);
}

}  // namespace hardgnn::selfgnn
