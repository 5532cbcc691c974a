// Data parallelism on c10d (core/dist) with the ranks as threads of this process, joined over
// 127.0.0.1: the configuration from torchrun's variables, the join's refusals, the collectives,
// the loss-term weights, the gradient sum, the differentiable gather, the per-row streams that
// make a rank's share draw what the whole batch draws, sharded evaluation, and MF training on
// two ranks against one process.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <map>
#include <thread>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include "core/data/prepare.h"
#include "core/dist/config.h"
#include "core/dist/data_parallel.h"
#include "core/dist/gloo_group.h"
#include "core/eval/evaluator.h"
#include "core/model/sampler.h"
#include "core/train/batch_builder.h"
#include "core/train/model_setup.h"
#include "core/train/trainer.h"
#include "plugins/encoders/selfgnn/dropout.h"

namespace hardgnn::dist {
namespace {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Joins `settings.size()` ranks on threads; each gets its own settings text.
std::vector<absl::StatusOr<std::unique_ptr<GlooGroup>>> JoinRanks(std::vector<std::string> settings, int timeout_s = 30,
                                                                  std::vector<int> world = {}) {
  const int port = FreePort(), n = static_cast<int>(settings.size());
  std::vector<absl::StatusOr<std::unique_ptr<GlooGroup>>> out;
  for (int r = 0; r < n; ++r) out.emplace_back(absl::UnknownError("not joined"));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      JoinRequest req;
      req.config.rank = r;
      req.config.world_size = world.empty() ? n : world[r];
      req.config.master_port = port;
      req.config.timeout = std::chrono::seconds(timeout_s);
      req.settings = settings[r];
      req.run_dir = r == 0 ? "runs/zero" : "";
      out[r] = Join(req);
    });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

std::vector<std::unique_ptr<GlooGroup>> Ranks(int n) {
  std::vector<std::unique_ptr<GlooGroup>> groups;
  for (auto& g : JoinRanks(std::vector<std::string>(n, "a=1\n"))) {
    EXPECT_TRUE(g.ok()) << g.status();
    groups.push_back(std::move(*g));
  }
  return groups;
}

// Runs fn(rank) on one thread per rank.
void OnEachRank(int n, const std::function<void(int)>& fn) {
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back(fn, r);
  for (std::thread& t : threads) t.join();
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(ConfigTest, TorchrunVariablesAndFlags) {
  std::map<std::string, std::string> env;
  auto from = [&](const ConfigFlags& flags) {
    return ConfigFrom(flags, [&](const char* name) -> const char* {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    });
  };
  auto one = from({});
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one->has_value()) << "no WORLD_SIZE: one process";
  env = {{"WORLD_SIZE", "1"}, {"RANK", "0"}};
  EXPECT_FALSE(from({})->has_value()) << "WORLD_SIZE=1: one process";
  env = {{"WORLD_SIZE", "4"}, {"RANK", "2"}, {"MASTER_ADDR", "10.1.2.3"}, {"MASTER_PORT", "1234"}, {"LOCAL_RANK", "0"}};
  auto c = from({});
  ASSERT_TRUE(c.ok() && c->has_value()) << c.status();
  EXPECT_EQ((*c)->rank, 2);
  EXPECT_EQ((*c)->world_size, 4);
  EXPECT_EQ((*c)->local_rank, 0);
  EXPECT_EQ((*c)->master_addr, "10.1.2.3");
  EXPECT_EQ((*c)->master_port, 1234);
  ConfigFlags flags;
  flags.rank = 3;
  flags.master_port = 999;
  c = from(flags);
  EXPECT_EQ((*c)->rank, 3) << "a flag wins over its variable";
  EXPECT_EQ((*c)->master_port, 999);
  env = {{"WORLD_SIZE", "2"}};
  EXPECT_NE(Message(from({}).status()).find("no RANK"), std::string::npos);
  env = {{"WORLD_SIZE", "2"}, {"RANK", "2"}};
  EXPECT_NE(Message(from({}).status()).find("RANK=2 (or --rank) is not below WORLD_SIZE=2"), std::string::npos);
  env = {{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_PORT", "http"}};
  EXPECT_NE(Message(from({}).status()).find("MASTER_PORT='http'"), std::string::npos);
}

TEST(ConfigTest, SettingsDiffNamesEachDifferenceWithBothValues) {
  EXPECT_EQ(SettingsDiff("a=1\nb=2\n", "b=2\na=1\n", "x", "y"), "");
  EXPECT_EQ(SettingsDiff("a=1\nb=2\n", "a=1\nb=3\nc=4\n", "rank 0", "rank 1"),
            "b: rank 0 has '2', rank 1 has '3'; c: rank 0 has (unset), rank 1 has '4'");
  EXPECT_EQ(dist::JoinRanks({1}), "1");
  EXPECT_EQ(dist::JoinRanks({1, 2, 5}), "1, 2 and 5");
}

TEST(ShardTest, ContiguousSharesCoverTheRowsOnce) {
  for (int64_t rows : {1, 2, 7, 512, 1025}) {
    for (int ranks : {1, 2, 3, 8}) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const Shard s = ShardOf(rows, r, ranks);
        EXPECT_EQ(s.begin, next);
        EXPECT_LE(s.size(), rows / ranks + 1);
        EXPECT_GE(s.size(), rows / ranks);
        next = s.end;
      }
      EXPECT_EQ(next, rows);
    }
  }
}

TEST(JoinTest, RefusesOtherSettingsOnEveryRankNamingBothValues) {
  auto g = JoinRanks({"lr=0.001\nseed=1\n", "lr=0.002\nseed=1\n", "lr=0.001\nseed=1\n"});
  for (int r = 0; r < 3; ++r) {
    ASSERT_FALSE(g[r].ok()) << "rank " << r << " started a job whose ranks disagree";
  }
  EXPECT_NE(Message(g[0].status()).find("lr: rank 0 has '0.001', rank 1 has '0.002'"), std::string::npos)
      << g[0].status();
  EXPECT_NE(Message(g[1].status()).find("lr: rank 0 has '0.001', rank 1 has '0.002'"), std::string::npos)
      << g[1].status();
  // Rank 2 agrees with rank 0, but learns from rank 0's refusal what differs.
  EXPECT_NE(Message(g[2].status()).find("lr: rank 0 has '0.001', rank 1 has '0.002'"), std::string::npos)
      << g[2].status();
}

TEST(JoinTest, RefusesAnotherWorldSize) {
  auto g = JoinRanks({"a=1\n", "a=1\n"}, 30, {2, 3});
  ASSERT_FALSE(g[0].ok());
  ASSERT_FALSE(g[1].ok());
  EXPECT_NE(Message(g[0].status()).find("was started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2"), std::string::npos)
      << g[0].status();
}

TEST(JoinTest, NamesTheRanksThatDidNotJoinInTime) {
  const int port = FreePort();
  JoinRequest req;
  req.config.world_size = 3;
  req.config.master_port = port;
  req.config.timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  auto g = Join(req);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(Message(g.status()).find("ranks 1 and 2 of 3 did not join within 2 s"), std::string::npos) << g.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
}

TEST(GroupTest, CollectivesSumGatherAndBroadcast) {
  auto groups = Ranks(3);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1]->rank0_run_dir(), "runs/zero");
  OnEachRank(3, [&](int r) {
    Group& g = *groups[r];
    std::vector<at::Tensor> t = {at::full({5}, float(r + 1)), at::full({2}, double(r) / 4, at::kDouble),
                                 at::full({3}, int64_t(10 * r), at::kLong)};
    g.AllReduceSum(t);
    EXPECT_TRUE(t[0].equal(at::full({5}, 6.0f)));
    EXPECT_TRUE(t[1].equal(at::full({2}, 0.75, at::kDouble)));
    EXPECT_TRUE(t[2].equal(at::full({3}, int64_t(30), at::kLong)));
    std::vector<at::Tensor> all = g.AllGather(at::full({2}, float(r)));
    ASSERT_EQ(all.size(), 3u);
    for (int q = 0; q < 3; ++q) EXPECT_TRUE(all[q].equal(at::full({2}, float(q))));
    std::vector<at::Tensor> b = {at::full({4}, float(r + 7))};
    g.Broadcast(b, 0);
    EXPECT_TRUE(b[0].equal(at::full({4}, 7.0f)));
    // Sparse rows: the sum is the dense sum.
    at::Tensor dense = at::zeros({6, 2});
    dense[r] = float(r + 1);
    dense[5] = 1.0f;
    const at::Tensor idx = dense.ne(0).any(1).nonzero().view({1, -1});
    at::Tensor sum = g.AllReduceSparse(at::sparse_coo_tensor(idx, dense.index_select(0, idx.view(-1)), dense.sizes()));
    at::Tensor expected = at::zeros({6, 2});
    for (int q = 0; q < 3; ++q) expected[q] = float(q + 1);
    expected[5] = 3.0f;
    EXPECT_TRUE(sum.to_dense().equal(expected));
  });
  for (auto& g : groups) EXPECT_GT(g->traffic().calls, 0);
  OnEachRank(3, [&](int r) { groups[r]->Finish(); });
}

