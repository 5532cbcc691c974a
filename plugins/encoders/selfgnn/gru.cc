#include "plugins/encoders/selfgnn/gru.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <vector>

namespace hardgnn::selfgnn {

at::Tensor TfGru(const at::Tensor& x, const at::Tensor& gate_kernel, const at::Tensor& gate_bias,
                 const at::Tensor& candidate_kernel, const at::Tensor& candidate_bias) {
  if (x.dim() != 3) throw std::invalid_argument("TfGru: x must be [N, G, d_in]");
  const int64_t n = x.size(0), g = x.size(1), din = x.size(2), h = candidate_kernel.size(1);
  if (gate_kernel.sizes() != at::IntArrayRef{din + h, 2 * h} || gate_bias.sizes() != at::IntArrayRef{2 * h} ||
      candidate_kernel.sizes() != at::IntArrayRef{din + h, h} || candidate_bias.sizes() != at::IntArrayRef{h}) {
    throw std::invalid_argument("TfGru: need gate_kernel [d_in+h, 2h], gate_bias [2h], candidate_kernel [d_in+h, h]");
  }
  // The x_t parts of both products for all steps at once.
  const at::Tensor xg = at::matmul(x, gate_kernel.slice(0, 0, din)) + gate_bias;            // [N, G, 2h]
  const at::Tensor xc = at::matmul(x, candidate_kernel.slice(0, 0, din)) + candidate_bias;  // [N, G, h]
  const at::Tensor wg_h = gate_kernel.slice(0, din), wc_h = candidate_kernel.slice(0, din);
  at::Tensor state = at::zeros({n, h}, x.options());
  std::vector<at::Tensor> outs;
  for (int64_t t = 0; t < g; ++t) {
    const auto ru = at::sigmoid(xg.select(1, t) + state.mm(wg_h)).chunk(2, 1);  // r, u
    const at::Tensor c = at::tanh(xc.select(1, t) + (ru[0] * state).mm(wc_h));
    state = ru[1] * state + (1 - ru[1]) * c;
    outs.push_back(state);
  }
  return at::stack(outs, 1);
}

}  // namespace hardgnn::selfgnn
