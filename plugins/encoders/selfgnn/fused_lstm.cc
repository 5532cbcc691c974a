#include "plugins/encoders/selfgnn/fused_lstm.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/cpu/blas.h"
#include "core/cpu/kernel_path.h"
#include "core/cpu/parallel.h"
#include "core/cpu/reduce.h"
#include "core/cpu/vec.h"
#include "core/cpu/vec_avx2.h"
#include "core/cpu/vec_avx512.h"
#include "core/model/profile.h"
#include "plugins/encoders/selfgnn/layer_norm.h"

namespace hardgnn::selfgnn {
namespace {

using cpu::LoadV;
using cpu::SplatV;
using cpu::StoreV;

// Rows per block of the blocked recurrence: the block's gates (kRowBlock x 4h) and the weights
// stay in L2 across the per-step GEMM and the fused pass. Fixed (not derived from the thread
// count), so results do not depend on it.
constexpr int64_t kRowBlock = kLstmRowBlock;

// Shapes and strides of one call.
struct Dims {
  int64_t n, g, din, h;
  int64_t sxn, sxg;  // x strides (elements) over rows and steps
};

// The output's row dropout (RowDropoutRows' arguments), float only; none where keys is null.
struct OutputMask {
  const int64_t* keys = nullptr;  // one per row of the call
  double p = 0;
  uint64_t seed = 0;
  bool Applies() const { return keys != nullptr; }
};

// The mask of a call's dropout (keys: contiguous int64, one per row), none where p = 0.
OutputMask MaskOf(double p, uint64_t seed, const at::Tensor& keys) {
  return p == 0 ? OutputMask{} : OutputMask{keys.data_ptr<int64_t>(), p, seed};
}

// The block layer norm after the output's dropout (FusedLstmLayerNorm), float only: γ, β, ε and
// the rows' means and 1/σ (written by the forward, read by the backward); none where gamma is null.
struct OutputNorm {
  const float* gamma = nullptr;
  const float* beta = nullptr;
  double eps = 0;
  float* mean = nullptr;
  float* rstd = nullptr;
  bool Applies() const { return gamma != nullptr; }
};

// The norm of a call, none where gamma is empty; its statistics are [N] tensors. The backward
// passes no beta (undefined) and eps 0: it reads γ and the statistics only.
OutputNorm NormOf(const at::Tensor& gamma, const at::Tensor& beta, double eps, const at::Tensor& mean,
                  const at::Tensor& rstd) {
  if (gamma.numel() == 0) return {};
  return {gamma.data_ptr<float>(), beta.defined() ? beta.data_ptr<float>() : nullptr, eps, mean.data_ptr<float>(),
          rstd.data_ptr<float>()};
}

// Rows [n0, n0 + rows) of the output (rows of G·h values) normalized in place.
template <typename T>
void NormRows(const OutputNorm& norm, T* out, int64_t n0, int64_t rows, int64_t g, int64_t h) {
  if constexpr (std::is_same_v<T, float>) {
    BlockLayerNormRowsInPlace(out, rows, g, h, norm.gamma, norm.beta, norm.eps, norm.mean + n0, norm.rstd + n0);
  } else {
    throw std::logic_error("FusedLstm: the fused layer norm is float only");
  }
}

// The norm's backward on rows [n0, n0 + rows): x its input (the masked output), gy its output's
// gradient; dx the input's gradient, or the rows' γ/β terms added into part.
template <typename T>
void NormDx(const OutputNorm& norm, const T* x, const T* gy, T* dx, int64_t n0, int64_t rows, int64_t g, int64_t h) {
  if constexpr (std::is_same_v<T, float>) {
    BlockLayerNormRowsDx(rows, g, h, x, norm.gamma, norm.mean + n0, norm.rstd + n0, gy, dx);
  } else {
    throw std::logic_error("FusedLstm: the fused layer norm is float only");
  }
}
template <typename T>
void NormPartials(const OutputNorm& norm, const T* x, const T* gy, T* part, int64_t n0, int64_t rows, int64_t g,
                  int64_t h) {
  if constexpr (std::is_same_v<T, float>) {
    BlockLayerNormRowsAddPartials(rows, g, h, x, norm.mean + n0, norm.rstd + n0, gy, part);
  } else {
    throw std::logic_error("FusedLstm: the fused layer norm is float only");
  }
}

// Rows [n0, n0 + rows) of the output or its gradient (rows of G·h values from src) masked into dst.
template <typename T>
void MaskRows(const OutputMask& mask, const T* src, T* dst, int64_t n0, int64_t rows, int64_t width) {
  if constexpr (std::is_same_v<T, float>) {
    RowDropoutRows(src, dst, rows, width, mask.keys + n0, mask.p, mask.seed);
  } else {
    throw std::logic_error("FusedLstm: the fused dropout is float only");
  }
}

// One step of the cell for `rows` rows, in place on the gate pre-activations `a` (row stride
// a_stride, [i | j | f | o] without the bias), which become the activations σ(i), tanh(j),
// σ(f + forget_bias), σ(o). c_prev may be null (zero state). Where tc is set, tanh(c_t) goes
// there too (row stride c_stride). Ops: the primitives of σ and tanh (vec.h, vec_avx2.h).
template <typename V, typename Ops = cpu::GenericOps>
HARDGNN_INLINE void CellForwardWith(int64_t rows, int64_t h, typename cpu::Lanes<V>::T* a, int64_t a_stride,
                                    const typename cpu::Lanes<V>::T* c_prev, typename cpu::Lanes<V>::T* c,
                                    int64_t c_stride, typename cpu::Lanes<V>::T* tc, typename cpu::Lanes<V>::T* out,
                                    int64_t out_stride, const typename cpu::Lanes<V>::T* bias,
                                    typename cpu::Lanes<V>::T forget_bias) {
  constexpr int L = cpu::Lanes<V>::kN;
  const V fb = SplatV<V>(forget_bias);
  for (int64_t r = 0; r < rows; ++r) {
    auto* ar = a + r * a_stride;
    for (int64_t k = 0; k < h; k += L) {
      const V i = cpu::SigmoidWith<Ops>(LoadV<V>(ar + k) + LoadV<V>(bias + k));
      const V j = cpu::TanhWith<Ops>(LoadV<V>(ar + h + k) + LoadV<V>(bias + h + k));
      const V f = cpu::SigmoidWith<Ops>(LoadV<V>(ar + 2 * h + k) + LoadV<V>(bias + 2 * h + k) + fb);
      const V o = cpu::SigmoidWith<Ops>(LoadV<V>(ar + 3 * h + k) + LoadV<V>(bias + 3 * h + k));
      const V cp = c_prev != nullptr ? LoadV<V>(c_prev + r * c_stride + k) : V{};
      const V cn = cp * f + i * j;
      StoreV<V>(ar + k, i);
      StoreV<V>(ar + h + k, j);
      StoreV<V>(ar + 2 * h + k, f);
      StoreV<V>(ar + 3 * h + k, o);
      StoreV<V>(c + r * c_stride + k, cn);
      const V t = cpu::TanhWith<Ops>(cn);
      if (tc != nullptr) StoreV<V>(tc + r * c_stride + k, t);
      StoreV<V>(out + r * out_stride + k, t * o);
    }
  }
}

HARDGNN_AVX512_FLATTEN void CellForwardWide(int64_t rows, int64_t h, float* a, int64_t a_stride, const float* c_prev,
                                            float* c, int64_t c_stride, float* tc, float* out, int64_t out_stride,
                                            const float* bias, float forget_bias) {
  CellForwardWith<cpu::f16, cpu::Avx512Ops>(rows, h, a, a_stride, c_prev, c, c_stride, tc, out, out_stride, bias,
                                            forget_bias);
}

// Float cells take 16 lanes where the CPU has AVX-512 (the same bits: each lane's arithmetic is
// the 8-lane path's); else the forward's take 8 in code compiled for AVX2 where the CPU has it
// (vec_avx2.h: the same bits, a fifth fewer of its samples on an AMD Zen 3; the backward's one
// tanh an element gained nothing there).
bool WideCell(int64_t h) { return h % cpu::Lanes<cpu::f16>::kN == 0 && cpu::UseWideVectors(); }
bool Avx2Cell(int64_t h) { return h % cpu::Lanes<cpu::f8>::kN == 0 && cpu::UseAvx2Math(); }

HARDGNN_AVX2_FLATTEN void CellForwardAvx2(int64_t rows, int64_t h, float* a, int64_t a_stride, const float* c_prev,
                                          float* c, int64_t c_stride, float* tc, float* out, int64_t out_stride,
                                          const float* bias, float forget_bias) {
  CellForwardWith<cpu::f8, cpu::Avx2Ops>(rows, h, a, a_stride, c_prev, c, c_stride, tc, out, out_stride, bias,
                                         forget_bias);
}

template <typename T>
HARDGNN_SIMD_CLONES void CellForward(int64_t rows, int64_t h, T* a, int64_t a_stride, const T* c_prev, T* c,
                                     int64_t c_stride, T* tc, T* out, int64_t out_stride, const T* bias,
                                     T forget_bias) {
  if constexpr (std::is_same_v<T, float>) {
    if (WideCell(h)) {
      return CellForwardWide(rows, h, a, a_stride, c_prev, c, c_stride, tc, out, out_stride, bias, forget_bias);
    }
    if (Avx2Cell(h)) {
      return CellForwardAvx2(rows, h, a, a_stride, c_prev, c, c_stride, tc, out, out_stride, bias, forget_bias);
    }
  }
  if (h % cpu::kLanes<T> == 0) {
    CellForwardWith<cpu::Vec<T>>(rows, h, a, a_stride, c_prev, c, c_stride, tc, out, out_stride, bias, forget_bias);
  } else {
    CellForwardWith<T>(rows, h, a, a_stride, c_prev, c, c_stride, tc, out, out_stride, bias, forget_bias);
  }
}

// c_t of `rows` rows (row stride h) from the activations CellForward left (row stride a_stride)
// and c_{t-1} (null: zero state): the backward's, instead of a kept [N, G, h] buffer of c. The
// same expression in code compiled for the same target as the CellForward that ran, so that
// the compiler fuses its multiply-adds alike and the bits are CellForward's.
template <typename V>
HARDGNN_INLINE void CellStatesWith(int64_t rows, int64_t h, const typename cpu::Lanes<V>::T* a, int64_t a_stride,
                                   const typename cpu::Lanes<V>::T* c_prev, typename cpu::Lanes<V>::T* c) {
  constexpr int L = cpu::Lanes<V>::kN;
  for (int64_t r = 0; r < rows; ++r) {
    const auto* ar = a + r * a_stride;
    for (int64_t k = 0; k < h; k += L) {
      const V i = LoadV<V>(ar + k), j = LoadV<V>(ar + h + k), f = LoadV<V>(ar + 2 * h + k);
      const V cp = c_prev != nullptr ? LoadV<V>(c_prev + r * h + k) : V{};
      StoreV<V>(c + r * h + k, cp * f + i * j);
    }
  }
}

HARDGNN_AVX512 void CellStatesWide(int64_t rows, int64_t h, const float* a, int64_t a_stride, const float* c_prev,
                                   float* c) {
  CellStatesWith<cpu::f16>(rows, h, a, a_stride, c_prev, c);
}
HARDGNN_AVX2_FLATTEN void CellStatesAvx2(int64_t rows, int64_t h, const float* a, int64_t a_stride,
                                         const float* c_prev, float* c) {
  CellStatesWith<cpu::f8>(rows, h, a, a_stride, c_prev, c);
}

// The dispatch of CellForward.
template <typename T>
HARDGNN_SIMD_CLONES void CellStates(int64_t rows, int64_t h, const T* a, int64_t a_stride, const T* c_prev, T* c) {
  if constexpr (std::is_same_v<T, float>) {
    if (WideCell(h)) return CellStatesWide(rows, h, a, a_stride, c_prev, c);
    if (Avx2Cell(h)) return CellStatesAvx2(rows, h, a, a_stride, c_prev, c);
  }
  if (h % cpu::kLanes<T> == 0) {
    CellStatesWith<cpu::Vec<T>>(rows, h, a, a_stride, c_prev, c);
  } else {
    CellStatesWith<T>(rows, h, a, a_stride, c_prev, c);
  }
}

// One step backwards for `rows` rows: what it reads and writes (strides in elements).
template <typename T>
struct CellBackwardArgs {
  const T* a;  // activations, as CellForward left them
  int64_t a_stride;
  const T* tc;      // tanh(c_t) as the forward computed it ([rows, h])
  const T* c_prev;  // c_{t-1}; null at t = 0
  int64_t c_stride;
  const T* gh;  // the output gradient of h_t
  int64_t gh_stride;
  const T* dh_rec;  // the recurrent gradient of h_t; null at the last step
  int64_t dh_stride;
  T* dc;  // [rows, h]: the cell gradient carried from step t+1, updated in place to c_{t-1}'s
  T* dg;  // out: the gradients of the pre-activations
  int64_t dg_stride;
  // Where set, also h_t = tanh(c_t)·o_t as CellForward computed it (the same product, so the
  // same bits), for the weight gradient's [x_{t+1} | h_t] rows, without keeping the [N, G, h]
  // output or a second pass.
  T* h_out = nullptr;
  int64_t h_out_stride = 0;
};

template <typename V>
HARDGNN_INLINE void CellBackwardWith(int64_t rows, int64_t h, const CellBackwardArgs<typename cpu::Lanes<V>::T>& x) {
  constexpr int L = cpu::Lanes<V>::kN;
  const V one = SplatV<V>(1);
  for (int64_t r = 0; r < rows; ++r) {
    const auto* ar = x.a + r * x.a_stride;
    auto* dgr = x.dg + r * x.dg_stride;
    for (int64_t k = 0; k < h; k += L) {
      const V i = LoadV<V>(ar + k), j = LoadV<V>(ar + h + k), f = LoadV<V>(ar + 2 * h + k),
              o = LoadV<V>(ar + 3 * h + k);
      const V tc = LoadV<V>(x.tc + r * h + k);
      if (x.h_out != nullptr) StoreV<V>(x.h_out + r * x.h_out_stride + k, tc * o);
      V dh = LoadV<V>(x.gh + r * x.gh_stride + k);
      if (x.dh_rec != nullptr) dh += LoadV<V>(x.dh_rec + r * x.dh_stride + k);
      const V dcell = LoadV<V>(x.dc + r * h + k) + dh * o * (one - tc * tc);
      const V cp = x.c_prev != nullptr ? LoadV<V>(x.c_prev + r * x.c_stride + k) : V{};
      StoreV<V>(dgr + k, dcell * j * i * (one - i));
      StoreV<V>(dgr + h + k, dcell * i * (one - j * j));
      StoreV<V>(dgr + 2 * h + k, dcell * cp * f * (one - f));
      StoreV<V>(dgr + 3 * h + k, dh * tc * o * (one - o));
      StoreV<V>(x.dc + r * h + k, dcell * f);
    }
  }
}

HARDGNN_AVX512 void CellBackwardWide(int64_t rows, int64_t h, const CellBackwardArgs<float>& x) {
  CellBackwardWith<cpu::f16>(rows, h, x);
}

template <typename T>
HARDGNN_SIMD_CLONES void CellBackward(int64_t rows, int64_t h, const CellBackwardArgs<T>& x) {
  if constexpr (std::is_same_v<T, float>) {
    if (WideCell(h)) return CellBackwardWide(rows, h, x);
  }
  if (h % cpu::kLanes<T> == 0) {
    CellBackwardWith<cpu::Vec<T>>(rows, h, x);
  } else {
    CellBackwardWith<T>(rows, h, x);
  }
}

// Copies the rows x_t + ids[r] * sxn (din values each) into xs [rows, din].
template <typename T>
void GatherInputs(int64_t rows, const T* x_t, int64_t sxn, const int64_t* ids, int64_t din, T* xs) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(x_t + ids[r] * sxn, din, xs + r * din);
}

// h_t = tanh(c_t)·o_t for `rows` rows from the forward's tanh(c_t) (tc, row stride h) and σ(o)
// as CellForward left it (row stride o_stride): CellForward's product, so its bits, before the
// recurrence: into h (row stride h_stride) and, where set, into h2 (row stride h2_stride).
template <typename V>
HARDGNN_INLINE void CellOutputsWith(int64_t rows, int64_t h, const typename cpu::Lanes<V>::T* o, int64_t o_stride,
                                    const typename cpu::Lanes<V>::T* tc, typename cpu::Lanes<V>::T* h_out,
                                    int64_t h_stride, typename cpu::Lanes<V>::T* h2, int64_t h2_stride) {
  constexpr int L = cpu::Lanes<V>::kN;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < h; k += L) {
      const V hv = LoadV<V>(tc + r * h + k) * LoadV<V>(o + r * o_stride + k);
      StoreV<V>(h_out + r * h_stride + k, hv);
      if (h2 != nullptr) StoreV<V>(h2 + r * h2_stride + k, hv);
    }
  }
}