TEST(DataParallelTest, TermsWeightedSoTheRanksSumToTheWholeBatch) {
  auto groups = Ranks(2);
  using R = Loss::Reduction;
  OnEachRank(2, [&](int r) {
    DataParallel dp({groups[r].get()}, {});
    // A mean over 3 units (mean 2) on rank 0 and 1 unit (mean 6) on rank 1 is a mean of 3 over
    // 4; a sum adds; a parameters term counts rank 0's; a gathered term is whole on each rank.
    const std::vector<R> kinds = {{R::kMean, r == 0 ? 3 : 1}, {R::kSum}, {R::kParameters}, {R::kGathered}};
    const std::vector<double> local = {r == 0 ? 2.0 : 6.0, r == 0 ? 1.5 : 2.5, r == 0 ? 9.0 : 0.0, 4.0};
    std::vector<double> scales;
    auto whole = dp.ShareTerms({"mean", "sum", "l2", "sal"}, kinds, local, scales);
    ASSERT_TRUE(whole.ok()) << whole.status();
    EXPECT_DOUBLE_EQ((*whole)[0], 3.0);
    EXPECT_DOUBLE_EQ((*whole)[1], 4.0);
    EXPECT_DOUBLE_EQ((*whole)[2], 9.0);
    EXPECT_DOUBLE_EQ((*whole)[3], 4.0);
    EXPECT_DOUBLE_EQ(scales[0], r == 0 ? 0.75 : 0.25);
    EXPECT_DOUBLE_EQ(scales[1], 1.0);
    EXPECT_DOUBLE_EQ(scales[2], r == 0 ? 1.0 : 0.0);
    EXPECT_DOUBLE_EQ(scales[3], 1.0);
    auto unknown = dp.ShareTerms({"mystery"}, {R{}}, {1.0}, scales);
    EXPECT_NE(Message(unknown.status()).find("loss 'mystery' does not say how it adds up over a batch"),
              std::string::npos);
  });
  OnEachRank(2, [&](int r) { groups[r]->Finish(); });
}

