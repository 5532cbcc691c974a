// The sampler study's anisotropy measures against hand-computed values and brute force, and
// the files `hardgnn study` records (study.csv, grad_norms.csv) over a real short training.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <algorithm>
#include <map>
#include <tuple>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/data/prepare.h"
#include "core/train/batch_builder.h"
#include "core/train/model_setup.h"
#include "core/train/sampler_study.h"
#include "core/train/study_recorder.h"
#include "core/train/trainer.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

at::Tensor Rows(std::vector<std::vector<float>> rows) {
  at::Tensor t = at::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) t[r][c] = rows[r][c];
  }
  return t;
}

TEST(AnisotropyTest, PairCosineByHand) {
  EXPECT_NEAR(MeanPairCosine(Rows({{1, 0}, {1, 0}, {1, 0}})), 1.0, 1e-12);
  EXPECT_NEAR(MeanPairCosine(at::eye(5)), 0.0, 1e-12);
  // Pairs (1,2) = 0, (1,3) = 1, (2,3) = 0.
  EXPECT_NEAR(MeanPairCosine(Rows({{1, 0}, {0, 1}, {1, 0}})), 1.0 / 3, 1e-12);
  EXPECT_NEAR(MeanPairCosine(Rows({{1, 0}, {-1, 0}})), -1.0, 1e-12);
}

TEST(AnisotropyTest, PairCosineEqualsTheMeanOverEveryPair) {
  at::manual_seed(3);
  at::Tensor x = at::randn({37, 6}) + 0.7;
  x = x / at::linalg_vector_norm(x, 2, {1}, true);
  double sum = 0;
  int64_t pairs = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    for (int64_t j = i + 1; j < x.size(0); ++j, ++pairs) sum += (x[i] * x[j]).sum().item<double>();
  }
  EXPECT_NEAR(MeanPairCosine(x), sum / pairs, 1e-6);
}

TEST(AnisotropyTest, TopDirectionShareByHand) {
  EXPECT_NEAR(TopDirectionShare(Rows({{0.6f, 0.8f}, {0.6f, 0.8f}, {-0.6f, -0.8f}})), 1.0, 1e-6);
  EXPECT_NEAR(TopDirectionShare(at::eye(4)), 0.25, 1e-12);
  // X^T X = diag(2, 1): the top direction holds 2 of 3.
  EXPECT_NEAR(TopDirectionShare(Rows({{1, 0}, {1, 0}, {0, 1}})), 2.0 / 3, 1e-6);
}

data::PreparedDataset SmallDataset() {
  std::vector<data::Triple> triples;
  for (int u = 0; u < 60; ++u) {
    for (int j = 0; j < 6 + u % 9; ++j) {
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 7 + j * j) % 50), 10 * j + u % 10});
    }
  }
  auto d = data::PrepareTriples(triples, /*num_slices=*/2, /*eval_negatives=*/20);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

absl::StatusOr<Model> MfWithInfoNce(const data::PreparedDataset& d) {
  PluginChoice choice;
  choice.encoder = "mf";
  choice.sampler = "random";
  choice.anchor_view = "user";
  choice.losses = {{"infonce", 1.0}};
  return CreateModel(choice, d, 7, [](const std::string&, const PluginInfo&) { return ArgMap{}; });
}

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(absl::StrSplit(line, ','));
  return rows;
}

// Trains to `epochs` (resuming when asked) with a recorder attached; returns the run's steps.
int64_t TrainWithRecorder(const data::PreparedDataset& d, const std::string& dir, int64_t epochs, bool resume) {
  absl::StatusOr<Model> model = MfWithInfoNce(d);
  EXPECT_TRUE(model.ok()) << model.status();
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 16;
  o.eval_every = 1;
  o.run_dir = dir;
  o.resume = resume;
  BatchOptions batch;
  absl::StatusOr<SamplerStudy> study = SamplerStudy::Create(d, batch, {32, 3, 0.1, "user", 1});
  EXPECT_TRUE(study.ok()) << study.status();
  auto recorder = StudyRecorder::Create(std::move(*study), *model->encoder, dir, /*grad_norms=*/true);
  EXPECT_TRUE(recorder.ok()) << recorder.status();
  EXPECT_TRUE((*recorder)->Attach(o).ok());
  absl::StatusOr<TrainSummary> run = Train(*model, d, o);
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? run->steps : 0;
}

// An encoder with fixed views: items are the unit basis vectors e_i; each user's anchor is
// `val_weight` e_val + `test_weight` e_test of its own held-out items.
class HeldOutAnchors : public Encoder {
 public:
  HeldOutAnchors(const data::PreparedDataset& d, double val_weight, double test_weight)
      : items_(at::eye(d.num_items)), anchors_(at::zeros({d.num_users, d.num_items})) {
    for (int32_t u = 0; u < d.num_users; ++u) {
      if (d.val_item[u] >= 0) anchors_[u][d.val_item[u]] += val_weight;
      if (d.test_item[u] >= 0) anchors_[u][d.test_item[u]] += test_weight;
    }
  }
  std::vector<std::string> ProvidedViews() const override { return {view::kUser, view::kItem}; }
  Views Forward(const Batch& batch, bool) override {
    Views v;
    v.Set(view::kUser, anchors_.index_select(0, batch.users));
    v.Set(view::kItem, items_);
    return v;
  }
  std::vector<at::Tensor> RegularizedParameters() override { return {}; }
  std::unique_ptr<EvalScorer> MakeEvalScorer() override { return nullptr; }

 private:
  at::Tensor items_, anchors_;
};