template <typename T>
HARDGNN_SIMD_CLONES void CellOutputs(int64_t rows, int64_t h, const T* o, int64_t o_stride, const T* tc, T* h_out,
                                     int64_t h_stride, T* h2, int64_t h2_stride) {
  if (h % cpu::kLanes<T> == 0) {
    CellOutputsWith<cpu::Vec<T>>(rows, h, o, o_stride, tc, h_out, h_stride, h2, h2_stride);
  } else {
    CellOutputsWith<T>(rows, h, o, o_stride, tc, h_out, h_stride, h2, h2_stride);
  }
}

// The saved gate activations and cells' tanh(c_t) are internal, stored block-major so that
// every per-step access is contiguous: acts [num_blocks][G][kRowBlock][4h], cells
// [num_blocks][G][kRowBlock][h] (the last block padded).
int64_t NumBlocks(int64_t n) { return cpu::DivUp(n, kRowBlock); }
int64_t BlockOffset(int64_t n0, int64_t g, int64_t t, int64_t width) {
  return ((n0 / kRowBlock * g + t) * kRowBlock) * width;
}

// c_t of every step of the block of `rows` rows at n0 (g steps, h units), from its kept
// activations (acts, laid out by BlockOffset), into cs [g][kRowBlock][h]: the backward's states,
// which the forward does not keep.
template <typename T>
void BlockCellStates(int64_t n0, int64_t rows, int64_t g, int64_t h, const T* acts, T* cs) {
  for (int64_t t = 0; t < g; ++t) {
    T* c = cs + t * kRowBlock * h;
    CellStates<T>(rows, h, acts + BlockOffset(n0, g, t, 4 * h), 4 * h, t > 0 ? c - kRowBlock * h : nullptr, c);
  }
}

