#include "plugins/encoders/selfgnn/options.h"

namespace hardgnn::selfgnn {

PluginInfo Options::Describe() {
  return {
      "SelfGNN (Liu, Xia, Huang, SIGIR 2024) as the published code computes it: per-slice "
      "short-term graph encoders, interval fusion (LSTM, LayerNorm, multi-head attention, "
      "mean), an instance-level sequence encoder and SAL stability weights; each paper form is "
      "a switch",
      {
          {"dim", ParamType::kInt, "64", "embedding width (latdim)"},
          {"gnn_layers", ParamType::kInt, "2", "graph propagation layers per slice (gnn_layer)"},
          {"att_layers", ParamType::kInt, "2", "instance-level attention layers (att_layer)"},
          {"heads", ParamType::kInt, "16", "attention heads; dim must divide by it"},
          {"leaky", ParamType::kDouble, "0.5", "LeakyReLU slope"},
          {"keep_rate", ParamType::kDouble, "0.5", "keep probability of the interval RNN's output dropout"},
          {"ssl_dim", ParamType::kInt, "32", "hidden width of the SAL weight MLP (ssldim)"},
          {"fused", ParamType::kBool, "true", "fused CPU kernels (false: stock LibTorch LSTM and attention)"},
          {"all_rows", ParamType::kBool, "false",
           "run interval fusion for every user and item each step, as the published code "
           "(false: only the rows the step reads)"},
          {"normalized", ParamType::kBool, "false", "paper form: symmetric-normalized propagation"},
          {"edge_dropout", ParamType::kBool, "false", "paper form: drop edges with probability 1-keep_rate"},
          {"gru", ParamType::kBool, "false", "paper form: GRU instead of the LSTM"},
          {"separate_rnn", ParamType::kBool, "false", "paper form: separate RNNs for users and items"},
          {"ln_lastdim", ParamType::kBool, "false", "paper form: LayerNorm over the last axis only"},
          {"seq_attention", ParamType::kBool, "false",
           "paper form: positional self-attention over the sequence with a padding mask"},
          {"paper_predict", ParamType::kBool, "false", "paper form: score <ubar + e~, ibar>"},
          {"sal_additive", ParamType::kBool, "false", "paper form: additive SAL weight input"},
      }};
}

Options Options::FromArgs(const PluginArgs& a, int64_t max_seq_len) {
  Options o;
  o.dim = a.Int("dim");
  o.gnn_layers = a.Int("gnn_layers");
  o.att_layers = a.Int("att_layers");
  o.heads = a.Int("heads");
  o.leaky = a.Double("leaky");
  o.keep_rate = a.Double("keep_rate");
  o.ssl_dim = a.Int("ssl_dim");
  o.max_seq_len = max_seq_len;
  o.fused = a.Bool("fused");
  o.all_rows = a.Bool("all_rows");
  o.normalized = a.Bool("normalized");
  o.edge_dropout = a.Bool("edge_dropout");
  o.gru = a.Bool("gru");
  o.separate_rnn = a.Bool("separate_rnn");
  o.ln_lastdim = a.Bool("ln_lastdim");
  o.seq_attention = a.Bool("seq_attention");
  o.paper_predict = a.Bool("paper_predict");
  o.sal_additive = a.Bool("sal_additive");
  return o;
}

}  // namespace hardgnn::selfgnn