// Gradients: summed, bucketed (a 1-float bucket cap puts every parameter in its own), an
// undefined gradient counts as zero, and one undefined on every rank stays undefined.
TEST(DataParallelTest, GradientsSummedAndUndefinedEverywhereStaysUndefined) {
  for (bool sparse : {false, true}) {
    auto groups = Ranks(2);
    OnEachRank(2, [&](int r) {
      torch::NoGradGuard no_grad;
      std::vector<at::Tensor> params = {at::zeros({3}), at::zeros({2, 2}), at::zeros({4}), at::zeros({1 << 14, 4})};
      params[0].mutable_grad() = at::full({3}, float(r + 1));
      if (r == 1) params[1].mutable_grad() = at::full({2, 2}, 5.0f);
      at::Tensor table = at::zeros({1 << 14, 4});
      table[r * 7] = 1.0f;
      table[100] = float(r + 1);
      params[3].mutable_grad() = table;
      DataParallel dp({groups[r].get(), /*bucket_bytes=*/4, sparse}, params);
      dp.ReduceGradients();
      EXPECT_TRUE(params[0].grad().equal(at::full({3}, 3.0f)));
      EXPECT_TRUE(params[1].grad().equal(at::full({2, 2}, 5.0f))) << "undefined on rank 0: zero there";
      EXPECT_FALSE(params[2].grad().defined()) << "undefined on every rank: Adam must skip it, as one process does";
      at::Tensor expected = at::zeros({1 << 14, 4});
      expected[0] = 1.0f;
      expected[7] = 1.0f;
      expected[100] = 3.0f;
      EXPECT_TRUE(params[3].grad().equal(expected)) << (sparse ? "sparse" : "dense");
    });
    OnEachRank(2, [&](int r) { groups[r]->Finish(); });
  }
}