// The norm's part of the backward for the block of rows [n0, n0 + rows), before its recurrence:
// its output as the forward left it before the norm (h_t from the saved tanh(c_t) and σ(o),
// then the mask) into normed (rows of G·h), h_t into xh's h columns of step t + 1 (rows of
// G·(d_in + h), for the weight gradient), and the norm's backward of gout (the block's rows of
// the norm's output gradient): the LSTM output's gradient into gnormed.
template <typename T>
void NormBackwardRows(const Dims& s, int64_t n0, int64_t rows, const T* acts, const T* cells, const T* gout,
                      const OutputMask& mask, const OutputNorm& norm, T* normed, T* gnormed, T* xh) {
  const int64_t h4 = 4 * s.h, k = s.din + s.h, out_stride = s.g * s.h;
  for (int64_t t = 0; t < s.g; ++t) {
    CellOutputs<T>(rows, s.h, acts + BlockOffset(n0, s.g, t, h4) + 3 * s.h, h4, cells + BlockOffset(n0, s.g, t, s.h),
                   normed + t * s.h, out_stride, t + 1 < s.g ? xh + (t + 1) * k + s.din : nullptr, s.g * k);
  }
  if (mask.Applies()) MaskRows(mask, normed, normed, n0, rows, out_stride);
  NormDx(norm, normed, gout, gnormed, n0, rows, s.g, s.h);
}

