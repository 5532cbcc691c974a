// `selfgnn`: the SelfGNN encoder (SPEC §2): short-term graph encoders per time slice,
// interval fusion, the instance-level sequence encoder, the SAL stability weights.
#include <algorithm>
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/cpu/sparse_rows.h"
#include "core/graph/residual_gcn.h"
#include "core/graph/spmm.h"
#include "core/model/encoder.h"
#include "core/model/profile.h"
#include "plugins/encoders/selfgnn/dropout.h"
#include "plugins/encoders/selfgnn/init.h"
#include "plugins/encoders/selfgnn/interval_fusion.h"
#include "plugins/encoders/selfgnn/linear.h"
#include "plugins/encoders/selfgnn/options.h"
#include "plugins/encoders/selfgnn/sequence_encoder.h"

namespace hardgnn::selfgnn {
namespace {

constexpr int64_t kEvalChunk = 8192;  // rows fused at a time when scoring every user and item
static_assert(kEvalChunk % 512 == 0, "FuseRowsWithoutGrad's chunks must divide the modules' calls");
// The parts of the untouched items' fusion, nested in "forward: interval fusion, of it untouched items".
constexpr char kUntouchedGather[] = "forward: interval fusion, of it untouched items: gather";
constexpr char kUntouchedRnn[] = "forward: interval fusion, of it untouched items: LSTM";
constexpr char kUntouchedDropout[] = "forward: interval fusion, of it untouched items: dropout";
constexpr char kUntouchedAttention[] = "forward: interval fusion, of it untouched items: attention";

class SelfGnn;

class SelfGnnScorer : public EvalScorer {
 public:
  SelfGnnScorer(SelfGnn& model, at::Tensor users, at::Tensor items)
      : model_(model), users_(std::move(users)), items_(std::move(items)) {}
  at::Tensor Items() override { return items_; }
  at::Tensor Queries(const Batch& batch) override;

 private:
  SelfGnn& model_;
  at::Tensor users_, items_;  // long-term embeddings of every user and item
};

class SelfGnn : public Encoder {
 public:
  SelfGnn(const data::PreparedDataset& d, const Options& o, uint64_t seed)
      : options_(o), num_users_(d.num_users), num_items_(d.num_items), num_slices_(d.num_slices()) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const int64_t g = num_slices_, dim = o.dim;
    user_embed_ = register_parameter("user_embed", GlorotUniform({g, num_users_, dim}, gen));
    item_embed_ = register_parameter("item_embed", GlorotUniform({g, num_items_, dim}, gen));
    rnn_ = register_module("rnn", IntervalRnn(o, gen));
    if (o.separate_rnn) item_rnn_ = register_module("item_rnn", IntervalRnn(o, gen));
    user_attention_ = register_module("user_attention", IntervalAttention(o, gen));
    item_attention_ = register_module("item_attention", IntervalAttention(o, gen));
    sequence_ = register_module("sequence", SequenceEncoder(o, gen));
    const int64_t sal_in = o.sal_additive ? dim : 3 * dim;
    sal_w1_ = register_parameter("sal_w1", GlorotUniform({sal_in, o.ssl_dim}, gen));
    sal_b1_ = register_parameter("sal_b1", at::zeros({o.ssl_dim}));
    sal_w2_ = register_parameter("sal_w2", GlorotUniform({o.ssl_dim, 1}, gen));
    sal_b2_ = register_parameter("sal_b2", at::zeros({1}));

    graph_ = graph::CsrGraph::BlockDiagonal(d.slice_user_item);
    if (o.normalized) edge_norm_ = SymmetricNorm(d);
    // The slice a user's short-term anchor comes from: the latest one with an edge.
    latest_slice_ = at::full({num_users_}, g - 1, at::kLong);
    for (int32_t u = 0; u < num_users_; ++u) {
      for (int64_t k = g - 1; k >= 0; --k) {
        if (d.slice_user_item[k].RowSize(u) > 0) {
          latest_slice_[u] = k;
          break;
        }
      }
    }
  }

  std::vector<std::string> ProvidedViews() const override {
    return {view::kUser,      view::kItem,           view::kUserLong,         view::kUserSeq,
            view::kUserShort, view::kUserShortSlices, view::kItemShortSlices, view::kSalWeight};
  }

