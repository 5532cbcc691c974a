#ifndef HARDGNN_CORE_TRAIN_FUSED_ADAM_H_
#define HARDGNN_CORE_TRAIN_FUSED_ADAM_H_

// torch::optim::Adam with its update in one pass over each parameter. The stock step runs
// eight ATen ops a parameter (two of them making full-size temporaries): about 20 reads and
// writes of each element where the update needs 7 (read p, g, m, v; write p, m, v), and the
// step over SelfGNN's 45M parameters is memory-bound. Each element gets the stock step's
// arithmetic in the stock order, rounded where ATen 1.13's vectorized kernels round: where the
// CPU has FMA, m = fma(g, 1 - b1, m b1) (add with alpha) and v = fma((1 - b2) g, g, v b2)
// (addcmul), elsewhere two roundings each; then p = p + (-step_size m) / (sqrt(v) / sqrt(bc2)
// + eps). On contiguous float CPU parameters it writes the stock step's bits (tested); the state
// (AdamParamState under the stock keys), save() and load() are the stock ones, so checkpoints
// are interchangeable. Anything else (the options' weight decay, AMSGrad, another dtype or
// device, a sparse or strided tensor) takes the stock step.
//
// A coupled decay d set on a parameter (SetCoupledDecay) adds d p to its gradient in the same
// pass, as the stock weight_decay = d does (one fma where the CPU has FMA; the same bits), an
// undefined gradient counting as zero: the gradient of an L2 term (d / 2) ||p||^2 without its
// full-size gradient tensor and the sum of two such tensors (core/train/trainer.cc).

#include <cstdint>
#include <optional>
#include <unordered_map>

#include <torch/optim/adam.h>

namespace hardgnn {

class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;

  // Whether step() updates every parameter in one pass (else it takes the stock step).
  bool Fusable() const;

  // From the next step on, p's gradient is taken as grad + decay * p (0: none). Not saved with
  // the optimizer's state: its owner sets it again after a restart.
  void SetCoupledDecay(const torch::Tensor& p, double decay);
  double CoupledDecay(const torch::Tensor& p) const;

  // The sum of the squares of p's entries as the last step() left them, the bits of
  // cpu::FixedOrderSumOfSquares(p).item<double>() before its rounding to p's dtype; computed in
  // the update's pass for a parameter with a coupled decay (the next step's L2 term needs it,
  // and reading 178 MB of tables again for it took about 1% of a SelfGNN step). nullopt when
  // that step did not compute it (the stock step, no decay) or p has been written since (its
  // version counter moved, as in-place ATen ops and checkpoint loads move it).
  std::optional<double> SumOfSquares(const torch::Tensor& p) const;

 private:
  torch::Tensor StockStep(LossClosure closure);  // with the coupled decays
  std::unordered_map<const void*, double> coupled_decay_;  // by the parameter's TensorImpl
  struct Squares {
    int64_t version;  // p's version counter when they were summed
    double sum;
  };
  std::unordered_map<const void*, Squares> squares_;  // by the parameter's TensorImpl
};

namespace internal {
// Tests: the portable update (no AVX2) for its lifetime, even where the CPU has AVX2 and FMA.
class ScopedPortableAdamUpdate {
 public:
  ScopedPortableAdamUpdate();
  ~ScopedPortableAdamUpdate();
  ScopedPortableAdamUpdate(const ScopedPortableAdamUpdate&) = delete;
  ScopedPortableAdamUpdate& operator=(const ScopedPortableAdamUpdate&) = delete;

 private:
  bool was_;
};
}  // namespace internal

}  // namespace hardgnn

#endif  // HARDGNN_CORE_TRAIN_FUSED_ADAM_H_