TEST(DataParallelTest, GatherIsDifferentiableAndKeepsEachRanksRows) {
  auto groups = Ranks(2);
  OnEachRank(2, [&](int r) {
    DataParallel dp({groups[r].get()}, {});
    at::Tensor local = (at::arange(r == 0 ? 3 : 1, at::kFloat) + 10 * r).view({-1, 1}).requires_grad_();
    at::Tensor all = dp.exchange()->AllGather(local);
    EXPECT_TRUE(all.detach().view(-1).equal(at::tensor({0.0f, 1.0f, 2.0f, 10.0f})));
    // Every rank differentiates the same function of the gathered rows; each keeps its own.
    (all.view(-1) * at::tensor({1.0f, 2.0f, 3.0f, 4.0f})).sum().backward();
    EXPECT_TRUE(local.grad().view(-1).equal(r == 0 ? at::tensor({1.0f, 2.0f, 3.0f}) : at::tensor({4.0f})));
  });
  OnEachRank(2, [&](int r) { groups[r]->Finish(); });
}

TEST(DataParallelTest, RankZerosStateReachesEveryRank) {
  auto groups = Ranks(2);
  OnEachRank(2, [&](int r) {
    torch::nn::Module m;
    at::Tensor w = m.register_parameter("w", at::full({3}, float(r + 1)));
    m.register_buffer("b", at::full({2}, float(10 * r)));
    torch::optim::Adam adam(m.parameters(), torch::optim::AdamOptions(0.1));
    if (r == 0) {  // one step: rank 0's optimizer has state, rank 1's has none
      w.mutable_grad() = at::ones({3});
      adam.step();
    }
    DataParallel dp({groups[r].get()}, m.parameters());
    std::string state = r == 0 ? "rank zero's" : "other";
    dp.SyncFromRankZero(m, adam, state);
    EXPECT_EQ(state, "rank zero's");
    EXPECT_TRUE(m.named_buffers()["b"].equal(at::zeros({2})));
    at::Tensor after = w.detach().clone();
    w.mutable_grad() = at::ones({3});
    adam.step();  // the same Adam state on both ranks: the same second step
    std::vector<at::Tensor> both = groups[r]->AllGather(w.detach().contiguous());
    EXPECT_TRUE(both[0].equal(both[1]));
    EXPECT_TRUE(dp.CheckReplicasAgree(m, "now").ok());
    if (r == 1) {
      torch::NoGradGuard no_grad;
      w.add_(1e-3);
    }
    const absl::Status s = dp.CheckReplicasAgree(m, "after a nudge:");
    EXPECT_NE(Message(s).find("after a nudge: the parameters of rank 1 differ from rank 0's"), std::string::npos) << s;
  });
  OnEachRank(2, [&](int r) { groups[r]->Finish(); });
}

