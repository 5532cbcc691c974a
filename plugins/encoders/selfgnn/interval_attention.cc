#include "plugins/encoders/selfgnn/interval_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/graph_task.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/cpu/kernel_path.h"
#include "core/cpu/parallel.h"
#include "core/cpu/vec.h"
#include "core/cpu/vec_avx2.h"
#include "core/cpu/vec_avx512.h"
#include "core/model/profile.h"
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

// ---- Fast path: float, d_h = 4, heads a multiple of 8 (SelfGNN: 16 heads of width 4). ----
//
// A position's 64 Q values (natural order [head][e]) are, in vectors V of 8 (16) floats, 8 (4)
// vectors of 2 (4) heads x 4 components. Transposing 4x4 blocks within each 128-bit lane turns
// 4 such vectors into one vector per component e whose lanes are heads in a permuted order
// (8 lanes: 8j + {0, 2, 4, 6, 1, 3, 5, 7}; 16 lanes: {0, 4, 8, 12, 1, 5, ...}) that every later
// step keeps, and the same transpose maps results back. Every head's arithmetic is the same
// sequence of lane operations at either width, so the 16-lane path (AVX-512) gives the 8-lane
// path's bits. All loops have fixed counts.

using cpu::f16;
using cpu::f8;

// In-lane 4x4 transpose of (r0, r1, r2, r3) in every 128-bit lane; its own inverse.
template <typename V>
HARDGNN_INLINE void Transpose4(V& r0, V& r1, V& r2, V& r3) {
  using M = typename cpu::Lanes<V>::Mask;
  constexpr int N = cpu::Lanes<V>::kN;
  M lo, hi, lo2, hi2;
  for (int c = 0; c < N; c += 4) {  // (lane, other vector's lane) pairs, in each 128-bit lane
    lo[c] = c, lo[c + 1] = c + N, lo[c + 2] = c + 1, lo[c + 3] = c + N + 1;
    hi[c] = c + 2, hi[c + 1] = c + N + 2, hi[c + 2] = c + 3, hi[c + 3] = c + N + 3;
    lo2[c] = c, lo2[c + 1] = c + 1, lo2[c + 2] = c + N, lo2[c + 3] = c + N + 1;
    hi2[c] = c + 2, hi2[c + 1] = c + 3, hi2[c + 2] = c + N + 2, hi2[c + 3] = c + N + 3;
  }
  const V t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r0, r1, hi);
  const V t2 = __builtin_shuffle(r2, r3, lo), t3 = __builtin_shuffle(r2, r3, hi);
  r0 = __builtin_shuffle(t0, t2, lo2);
  r1 = __builtin_shuffle(t0, t2, hi2);
  r2 = __builtin_shuffle(t1, t3, lo2);
  r3 = __builtin_shuffle(t1, t3, hi2);
}

// src (natural order, nv·4·N floats) -> dst[e·nv + j] (component e of head group j), times scale.
template <typename V, int kNV>
HARDGNN_INLINE void ToLanes(const float* src, float scale, V* dst) {
  constexpr int N = cpu::Lanes<V>::kN;
  for (int j = 0; j < kNV; ++j) {
    V r0 = LoadV<V>(src + 4 * N * j), r1 = LoadV<V>(src + 4 * N * j + N), r2 = LoadV<V>(src + 4 * N * j + 2 * N),
      r3 = LoadV<V>(src + 4 * N * j + 3 * N);
    Transpose4(r0, r1, r2, r3);
    dst[0 * kNV + j] = r0 * scale;
    dst[1 * kNV + j] = r1 * scale;
    dst[2 * kNV + j] = r2 * scale;
    dst[3 * kNV + j] = r3 * scale;
  }
}

// The inverse: src[e·nv + j] -> dst in natural order.
template <typename V, int kNV>
HARDGNN_INLINE void FromLanes(const V* src, float* dst) {
  constexpr int N = cpu::Lanes<V>::kN;
  for (int j = 0; j < kNV; ++j) {
    V r0 = src[0 * kNV + j], r1 = src[1 * kNV + j], r2 = src[2 * kNV + j], r3 = src[3 * kNV + j];
    Transpose4(r0, r1, r2, r3);
    StoreV<V>(dst + 4 * N * j, r0);
    StoreV<V>(dst + 4 * N * j + N, r1);
    StoreV<V>(dst + 4 * N * j + 2 * N, r2);
    StoreV<V>(dst + 4 * N * j + 3 * N, r3);
  }
}