// One block of the forward, rows [n0, n1) (n0 a multiple of kRowBlock): row n's step-t input
// at x + row(n) * sxn + t * sxg, row(n) = ids ? ids[n] : n; out: row n0's output. Per step:
// gates = [x_t | h_{t-1}] · kernel (one GEMM, K = d_in + h, the two read side by side; d_in at
// t = 0), then the fused cell pass. acts and cells null (nothing needs a gradient): the block's
// step activations and cells live in scratch reused from step to step instead of [N, G, 5h]
// buffers kept for the backward pass; the arithmetic, and so every output bit, is the same.
template <typename T>
void ForwardBlock(const Dims& s, int64_t n0, int64_t n1, const T* x, const int64_t* ids, const cpu::PackedWeight<T>& w,
                  const T* bias, T forget_bias, T* acts, T* cells, T* out, const OutputMask& mask = {},
                  const OutputNorm& norm = {}, T* states = nullptr) {
  const int64_t h4 = 4 * s.h, out_stride = s.g * s.h, rows = n1 - n0;
  const bool keep = acts != nullptr;
  const T* x_rows = ids != nullptr ? x : x + n0 * s.sxn;
  // A thread's scratch, kept from block to block (every element is written before it is read).
  thread_local std::vector<T> xs, scratch;
  // Sized on every path, though only ids reads it: first allocated in the evaluation instead,
  // it raised an 8-step training run's resident peak by 86 MB (tcmalloc; commit 967ee63).
  xs.resize(rows * s.din);
  scratch.resize(kRowBlock * (h4 + 2 * s.h));  // the activations where not kept, and c_{t-1}, c_t
  for (int64_t t = 0; t < s.g; ++t) {
    T* a = keep ? acts + BlockOffset(n0, s.g, t, h4) : scratch.data();
    T* c = scratch.data() + kRowBlock * (h4 + (t % 2) * s.h);
    const T* c_prev = t == 0 ? nullptr : scratch.data() + kRowBlock * (h4 + ((t - 1) % 2) * s.h);
    // Kept: tanh(c_t), which the backward reads instead of computing it again (and c_t, which it
    // recomputes from the activations: CellStates).
    T* tc = keep ? cells + BlockOffset(n0, s.g, t, s.h) : nullptr;
    T* o = out + t * s.h;
    // x_t's rows (gathered first where ids picks them) and h_{t-1}'s, read side by side.
    const T* x_t = x_rows + t * s.sxg;
    int64_t ldx = s.sxn;
    if (ids != nullptr) {
      GatherInputs(rows, x_t, s.sxn, ids + n0, s.din, xs.data());
      x_t = xs.data();
      ldx = s.din;
    }
    if (t == 0) {
      w.Times(rows, s.din, x_t, ldx, a, h4);
    } else {
      w.TimesSideBySide(rows, x_t, ldx, s.din, o - s.h, out_stride, s.h, a, h4);
    }
    CellForward<T>(rows, s.h, a, h4, c_prev, c, s.h, tc, o, out_stride, bias, forget_bias);
    if (states != nullptr) std::copy_n(c, rows * s.h, states + BlockOffset(n0, s.g, t, s.h));  // tests
  }
  // After the last step: the steps read h_{t-1} unmasked.
  if (mask.Applies()) MaskRows(mask, out, out, n0, rows, out_stride);
  if (norm.Applies()) NormRows(norm, out, n0, rows, s.g, s.h);
}