// Row streams: a rank's share of the rows, told its first row (and the whole batch's
// positives), draws exactly the whole batch's rows.
TEST(ShareTest, SamplersDrawTheWholeBatchsRowsForAShare) {
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t u = 0; u < 24; ++u) {
    for (int32_t j = 0; j < 5; ++j) pairs.emplace_back(u, (u * 7 + j * 3) % 40);
  }
  const data::Csr history = data::CsrFromPairs(24, 40, pairs);
  Sampler::Request whole;
  whole.users = at::arange(24, at::kLong);
  whole.positives = (whole.users * 7) % 40;
  whole.anchors = at::randn({24, 8});
  whole.items = at::randn({40, 8});
  whole.history = &history;
  whole.num_items = 40;
  whole.seed = 1234;
  for (const char* name : {"random", "in_batch", "hard_cosine", "debiased"}) {
    auto sampler = SamplerRegistry::Global().Create(name, {}, {});
    ASSERT_TRUE(sampler.ok()) << sampler.status();
    auto all = (*sampler)->Sample(whole);
    ASSERT_TRUE(all.ok()) << all.status();
    for (const auto& [begin, end] : std::vector<std::pair<int64_t, int64_t>>{{0, 9}, {9, 17}, {17, 24}}) {
      Sampler::Request share = whole;
      share.users = whole.users.slice(0, begin, end);
      share.positives = whole.positives.slice(0, begin, end);
      share.anchors = whole.anchors.slice(0, begin, end);
      share.first_row = begin;
      share.batch_positives = whole.positives;
      auto part = (*sampler)->Sample(share);
      ASSERT_TRUE(part.ok()) << part.status();
      EXPECT_TRUE(part->ids.equal(all->ids.slice(0, begin, end))) << name << " rows " << begin << ".." << end;
    }
  }
}

TEST(ShareTest, RowDropoutMaskIsAFunctionOfTheRowsKey) {
  const at::Tensor x = at::randn({6, 3, 4});
  const at::Tensor keys = at::tensor({5, 9, 2, 14, 3, 8}, at::kLong);
  const at::Tensor all = selfgnn::RowDropout(x, 0.4, true, 77, keys);
  const at::Tensor some = selfgnn::RowDropout(x.index_select(0, at::tensor({4, 1}, at::kLong)), 0.4, true, 77,
                                              at::tensor({3, 9}, at::kLong));
  EXPECT_TRUE(some[0].equal(all[4]));
  EXPECT_TRUE(some[1].equal(all[1]));
  EXPECT_FALSE(selfgnn::RowDropout(x, 0.4, true, 78, keys).equal(all)) << "another seed, another mask";
  const double kept = all.ne(0).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 0.6, 0.15);
  EXPECT_TRUE(selfgnn::RowDropout(x, 0.4, false, 77, keys).equal(x)) << "no dropout outside training";
}

data::PreparedDataset Toy(int users, int items) {
  std::vector<data::Triple> t;
  for (int u = 0; u < users; ++u) {
    for (int j = 0; j < 5 + u % 9; ++j) {
      t.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 11 + j * (j + 3)) % items), 100 * j + u});
    }
  }
  auto d = data::PrepareTriples(t, /*num_slices=*/2, /*eval_negatives=*/25);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

TEST(ShareTest, TargetsAreTheBatchsTargets) {
  const data::PreparedDataset d = Toy(30, 50);
  BatchBuilder builder(d, {});
  std::vector<TrainingEvent> rows;
  for (int32_t u : builder.TrainableUsers()) rows.push_back({u, -1});
  rows.push_back({builder.TrainableUsers()[3], 1});
  EXPECT_TRUE(builder.Targets(rows, 99).equal(builder.BuildRows(rows, 99).targets));
}

