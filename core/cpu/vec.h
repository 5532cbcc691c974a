#ifndef HARDGNN_CORE_CPU_VEC_H_
#define HARDGNN_CORE_CPU_VEC_H_

// Portable 256-bit SIMD for the CPU kernels, on GCC vector extensions: 8 floats or 4 doubles
// per vector. Compiled for the default x86-64 target they lower to SSE pairs; inside a function
// marked HARDGNN_SIMD_CLONES the compiler also emits an AVX2+FMA clone, chosen at load time
// (ifunc) on CPUs that have it. Kernels are therefore written once, over Vec<T>, and stay
// correct on any x86-64.
//
// Memory access goes through LoadV/StoreV (unaligned, typed). Do not dereference f8*/d4* into memory
// allocated by ordinary code: alignof(f8) is 16 for the default target but 32 inside the AVX2
// clone, which then emits aligned moves (align such buffers by hand, as interval_attention.cc).
//
// Float transcendental functions are polynomial (Cephes) approximations accurate to about
// 2 ulp; the double versions call std:: per lane (double is for gradient checks, not speed).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HARDGNN_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HARDGNN_SIMD_CLONES
#endif
#define HARDGNN_INLINE inline __attribute__((always_inline))
// A function compiled for AVX-512 (F, VL, BW, DQ), where the 16-lane vectors below are one
// register; call it only where cpu::UseWideVectors() (kernel_path.h) says the CPU has them.
#define HARDGNN_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

namespace hardgnn::cpu {

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));
typedef double d4 __attribute__((vector_size(32)));

typedef int64_t l4 __attribute__((vector_size(32)));
// 16 floats (and 16 int32 lanes): one AVX-512 register, for kernels that also have a
// HARDGNN_AVX512 path. Each lane computes what the same lane of an f8 computes.
typedef float f16 __attribute__((vector_size(64)));
typedef int32_t i16 __attribute__((vector_size(64)));
// The same with only the element's alignment, for unaligned loads and stores. Accesses through
// them are float (double) accesses for aliasing purposes, unlike memcpy, which may alias
// anything and makes the compiler reload every pointer around each store.
typedef float f8u __attribute__((vector_size(32), aligned(4)));
typedef double d4u __attribute__((vector_size(32), aligned(8)));
typedef float f16u __attribute__((vector_size(64), aligned(4)));

template <typename T>
struct VecTraits;
template <>
struct VecTraits<float> {
  using V = f8;
  static constexpr int kLanes = 8;
};
template <>
struct VecTraits<double> {
  using V = d4;
  static constexpr int kLanes = 4;
};
template <typename T>
using Vec = typename VecTraits<T>::V;
template <typename T>
inline constexpr int kLanes = VecTraits<T>::kLanes;

// Lane traits of a "vector" type V: f8, d4, or a plain float/double (one lane), so one kernel
// template also yields a scalar fallback for widths that are not a multiple of the lanes.
template <typename V>
struct Lanes;
// Written out per type: GCC drops a typedef's aligned(4) when it is passed as a template
// argument, so f8u and the like cannot go through one shared traits template (their loads would
// become aligned ones and fault).
template <>
struct Lanes<f8> {
  using Unaligned = f8u;
  using T = float;
  using Mask = i8;
  using MaskLane = int32_t;
  static constexpr int kN = 8;
};
template <>
struct Lanes<f16> {
  using Unaligned = f16u;
  using T = float;
  using Mask = i16;
  using MaskLane = int32_t;
  static constexpr int kN = 16;
};
template <>
struct Lanes<d4> {
  using Unaligned = d4u;
  using T = double;
  using Mask = l4;
  using MaskLane = int64_t;
  static constexpr int kN = 4;
};
template <>
struct Lanes<float> {
  using Unaligned = float;
  using T = float;
  using Mask = bool;
  static constexpr int kN = 1;
};
template <>
struct Lanes<double> {
  using Unaligned = double;
  using T = double;
  using Mask = bool;
  static constexpr int kN = 1;
};