// Forward over blocks of rows, in parallel over blocks fixed independently of the thread count,
// every GEMM single-threaded inside the loop, so results do not depend on the thread count.
template <typename T>
void Forward(const Dims& s, const T* x, const T* w, const T* bias, T forget_bias, T* acts, T* cells, T* out,
             const OutputMask& mask, const OutputNorm& norm, T* states = nullptr) {
  const cpu::PackedWeight<T> packed = FusedLstmKernel(w, s.din, s.h);
  cpu::ForEachChunk(s.n, kRowBlock, [&](int64_t n0, int64_t n1, int64_t) {
    ForwardBlock(s, n0, n1, x, nullptr, packed, bias, forget_bias, acts, cells, out + n0 * s.g * s.h, mask, norm,
                 states);
  });
}

// The output alone, for calls that record no gradient (evaluation; the item rows HardGNN's miner
// reads but no loss does).
at::Tensor ForwardOnly(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias,
                       const OutputMask& mask, const at::Tensor& gamma, const at::Tensor& beta, double eps) {
  const at::Tensor w = kernel.contiguous(), b = bias.contiguous();
  const at::Tensor xs = x.stride(2) == 1 ? x : x.contiguous();
  const Dims s{xs.size(0), xs.size(1), xs.size(2), w.size(1) / 4, xs.stride(0), xs.stride(1)};
  at::Tensor out = at::empty({s.n, s.g, s.h}, xs.options());
  at::Tensor mean = at::empty({gamma.numel() > 0 ? s.n : 0}, xs.options()), rstd = at::empty_like(mean);
  const OutputNorm norm = NormOf(gamma, beta, eps, mean, rstd);
  if (xs.scalar_type() == at::kFloat) {
    Forward<float>(s, xs.data_ptr<float>(), w.data_ptr<float>(), b.data_ptr<float>(), static_cast<float>(forget_bias),
                   nullptr, nullptr, out.data_ptr<float>(), mask, norm);
  } else {
    Forward<double>(s, xs.data_ptr<double>(), w.data_ptr<double>(), b.data_ptr<double>(), forget_bias, nullptr, nullptr,
                    out.data_ptr<double>(), mask, norm);
  }
  return out;
}

// Rows per group of the backward: a group's blocks accumulate one partial weight gradient, in
// block order; partials are summed in group order (thread-count independent).
constexpr int64_t kGroupRows = 4 * kRowBlock;
constexpr int64_t kBlocksPerGroup = kGroupRows / kRowBlock;

