#ifndef HARDGNN_CORE_MODEL_BATCH_H_
#define HARDGNN_CORE_MODEL_BATCH_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace hardgnn {

// Self-augmented-learning entries of one time slice (SPEC §2.5): pair j compares entry
// (rows_a[j], items_a[j]) with entry (rows_b[j], items_b[j]); rows index the batch.
struct SalPairs {
  at::Tensor rows_a, items_a, rows_b, items_b;  // [n] int64 each
};

// One step's input. Training fills every field; evaluation fills users, seq and seq_mask.
struct Batch {
  at::Tensor users;     // [B] int64 global user ids
  at::Tensor seq;       // [B,M] int64 item ids, right-aligned (last item in column M-1), 0 pad
  at::Tensor seq_mask;  // [B,M] float 1 where seq holds an item
  at::Tensor targets;   // [B] int64 the next item of each row (training positive)

  // Ranking pairs: batch row, positive item, negative item.
  at::Tensor pair_rows, pair_pos, pair_neg;  // [P] int64

  std::vector<SalPairs> sal;  // one per slice, empty when no SAL loss is used

  // Items whose embeddings this step reads (targets, pair items, sequence and SAL items),
  // sorted and distinct. An encoder may compute item views for these rows only.
  at::Tensor touched_items;  // [T] int64

  // The row of a larger batch that row 0 is (data-parallel training gives each rank a share
  // of a step's rows, core/dist): whatever is drawn per row (dropout, a sampler's stream) is
  // keyed by first_row + row, so a row draws the same numbers whichever rank computes it.
  int64_t first_row = 0;

  int64_t size() const { return users.defined() ? users.size(0) : 0; }
};

// The batch's tensors on `device` (the same tensors when they are there already): batches
// are built on the host and move to the model's device once per step. Toward a GPU they go
// through pinned (page-locked) host memory, so the copy is a DMA that does not wait for the
// host: CUDA's caching host allocator keeps the pinned block until the copy has run.
inline Batch OnDevice(Batch batch, const c10::Device& device) {
  auto move = [&](at::Tensor& t) {
    if (!t.defined() || t.device() == device) return;
    const bool pin = device.is_cuda() && t.device().is_cpu();
    t = pin ? t.pin_memory().to(device, /*non_blocking=*/true) : t.to(device);
  };
  for (at::Tensor* t : {&batch.users, &batch.seq, &batch.seq_mask, &batch.targets, &batch.pair_rows, &batch.pair_pos,
                        &batch.pair_neg, &batch.touched_items}) {
    move(*t);
  }
  for (SalPairs& p : batch.sal) {
    for (at::Tensor* t : {&p.rows_a, &p.items_a, &p.rows_b, &p.items_b}) move(*t);
  }
  return batch;
}

// Right-aligns the last `max_len` of items[0, len) into row `row` of seq/mask ([B,M]).
inline void FillSequenceRow(const int32_t* items, int64_t len, int64_t row, int64_t max_len, int64_t* seq,
                            float* mask) {
  const int64_t kept = std::min(len, max_len);
  const int64_t first = len - kept;
  for (int64_t j = 0; j < kept; ++j) {
    seq[row * max_len + (max_len - kept) + j] = items[first + j];
    mask[row * max_len + (max_len - kept) + j] = 1.0f;
  }
}

}  // namespace hardgnn

#endif  // HARDGNN_CORE_MODEL_BATCH_H_