template <typename V>
HARDGNN_INLINE V LoadV(const typename Lanes<V>::T* p) {
  return *reinterpret_cast<const typename Lanes<V>::Unaligned*>(p);
}
template <typename V>
HARDGNN_INLINE void StoreV(typename Lanes<V>::T* p, V v) {
  *reinterpret_cast<typename Lanes<V>::Unaligned*>(p) = v;
}
template <typename V>
HARDGNN_INLINE V SplatV(typename Lanes<V>::T x) {
  if constexpr (Lanes<V>::kN == 1) {
    return x;
  } else {
    // Lane 0 broadcast by a constant shuffle: one vbroadcastss. (`V{} + x` costs an add, since
    // x + 0 is not x for x = -0; other spellings can compile to chains of vinsertps.)
    return __builtin_shuffle(V{x}, typename Lanes<V>::Mask{});
  }
}
// Lane l of the result is a[l] where bit l of `bits` is set, else b[l].
template <typename V>
HARDGNN_INLINE V SelectByBits(uint64_t bits, V a, V b) {
  if constexpr (Lanes<V>::kN == 1) {
    return (bits & 1) ? a : b;
  } else {
    using M = typename Lanes<V>::Mask;
    M lane_bit;
    for (int l = 0; l < Lanes<V>::kN; ++l) lane_bit[l] = 1 << l;
    const M set = ((M{} + static_cast<typename Lanes<V>::MaskLane>(bits)) & lane_bit) != 0;
    return set ? a : b;
  }
}
// Bit l of the result is set where v[l] > 0 (vector compare, then an OR-reduction by shuffles).
template <typename V>
HARDGNN_INLINE uint64_t PositiveBits(V v) {
  if constexpr (Lanes<V>::kN == 1) {
    return v > 0 ? 1 : 0;
  } else if constexpr (Lanes<V>::kN == 8) {
    i8 m = (v > V{}) & i8{1, 2, 4, 8, 16, 32, 64, 128};
    m |= __builtin_shuffle(m, i8{4, 5, 6, 7, 0, 1, 2, 3});
    m |= __builtin_shuffle(m, i8{2, 3, 0, 1, 6, 7, 4, 5});
    m |= __builtin_shuffle(m, i8{1, 0, 3, 2, 5, 4, 7, 6});
    return static_cast<uint64_t>(m[0]);
  } else {
    l4 m = (v > V{}) & l4{1, 2, 4, 8};
    m |= __builtin_shuffle(m, l4{2, 3, 0, 1});
    m |= __builtin_shuffle(m, l4{1, 0, 3, 2});
    return static_cast<uint64_t>(m[0]);
  }
}

template <typename T>
HARDGNN_INLINE Vec<T> Load(const T* p) {
  return LoadV<Vec<T>>(p);
}
template <typename T>
HARDGNN_INLINE void Store(T* p, Vec<T> v) {
  StoreV<Vec<T>>(p, v);
}
template <typename T>
HARDGNN_INLINE Vec<T> Splat(T x) {
  return SplatV<Vec<T>>(x);
}
// The primitives the polynomial functions below are built from, in generic vector code that
// compiles for any target: max and min as a compare and a blend, floor as a truncation and its
// fix. vec_avx2.h gives the same values in single AVX2 instructions (Avx2Ops).
struct GenericOps {
  template <typename V>
  static HARDGNN_INLINE V Max(V a, V b) {
    return a > b ? a : b;
  }
  template <typename V>
  static HARDGNN_INLINE V Min(V a, V b) {
    return a < b ? a : b;
  }
  // floor(fx), and the same as an integer in n, for |fx| < 2^31.
  template <typename V>
  static HARDGNN_INLINE V Floor(V fx, typename Lanes<V>::Mask& n) {
    using I = typename Lanes<V>::Mask;
    n = __builtin_convertvector(fx, I);  // truncation
    const V t = __builtin_convertvector(n, V);
    const I too_big = t > fx;  // -1 where truncation rounded up (negative fx)
    n += too_big;
    return __builtin_convertvector(n, V);
  }
};

template <typename V>
HARDGNN_INLINE V Max(V a, V b) {
  return GenericOps::Max(a, b);
}
template <typename V>
HARDGNN_INLINE V Min(V a, V b) {
  return GenericOps::Min(a, b);
}
// Sum of the lanes, in a fixed order.
template <typename V>
HARDGNN_INLINE auto HorizontalSum(V v) {
  auto s = v[0];
  for (int l = 1; l < static_cast<int>(sizeof(V) / sizeof(s)); ++l) s += v[l];
  return s;
}

// Float vectors of 8 or 16 lanes, for the polynomial functions below.
template <typename V>
inline constexpr bool kFloatLanes = std::is_same_v<V, f8> || std::is_same_v<V, f16>;

