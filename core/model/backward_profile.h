#ifndef HARDGNN_CORE_MODEL_BACKWARD_PROFILE_H_
#define HARDGNN_CORE_MODEL_BACKWARD_PROFILE_H_

// Wall-clock seconds of each kind of autograd node the backward runs (IndexSelectBackward0,
// AccumulateGrad, the fused kernels' own nodes, ...), summed by name while enabled (the trainer's
// --profile): what the phase profile's "backward" is made of, op by op. A RecordFunction
// callback on the backward-function scope, on the thread that enables it (LibTorch runs a CPU
// graph's backward on the thread that calls backward()). A node's time includes the ATen ops
// it calls and their threads' work.

#include <string>
#include <utility>
#include <vector>

namespace hardgnn {

class BackwardNodeProfile {
 public:
  static void Enable();   // on the calling thread; again: no effect
  static void Disable();  // on the thread that enabled it
  static void Reset();
  // Node names (namespaces and CppNode<...> dropped) with their total seconds, largest first.
  static std::vector<std::pair<std::string, double>> Totals();
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_BACKWARD_PROFILE_H_
