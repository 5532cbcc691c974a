#ifndef HARDGNN_CORE_EVAL_COUNT_AHEAD_H_
#define HARDGNN_CORE_EVAL_COUNT_AHEAD_H_

#include <cstdint>

namespace hardgnn {

// How many of scores[0, n) are not below `target`: ties and NaN scores count as ahead of the
// target, as in every rank of core/eval. Vectorized (AVX2 where the CPU has it); the count is
// exact, so it equals the scalar loop's on any input.
int64_t CountNotBelow(const float* scores, int64_t n, float target);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_EVAL_COUNT_AHEAD_H_