// exp(x), Cephes expf: x = n·ln2 + r, |r| <= ln2/2, degree-6 polynomial. Inputs are clamped
// to [-87.3, 88.7], so large negative inputs give ~1e-38 (not 0); from about 88.38 up, n = 128
// and 2^n overflows, so the result is +inf (Sigmoid's 1 / (1 + inf) is then 0, Tanh's 1). Ops:
// the primitives (GenericOps, or vec_avx2.h's Avx2Ops in code compiled for AVX2).
template <typename Ops, typename V, typename = std::enable_if_t<kFloatLanes<V>>>
HARDGNN_INLINE V ExpWith(V x) {
  using I = typename Lanes<V>::Mask;
  x = Ops::Min(Ops::Max(x, SplatV<V>(-87.3f)), SplatV<V>(88.7f));
  const V fx = x * 1.44269504088896341f + 0.5f;
  I n;
  const V t = Ops::Floor(fx, n);
  x = x - t * 0.693359375f - t * -2.12194440e-4f;
  V z = x * x;
  V y = ((((1.9875691500E-4f * x + 1.3981999507E-3f) * x + 8.3334519073E-3f) * x + 4.1665795894E-2f) * x +
         1.6666665459E-1f) *
            x +
        5.0000001201E-1f;
  y = y * z + x + 1.0f;
  I bits = (n + 127) << 23;
  V pow2n;
  std::memcpy(&pow2n, &bits, sizeof pow2n);
  return y * pow2n;
}

template <typename Ops, typename V, typename = std::enable_if_t<kFloatLanes<V>>>
HARDGNN_INLINE V SigmoidWith(V x) {
  return 1.0f / (1.0f + ExpWith<Ops>(-x));
}

// tanh, Cephes tanhf: an odd polynomial for |x| < 0.625, 1 - 2/(exp(2|x|) + 1) above.
template <typename Ops, typename V, typename = std::enable_if_t<kFloatLanes<V>>>
HARDGNN_INLINE V TanhWith(V x) {
  V z = x * x;
  V small = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z + 1.33314422036E-1f) * z -
             3.33332819422E-1f) *
                z * x +
            x;
  V ax = Ops::Max(x, -x);
  V large = 1.0f - 2.0f / (ExpWith<Ops>(ax + ax) + 1.0f);
  large = x < 0.0f ? -large : large;
  return ax < 0.625f ? small : large;
}

template <typename V, typename = std::enable_if_t<kFloatLanes<V>>>
HARDGNN_INLINE V Exp(V x) {
  return ExpWith<GenericOps>(x);
}
HARDGNN_INLINE d4 Exp(d4 x) {
  for (int l = 0; l < 4; ++l) x[l] = std::exp(x[l]);
  return x;
}

template <typename V, typename = std::enable_if_t<kFloatLanes<V>>>
HARDGNN_INLINE V Sigmoid(V x) {
  return SigmoidWith<GenericOps>(x);
}
HARDGNN_INLINE d4 Sigmoid(d4 x) {
  for (int l = 0; l < 4; ++l) x[l] = 1.0 / (1.0 + std::exp(-x[l]));
  return x;
}

template <typename V, typename = std::enable_if_t<kFloatLanes<V>>>
HARDGNN_INLINE V Tanh(V x) {
  return TanhWith<GenericOps>(x);
}
HARDGNN_INLINE d4 Tanh(d4 x) {
  for (int l = 0; l < 4; ++l) x[l] = std::tanh(x[l]);
  return x;
}

// Scalar versions, for the one-lane fallback paths.
HARDGNN_INLINE float Exp(float x) { return std::exp(x); }
HARDGNN_INLINE double Exp(double x) { return std::exp(x); }
HARDGNN_INLINE float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
HARDGNN_INLINE double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
HARDGNN_INLINE float Tanh(float x) { return std::tanh(x); }
HARDGNN_INLINE double Tanh(double x) { return std::tanh(x); }

// The *With forms for the other types (scalars, d4): vec.h's functions, whatever the primitives.
template <typename Ops, typename V, typename = std::enable_if_t<!kFloatLanes<V>>, typename = void>
HARDGNN_INLINE V ExpWith(V x) {
  return Exp(x);
}
template <typename Ops, typename V, typename = std::enable_if_t<!kFloatLanes<V>>, typename = void>
HARDGNN_INLINE V SigmoidWith(V x) {
  return Sigmoid(x);
}
template <typename Ops, typename V, typename = std::enable_if_t<!kFloatLanes<V>>, typename = void>
HARDGNN_INLINE V TanhWith(V x) {
  return Tanh(x);
}

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_VEC_H_
