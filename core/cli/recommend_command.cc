#include "core/cli/recommend_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

#include <ATen/ATen.h>
#include <gflags/gflags.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/cli/npy.h"
#include "core/cli/train_command.h"
#include "core/data/durable_io.h"
#include "core/data/file_io.h"
#include "core/model/batch.h"

DEFINE_string(users, "",
              "recommend: the users to recommend for, ID,ID,... or a file of IDs (whitespace or comma "
              "separated): the raw log's ids when the prepared dataset keeps them, else dense indices");
DEFINE_int64(k, 20, "recommend: items per user");
DEFINE_string(export_embeddings, "",
              "recommend: write user_embeddings.npy, item_embeddings.npy (float32 .npy v1.0), users.txt and "
              "items.txt to this folder");

namespace hardgnn {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "hardgnn recommend: %s\n", std::string(status.message()).c_str());
  return 1;
}

std::string Name(const std::vector<std::string>& names, int64_t id) {
  return names.empty() ? absl::StrCat(id) : names[id];
}

// --users as dense ids, each checked.
absl::StatusOr<std::vector<int32_t>> ParseUsers(const data::PreparedDataset& d) {
  std::string text = FLAGS_users;
  if (data::FileExists(FLAGS_users) && !data::IsDirectory(FLAGS_users)) {
    absl::StatusOr<std::string> read = data::ReadFileToString(FLAGS_users);
    if (!read.ok()) return read.status();
    text = *read;
  }
  std::unordered_map<std::string, int32_t> by_name;
  for (size_t u = 0; u < d.user_names.size(); ++u) by_name.emplace(d.user_names[u], static_cast<int32_t>(u));
  std::vector<int32_t> users;
  for (absl::string_view id : absl::StrSplit(text, absl::ByAnyChar(", \t\r\n"), absl::SkipEmpty())) {
    int32_t u = -1;
    if (!d.user_names.empty()) {
      auto it = by_name.find(std::string(id));
      if (it != by_name.end()) u = it->second;
    } else if (!absl::SimpleAtoi(id, &u) || u >= d.num_users) {
      u = -1;
    }
    if (u < 0) {
      return absl::NotFoundError(absl::StrCat(
          "--users: no user '", id, "' in ", d.name,
          d.user_names.empty() ? absl::StrCat(" (it keeps no raw ids: users are 0..", d.num_users - 1, ")")
                               : " (users are named by the raw log's ids)"));
    }
    users.push_back(u);
  }
  return users;
}

// The model's query vectors of `users`, each over the user's whole sequence, and its item
// vectors: [users, d] and [items, d], float.
std::pair<at::Tensor, at::Tensor> Embeddings(Encoder& encoder, const data::PreparedDataset& d,
                                             const std::vector<int32_t>& users, const EvalOptions& options) {
  torch::NoGradGuard no_grad;
  encoder.eval();
  std::unique_ptr<EvalScorer> scorer = encoder.MakeEvalScorer();
  const at::Tensor items = scorer->Items().to(at::kFloat).contiguous();
  const int64_t max_len = options.max_seq_len;
  std::vector<at::Tensor> queries;
  for (size_t begin = 0; begin < users.size(); begin += options.batch_size) {
    const int64_t size = std::min<int64_t>(options.batch_size, users.size() - begin);
    Batch batch;
    batch.users = at::empty({size}, at::kLong);
    batch.seq = at::zeros({size, max_len}, at::kLong);
    batch.seq_mask = at::zeros({size, max_len}, at::kFloat);
    for (int64_t b = 0; b < size; ++b) {
      const int32_t u = users[begin + b];
      batch.users.data_ptr<int64_t>()[b] = u;
      FillSequenceRow(d.Sequence(u), d.SequenceLength(u), b, max_len, batch.seq.data_ptr<int64_t>(),
                      batch.seq_mask.data_ptr<float>());
    }
    queries.push_back(scorer->Queries(batch).to(at::kFloat));
  }
  at::Tensor user_vectors = queries.empty() ? at::empty({0, items.size(1)}, at::kFloat) : at::cat(queries);
  return {user_vectors.contiguous(), items};
}

