#include "core/eval/count_ahead.h"

#include "core/cpu/vec.h"

namespace hardgnn {

HARDGNN_SIMD_CLONES int64_t CountNotBelow(const float* scores, int64_t n, float target) {
  using cpu::f8;
  using cpu::i8;
  const f8 t = cpu::SplatV<f8>(target);
  // Lanes count the scores below the target (a true compare is -1); four accumulators hide
  // the compare's latency. A lane holds at most n / 8 < 2^31 for any catalog.
  i8 below[4] = {};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int a = 0; a < 4; ++a) below[a] += cpu::LoadV<f8>(scores + i + 8 * a) < t;
  }
  for (; i + 8 <= n; i += 8) below[0] += cpu::LoadV<f8>(scores + i) < t;
  int64_t count_below = 0;
  for (int a = 0; a < 4; ++a) {
    for (int l = 0; l < 8; ++l) count_below -= below[a][l];
  }
  for (; i < n; ++i) count_below += scores[i] < target;
  return n - count_below;
}

}  // namespace hardgnn
