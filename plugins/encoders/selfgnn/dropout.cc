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
  AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "RowDropout", [&] {
    const scalar_t* src = in.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const scalar_t scale = static_cast<scalar_t>(1.0 / keep);
    const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, width));
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
  return RowDropoutFunction::apply(x, 1.0 - p, static_cast<int64_t>(seed), keys);
}

}  // namespace hardgnn::selfgnn