// Sharded evaluation with the shards' counts summed gives the one-process metrics, bit for bit.
TEST(ShareTest, ShardedEvaluationIsTheSameBits) {
  const data::PreparedDataset d = Toy(61, 45);
  PluginChoice choice;
  choice.encoder = "mf";
  choice.losses = {{"bpr", 1.0}};
  auto model = CreateModel(choice, d, 3, NoArgs);
  ASSERT_TRUE(model.ok()) << model.status();
  EvalOptions o;
  o.batch_size = 8;
  const EvalResult one = Evaluate(*model->encoder, d, o);
  for (int shards : {2, 3}) {
    // Pass 1 collects each shard's counts; pass 2 hands every shard their sum.
    std::vector<std::vector<int64_t>> counts(shards);
    std::vector<int64_t> sum;
    int call = 0;
    std::vector<EvalResult> results;
    for (int pass = 0; pass < 2; ++pass) {
      for (int s = 0; s < shards; ++s) {
        EvalOptions shard = o;
        shard.shard = s;
        shard.num_shards = shards;
        shard.reduce = [&, s, pass](std::vector<int64_t>& c) {
          if (pass == 0) {
            counts[s].insert(counts[s].end(), c.begin(), c.end());
          } else {
            const size_t offset = call++ % 2 == 0 ? 0 : counts[s].size() / 2;
            for (size_t i = 0; i < c.size(); ++i) c[i] = sum[offset + i];
          }
        };
        EvalResult r = Evaluate(*model->encoder, d, shard);
        if (pass == 1) results.push_back(r);
      }
      if (pass == 0) {
        sum.assign(counts[0].size(), 0);
        for (const auto& c : counts) {
          for (size_t i = 0; i < c.size(); ++i) sum[i] += c[i];
        }
      }
    }
    auto strip = [](const EvalResult& r) { return r.validation.ToJson() + r.test.ToJson(); };
    for (const EvalResult& r : results) EXPECT_EQ(strip(r), strip(one)) << shards << " shards";
  }
}

// MF with BPR, L2 and a contrastive term over each sampler, on two ranks (threads of this
// process; MF draws nothing from LibTorch's global generator) against one process: the same
// losses and metrics. A last step with one row runs whole on both ranks.
TEST(TrainingTest, TwoRanksTrainAsOneProcess) {
  const data::PreparedDataset d = Toy(97, 60);
  for (const char* sampler : {"random", "in_batch", "hard_cosine"}) {
    PluginChoice choice;
    choice.encoder = "mf";
    choice.sampler = sampler;
    choice.anchor_view = "user";
    choice.losses = {{"bpr", 1.0}, {"l2", 1e-3}, {"infonce", 0.1}};
    auto make = [&] {
      auto m = CreateModel(choice, d, 5, [](const std::string& plugin, const PluginInfo&) {
        return plugin == "mf" ? ArgMap{{"init_std", "0.1"}} : ArgMap{};
      });
      EXPECT_TRUE(m.ok()) << m.status();
      return std::move(*m);
    };
    TrainOptions o;
    o.epochs = 3;
    o.batch_size = 32;
    o.users_per_epoch = 0;  // 97 users: steps of 32, 32, 32 and 1 row
    o.lr = 0.02;
    o.eval_every = 1;
    o.batch.max_seq_len = 10;
    o.eval.max_seq_len = 10;
    Model one_model = make();
    auto one = Train(one_model, d, o);
    ASSERT_TRUE(one.ok()) << one.status();

    auto groups = Ranks(2);
    std::vector<absl::StatusOr<TrainSummary>> ranks(2, absl::UnknownError("not run"));
    OnEachRank(2, [&](int r) {
      Model m = make();
      TrainOptions ro = o;
      ro.data_parallel.group = groups[r].get();
      ro.eval.shard = r;
      ro.eval.num_shards = 2;
      ro.eval.reduce = [&, r](std::vector<int64_t>& c) {
        at::Tensor t = at::from_blob(c.data(), {static_cast<int64_t>(c.size())}, at::kLong);
        std::vector<at::Tensor> one_tensor = {t};
        groups[r]->AllReduceSum(one_tensor);
      };
      ranks[r] = Train(m, d, ro);
      groups[r]->Finish();
    });
    for (int r = 0; r < 2; ++r) {
      ASSERT_TRUE(ranks[r].ok()) << ranks[r].status();
      ASSERT_EQ(ranks[r]->epoch_loss.size(), one->epoch_loss.size());
      for (size_t e = 0; e < one->epoch_loss.size(); ++e) {
        EXPECT_NEAR(ranks[r]->epoch_loss[e], one->epoch_loss[e], 1e-5 * std::fabs(one->epoch_loss[e]))
            << sampler << " rank " << r << " epoch " << e;
      }
      EXPECT_NEAR(ranks[r]->best.validation.sampled.Ndcg(10), one->best.validation.sampled.Ndcg(10), 5e-5) << sampler;
      EXPECT_EQ(ranks[r]->best_epoch, one->best_epoch) << sampler;
    }
  }
}

}  // namespace
}  // namespace hardgnn::dist