// Scratch (in vectors) per row: q, k, v [G][4][nv]; backward adds dk [G][4][nv]. The same
// number of floats at either width (nv = heads / lanes).
int64_t FastScratchVectors(int64_t g, int64_t nv) { return 4 * g * 4 * nv + 4 * g * nv; }

template <typename V, int kNV>
HARDGNN_INLINE void FastLoadRow(const float* row, int64_t g, int64_t pos_stride, int64_t d, float scale, V* q, V* k,
                                V* v) {
  for (int64_t a = 0; a < g; ++a) {
    const float* pos = row + a * pos_stride;
    ToLanes<V, kNV>(pos, scale, q + a * 4 * kNV);
    ToLanes<V, kNV>(pos + d, 1.0f, k + a * 4 * kNV);
    ToLanes<V, kNV>(pos + 2 * d, 1.0f, v + a * 4 * kNV);
  }
}

// ω_ab for query a and every head group j into p[j·64 + b] (b < G): each group's arithmetic as
// if alone, the groups' steps interleaved so that their chains overlap.
template <typename V, int kNV, typename Ops>
HARDGNN_INLINE void FastWeights(int64_t g, int64_t a, const V* q, const V* k, V* p) {
  V q0[kNV], q1[kNV], q2[kNV], q3[kNV], m[kNV], sum[kNV];
  for (int j = 0; j < kNV; ++j) {
    q0[j] = q[(a * 4 + 0) * kNV + j], q1[j] = q[(a * 4 + 1) * kNV + j], q2[j] = q[(a * 4 + 2) * kNV + j],
    q3[j] = q[(a * 4 + 3) * kNV + j];
    m[j] = SplatV<V>(-std::numeric_limits<float>::infinity());
    sum[j] = V{};
  }
  for (int64_t b = 0; b < g; ++b) {
    for (int j = 0; j < kNV; ++j) {
      const V* kb = k + b * 4 * kNV + j;
      const V sc = q0[j] * kb[0] + q1[j] * kb[kNV] + q2[j] * kb[2 * kNV] + q3[j] * kb[3 * kNV];
      p[j * 64 + b] = sc;
      m[j] = Ops::Max(m[j], sc);
    }
  }
  for (int64_t b = 0; b < g; ++b) {
    for (int j = 0; j < kNV; ++j) {
      p[j * 64 + b] = cpu::ExpWith<Ops>(p[j * 64 + b] - m[j]);
      sum[j] += p[j * 64 + b];
    }
  }
  for (int j = 0; j < kNV; ++j) {
    const V inv = 1.0f / (sum[j] + cpu::ExpWith<Ops>(SplatV<V>(static_cast<float>(kLogEpsilon)) - m[j]));
    for (int64_t b = 0; b < g; ++b) p[j * 64 + b] *= inv;
  }
}

template <typename V, int kNV, typename Ops>
HARDGNN_INLINE void FastForwardRows(const Dims& s, const float* qkv, int64_t r0, int64_t r1, float* out, V* scratch) {
  const int64_t g = s.g, d = s.heads * 4;
  const float scale = 0.5f, inv_g = 1.0f / static_cast<float>(g);  // 1/sqrt(4)
  V *q = scratch, *k = q + 4 * g * kNV, *v = k + 4 * g * kNV, *wbar = v + 4 * g * kNV;
  V p[64 * kNV];  // G <= 64 on this path
  for (int64_t r = r0; r < r1; ++r) {
    FastLoadRow<V, kNV>(qkv + r * s.row_stride, g, s.pos_stride, d, scale, q, k, v);
    for (int64_t i = 0; i < g * kNV; ++i) wbar[i] = V{};
    for (int64_t a = 0; a < g; ++a) {
      FastWeights<V, kNV, Ops>(g, a, q, k, p);
      for (int j = 0; j < kNV; ++j) {
        for (int64_t b = 0; b < g; ++b) wbar[b * kNV + j] += p[j * 64 + b];
      }
    }
    V o[4 * kNV];
    for (int e = 0; e < 4; ++e) {
      for (int j = 0; j < kNV; ++j) {
        V acc = V{};
        for (int64_t b = 0; b < g; ++b) acc += wbar[b * kNV + j] * v[(b * 4 + e) * kNV + j];
        o[e * kNV + j] = acc * inv_g;
      }
    }
    FromLanes<V, kNV>(o, out + r * d);
  }
}