// Backward over blocks of rows. Per block, the recurrence runs backwards over the steps with
// one fused cell pass and one GEMM dh_{t-1} = dg_t · W_hᵀ per step, keeping the block's gate
// gradients dg for all steps ([rows][G][4h], ~1.5 MB). Then, per block, one GEMM each:
// dx = dg · W_xᵀ (written in place: the block's rows of dx are contiguous in the same order),
// dkernel += [x | h_prev]ᵀ · dg (K = rows·G; h_prev written by the recurrence's cell passes), and
// dbias += colsum(dg), the last two into the block's group's partial when its turn comes. Blocks
// are taken round the groups (block j of every group, then block j + 1), so threads mostly work
// on different groups and seldom wait for a turn; a call of one group (the batch's users)
// still runs its blocks' recurrences in parallel.
//
// Under the layer norm (norm), each block first recomputes its output as the forward left it
// before the norm (h_t from the saved cells and σ(o), then the mask), takes the norm's backward
// on its rows (its gradient, gout, becomes the LSTM output's), and adds the rows' γ/β terms into
// the norm's partial of kBlockLayerNormChunkRows rows in its turn: a chunk is whole blocks of one
// group, which take their turns in row order, so the partials are BlockLayerNorm's. dgb: dγ then dβ.
template <typename T>
void Backward(const Dims& s, const T* x, const T* w, const T* acts, const T* cells, const T* gout, T* dx, T* dw, T* db,
              const OutputMask& mask, const OutputNorm& norm, T* dgb) {
  static_assert(kGroupRows % kBlockLayerNormChunkRows == 0 && kBlockLayerNormChunkRows % kRowBlock == 0);
  const int64_t h4 = 4 * s.h, k = s.din + s.h, dg_stride = s.g * h4, out_stride = s.g * s.h;
  const int64_t width = k * h4 + h4;  // one partial: dkernel then dbias
  const int64_t groups = cpu::DivUp(s.n, kGroupRows);
  const cpu::TransposedWeight<T> w_h(w + s.din * h4, h4, s.h, h4), w_x(w, h4, s.din, h4);  // dh, dx: · Wᵀ
  cpu::ChunkPartials<T> partial(groups, width);
  cpu::ChunkPartials<T> norm_partial(norm.Applies() ? cpu::DivUp(s.n, kBlockLayerNormChunkRows) : 0, 2 * s.h);
  cpu::OrderedTurns turns(groups);  // a group's blocks add into its partial in order
  cpu::ForEachIndex(groups * kBlocksPerGroup, [&](int64_t ticket) {
    const int64_t group = ticket % groups, j = ticket / groups, n0 = group * kGroupRows + j * kRowBlock;
    if (n0 >= s.n) return;  // the last group's missing blocks
    const int64_t rows = std::min(kRowBlock, s.n - n0), m = rows * s.g;  // m: the block's (row, step) pairs
    // A thread's scratch, kept from call to call (as ForwardBlock's): fresh vectors were zeroed,
    // and their pages faulted in, for every block, though every element is written before it is read.
    thread_local std::vector<T> dc, dh, dg, xh, gmasked, cs, normed, gnormed;
    turns.InTurn(
        group, j,
        [&] {
          xh.resize(kRowBlock * s.g * k);
          // The block's output gradient (rows of G·h), through the norm and the dropout's mask.
          const T* g_block = gout + n0 * out_stride;
          if (norm.Applies()) {
            normed.resize(kRowBlock * out_stride);
            gnormed.resize(kRowBlock * out_stride);
            NormBackwardRows(s, n0, rows, acts, cells, g_block, mask, norm, normed.data(), gnormed.data(), xh.data());
            g_block = gnormed.data();
          }
          if (mask.Applies()) {
            gmasked.resize(kRowBlock * out_stride);
            MaskRows(mask, g_block, gmasked.data(), n0, rows, out_stride);
            g_block = gmasked.data();
          }
          dc.assign(kRowBlock * s.h, T(0));
          dh.resize(kRowBlock * s.h);
          dg.resize(kRowBlock * dg_stride);
          cs.resize(s.g * kRowBlock * s.h);
          BlockCellStates(n0, rows, s.g, s.h, acts, cs.data());
          for (int64_t t = s.g - 1; t >= 0; --t) {
            const T* c_prev = t > 0 ? cs.data() + (t - 1) * kRowBlock * s.h : nullptr;
            const bool last = t + 1 == s.g, have_h = norm.Applies();  // CellOutputs wrote h_t
            CellBackward<T>(rows, s.h,
                            {acts + BlockOffset(n0, s.g, t, h4), h4, cells + BlockOffset(n0, s.g, t, s.h),
                             c_prev, s.h, g_block + t * s.h, out_stride,
                             last ? nullptr : dh.data(), s.h, dc.data(), dg.data() + t * h4, dg_stride,
                             last || have_h ? nullptr : xh.data() + (t + 1) * k + s.din,  // h_t: step t+1's rows of xh
                             s.g * k});
            if (t > 0) w_h.Times(rows, dg.data() + t * h4, dg_stride, dh.data(), s.h);
          }
          w_x.Times(m, dg.data(), h4, dx + n0 * s.g * s.din, s.din);  // rows of dx in x's (row, step) order
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t t = 0; t < s.g; ++t) {
              T* dst = xh.data() + (r * s.g + t) * k;
              std::copy_n(x + (n0 + r) * s.sxn + t * s.sxg, s.din, dst);
              if (t == 0) std::fill_n(dst + s.din, s.h, T(0));
            }
          }
        },
        [&] {
          T* dw_part = partial.Chunk(group);
          cpu::Gemm(true, false, k, h4, m, T(1), xh.data(), k, dg.data(), h4, T(1), dw_part, h4);
          cpu::AddColumnSums(m, h4, dg.data(), h4, dw_part + k * h4);
          if (norm.Applies()) {
            NormPartials(norm, normed.data(), gout + n0 * out_stride, norm_partial.Chunk(n0 / kBlockLayerNormChunkRows),
                         n0, rows, s.g, s.h);
          }
        });
  });
  std::vector<T> sum(width);
  partial.SumInto(sum.data(), /*accumulate=*/false);
  std::copy_n(sum.data(), k * h4, dw);
  std::copy_n(sum.data() + k * h4, h4, db);
  if (norm.Applies()) norm_partial.SumInto(dgb, /*accumulate=*/false);
}

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("FusedLstm: " + what);
}

