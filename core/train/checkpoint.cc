#include "core/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "absl/strings/str_cat.h"

namespace hardgnn {
namespace {

constexpr int64_t kCheckpointFormat = 1;

std::string TempPath(const std::string& path) { return absl::StrCat(path, ".tmp.", getpid()); }

absl::Status SyncAndRename(const std::string& tmp, const std::string& path) {
  int fd = open(tmp.c_str(), O_RDONLY);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat(path, ": cannot flush to disk: ", std::strerror(errno)));
  }
  close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat(path, ": cannot rename into place: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = TempPath(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out.good()) {
      std::remove(tmp.c_str());
      return absl::InternalError(absl::StrCat(path, ": cannot write: ", std::strerror(errno)));
    }
  }
  return SyncAndRename(tmp, path);
}

absl::Status SaveCheckpoint(const std::string& path, torch::nn::Module& module,
                            torch::optim::Optimizer* optimizer) {
  const std::string tmp = TempPath(path);
  try {
    torch::serialize::OutputArchive root, model, optim;
    root.write("hardgnn_checkpoint_format", at::tensor(kCheckpointFormat));
    module.save(model);
    root.write("model", model);
    if (optimizer != nullptr) {
      optimizer->save(optim);
      root.write("optimizer", optim);
    }
    root.save_to(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat(path, ": cannot write checkpoint: ", e.what()));
  }
  return SyncAndRename(tmp, path);
}

absl::Status LoadCheckpoint(const std::string& path, torch::nn::Module& module,
                            torch::optim::Optimizer* optimizer) {
  if (access(path.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": no checkpoint: ", std::strerror(errno)));
  }
  try {
    torch::serialize::InputArchive root, model, optim;
    root.load_from(path);
    at::Tensor format;
    if (!root.try_read("hardgnn_checkpoint_format", format) || format.item<int64_t>() != kCheckpointFormat) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": not a hardgnn checkpoint of format ", kCheckpointFormat));
    }
    root.read("model", model);
    module.load(model);
    if (optimizer != nullptr) {
      if (!root.try_read("optimizer", optim)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": holds no optimizer state to resume from"));
      }
      optimizer->load(optim);
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot load checkpoint: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace hardgnn