template <typename V, int kNV, typename Ops>
HARDGNN_INLINE void FastBackwardRows(const Dims& s, const float* qkv, const float* gout, int64_t r0, int64_t r1,
                                     float* dqkv, V* scratch) {
  const int64_t g = s.g, d = s.heads * 4;
  const float scale = 0.5f, inv_g = 1.0f / static_cast<float>(g);
  V *q = scratch, *k = q + 4 * g * kNV, *v = k + 4 * g * kNV, *dk = v + 4 * g * kNV, *wbar = dk + 4 * g * kNV;
  V weights[64 * kNV], u[64 * kNV], gt[4 * kNV], tmp[4 * kNV];
  for (int64_t r = r0; r < r1; ++r) {
    FastLoadRow<V, kNV>(qkv + r * s.row_stride, g, s.pos_stride, d, scale, q, k, v);
    ToLanes<V, kNV>(gout + r * d, inv_g, gt);
    // u_b = Σ_e gt[e] v_b[e] (= dL/dω_ab for every a).
    for (int64_t b = 0; b < g; ++b) {
      for (int j = 0; j < kNV; ++j) {
        const V* vb = v + b * 4 * kNV + j;
        u[b * kNV + j] =
            gt[j] * vb[0] + gt[kNV + j] * vb[kNV] + gt[2 * kNV + j] * vb[2 * kNV] + gt[3 * kNV + j] * vb[3 * kNV];
      }
    }
    for (int64_t i = 0; i < 4 * g * kNV; ++i) dk[i] = V{};
    for (int64_t i = 0; i < g * kNV; ++i) wbar[i] = V{};
    float* drow = dqkv + r * g * 3 * d;
    for (int64_t a = 0; a < g; ++a) {
      FastWeights<V, kNV, Ops>(g, a, q, k, weights);
      for (int j = 0; j < kNV; ++j) {
        const V* p = weights + j * 64;
        V rsum = V{};
        for (int64_t b = 0; b < g; ++b) {
          wbar[b * kNV + j] += p[b];
          rsum += p[b] * u[b * kNV + j];
        }
        const V* qa = q + a * 4 * kNV + j;
        V dq0 = V{}, dq1 = V{}, dq2 = V{}, dq3 = V{};
        for (int64_t b = 0; b < g; ++b) {
          const V ds = p[b] * (u[b * kNV + j] - rsum);
          const V* kb = k + b * 4 * kNV + j;
          V* dkb = dk + b * 4 * kNV + j;
          dq0 += ds * kb[0];
          dq1 += ds * kb[kNV];
          dq2 += ds * kb[2 * kNV];
          dq3 += ds * kb[3 * kNV];
          dkb[0] += ds * qa[0];
          dkb[kNV] += ds * qa[kNV];
          dkb[2 * kNV] += ds * qa[2 * kNV];
          dkb[3 * kNV] += ds * qa[3 * kNV];
        }
        tmp[0 * kNV + j] = dq0 * scale;
        tmp[1 * kNV + j] = dq1 * scale;
        tmp[2 * kNV + j] = dq2 * scale;
        tmp[3 * kNV + j] = dq3 * scale;
      }
      FromLanes<V, kNV>(tmp, drow + a * 3 * d);
    }
    for (int64_t b = 0; b < g; ++b) {
      FromLanes<V, kNV>(dk + b * 4 * kNV, drow + b * 3 * d + d);
      for (int e = 0; e < 4; ++e) {
        for (int j = 0; j < kNV; ++j) tmp[e * kNV + j] = wbar[b * kNV + j] * gt[e * kNV + j];
      }
      FromLanes<V, kNV>(tmp, drow + b * 3 * d + 2 * d);
    }
  }
}

