#ifndef HARDGNN_CORE_DIST_GROUP_H_
#define HARDGNN_CORE_DIST_GROUP_H_

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace hardgnn::dist {

// The ranks of a data-parallel job and the collectives they run together (gloo_group.h is
// the implementation, on c10d's Gloo process group). Every rank calls the same collectives
// in the same order. A collective that cannot complete (a rank died or stopped, the network
// broke, --dist_timeout passed) ends this process: it says which rank was lost and exits
// with status 1 (there is nothing to continue with; --resume restarts from the last
// checkpoint), so callers never see a failed collective.
class Group {
 public:
  virtual ~Group() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Sums dense contiguous CPU tensors (float, double, int64) over the ranks, in place. All are
  // started before the first is waited for. Every rank receives the same bits.
  virtual void AllReduceSum(std::vector<at::Tensor>& tensors) = 0;
  // The sum over the ranks of a sparse COO tensor (its rows gathered from every rank and summed
  // in rank order on each, so every rank receives the same bits).
  virtual at::Tensor AllReduceSparse(const at::Tensor& sparse) = 0;
  // Every rank's `local` (contiguous, the same shape on every rank), in rank order.
  virtual std::vector<at::Tensor> AllGather(const at::Tensor& local) = 0;
  // Rank `root`'s contents of each contiguous tensor, in place on every rank.
  virtual void Broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
  virtual void Barrier() = 0;

  // What the collectives moved since the start: payload bytes given to all-reduces and
  // broadcasts (not the bytes on the wire), and the seconds spent in them.
  struct Traffic {
    int64_t allreduce_bytes = 0, broadcast_bytes = 0, calls = 0;
    double seconds = 0;
  };
  virtual Traffic traffic() const = 0;
};

}  // namespace hardgnn::dist

#endif  // HARDGNN_CORE_DIST_GROUP_H_
