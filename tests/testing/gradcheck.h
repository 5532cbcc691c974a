#ifndef HARDGNN_TESTS_TESTING_GRADCHECK_H_
#define HARDGNN_TESTS_TESTING_GRADCHECK_H_

#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

namespace hardgnn::testing {

// Compares the autograd gradient of the scalar f(inputs) with central finite differences,
// entry by entry, in double precision. Inputs flagged in `detached` are read under a
// stop-gradient: their autograd gradient must be exactly zero. Returns "" on agreement,
// else the first mismatch.
inline std::string GradCheck(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
                             std::vector<at::Tensor> inputs, std::vector<bool> detached = {},
                             double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4) {
  detached.resize(inputs.size(), false);
  for (at::Tensor& x : inputs) x = x.detach().to(at::kDouble).clone().set_requires_grad(true);
  at::Tensor y = f(inputs);
  std::vector<at::Tensor> grads = torch::autograd::grad({y}, inputs, {}, false, false, true);
  for (size_t n = 0; n < inputs.size(); ++n) {
    at::Tensor flat = inputs[n].detach().view(-1);
    at::Tensor analytic = grads[n].defined() ? grads[n].reshape(-1) : at::zeros_like(flat);
    if (detached[n]) {
      if (analytic.abs().max().item<double>() != 0) {
        return "input " + std::to_string(n) + " should carry no gradient but does";
      }
      continue;
    }
    for (int64_t j = 0; j < flat.numel(); ++j) {
      const double original = flat[j].item<double>();
      auto eval_at = [&](double v) {
        std::vector<at::Tensor> copies;
        for (const at::Tensor& x : inputs) copies.push_back(x.detach().clone());
        copies[n].view(-1)[j] = v;
        return f(copies).item<double>();
      };
      const double numeric = (eval_at(original + eps) - eval_at(original - eps)) / (2 * eps);
      const double a = analytic[j].item<double>();
      if (std::abs(a - numeric) > atol + rtol * std::abs(numeric)) {
        return "input " + std::to_string(n) + " entry " + std::to_string(j) + ": autograd " +
               std::to_string(a) + " vs finite difference " + std::to_string(numeric);
      }
    }
  }
  return "";
}

}  // namespace hardgnn::testing

#endif  // HARDGNN_TESTS_TESTING_GRADCHECK_H_