  Views Forward(const Batch& batch, bool all_items) override {
    if (is_training() && options_.keep_rate < 1) {  // one mask seed per pass for users, one for items
      user_dropout_seed_ = DrawDropoutSeed();
      item_dropout_seed_ = DrawDropoutSeed();
    }
    ShortTermEmbeddings short_term;
    {
      ScopedPhase phase("forward: graph encoder");
      // The step reads the batch's users' slices only (batch_short), unless every user is fused.
      short_term = ShortTerm(options_.all_rows ? at::Tensor() : batch.users);
    }
    const at::Tensor& users = batch.users;
    const at::Tensor& user_short = short_term.users;
    // The views' gathers (SAL's pairs, the mined rows) and the fusion's meet in one gradient of
    // the item slices: the fork writes it once from all their rows (cpu::ForkForRowGathers).
    at::Tensor item_short = short_term.items;  // the views' handle; short_term.items the fusion's
    if (!options_.all_rows) std::tie(item_short, short_term.items) = cpu::ForkForRowGathers(short_term.items);
    const at::Tensor batch_short =
        user_short.index_select(1, short_term.batch_rows.defined() ? short_term.batch_rows : users);  // [G,B,d]
    at::Tensor user_long, item_table;
    {
      ScopedPhase phase("forward: interval fusion");
      std::tie(user_long, item_table) = FuseForStep(short_term, batch_short, batch, all_items);
    }
    at::Tensor seq;
    {
      ScopedPhase phase("forward: sequence encoder");
      seq = sequence_->forward(batch.seq, batch.seq_mask, item_table);
    }
    ScopedPhase phase("forward: views and SAL weights");
    Views v;
    v.Set(view::kUser, Predict(user_long, seq));
    v.Set(view::kItem, item_table);
    v.Set(view::kUserLong, user_long);
    v.Set(view::kUserSeq, seq);
    v.Set(view::kUserShortSlices, batch_short);
    v.Set(view::kItemShortSlices, item_short);
    const at::Tensor latest = OnDevice(latest_slice_, latest_slice_on_device_, users.device()).index_select(0, users);
    v.Set(view::kUserShort, batch_short.permute({1, 0, 2})
                                .gather(1, latest.view({-1, 1, 1}).expand({-1, 1, options_.dim}))
                                .squeeze(1));
    v.Set(view::kSalWeight, SalWeights(user_long, batch_short));
    return v;
  }

  void AddItemRows(Views& views, const at::Tensor& ids) override {
    if (options_.all_rows) return;  // every row already carries its gradient
    const at::Tensor rows = Fuse(GatherSlices(views.Get(view::kItemShortSlices), ids), true, ids);
    views.Set(view::kItem, views.Get(view::kItem).index_copy(0, ids, rows));
  }

  std::vector<at::Tensor> RegularizedParameters() override {
    return {user_embed_, item_embed_, sequence_->positions(), sal_w1_, sal_w2_};
  }
  bool RegularizedBeforeForward() const override { return true; }

  std::unique_ptr<EvalScorer> MakeEvalScorer() override {
    torch::NoGradGuard no_grad;
    const ShortTermEmbeddings short_term = ShortTerm();
    return std::make_unique<SelfGnnScorer>(*this, FuseInChunks(short_term.users, false),
                                           FuseInChunks(short_term.items, true));
  }

  at::Tensor Predict(const at::Tensor& user_long, const at::Tensor& seq) const {
    return options_.paper_predict ? user_long + seq : user_long + at::leaky_relu(seq, options_.leaky);
  }
  SequenceEncoder& sequence() { return sequence_; }