// p = 0: no dropout (seed and keys unused); gamma empty: no layer norm (beta and eps unused).
struct FusedLstmFunction : public torch::autograd::Function<FusedLstmFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& kernel,
                            const at::Tensor& bias, double forget_bias, double p, int64_t seed, const at::Tensor& keys,
                            const at::Tensor& gamma, const at::Tensor& beta, double eps) {
    const OutputMask mask = MaskOf(p, static_cast<uint64_t>(seed), keys);
    const at::Tensor w = kernel.contiguous(), b = bias.contiguous();
    at::Tensor xs = x.stride(2) == 1 ? x : x.contiguous();
    const Dims s{xs.size(0), xs.size(1), xs.size(2), w.size(1) / 4, xs.stride(0), xs.stride(1)};
    const auto opt = xs.options();
    const int64_t padded = NumBlocks(s.n) * kRowBlock;
    at::Tensor acts = at::empty({padded, s.g, 4 * s.h}, opt);  // block-major inside, see BlockOffset
    at::Tensor cells = at::empty({padded, s.g, s.h}, opt);
    at::Tensor out = at::empty({s.n, s.g, s.h}, opt);
    at::Tensor mean = at::empty({gamma.numel() > 0 ? s.n : 0}, opt), rstd = at::empty_like(mean);
    const OutputNorm norm = NormOf(gamma, beta, eps, mean, rstd);
    if (xs.scalar_type() == at::kFloat) {
      Forward<float>(s, xs.data_ptr<float>(), w.data_ptr<float>(), b.data_ptr<float>(), static_cast<float>(forget_bias),
                     acts.data_ptr<float>(), cells.data_ptr<float>(), out.data_ptr<float>(), mask, norm);
    } else {
      Forward<double>(s, xs.data_ptr<double>(), w.data_ptr<double>(), b.data_ptr<double>(), forget_bias,
                      acts.data_ptr<double>(), cells.data_ptr<double>(), out.data_ptr<double>(), mask, norm);
    }
    // Not out: the backward's cell pass writes h again (and, under the norm, it is the norm's output).
    ctx->save_for_backward({xs, w, acts, cells, gamma, mean, rstd});
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["keys"] = keys;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    ScopedPhase phase("backward: fused LSTM");  // nested in the trainer's "backward" (--profile)
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &xs = saved[0], &w = saved[1], &acts = saved[2], &cells = saved[3], &gamma = saved[4];
    const at::Tensor gout = grads[0].contiguous();
    const Dims s{xs.size(0), xs.size(1), xs.size(2), w.size(1) / 4, xs.stride(0), xs.stride(1)};
    at::Tensor dx = at::empty({s.n, s.g, s.din}, xs.options());
    at::Tensor dw = at::empty_like(w);
    at::Tensor db = at::empty({4 * s.h}, w.options());
    at::Tensor dgb = at::empty({2 * gamma.numel()}, w.options());  // dγ then dβ
    const at::Tensor keys = ctx->saved_data["keys"].toTensor();
    const OutputMask mask =
        MaskOf(ctx->saved_data["p"].toDouble(), static_cast<uint64_t>(ctx->saved_data["seed"].toInt()), keys);
    const OutputNorm norm = NormOf(gamma, at::Tensor(), 0, saved[5], saved[6]);
    if (xs.scalar_type() == at::kFloat) {
      Backward<float>(s, xs.data_ptr<float>(), w.data_ptr<float>(), acts.data_ptr<float>(), cells.data_ptr<float>(),
                      gout.data_ptr<float>(), dx.data_ptr<float>(), dw.data_ptr<float>(), db.data_ptr<float>(), mask,
                      norm, dgb.data_ptr<float>());
    } else {
      Backward<double>(s, xs.data_ptr<double>(), w.data_ptr<double>(), acts.data_ptr<double>(),
                       cells.data_ptr<double>(), gout.data_ptr<double>(), dx.data_ptr<double>(), dw.data_ptr<double>(),
                       db.data_ptr<double>(), mask, norm, dgb.data_ptr<double>());
    }
    const bool normed = gamma.numel() > 0;
    return {dx,
            dw,
            db,
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            normed ? dgb.narrow(0, 0, gamma.numel()) : at::Tensor(),
            normed ? dgb.narrow(0, gamma.numel(), gamma.numel()) : at::Tensor(),
            at::Tensor()};
  }
};

