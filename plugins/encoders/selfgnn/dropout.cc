#include "plugins/encoders/selfgnn/dropout.h"

#include <cmath>
#include <mutex>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/cpu/kernel_path.h"
#include "core/cpu/parallel.h"
#include "core/cpu/vec.h"
#include "core/model/profile.h"
#include "core/model/rng.h"

namespace hardgnn::selfgnn {
namespace {

typedef uint64_t u4 __attribute__((vector_size(32)));
typedef int32_t i4 __attribute__((vector_size(16)));

typedef uint64_t u8 __attribute__((vector_size(64)));
// Rng::Mix on four or eight uint64 lanes.
template <typename U>
HARDGNN_INLINE U MixV(U z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Two halves' keep masks (int64 lanes) as one mask of int32 lanes for a float vector.
HARDGNN_INLINE cpu::i8 Concat(u4 lo, u4 hi, uint64_t threshold) {
  return __builtin_shufflevector(__builtin_convertvector(lo < threshold, i4),
                                 __builtin_convertvector(hi < threshold, i4), 0, 1, 2, 3, 4, 5, 6, 7);
}
HARDGNN_INLINE cpu::i16 Concat(u8 lo, u8 hi, uint64_t threshold) {
  return __builtin_shufflevector(__builtin_convertvector(lo < threshold, cpu::i8),
                                 __builtin_convertvector(hi < threshold, cpu::i8), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                 11, 12, 13, 14, 15);
}

// Rows [r0, r1) of ApplyMask for float, a float vector F of draws at a time (U: half as many
// uint64 lanes): draw j + 1 of a row is Mix(state + (j + 1) * kIncrement), the same integers
// as Rng::Next's j-th call, whatever the width.
template <typename F, typename U>
HARDGNN_INLINE void MaskFloatRowsWith(const float* src, float* dst, const int64_t* keys, int64_t r0, int64_t r1,
                                      int64_t width, uint64_t seed, uint64_t threshold, float scale) {
  constexpr int kHalf = sizeof(U) / sizeof(uint64_t), kLanes = 2 * kHalf;
  const F vscale = cpu::SplatV<F>(scale);
  U step{};
  for (int i = 0; i < kHalf; ++i) step[i] = (i + 1) * Rng::kIncrement;
  for (int64_t r = r0; r < r1; ++r) {
    const uint64_t state = Rng::StreamState(seed, static_cast<uint64_t>(keys[r]));
    const float* in = src + r * width;
    float* out = dst + r * width;
    U counter = (U{} + state) + step;  // draws 1 to kHalf of the row
    int64_t j = 0;
    for (; j + kLanes <= width; j += kLanes) {
      const auto keep = Concat(MixV(counter), MixV(counter + kHalf * Rng::kIncrement), threshold);
      counter += kLanes * Rng::kIncrement;
      cpu::StoreV<F>(out + j, keep ? cpu::LoadV<F>(in + j) * vscale : F{});
    }
    for (; j < width; ++j) {
      out[j] = Rng::Mix(state + static_cast<uint64_t>(j + 1) * Rng::kIncrement) < threshold ? in[j] * scale : 0.0f;
    }
  }
}

HARDGNN_SIMD_CLONES void MaskFloatRows(const float* src, float* dst, const int64_t* keys, int64_t r0, int64_t r1,
                                       int64_t width, uint64_t seed, uint64_t threshold, float scale) {
  MaskFloatRowsWith<cpu::f8, u4>(src, dst, keys, r0, r1, width, seed, threshold, scale);
}

// Sixteen draws at a time where the CPU has AVX-512 (cpu::UseWideVectors): DQ's vpmullq
// multiplies the eight uint64 lanes that AVX2 composes from 32-bit multiplies.
HARDGNN_AVX512 void MaskFloatRowsWide(const float* src, float* dst, const int64_t* keys, int64_t r0, int64_t r1,
                                      int64_t width, uint64_t seed, uint64_t threshold, float scale) {
  MaskFloatRowsWith<cpu::f16, u8>(src, dst, keys, r0, r1, width, seed, threshold, scale);
}

void MaskFloat(const float* src, float* dst, const int64_t* keys, int64_t r0, int64_t r1, int64_t width,
               uint64_t seed, uint64_t threshold, float scale) {
  if (cpu::UseWideVectors()) {
    MaskFloatRowsWide(src, dst, keys, r0, r1, width, seed, threshold, scale);
  } else {
    MaskFloatRows(src, dst, keys, r0, r1, width, seed, threshold, scale);
  }
}

// out = x * mask, row n's mask[j] = scale if the j-th draw of Rng(seed, keys[n]) < threshold
// else 0: a pure function of (seed, key, j), so the backward regenerates it.
at::Tensor ApplyMask(const at::Tensor& x, uint64_t seed, const at::Tensor& keys, double keep) {
  const at::Tensor in = x.contiguous();
  const at::Tensor key = keys.contiguous();
  TORCH_CHECK(key.scalar_type() == at::kLong && key.dim() == 1 && in.dim() >= 1 && key.size(0) == in.size(0),
              "RowDropout: one int64 key per row");
  at::Tensor out = at::empty_like(in);
  const int64_t rows = in.size(0), width = rows > 0 ? in.numel() / rows : 0;
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(keep, 64));  // keep < 1
  const int64_t* k = key.data_ptr<int64_t>();
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, width));
  if (in.scalar_type() == at::kFloat) {
    const float* src = in.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    cpu::ForEachChunk(rows, grain, [&](int64_t r0, int64_t r1, int64_t) {
      MaskFloat(src, dst, k, r0, r1, width, seed, threshold, static_cast<float>(1.0 / keep));
    });
    return out;
  }
  AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "RowDropout", [&] {
    const scalar_t* src = in.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const scalar_t scale = static_cast<scalar_t>(1.0 / keep);
    at::parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        Rng rng(seed, static_cast<uint64_t>(k[r]));
        for (int64_t i = r * width; i < (r + 1) * width; ++i) {
          dst[i] = rng.Next() < threshold ? src[i] * scale : scalar_t(0);
        }
      }
    });
  });
  return out;
}

