#include "core/train/checkpoint.h"

#include <cstring>
#include <map>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/data/cache.h"
#include "core/data/checksum.h"
#include "core/data/file_io.h"

namespace hardgnn {
namespace {

constexpr int64_t kFormat = 2;
// The file ends with the XXH64 of everything before it (8 bytes, little-endian) and this.
constexpr char kMagic[9] = "HGNNCKP2";
constexpr size_t kTrailer = 16;

at::Tensor Bytes(const std::string& s) {
  return at::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())}, at::kByte).clone();
}

std::string String(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

// Every tensor of the module, in a fixed order, with a line naming it, its type and shape.
struct TensorList {
  std::vector<at::Tensor> tensors;
  std::string manifest;
};

TensorList ListTensors(torch::nn::Module& module) {
  TensorList list;
  auto add = [&](const char* kind, const std::string& name, const at::Tensor& t) {
    list.tensors.push_back(t);
    absl::StrAppend(&list.manifest, kind, " ", name, " ", c10::toString(t.scalar_type()), " [",
                    absl::StrJoin(t.sizes(), ","), "]\n");
  };
  for (const auto& p : module.named_parameters(/*recurse=*/true)) add("parameter", p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) add("buffer", b.key(), b.value());
  return list;
}

// "name: the checkpoint has X, now Y" for every setting that differs; a setting the
// checkpoint lacks matches its default in `defaults`.
std::string SettingDifferences(const std::string& stored, const std::string& now, const std::string& defaults = "") {
  const std::map<std::string, std::string> a = ParseSettings(stored), b = ParseSettings(now),
                                           d = ParseSettings(defaults);
  std::vector<std::string> out;
  auto value = [](const std::map<std::string, std::string>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string("(unset)") : absl::StrCat("'", it->second, "'");
  };
  std::map<std::string, bool> keys;
  for (const auto& [k, v] : a) keys[k] = true;
  for (const auto& [k, v] : b) keys[k] = true;
  for (const auto& [k, unused] : keys) {
    if (!a.count(k) && b.count(k) && d.count(k) && d.at(k) == b.at(k)) continue;
    if (value(a, k) != value(b, k)) out.push_back(absl::StrCat(k, ": the checkpoint has ", value(a, k), ", now ", value(b, k)));
  }
  return absl::StrJoin(out, "; ");
}

absl::Status CheckIdentity(const std::string& path, const CheckpointIdentity& stored,
                           const CheckpointIdentity& expected, IdentityCheck check) {
  if (!expected.dataset_fingerprint.empty() && stored.dataset_fingerprint != expected.dataset_fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": trained on another dataset: the checkpoint's is ", stored.dataset, " (fingerprint ",
        stored.dataset_fingerprint, "), --data is ", expected.dataset, " (fingerprint ", expected.dataset_fingerprint, ")"));
  }
  if (stored.architecture != expected.architecture) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": another model: ",
                                                      SettingDifferences(stored.architecture, expected.architecture)));
  }
  const std::string differences =
      check == IdentityCheck::kEverything ? SettingDifferences(stored.config, expected.config, expected.config_defaults) : "";
  if (!differences.empty()) {
    const std::string note = expected.config_note.empty() ? "" : absl::StrCat(" (", expected.config_note, ")");
    return absl::FailedPreconditionError(absl::StrCat(path, ": the run's settings differ: ", differences, note));
  }
  return absl::OkStatus();
}

absl::Status Corrupt(const std::string& path, const std::string& why) {
  return absl::DataLossError(absl::StrCat(path, ": not a usable hardgnn checkpoint of format ", kFormat, ": ", why));
}

}  // namespace

std::map<std::string, std::string> ParseSettings(const std::string& lines) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

CheckpointIdentity WithDataset(CheckpointIdentity identity, const data::PreparedDataset& dataset) {
  identity.dataset_fingerprint = data::FingerprintHex(dataset);
  identity.dataset = absl::StrFormat("%s (%d users, %d items)", dataset.name, dataset.num_users, dataset.num_items);
  return identity;
}

