#include "core/cpu/memory.h"

#include <malloc.h>

namespace hardgnn::cpu {

bool KeepFreedMemory() {
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  // -1: never trim (a finite threshold, at most INT_MAX, is exceeded by a training step's
  // ~2-3 GB of freed activations, which then fault in again on the next step).
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, -1) == 1;
  return no_mmap && no_trim;
}

}  // namespace hardgnn::cpu