// z >> s as uint64 on int64 tensors (ATen's shift is arithmetic).
at::Tensor ShiftRight(const at::Tensor& z, int s) {
  return at::bitwise_and(at::bitwise_right_shift(z, s), static_cast<int64_t>((uint64_t{1} << (64 - s)) - 1));
}

// Rng's Mix on int64 tensors: the multiplies wrap as uint64's do.
at::Tensor Mix(at::Tensor z) {
  z = at::bitwise_xor(z, ShiftRight(z, 30)) * static_cast<int64_t>(0xBF58476D1CE4E5B9ULL);
  z = at::bitwise_xor(z, ShiftRight(z, 27)) * static_cast<int64_t>(0x94D049BB133111EBULL);
  return at::bitwise_xor(z, ShiftRight(z, 31));
}

// ApplyMask's mask (scale or 0 per element, x's shape and dtype) with int64 tensor ops on x's
// device: element j of row n is kept when the j-th draw of Rng(seed, keys[n]) is below the
// threshold, compared as uint64 by flipping the sign bits.
at::Tensor AtenMask(const at::Tensor& x, uint64_t seed, const at::Tensor& keys, double keep) {
  TORCH_CHECK(keys.scalar_type() == at::kLong && keys.dim() == 1 && x.dim() >= 1 && keys.size(0) == x.size(0),
              "RowDropout: one int64 key per row");
  constexpr uint64_t kSign = uint64_t{1} << 63;
  const int64_t rows = x.size(0), width = rows > 0 ? x.numel() / rows : 0;
  const at::Tensor key = keys.to(x.device());
  const at::Tensor state = Mix(at::bitwise_xor(Mix(key + static_cast<int64_t>(0x632BE59BD9B4E019ULL)),
                                               static_cast<int64_t>(seed)));
  const at::Tensor steps = at::arange(1, width + 1, key.options()) * static_cast<int64_t>(0x9E3779B97F4A7C15ULL);
  const at::Tensor draws = Mix(state.unsqueeze(1) + steps.unsqueeze(0));
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(keep, 64));
  const at::Tensor kept = at::bitwise_xor(draws, static_cast<int64_t>(kSign)) < static_cast<int64_t>(threshold ^ kSign);
  return (kept.to(x.scalar_type()) * (1.0 / keep)).view(x.sizes());
}

struct RowDropoutFunction : public torch::autograd::Function<RowDropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double keep, int64_t seed,
                            const at::Tensor& keys) {
    ctx->saved_data["keep"] = keep;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["keys"] = keys;
    return ApplyMask(x, static_cast<uint64_t>(seed), keys, keep);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    ScopedPhase phase("backward: row dropout");  // nested in the trainer's "backward" (--profile)
    const double keep = ctx->saved_data["keep"].toDouble();
    const uint64_t seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    const at::Tensor keys = ctx->saved_data["keys"].toTensor();
    return {ApplyMask(grad[0], seed, keys, keep), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

uint64_t DrawDropoutSeed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

void RowDropoutRows(const float* src, float* dst, int64_t rows, int64_t width, const int64_t* keys, double p,
                    uint64_t seed) {
  const double keep = 1.0 - p;  // as RowDropout computes it
  MaskFloat(src, dst, keys, 0, rows, width, seed, static_cast<uint64_t>(std::ldexp(keep, 64)),
            static_cast<float>(1.0 / keep));
}

at::Tensor RowDropout(const at::Tensor& x, double p, bool training, uint64_t seed, const at::Tensor& keys) {
  if (!training || p <= 0) return x;
  if (p >= 1) return x * 0;
  // Off the CPU kernels: the same mask as a constant factor (autograd keeps it for the backward).
  if (!cpu::UseCpuKernels(x)) return x * AtenMask(x, seed, keys, 1.0 - p);
  return RowDropoutFunction::apply(x, 1.0 - p, static_cast<int64_t>(seed), keys);
}

}  // namespace hardgnn::selfgnn
