#include "plugins/encoders/selfgnn/dropout.h"

#include <cmath>
#include <mutex>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/cpu/kernel_path.h"
#include "core/cpu/vec.h"
#include "core/model/profile.h"
#include "core/model/rng.h"

namespace hardgnn::selfgnn {
namespace {

typedef uint64_t u4 __attribute__((vector_size(32)));
typedef int32_t i4 __attribute__((vector_size(16)));

// Rng::Mix on four lanes (AVX2 has no 64-bit multiply; GCC composes it from 32-bit ones).
HARDGNN_INLINE u4 MixV(u4 z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Rows [r0, r1) of ApplyMask for float, eight draws at a time: draw j + 1 of a row is
// Mix(state + (j + 1) * kIncrement), the same integers as Rng::Next's j-th call.
HARDGNN_SIMD_CLONES void MaskFloatRows(const float* src, float* dst, const int64_t* keys, int64_t r0, int64_t r1,
                                       int64_t width, uint64_t seed, uint64_t threshold, float scale) {
  using cpu::f8;
  const f8 vscale = cpu::SplatV<f8>(scale);
  const u4 step = u4{1, 2, 3, 4} * Rng::kIncrement;
  for (int64_t r = r0; r < r1; ++r) {
    const uint64_t state = Rng::StreamState(seed, static_cast<uint64_t>(keys[r]));
    const float* in = src + r * width;
    float* out = dst + r * width;
    u4 counter = (u4{} + state) + step;  // draws 1-4 of the row
    int64_t j = 0;
    for (; j + 8 <= width; j += 8) {
      const u4 lo = MixV(counter), hi = MixV(counter + 4 * Rng::kIncrement);
      counter += 8 * Rng::kIncrement;
      const i4 keep_lo = __builtin_convertvector(lo < threshold, i4), keep_hi = __builtin_convertvector(hi < threshold, i4);
      const cpu::i8 keep = __builtin_shufflevector(keep_lo, keep_hi, 0, 1, 2, 3, 4, 5, 6, 7);
      cpu::StoreV<f8>(out + j, keep ? cpu::LoadV<f8>(in + j) * vscale : f8{});
    }
    for (; j < width; ++j) {
      out[j] = Rng::Mix(state + static_cast<uint64_t>(j + 1) * Rng::kIncrement) < threshold ? in[j] * scale : 0.0f;
    }
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
    at::parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
      MaskFloatRows(src, dst, k, r0, r1, width, seed, threshold, static_cast<float>(1.0 / keep));
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

at::Tensor RowDropout(const at::Tensor& x, double p, bool training, uint64_t seed, const at::Tensor& keys) {
  if (!training || p <= 0) return x;
  if (p >= 1) return x * 0;
  // Off the CPU kernels: the same mask as a constant factor (autograd keeps it for the backward).
  if (!cpu::UseCpuKernels(x)) return x * AtenMask(x, seed, keys, 1.0 - p);
  return RowDropoutFunction::apply(x, 1.0 - p, static_cast<int64_t>(seed), keys);
}

}  // namespace hardgnn::selfgnn
