#ifndef HARDGNN_CORE_CPU_MEMORY_H_
#define HARDGNN_CORE_CPU_MEMORY_H_

namespace hardgnn::cpu {

// Makes glibc malloc keep freed memory in the process instead of returning it to the kernel:
// large blocks come from the heap rather than from a fresh mmap each time (M_MMAP_MAX = 0), and
// the heap is never trimmed (M_TRIM_THRESHOLD = -1). Call once at start-up, before large tensors
// exist.
//
// Why: every tensor above glibc's mmap threshold (<= 32 MiB) is otherwise a fresh mapping whose
// pages are faulted in on first write. On this project's Firecracker VMs that first touch runs
// at about 0.6-3 GB/s, so allocating a 117 MB activation costs 30-200 ms, 3-10x the elementwise
// op that fills it (measured: leaky_relu on [456000, 64] floats, new output 37-197 ms vs. 11-40
// ms into an existing buffer). A training step allocates dozens of such tensors. The cost: the
// process's resident size stays at its peak. Returns false if mallopt refused.
bool KeepFreedMemory();

}  // namespace hardgnn::cpu

#endif  // HARDGNN_CORE_CPU_MEMORY_H_