// Known answers for the held-out share of the mined negatives (K = 1, the clean protocol: a
// user's training prefix is excluded, held-out items are not). Anchor e_val + 0.5 e_test: the
// one mined item is the validation item when it is not in the prefix, else the test item when
// that is not, else an item at cosine 0 that is neither. Anchor -(e_val + e_test): never.
TEST(SamplerStudyTest, HeldOutShareByHand) {
  // SmallDataset's users, and 10 whose validation and test items both revisit their prefix.
  std::vector<data::Triple> triples;
  for (int u = 0; u < 60; ++u) {
    for (int j = 0; j < 6 + u % 9; ++j) {
      triples.push_back({"u" + std::to_string(u), "i" + std::to_string((u * 7 + j * j) % 50), 10 * j + u % 10});
    }
  }
  for (int r = 0; r < 10; ++r) {
    const int a = r, b = 10 + r, c = 20 + r;
    int t = 0;
    for (int item : {a, b, c, a, b}) triples.push_back({"r" + std::to_string(r), "i" + std::to_string(item), 10 * t++});
  }
  absl::StatusOr<data::PreparedDataset> prepared = data::PrepareTriples(triples, 2, 20);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  const data::PreparedDataset& d = *prepared;
  BatchOptions batch;
  int64_t probes = 0, expected_hits = 0;
  const BatchBuilder builder(d, batch);
  for (int32_t u : builder.TrainableUsers()) {
    const int32_t* seq = d.Sequence(u);
    auto in_prefix = [&](int32_t item) { return std::find(seq, seq + d.train_len[u], item) != seq + d.train_len[u]; };
    ++probes;
    expected_hits += !in_prefix(d.val_item[u]) || !in_prefix(d.test_item[u]);
  }
  ASSERT_GT(expected_hits, 0);
  ASSERT_LT(expected_hits, probes) << "the data should hold users whose held-out items are both revisits";
  for (const auto& [val_weight, test_weight, want] :
       {std::tuple{1.0, 0.5, static_cast<double>(expected_hits) / probes}, std::tuple{-1.0, -1.0, 0.0}}) {
    absl::StatusOr<SamplerStudy> study = SamplerStudy::Create(d, batch, {1000, 1, 0.1, view::kUser, 3});
    ASSERT_TRUE(study.ok()) << study.status();
    HeldOutAnchors encoder(d, val_weight, test_weight);
    absl::StatusOr<StudyRow> row = study->Measure(encoder, 0, 0.0);
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_DOUBLE_EQ(row->heldout_hard, want) << "anchor " << val_weight << " e_val + " << test_weight << " e_test";
  }
}

void AppendText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  out << text;
}

class StudyRecorderTest : public ::testing::TestWithParam<bool> {};

// With GetParam(), the first run "crashes" after writing rows of its next epoch and steps but
// before the checkpoint that would cover them (the rows are injected): the resume redoes that
// epoch and must not leave its rows twice.
TEST_P(StudyRecorderTest, RecordsEveryEpochAndEveryStepsGradientsAcrossAResume) {
  const data::PreparedDataset d = SmallDataset();
  const std::string dir = ::testing::TempDir() + "/study_recorder." + std::to_string(getpid()) + (GetParam() ? "c" : "");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const int64_t first = TrainWithRecorder(d, dir, 2, false);
  if (GetParam()) {
    AppendText(dir + "/study.csv", "2,0.5,0.1,0.1,0.1,1.7,1.7,0,0.1,0.1,0.1,0.1,0\n");
    AppendText(dir + "/grad_norms.csv", absl::StrCat(first, ",2,user_emb,1,1\n", first + 1, ",2,user_emb,1,1\n"));
  }
  const int64_t total = TrainWithRecorder(d, dir, 3, true);  // one more epoch; steps count from 0
  ASSERT_GT(first, 0);
  ASSERT_GT(total, first);

  // study.csv: one header, the model before training, then epochs 0, 1, 2 once each.
  std::vector<std::vector<std::string>> study = ReadCsv(dir + "/study.csv");
  ASSERT_EQ(study.size(), 5u);
  EXPECT_EQ(absl::StrJoin(study[0], ","), StudyRow::CsvHeader());
  for (int e = -1; e <= 2; ++e) EXPECT_EQ(study[e + 2][0], std::to_string(e));

  // grad_norms.csv: every step of both calls, each parameter once, in step order; the value
  // norms of step 0 are those of the seeded initialization, and both tables get a gradient.
  std::vector<std::vector<std::string>> norms = ReadCsv(dir + "/grad_norms.csv");
  absl::StatusOr<Model> fresh = MfWithInfoNce(d);
  ASSERT_TRUE(fresh.ok());
  std::map<std::string, double> initial;
  for (const auto& p : fresh->encoder->named_parameters()) initial[p.key()] = p.value().norm().item<double>();
  const int64_t params = static_cast<int64_t>(initial.size());
  ASSERT_EQ(static_cast<int64_t>(norms.size()), 1 + total * params);
  EXPECT_EQ(absl::StrJoin(norms[0], ",") + "\n", StudyRecorder::GradNormsHeader());
  for (size_t r = 1; r < norms.size(); ++r) {
    EXPECT_EQ(std::stoll(norms[r][0]), static_cast<int64_t>((r - 1) / params)) << "row " << r;
    EXPECT_GT(std::stod(norms[r][3]), 0) << "no gradient reached " << norms[r][2] << " at step " << norms[r][0];
    if (norms[r][0] == "0") {
      EXPECT_NEAR(std::stod(norms[r][4]), initial.at(norms[r][2]), 1e-4 * initial.at(norms[r][2]));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(CleanStopAndCrash, StudyRecorderTest, ::testing::Bool());

}  // namespace
}  // namespace hardgnn