// TSV rows of the k best unseen items of each user (ties: the lower item index first).
std::string TopK(const std::vector<int32_t>& users, const at::Tensor& user_vectors, const at::Tensor& items,
                 const data::PreparedDataset& d, int64_t k) {
  const at::Tensor scores = at::mm(user_vectors, items.t()).contiguous();
  std::string out = "user\trank\titem\tscore\n";
  std::vector<int32_t> order(d.num_items);
  for (size_t r = 0; r < users.size(); ++r) {
    const float* s = scores.data_ptr<float>() + r * d.num_items;
    order.clear();
    for (int32_t i = 0; i < d.num_items; ++i) {
      if (!std::isnan(s[i]) && !d.interacted.Contains(users[r], i)) order.push_back(i);
    }
    const size_t n = std::min<size_t>(k, order.size());
    std::partial_sort(order.begin(), order.begin() + n, order.end(),
                      [s](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
    for (size_t j = 0; j < n; ++j) {
      absl::StrAppendFormat(&out, "%s\t%d\t%s\t%.9g\n", Name(d.user_names, users[r]), j + 1,
                            Name(d.item_names, order[j]), s[order[j]]);
    }
  }
  return out;
}

absl::Status Export(const std::string& dir, const at::Tensor& users, const at::Tensor& items,
                    const data::PreparedDataset& d) {
  if (absl::Status s = data::MakeDirectories(dir); !s.ok()) return s;
  for (const auto& [file, matrix] : {std::pair{"user_embeddings.npy", users}, std::pair{"item_embeddings.npy", items}}) {
    const std::string bytes = NpyFloat32Matrix(matrix.size(0), matrix.size(1), matrix.data_ptr<float>());
    if (absl::Status s = data::WriteFileAtomically(absl::StrCat(dir, "/", file), bytes); !s.ok()) return s;
  }
  for (const auto& [file, names, count] : {std::tuple{"users.txt", &d.user_names, d.num_users},
                                           std::tuple{"items.txt", &d.item_names, d.num_items}}) {
    std::string text;
    for (int32_t i = 0; i < count; ++i) absl::StrAppend(&text, Name(*names, i), "\n");
    if (absl::Status s = data::WriteFileAtomically(absl::StrCat(dir, "/", file), text); !s.ok()) return s;
  }
  std::fprintf(stderr, "hardgnn recommend: wrote %d user and %d item vectors of dimension %lld to %s\n", d.num_users,
               d.num_items, static_cast<long long>(items.size(1)), dir.c_str());
  return absl::OkStatus();
}

}  // namespace

int RunRecommendCommand() {
  if (FLAGS_users.empty() && FLAGS_export_embeddings.empty()) {
    return Fail(absl::InvalidArgumentError("give --users=ID,ID|FILE (with --k) and/or --export_embeddings=DIR"));
  }
  if (FLAGS_k < 1) return Fail(absl::InvalidArgumentError("--k must be >= 1"));
  absl::StatusOr<LoadedModel> m = LoadModelFromFlags();
  if (!m.ok()) return Fail(m.status());
  if (absl::Status s = LoadCheckpointFromFlags(*m); !s.ok()) return Fail(s);
  const data::PreparedDataset& d = *m->dataset;
  if (!FLAGS_export_embeddings.empty()) {
    std::vector<int32_t> all(d.num_users);
    std::iota(all.begin(), all.end(), 0);
    const auto [users, items] = Embeddings(*m->model.encoder, d, all, m->options.eval);
    if (absl::Status s = Export(FLAGS_export_embeddings, users, items, d); !s.ok()) return Fail(s);
  }
  if (FLAGS_users.empty()) return 0;
  absl::StatusOr<std::vector<int32_t>> users = ParseUsers(d);
  if (!users.ok()) return Fail(users.status());
  const auto [user_vectors, items] = Embeddings(*m->model.encoder, d, *users, m->options.eval);
  std::fputs(TopK(*users, user_vectors, items, d, FLAGS_k).c_str(), stdout);
  return 0;
}

}  // namespace hardgnn
