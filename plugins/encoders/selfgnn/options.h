#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_OPTIONS_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_OPTIONS_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "core/cpu/kernel_path.h"
#include "core/registry/plugin_args.h"
#include "core/registry/plugin_info.h"

namespace hardgnn::selfgnn {

// SelfGNN's hyperparameters. Defaults are the published code's (SPEC §5.1, Params.py); each
// paper form (SPEC §2.10) is a switch that is off by default.
struct Options {
  int64_t dim = 64;            // latdim
  int64_t gnn_layers = 2;      // gnn_layer
  int64_t att_layers = 2;      // att_layer (instance-level)
  int64_t heads = 16;          // attention heads (width dim / heads)
  double leaky = 0.5;          // LeakyReLU slope
  double keep_rate = 0.5;      // keep probability of the dropout on the interval RNN outputs
  int64_t ssl_dim = 32;        // hidden width of the SAL weight MLP
  int64_t max_seq_len = 200;   // pos_length (set from the trainer's --max_seq_len)
  bool fused = true;           // fused CPU kernels; false = stock LibTorch modules
  bool all_rows = false;       // fuse every user and item each step, as the published code

  // Paper forms.
  bool normalized = false;     // symmetric 1/sqrt(|N(u)||N(i)|) propagation
  bool edge_dropout = false;   // drop edges with probability 1 - keep_rate in training
  bool gru = false;            // GRU instead of the LSTM
  bool separate_rnn = false;   // separate RNNs for users and items
  bool ln_lastdim = false;     // LayerNorm over the last axis, not the (slice, dim) block
  bool seq_attention = false;  // true positional self-attention over the sequence, masked
  bool paper_predict = false;  // score = <ubar + e~, ibar> (no LeakyReLU on e~)
  bool sal_additive = false;   // SAL weight input ubar + u^k + ubar*u^k instead of the concat

  static PluginInfo Describe();
  static Options FromArgs(const PluginArgs& args, int64_t max_seq_len);
};

// Whether the fused CPU kernels compute on `t`: asked for, and `t` on the CPU (elsewhere, and
// with the ATen path forced, the stock LibTorch formulation runs).
inline bool Fused(const Options& o, const at::Tensor& t) { return o.fused && cpu::UseCpuKernels(t); }

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_OPTIONS_H_
