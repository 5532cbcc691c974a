#ifndef HARDGNN_CORE_MODEL_VIEWS_H_
#define HARDGNN_CORE_MODEL_VIEWS_H_

#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace hardgnn {

// The named tensors an encoder publishes for one step; samplers and losses read them by
// name, so any encoder that publishes the views a loss needs works with that loss.
// Batch-aligned views have B rows (one per batch row); item views have num_items rows.
namespace view {
inline constexpr char kUser[] = "user";          // [B,d] scoring query: score = <user, item>
inline constexpr char kItem[] = "item";          // [I,d] scoring item table
inline constexpr char kUserLong[] = "user_long"; // [B,d] long-term (interval-fused) user
inline constexpr char kUserSeq[] = "user_seq";   // [B,d] instance-level sequence embedding
inline constexpr char kUserShort[] = "user_short";  // [B,d] short-term graph embedding, latest active slice
inline constexpr char kUserShortSlices[] = "user_short_slices";  // [G,B,d]
inline constexpr char kItemShortSlices[] = "item_short_slices";  // [G,I,d]
inline constexpr char kSalWeight[] = "sal_weight";  // [G,B] SAL stability weights
// [B,M,d] the sequence encoder's hidden state at every input position (rows of padded
// positions are zero): position t < M-1 predicts the item at seq[:, t+1], position M-1
// batch.targets (next-item training over every prefix, as SASRec).
inline constexpr char kSeqHidden[] = "seq_hidden";
}  // namespace view

class Views {
 public:
  void Set(const std::string& name, at::Tensor tensor) { tensors_[name] = std::move(tensor); }
  bool Has(const std::string& name) const { return tensors_.count(name) > 0; }
  // Aborts with the list of available views if `name` is missing: the trainer checks at
  // start-up that the encoder provides every view the chosen losses and sampler need.
  const at::Tensor& Get(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, at::Tensor> tensors_;
};

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_VIEWS_H_
