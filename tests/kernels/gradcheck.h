#ifndef HARDGNN_TESTS_KERNELS_GRADCHECK_H_
#define HARDGNN_TESTS_KERNELS_GRADCHECK_H_

// Test helpers for the kernels: a central-difference gradient checker (double precision) and
// tensor comparisons with readable failure messages.

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hardgnn::testing {

// |a - b| <= atol + rtol * |b| elementwise; on failure reports the worst element.
inline ::testing::AssertionResult AllClose(const at::Tensor& a, const at::Tensor& b, double rtol, double atol) {
  if (a.sizes() != b.sizes()) {
    std::ostringstream os;
    os << "shape " << a.sizes() << " vs " << b.sizes();
    return ::testing::AssertionFailure() << os.str();
  }
  const at::Tensor x = a.detach().to(at::kDouble).contiguous();
  const at::Tensor y = b.detach().to(at::kDouble).contiguous();
  const at::Tensor excess = (x - y).abs() - (atol + rtol * y.abs());
  if (x.numel() == 0 || excess.max().item<double>() <= 0) {
    if (x.isnan().any().item<bool>() || y.isnan().any().item<bool>()) return ::testing::AssertionFailure() << "NaN";
    return ::testing::AssertionSuccess();
  }
  const int64_t i = excess.flatten().argmax().item<int64_t>();
  const double xv = x.flatten()[i].item<double>(), yv = y.flatten()[i].item<double>();
  return ::testing::AssertionFailure() << "element " << i << ": " << xv << " vs " << yv << " (|diff| "
                                       << std::abs(xv - yv) << ", rtol " << rtol << ", atol " << atol << ")";
}

// AllClose with atol = rtol · max|b|: for reductions over many terms (weight gradients summed
// over thousands of rows), whose float rounding error scales with the summands, not with each
// (possibly cancelling) result.
inline ::testing::AssertionResult AllCloseToScale(const at::Tensor& a, const at::Tensor& b, double rtol) {
  return AllClose(a, b, rtol, rtol * b.detach().abs().max().item<double>());
}

inline ::testing::AssertionResult BitEqual(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type())
    return ::testing::AssertionFailure() << "shape/dtype";
  const at::Tensor x = a.contiguous(), y = b.contiguous();
  if (std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) != 0) {
    return ::testing::AssertionFailure() << "not bit-identical; max |diff| " << (x - y).abs().max().item<double>();
  }
  return ::testing::AssertionSuccess();
}

using TensorFn = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

// f on fresh leaf copies of `inputs` (all requiring grad), then the backward of Σ f ⊙ gy.
// Returns the output followed by each input's gradient.
inline std::vector<at::Tensor> OutputAndGrads(const TensorFn& f, const std::vector<at::Tensor>& inputs,
                                              const at::Tensor& gy) {
  std::vector<at::Tensor> leaves;
  for (const auto& t : inputs) leaves.push_back(t.detach().clone().requires_grad_());
  const at::Tensor y = f(leaves);
  (y * gy).sum().backward();
  std::vector<at::Tensor> out = {y.detach()};
  for (const auto& t : leaves) out.push_back(t.grad());
  return out;
}

// OutputAndGrads with 1 and with 2 threads give bit-identical output and gradients.
inline ::testing::AssertionResult BitIdenticalAcrossThreads(const TensorFn& f, const std::vector<at::Tensor>& inputs,
                                                            const at::Tensor& gy) {
  at::set_num_threads(1);
  const auto one = OutputAndGrads(f, inputs, gy);
  at::set_num_threads(2);
  const auto two = OutputAndGrads(f, inputs, gy);
  for (size_t k = 0; k < one.size(); ++k) {
    const auto same = BitEqual(one[k], two[k]);
    if (!same)
      return ::testing::AssertionFailure()
             << (k == 0 ? "output" : "gradient of input " + std::to_string(k - 1)) << ": " << same.message();
  }
  return ::testing::AssertionSuccess();
}

// Checks the gradients of f at `inputs` (double tensors) against central differences.
// The scalar checked is L = Σ f(inputs) ⊙ w with a fixed random w. For every input i with
// wrt[i], each element's analytic dL/dx is compared with (L(x+eps) - L(x-eps)) / (2 eps):
// |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
inline ::testing::AssertionResult GradCheck(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
                                            const std::vector<at::Tensor>& inputs, const std::vector<bool>& wrt,
                                            double eps = 1e-6, double rtol = 1e-5, double atol = 1e-8) {
  std::vector<at::Tensor> x;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].scalar_type() != at::kDouble) return ::testing::AssertionFailure() << "input " << i << " not double";
    x.push_back(inputs[i].detach().clone().set_requires_grad(wrt[i]));
  }
  const at::Tensor out = f(x);
  at::manual_seed(1234);
  const at::Tensor w = at::randn(out.sizes(), out.options().requires_grad(false));
  std::vector<at::Tensor> needs;
  for (size_t i = 0; i < x.size(); ++i) {
    if (wrt[i]) needs.push_back(x[i]);
  }
  const auto grads = torch::autograd::grad({(out * w).sum()}, needs, {}, false, false, /*allow_unused=*/true);
  at::NoGradGuard no_grad;
  auto loss = [&](const std::vector<at::Tensor>& xs) { return (f(xs) * w).sum().item<double>(); };
  size_t g = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!wrt[i]) continue;
    const at::Tensor analytic = grads[g].defined() ? grads[g].contiguous() : at::zeros_like(x[i]);
    ++g;
    std::vector<at::Tensor> xs;
    for (const auto& t : x) xs.push_back(t.detach().clone());
    at::Tensor flat = xs[i].view(-1);
    for (int64_t j = 0; j < flat.numel(); ++j) {
      const double orig = flat[j].item<double>();
      flat[j] = orig + eps;
      const double lp = loss(xs);
      flat[j] = orig - eps;
      const double lm = loss(xs);
      flat[j] = orig;
      const double numeric = (lp - lm) / (2 * eps);
      const double a = analytic.view(-1)[j].item<double>();
      if (!(std::abs(a - numeric) <= atol + rtol * std::max(std::abs(a), std::abs(numeric)))) {
        return ::testing::AssertionFailure()
               << "input " << i << " element " << j << ": analytic " << a << " vs numeric " << numeric;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace hardgnn::testing

#endif  // HARDGNN_TESTS_KERNELS_GRADCHECK_H_
