#include "plugins/encoders/selfgnn/dropout.h"

#include <cmath>
#include <mutex>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/model/rng.h"

namespace hardgnn::selfgnn {
namespace {

constexpr int64_t kChunk = 1 << 14;

// out = x * mask, mask[i] = scale if draw(seed, i) < threshold else 0. The mask is a pure
// function of (seed, i), so the backward regenerates it instead of keeping it in memory.
at::Tensor ApplyMask(const at::Tensor& x, uint64_t seed, double keep) {
  const at::Tensor in = x.contiguous();
  at::Tensor out = at::empty_like(in);
  const int64_t n = in.numel();
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(keep, 64));  // keep < 1
  AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "Dropout", [&] {
    const scalar_t* src = in.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const scalar_t scale = static_cast<scalar_t>(1.0 / keep);
    at::parallel_for(0, (n + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        Rng rng(seed, static_cast<uint64_t>(c));
        for (int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) {
          dst[i] = rng.Next() < threshold ? src[i] * scale : scalar_t(0);
        }
      }
    });
  });
  return out;
}

struct DropoutFunction : public torch::autograd::Function<DropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double keep, int64_t seed) {
    ctx->saved_data["keep"] = keep;
    ctx->saved_data["seed"] = seed;
    return ApplyMask(x, static_cast<uint64_t>(seed), keep);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const double keep = ctx->saved_data["keep"].toDouble();
    const uint64_t seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {ApplyMask(grad[0], seed, keep), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor Dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (p >= 1) return x * 0;
  uint64_t seed;
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    seed = gen.get<at::CPUGeneratorImpl>()->random64();
  }
  return DropoutFunction::apply(x, 1.0 - p, static_cast<int64_t>(seed));
}

}  // namespace hardgnn::selfgnn