// The fast path, kNV vectors V a head group's lanes, Ops the primitives of its exp.
template <typename V, int kNV, typename Ops, bool kBackward>
HARDGNN_INLINE void FastRows(const Dims& s, const float* qkv, const float* gout, int64_t r0, int64_t r1, float* out,
                             float* scratch) {
  V* vs = reinterpret_cast<V*>(scratch);
  if constexpr (kBackward) {
    FastBackwardRows<V, kNV, Ops>(s, qkv, gout, r0, r1, out, vs);
  } else {
    FastForwardRows<V, kNV, Ops>(s, qkv, r0, r1, out, vs);
  }
}

// At 16 lanes, where the CPU has AVX-512 (cpu::UseWideVectors): vec_avx512.h's primitives.
template <bool kBackward>
HARDGNN_AVX512_FLATTEN void FastRowsWide(const Dims& s, const float* qkv, const float* gout, int64_t r0, int64_t r1,
                                         float* out, float* scratch) {
  FastRows<f16, 1, cpu::Avx512Ops, kBackward>(s, qkv, gout, r0, r1, out, scratch);
}

// At 8 lanes where the CPU has AVX2 and FMA: vec_avx2.h's primitives, the same bits as vec.h's
// in fewer instructions (0.71-0.83 of the attention's samples on an AMD Zen 3).
template <bool kBackward>
HARDGNN_AVX2_FLATTEN void FastRowsAvx2(const Dims& s, const float* qkv, const float* gout, int64_t r0, int64_t r1,
                                       float* out, float* scratch) {
  FastRows<f8, 2, cpu::Avx2Ops, kBackward>(s, qkv, gout, r0, r1, out, scratch);
}

// Whether the fast path applies.
template <typename T>
bool UseFastPath(const Dims& s) {
  return std::is_same_v<T, float> && s.dh == 4 && s.heads == 16 && s.g <= 64;
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
  if constexpr (std::is_same_v<T, float>) {
    if (UseFastPath<T>(s)) {
      if (cpu::UseWideVectors()) return FastRowsWide<kBackward>(s, qkv, gout, r0, r1, out, scratch);
      if (cpu::UseAvx2Math()) return FastRowsAvx2<kBackward>(s, qkv, gout, r0, r1, out, scratch);
      return FastRows<f8, 2, cpu::GenericOps, kBackward>(s, qkv, gout, r0, r1, out, scratch);
    }
  }
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

// One thread's scratch for AttentionRows, aligned to 64 bytes by hand: the fast path
// dereferences f8 (f16) pointers into it, and alignof(f8) is 16 in this (default-target) code
// but 32 in the AVX2 clone that uses it.
template <typename T, bool kBackward>
class RowScratch {
 public:
  explicit RowScratch(const Dims& s)
      : buf_((UseFastPath<T>(s) ? FastScratchVectors(s.g, s.heads / 8) * 8
                                : (kBackward ? BackwardScratch(s) : ForwardScratch(s))) +
             64 / sizeof(T)) {}
  T* data() { return reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(buf_.data()) + 63) & ~uintptr_t{63}); }

 private:
  std::vector<T> buf_;
};

template <typename T, bool kBackward>
void RunRows(const Dims& s, int64_t n, const T* qkv, const T* gout, T* out) {
  constexpr int64_t kRows = 64;  // rows a thread takes at a time
  cpu::ForEachIndexWith(
      cpu::DivUp(n, kRows), [&] { return RowScratch<T, kBackward>(s); },
      [&](RowScratch<T, kBackward>& scratch, int64_t c) {
        AttentionRows<T, kBackward>(s, qkv, gout, c * kRows, std::min(n, (c + 1) * kRows), out, scratch.data());
      });
}

