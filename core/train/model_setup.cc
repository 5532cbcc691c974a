#include "core/train/model_setup.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hardgnn {
namespace {

template <typename T>
absl::StatusOr<std::unique_ptr<T>> CreatePlugin(const std::string& name, const typename T::Context& ctx,
                                                const ArgSource& args) {
  absl::StatusOr<const typename Registry<T>::Entry*> entry = Registry<T>::Global().Find(name);
  if (!entry.ok()) return entry.status();
  return Registry<T>::Global().Create(name, args(name, (*entry)->info), ctx);
}

}  // namespace

ArgMap NoArgs(const std::string&, const PluginInfo&) { return {}; }

absl::Status ValidatePluginNames(const PluginChoice& choice) {
  absl::Status status = EncoderRegistry::Global().Find(choice.encoder).status();
  if (!status.ok()) return status;
  if (!choice.sampler.empty()) {
    status = SamplerRegistry::Global().Find(choice.sampler).status();
    if (!status.ok()) return status;
  }
  for (const LossSpec& spec : choice.losses) {
    status = LossRegistry::Global().Find(spec.name).status();
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<Model> CreateModel(const PluginChoice& choice, const data::PreparedDataset& dataset,
                                  uint64_t seed, const ArgSource& args) {
  absl::Status names = ValidatePluginNames(choice);
  if (!names.ok()) return names;
  Model model;
  auto encoder = CreatePlugin<Encoder>(choice.encoder, {&dataset, seed, choice.max_seq_len}, args);
  if (!encoder.ok()) return encoder.status();
  model.encoder = std::shared_ptr<Encoder>(std::move(*encoder));
  const std::vector<std::string> provided = model.encoder->ProvidedViews();
  auto missing = [&](const std::string& view) {
    return std::find(provided.begin(), provided.end(), view) == provided.end();
  };

  bool needs_negatives = false;
  for (const LossSpec& spec : choice.losses) {
    auto loss = CreatePlugin<Loss>(spec.name, Loss::Context{choice.anchor_view}, args);
    if (!loss.ok()) return loss.status();
    std::vector<std::string> required = (*loss)->RequiredViews();
    if ((*loss)->NeedsNegatives()) {
      needs_negatives = true;
      required.push_back((*loss)->AnchorView());
    }
    for (const std::string& view : required) {
      if (missing(view)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "loss '", spec.name, "' needs view '", view, "', which encoder '", choice.encoder,
            "' does not provide (it provides: ", absl::StrJoin(provided, ", "), ")"));
      }
    }
    model.losses.push_back({spec.name, spec.weight, std::move(*loss)});
  }
  if (needs_negatives) {
    if (choice.sampler.empty()) {
      return absl::InvalidArgumentError("a contrastive loss is chosen but no --sampler");
    }
    auto sampler = CreatePlugin<Sampler>(choice.sampler, {}, args);
    if (!sampler.ok()) return sampler.status();
    model.sampler = std::move(*sampler);
  }
  return model;
}

}  // namespace hardgnn