 private:
  // Short-term embeddings in every slice (SPEC §2.1): every item's, and every user's, or given
  // `users` (a batch's), only their rows (the GCN computes only those rows' totals and last
  // layer: residual_gcn.h), for a forward pass that reads no other user's.
  struct ShortTermEmbeddings {
    at::Tensor users;       // [G, U, d], or given users [G, n, d]: the n distinct ones, ascending
    at::Tensor items;       // [G, I, d]
    at::Tensor batch_rows;  // given users: each one's row of `users` ([B]); else undefined
  };
  ShortTermEmbeddings ShortTerm(const at::Tensor& users = {}) {
    at::Tensor values = edge_norm_.defined() ? OnDevice(edge_norm_, edge_norm_on_device_, user_embed_.device()) : edge_norm_;
    if (options_.edge_dropout && is_training()) {
      at::Tensor keep = at::bernoulli(at::full({graph_.nnz()}, options_.keep_rate)).to(user_embed_.device()) / options_.keep_rate;
      values = values.defined() ? values * keep : keep;
    }
    if (!users.defined()) {
      graph::ResidualGcnResult r =
          graph::ResidualGcn(graph_, user_embed_, item_embed_, options_.gnn_layers, options_.leaky, values);
      return {r.rows, r.cols, at::Tensor()};
    }
    // User u of slice k is row k·U + u of the block-diagonal graph.
    const at::Tensor ids = users.to(at::kCPU, at::kLong).contiguous();
    const int64_t batch = ids.numel();
    std::vector<int64_t>& once = batch_users_;
    once.assign(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + batch);
    std::sort(once.begin(), once.end());
    once.erase(std::unique(once.begin(), once.end()), once.end());
    const int64_t n = static_cast<int64_t>(once.size());
    if (!batch_user_rows_.defined() || batch_user_rows_.numel() < num_slices_ * n + batch) {
      batch_user_rows_ = at::empty({num_slices_ * n + batch}, at::kLong);
    }
    const at::Tensor last_rows = batch_user_rows_.narrow(0, 0, num_slices_ * n);
    int64_t* row = last_rows.data_ptr<int64_t>();
    for (int64_t k = 0; k < num_slices_; ++k) {
      for (int64_t j = 0; j < n; ++j) row[k * n + j] = k * num_users_ + once[j];
    }
    const at::Tensor batch_rows = batch_user_rows_.narrow(0, num_slices_ * n, batch);
    int64_t* place = batch_rows.data_ptr<int64_t>();
    for (int64_t b = 0; b < batch; ++b) {
      place[b] = std::lower_bound(once.begin(), once.end(), ids.data_ptr<int64_t>()[b]) - once.begin();
    }
    graph::ResidualGcnResult r =
        graph::ResidualGcn(graph_, user_embed_, item_embed_, options_.gnn_layers, options_.leaky, values, last_rows);
    return {r.rows.view({num_slices_, n, options_.dim}), r.cols, batch_rows.to(users.device())};
  }

  // Long-term embeddings of the batch's users [B, d] and the item table [I, d]: every item
  // when all_items, else only the touched rows are computed (the others are zero). batch_short:
  // user_short's slices of the batch's users, which the views read too.
  std::pair<at::Tensor, at::Tensor> FuseForStep(const ShortTermEmbeddings& short_term, const at::Tensor& batch_short,
                                                const Batch& batch, bool all_items) {
    const at::Tensor &user_short = short_term.users, &item_short = short_term.items;
    if (options_.all_rows) {  // the published formulation: fuse everyone, then pick
      return {Fuse(user_short, /*items=*/false, at::arange(num_users_, at::kLong)).index_select(0, batch.users),
              Fuse(item_short, /*items=*/true, at::arange(num_items_, at::kLong))};
    }
    // The fusion reads the views' gather where the batch's users are distinct: one full-size
    // gradient buffer (61 MB at the published Yelp shape) where two would be summed, with the
    // same bits (each element gets the same two parts, once). Where a user repeats, one buffer
    // would add that user's parts in another order, so the fusion gathers its own.
    const bool distinct = std::get<0>(at::_unique(batch.users)).size(0) == batch.users.size(0);
    // A user row's dropout is keyed by its row of the whole batch, an item's by its id.
    at::Tensor user_long = Fuse(distinct ? batch_short : user_short.index_select(1, short_term.batch_rows), false,
                                at::arange(batch.first_row, batch.first_row + batch.size(), at::kLong));
    const at::Tensor& touched = batch.touched_items;
    at::Tensor table = at::zeros({num_items_, options_.dim}, item_short.options());
    if (all_items) {
      // A sampler scans every row, but the losses read only the touched ones (and, after
      // AddItemRows, the sampler's picks): the rest are computed without autograd, so the
      // backward pass never runs over the whole catalog.
      // Nested in "forward: interval fusion": what fresh mining adds to SelfGNN's step.
      ScopedPhase phase("forward: interval fusion, of it untouched items");
      at::Tensor untouched =
          at::ones({num_items_}, touched.options().dtype(at::kBool)).index_fill_(0, touched, false).nonzero().view(-1);
      torch::NoGradGuard no_grad;
      table.index_copy_(0, untouched, FuseWithoutGrad(item_short, untouched));
    }
    return {user_long, table.index_copy(0, touched, Fuse(GatherSlices(item_short, touched), true, touched))};
  }

  // slices[:, ids] ([G, I, d] -> [G, N, d]), held in memory as [N, G, d], the layout the fusion
  // reads (so that its gradient comes back contiguous, with no copy to flatten it). Under
  // autograd its gradient reaches the per-slice item embeddings as sparse rows, which the fork
  // of Forward adds, with SAL's pairs' rows, into the one full-size gradient it writes (117 MB at
  // the published Yelp shape), where at::index_select's backward would zero one per gather.
  static at::Tensor GatherSlices(const at::Tensor& slices, const at::Tensor& ids) {
    const int64_t g = slices.size(0), n = ids.size(0);
    const at::Tensor flat = ids.unsqueeze(1) + (at::arange(g, ids.options()) * slices.size(1)).unsqueeze(0);  // [N, G]
    return cpu::GatherRowsSparseGradient(slices, flat.reshape(-1)).view({n, g, slices.size(2)}).permute({1, 0, 2});
  }

