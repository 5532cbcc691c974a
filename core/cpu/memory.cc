#include "core/cpu/memory.h"

#include <malloc.h>

#include <climits>

namespace hardgnn::cpu {

bool KeepFreedMemory() {
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;  // trim only beyond 2 GiB free at the top
  return no_mmap && no_trim;
}

}  // namespace hardgnn::cpu