absl::Status SaveCheckpoint(const std::string& path, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                            const CheckpointIdentity& identity, const std::string& trainer_state) {
  const TensorList list = ListTensors(module);
  // Serialized straight into one string with room for the model and two optimizer moments per
  // tensor. A checkpoint of the published Yelp shape is 536 MB; through a growing ostringstream,
  // its copy out and the trailer's append, saving it was the run's peak (3.33 GB resident
  // against 2.52 GB now, experiments/step_profile.sh). Reserved pages that are never written are
  // never resident, so the room costs nothing.
  std::string contents;
  int64_t tensor_bytes = 0;
  for (const at::Tensor& t : list.tensors) tensor_bytes += t.numel() * t.element_size();
  contents.reserve(static_cast<size_t>(tensor_bytes * (optimizer != nullptr ? 3 : 1)) + (size_t{1} << 20));
  try {
    torch::serialize::OutputArchive root;
    root.write("format", at::tensor(kFormat));
    root.write("dataset_fingerprint", Bytes(identity.dataset_fingerprint));
    root.write("dataset", Bytes(identity.dataset));
    root.write("architecture", Bytes(identity.architecture));
    root.write("config", Bytes(identity.config));
    root.write("trainer_state", Bytes(trainer_state));
    root.write("manifest", Bytes(list.manifest));
    // Host copies: a checkpoint from a GPU run reads on a machine without one.
    for (size_t i = 0; i < list.tensors.size(); ++i) root.write(absl::StrCat("t", i), list.tensors[i].detach().cpu());
    if (optimizer != nullptr) {
      torch::serialize::OutputArchive optim;
      optimizer->save(optim);
      root.write("optimizer", optim);
    }
    // To memory: the file itself is written, and checked, below.
    root.save_to([&contents](const void* data, size_t size) {
      contents.append(static_cast<const char*>(data), size);
      return size;
    });
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(path, ": cannot serialize the checkpoint: ", e.what()));
  }
  const uint64_t sum = data::Xxh64(contents.data(), contents.size());
  char trailer[kTrailer];
  for (int i = 0; i < 8; ++i) trailer[i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  std::memcpy(trailer + 8, kMagic, 8);
  contents.append(trailer, kTrailer);
  return data::WriteFileAtomically(path, contents);
}

absl::StatusOr<std::string> LoadCheckpoint(const std::string& path, torch::nn::Module& module,
                                           torch::optim::Optimizer* optimizer, const CheckpointIdentity& expected,
                                           IdentityCheck check, CheckpointIdentity* stored_out) {
  absl::StatusOr<std::string> contents = data::ReadFileToString(path);
  if (!contents.ok()) return contents.status();
  const std::string& c = *contents;
  if (c.size() < kTrailer || std::memcmp(c.data() + c.size() - 8, kMagic, 8) != 0) {
    return Corrupt(path, "no checkpoint trailer (not a checkpoint, cut short, or of an older format)");
  }
  const size_t body = c.size() - kTrailer;
  uint64_t stored_sum = 0;
  for (int i = 7; i >= 0; --i) stored_sum = (stored_sum << 8) | static_cast<uint8_t>(c[body + i]);
  const uint64_t sum = data::Xxh64(c.data(), body);
  if (sum != stored_sum) {
    return Corrupt(path, absl::StrFormat("checksum mismatch (stored %016x, computed %016x): the file is damaged",
                                         stored_sum, sum));
  }
  try {
    // Read onto the module's device, so that the optimizer's state lands where its parameters are.
    const std::vector<at::Tensor> params = module.parameters();
    torch::serialize::InputArchive root;
    root.load_from(c.data(), body, params.empty() ? c10::Device(c10::kCPU) : params.front().device());
    at::Tensor format, fingerprint, dataset, architecture, config, state, manifest;
    if (!root.try_read("format", format) || format.item<int64_t>() != kFormat) return Corrupt(path, "unknown format");
    root.read("dataset_fingerprint", fingerprint);
    root.read("dataset", dataset);
    root.read("architecture", architecture);
    root.read("config", config);
    root.read("trainer_state", state);
    root.read("manifest", manifest);
    const CheckpointIdentity stored{String(fingerprint), String(dataset), String(architecture), String(config), ""};
    if (absl::Status s = CheckIdentity(path, stored, expected, check); !s.ok()) return s;

    const TensorList list = ListTensors(module);
    if (String(manifest) != list.manifest) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": its tensors do not fit this model: it holds\n",
                                                        String(manifest), "the model has\n", list.manifest));
    }
    std::vector<at::Tensor> loaded(list.tensors.size());
    for (size_t i = 0; i < loaded.size(); ++i) root.read(absl::StrCat("t", i), loaded[i]);
    torch::serialize::InputArchive optim;
    if (optimizer != nullptr && !root.try_read("optimizer", optim)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": holds no optimizer state to resume from"));
    }
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < loaded.size(); ++i) list.tensors[i].copy_(loaded[i]);
    }
    if (optimizer != nullptr) optimizer->load(optim);
    if (stored_out != nullptr) *stored_out = stored;
    return String(state);
  } catch (const std::exception& e) {
    return Corrupt(path, e.what());
  }
}

}  // namespace hardgnn