  // Fuse(GatherSlices(item_short, ids), true, ids) without autograd: by the chunked pipeline
  // (FuseRowsWithoutGrad, the same bits) where it applies, else by the modules, each part
  // profiled as the untouched items'.
  at::Tensor FuseWithoutGrad(const at::Tensor& item_short, const at::Tensor& ids) {
    const FusionDropout dropout{1.0 - options_.keep_rate, item_dropout_seed_, ids};
    at::Tensor rows = FuseRowsWithoutGrad(*Rnn(true), *Attention(true), item_short, ids,
                                          is_training() ? &dropout : nullptr);
    if (rows.defined()) return rows;
    at::Tensor slices;
    {
      ScopedPhase gather(kUntouchedGather);
      slices = GatherSlices(item_short, ids);
    }
    return Fuse(slices, true, ids, /*untouched_phases=*/true);
  }

  // Interval fusion of slices [G, N, d] into long-term embeddings [N, d] (SPEC §2.2). In
  // training, row n's output dropout is keyed by keys[n] (RowDropout), with the pass's seed;
  // undefined keys: no dropout (evaluation). untouched_phases: profile its parts as the
  // untouched items' (what fresh mining costs, by kernel).
  at::Tensor Fuse(const at::Tensor& slices, bool items, const at::Tensor& keys, bool untouched_phases = false) {
    // No rows (no untouched item, no extra pick): the stock modules cannot reshape an empty batch.
    if (slices.size(1) == 0) return at::zeros({0, options_.dim}, slices.options());
    at::Tensor x = slices.permute({1, 0, 2});  // [N, G, d], a strided view: the RNN reads it in place
    const double p = 1.0 - options_.keep_rate;
    const FusionDropout dropout{p, items ? item_dropout_seed_ : user_dropout_seed_, keys};
    // The fused LSTM masks its output itself (RowDropout's bits) where it applies.
    const bool rnn_drops = keys.defined() && is_training() && p > 0 && p < 1 && Rnn(items)->TakesDropout(x);
    // And the attention's layer norm after it, where both apply (the same bits).
    const bool rnn_norms = rnn_drops && Attention(items)->NormsInBlocks(x);
    const FusionLayerNorm norm = Attention(items)->BlockNorm();
    at::Tensor h;
    {
      ScopedPhase phase(untouched_phases ? kUntouchedRnn : nullptr);
      h = Rnn(items)->forward(x, rnn_drops ? &dropout : nullptr, rnn_norms ? &norm : nullptr);
    }
    if (rnn_norms) {
      ScopedPhase phase(untouched_phases ? kUntouchedAttention : nullptr);
      return Attention(items)->Attend(h);
    }
    if (keys.defined() && !rnn_drops) {
      ScopedPhase phase(untouched_phases ? kUntouchedDropout : nullptr);
      h = RowDropout(h, p, is_training(), dropout.seed, keys);
    }
    ScopedPhase phase(untouched_phases ? kUntouchedAttention : nullptr);
    return Attention(items)->forward(h);
  }

  IntervalRnn& Rnn(bool items) { return items && options_.separate_rnn ? item_rnn_ : rnn_; }
  IntervalAttention& Attention(bool items) { return items ? item_attention_ : user_attention_; }

  // Every row of slices [G, N, d] fused without autograd or dropout (evaluation): by the
  // chunked pipeline where it applies (its chunks divide kEvalChunk, so its blocks are those of
  // the modules' calls below: the same bits), else kEvalChunk rows at a time.
  at::Tensor FuseInChunks(const at::Tensor& slices, bool items) {
    const at::Tensor all =
        FuseRowsWithoutGrad(*Rnn(items), *Attention(items), slices, at::arange(slices.size(1), at::kLong), nullptr);
    if (all.defined()) return all;
    std::vector<at::Tensor> parts;
    for (int64_t begin = 0; begin < slices.size(1); begin += kEvalChunk) {
      parts.push_back(Fuse(slices.narrow(1, begin, std::min(kEvalChunk, slices.size(1) - begin)), items, at::Tensor()));
    }
    return at::cat(parts, 0);
  }