// Without autograd (float): the projection and the pooled attention a chunk of items at a time
// (IntervalAttentionRows), in parallel over chunks.
at::Tensor IntervalAttentionWithoutGrad(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t heads) {
  const at::Tensor xc = x.contiguous(), wc = w.contiguous(), bc = b.contiguous();
  const int64_t n = xc.size(0), g = xc.size(1), d = xc.size(2), chunk = IntervalAttentionRows::ChunkItems(g);
  at::Tensor out = at::empty({n, d}, xc.options());
  const float* xp = xc.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const cpu::PackedWeight<float> packed = LinearWeight(wc.data_ptr<float>(), d, 3 * d);
  cpu::ForEachIndexWith(
      cpu::DivUp(n, chunk), [&] { return IntervalAttentionRows(g, d, heads, packed, bc.data_ptr<float>()); },
      [&](IntervalAttentionRows& rows, int64_t c) {
        const int64_t i0 = c * chunk, i1 = std::min(n, i0 + chunk);
        rows.Run(xp + i0 * g * d, i1 - i0, op + i0 * d);
      });
  return out;
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
    ScopedPhase phase("backward: interval attention");  // nested in the trainer's "backward" (--profile)
    const at::Tensor x = ctx->get_saved_variables()[0];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const int64_t n = x.size(0), d = x.size(2) / 3;
    const Dims s{x.size(1), heads, d / heads, x.stride(0), x.stride(1)};
    const at::Tensor gout = grads[0].contiguous();
    // The fast path reads each row whole before writing its gradient, so the gradient can take
    // the saved input's place when nothing else can read it afterwards: no other holder of the
    // tensor or its storage (the saved variable and `x` are the two references), and a graph
    // that is not kept for another backward. At the published Yelp shape that buffer is 177 MB
    // at the backward's peak.
    const bool reuse = UseFastPath<float>(s) && x.scalar_type() == at::kFloat && x.is_contiguous() &&
                       x.use_count() == 2 && x.storage().use_count() == 1 &&
                       !torch::autograd::get_current_graph_task_keep_graph();
    at::Tensor dqkv = reuse ? x : at::empty({n, s.g, 3 * d}, x.options());
    if (x.scalar_type() == at::kFloat) {
      RunRows<float, true>(s, n, x.data_ptr<float>(), gout.data_ptr<float>(), dqkv.data_ptr<float>());
    } else {
      RunRows<double, true>(s, n, x.data_ptr<double>(), gout.data_ptr<double>(), dqkv.data_ptr<double>());
    }
    return {dqkv, at::Tensor()};
  }
};

}  // namespace

int64_t IntervalAttentionRows::ChunkItems(int64_t g) { return std::lcm(kLinearRowBlock, g) / g; }

IntervalAttentionRows::IntervalAttentionRows(int64_t g, int64_t d, int64_t heads,
                                             const cpu::PackedWeight<float>& w_qkv, const float* b_qkv)
    : g_(g), d_(d), heads_(heads), w_(w_qkv), b_(b_qkv), qkv_(ChunkItems(g) * g * 3 * d) {}

// Each chunk's Q, K and V stay in cache rather than being written as one [N, G, 3d] tensor and
// read back. A chunk is lcm(kLinearRowBlock, G) positions, whole blocks of Linear's forward,
// and each block is Linear's own GEMM call (LinearForwardRows): the same bits as Linear then
// PooledAttention.
void IntervalAttentionRows::Run(const float* x, int64_t items, float* out) {
  const Dims s{g_, heads_, d_ / heads_, g_ * 3 * d_, 3 * d_};
  RowScratch<float, false> scratch(s);
  const int64_t chunk = ChunkItems(g_);
  for (int64_t i0 = 0; i0 < items; i0 += chunk) {
    const int64_t i1 = std::min(items, i0 + chunk);
    LinearForwardRows(0, (i1 - i0) * g_, d_, x + i0 * g_ * d_, w_, b_, qkv_.data());
    AttentionRows<float, false>(s, qkv_.data(), nullptr, 0, i1 - i0, out + i0 * d_, scratch.data());
  }
}

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
  Check(heads > 0 && x.size(2) % heads == 0, "d must be a multiple of heads");
  Check(x.size(1) > 0, "G must be positive");
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || w_qkv.requires_grad() || b_qkv.requires_grad());
  const bool floats = x.scalar_type() == at::kFloat && w_qkv.scalar_type() == at::kFloat && b_qkv.scalar_type() == at::kFloat;
  if (!grad && floats) return IntervalAttentionWithoutGrad(x, w_qkv, b_qkv, heads);
  return PooledAttention(Linear(x, w_qkv, b_qkv), heads);
}

at::Tensor IntervalAttention(const at::Tensor& x, const at::Tensor& w_q, const at::Tensor& w_k, const at::Tensor& w_v,
                             const at::Tensor& b_q, const at::Tensor& b_k, const at::Tensor& b_v, int64_t heads) {
  return IntervalAttention(x, at::cat({w_q, w_k, w_v}, 1), at::cat({b_q, b_k, b_v}), heads);
}

}  // namespace hardgnn::selfgnn
