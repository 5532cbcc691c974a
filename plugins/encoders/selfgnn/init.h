#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_INIT_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_INIT_H_

#include <cmath>

#include <ATen/ATen.h>

namespace hardgnn::selfgnn {

// TF's glorot_uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)); for a shape
// [r..., in, out] both fans are multiplied by the product of the leading dims r.
inline at::Tensor GlorotUniform(at::IntArrayRef shape, at::Generator& gen) {
  double receptive = 1;
  for (size_t i = 0; i + 2 < shape.size(); ++i) receptive *= shape[i];
  const double fan_in = shape[shape.size() - 2] * receptive, fan_out = shape.back() * receptive;
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  return at::rand(shape, gen) * (2 * limit) - limit;
}

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_INIT_H_