  // `host`'s copy on `device`, kept in `cache` (the model's constant tables follow its parameters).
  static const at::Tensor& OnDevice(const at::Tensor& host, at::Tensor& cache, const c10::Device& device) {
    if (device.is_cpu()) return host;
    if (!cache.defined() || cache.device() != device) cache = host.to(device);
    return cache;
  }

  // SAL stability weights w_k(u) for the batch's users, [G, B] (SPEC §2.5).
  at::Tensor SalWeights(const at::Tensor& user_long, const at::Tensor& batch_short) {
    at::Tensor l = user_long.unsqueeze(0).expand_as(batch_short);
    at::Tensor in = options_.sal_additive ? l + batch_short + l * batch_short
                                          : at::cat({l * batch_short, l, batch_short}, 2);
    at::Tensor hidden = at::leaky_relu(Dense(in, sal_w1_, sal_b1_), options_.leaky);
    return at::sigmoid(Dense(hidden, sal_w2_, sal_b2_)).squeeze(-1);
  }

  // x · w + b. Linear's weight and bias gradients (sums over every row) do not depend on the
  // thread count; at::matmul's do (multi-threaded OpenBLAS, ATen's bias reduction).
  at::Tensor Dense(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
    return Fused(options_, x) ? Linear(x, w, b) : at::matmul(x, w) + b;
  }

  // 1/sqrt(|N_k(u)| |N_k(i)|) per edge, in the block graph's forward edge order.
  at::Tensor SymmetricNorm(const data::PreparedDataset& d) const {
    std::vector<float> values;
    values.reserve(graph_.nnz());
    for (const data::Csr& slice : d.slice_user_item) {
      std::vector<int64_t> item_degree(num_items_, 0);
      for (int32_t c : slice.col) ++item_degree[c];
      for (int64_t u = 0; u < slice.num_rows; ++u) {
        for (const int32_t* c = slice.RowBegin(u); c != slice.RowEnd(u); ++c) {
          values.push_back(static_cast<float>(1.0 / std::sqrt(double(slice.RowSize(u)) * item_degree[*c])));
        }
      }
    }
    return at::tensor(values);
  }

  Options options_;
  int64_t num_users_, num_items_, num_slices_;
  uint64_t user_dropout_seed_ = 0, item_dropout_seed_ = 0;  // this training pass's
  graph::CsrGraph graph_;
  at::Tensor edge_norm_, latest_slice_;                        // on the CPU
  // ShortTerm's list of the batch's users' rows (then each batch row's place among them), reused
  // from step to step, so that a step adds no allocation before the GCN: the list's first checks,
  // a few small ATen tensors a step there, raised a training run's resident peak by about 27 MB
  // under tcmalloc (live tensors unchanged).
  std::vector<int64_t> batch_users_;
  at::Tensor batch_user_rows_;
  at::Tensor edge_norm_on_device_, latest_slice_on_device_;    // their copies where the parameters are
  at::Tensor user_embed_, item_embed_, sal_w1_, sal_b1_, sal_w2_, sal_b2_;
  IntervalRnn rnn_{nullptr}, item_rnn_{nullptr};
  IntervalAttention user_attention_{nullptr}, item_attention_{nullptr};
  SequenceEncoder sequence_{nullptr};
};

at::Tensor SelfGnnScorer::Queries(const Batch& batch) {
  at::Tensor seq = model_.sequence()->forward(batch.seq, batch.seq_mask, items_);
  return model_.Predict(users_.index_select(0, batch.users), seq);
}

const Registration<Encoder> kRegistration(
    "selfgnn", Options::Describe(),
    [](const PluginArgs& args, const Encoder::Context& ctx) -> absl::StatusOr<std::unique_ptr<Encoder>> {
      Options o = Options::FromArgs(args, ctx.max_seq_len);
      if (o.dim < 1 || o.heads < 1 || o.dim % o.heads != 0) {
        return absl::InvalidArgumentError(absl::StrCat("selfgnn: dim (", o.dim, ") must be a multiple of heads (", o.heads, ")"));
      }
      if (o.gnn_layers < 0 || o.att_layers < 0 || o.ssl_dim < 1) {
        return absl::InvalidArgumentError("selfgnn: gnn_layers and att_layers must be >= 0, ssl_dim >= 1");
      }
      if (!(o.keep_rate > 0 && o.keep_rate <= 1)) {
        return absl::InvalidArgumentError("selfgnn: keep_rate must be in (0, 1]");
      }
      if (ctx.dataset->num_slices() < 1) {
        return absl::FailedPreconditionError("selfgnn: the dataset has no time slices");
      }
      return std::make_unique<SelfGnn>(*ctx.dataset, o, ctx.seed);
    });

}  // namespace
}  // namespace hardgnn::selfgnn