// FusedLstm, FusedLstmWithDropout where dropout is given, and the layer norm after it where
// norm is given (float, with dropout).
at::Tensor Run(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias,
               const FusionDropout* dropout, const FusionLayerNorm* norm = nullptr) {
  Check(x.dim() == 3, "x must be [N, G, d_in]");
  Check(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, "x must be float or double");
  Check(kernel.dim() == 2 && kernel.size(1) % 4 == 0 && kernel.size(0) == x.size(2) + kernel.size(1) / 4,
        "kernel must be [d_in + h, 4h]");
  Check(bias.dim() == 1 && bias.size(0) == kernel.size(1), "bias must be [4h]");
  Check(kernel.scalar_type() == x.scalar_type() && bias.scalar_type() == x.scalar_type(), "dtypes differ");
  // No dropout: p = 0 and no keys (an argument of apply cannot be an undefined tensor).
  FusionDropout drop{0.0, 0, at::empty({0}, at::kLong)};
  if (dropout != nullptr) {
    Check(x.scalar_type() == at::kFloat, "the dropout is fused for float only");
    Check(dropout->p > 0 && dropout->p < 1, "the fused dropout needs 0 < p < 1");
    Check(dropout->keys.scalar_type() == at::kLong && dropout->keys.dim() == 1 && dropout->keys.size(0) == x.size(0),
          "the dropout needs one int64 key per row");
    drop = FusionDropout{dropout->p, dropout->seed, dropout->keys.contiguous()};
  }
  // No norm: an empty γ.
  FusionLayerNorm ln{at::empty({0}, x.options()), at::empty({0}, x.options()), 0};
  if (norm != nullptr) {
    Check(x.scalar_type() == at::kFloat, "the layer norm is fused for float only");
    const int64_t h = kernel.size(1) / 4;
    Check(norm->gamma.dim() == 1 && norm->gamma.size(0) == h && norm->beta.dim() == 1 && norm->beta.size(0) == h,
          "the layer norm needs gamma and beta of [h]");
    Check(norm->gamma.scalar_type() == at::kFloat && norm->beta.scalar_type() == at::kFloat,
          "the layer norm's gamma and beta must be float");
    ln = FusionLayerNorm{norm->gamma.contiguous(), norm->beta.contiguous(), norm->eps};
  }
  const bool records_grad =
      at::GradMode::is_enabled() && (x.requires_grad() || kernel.requires_grad() || bias.requires_grad() ||
                                     ln.gamma.requires_grad() || ln.beta.requires_grad());
  if (records_grad) {
    return FusedLstmFunction::apply(x, kernel, bias, forget_bias, drop.p, static_cast<int64_t>(drop.seed), drop.keys,
                                    ln.gamma, ln.beta, ln.eps);
  }
  return ForwardOnly(x, kernel, bias, forget_bias, MaskOf(drop.p, drop.seed, drop.keys), ln.gamma, ln.beta, ln.eps);
}

}  // namespace

void FusedLstmForwardRows(const LstmInputRows& in, int64_t n0, int64_t n1, const cpu::PackedWeight<float>& kernel,
                          const float* bias, int64_t h, float forget_bias, float* out) {
  const Dims s{n1, in.g, in.din, h, in.row_stride, in.step_stride};
  for (int64_t b0 = n0; b0 < n1; b0 += kRowBlock) {
    ForwardBlock<float>(s, b0, std::min(n1, b0 + kRowBlock), in.x, in.ids, kernel, bias, forget_bias, nullptr, nullptr,
                        out + (b0 - n0) * in.g * h);
  }
}

at::Tensor FusedLstm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias) {
  return Run(x, kernel, bias, forget_bias, nullptr);
}

at::Tensor FusedLstmWithDropout(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias,
                                double forget_bias, const FusionDropout& dropout) {
  return Run(x, kernel, bias, forget_bias, &dropout);
}

at::Tensor FusedLstmLayerNorm(const at::Tensor& x, const at::Tensor& kernel, const at::Tensor& bias, double forget_bias,
                              const FusionDropout& dropout, const FusionLayerNorm& norm) {
  return Run(x, kernel, bias, forget_bias, &dropout, &norm);
}

std::pair<at::Tensor, at::Tensor> FusedLstmCellStatesForTest(const at::Tensor& x, const at::Tensor& kernel,
                                                             const at::Tensor& bias, double forget_bias) {
  Check(x.scalar_type() == at::kFloat && x.dim() == 3, "FusedLstmCellStatesForTest: float [N, G, d_in]");
  const at::Tensor xs = x.contiguous(), w = kernel.contiguous(), b = bias.contiguous();
  const Dims s{xs.size(0), xs.size(1), xs.size(2), w.size(1) / 4, xs.stride(0), xs.stride(1)};
  const int64_t padded = NumBlocks(s.n) * kRowBlock, h4 = 4 * s.h;
  at::Tensor acts = at::empty({padded, s.g, h4}, xs.options()), cells = at::empty({padded, s.g, s.h}, xs.options());
  at::Tensor out = at::empty({s.n, s.g, s.h}, xs.options());
  at::Tensor forward = at::zeros({padded, s.g, s.h}, xs.options()), backward = at::zeros_like(forward);
  Forward<float>(s, xs.data_ptr<float>(), w.data_ptr<float>(), b.data_ptr<float>(), static_cast<float>(forget_bias),
                 acts.data_ptr<float>(), cells.data_ptr<float>(), out.data_ptr<float>(), {}, {},
                 forward.data_ptr<float>());
  for (int64_t n0 = 0; n0 < s.n; n0 += kRowBlock) {  // the backward's function, a block's states in its layout
    BlockCellStates(n0, std::min(kRowBlock, s.n - n0), s.g, s.h, acts.data_ptr<float>(),
                    backward.data_ptr<float>() + BlockOffset(n0, s.g, 0, s.h));
  }
  return {forward, backward};
}

}  // namespace hardgnn::selfgnn
