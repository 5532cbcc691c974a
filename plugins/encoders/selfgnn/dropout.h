#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_DROPOUT_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_DROPOUT_H_

#include <ATen/core/Tensor.h>

namespace hardgnn::selfgnn {

// Inverted dropout (keep with probability 1 - p, scale kept values by 1 / (1 - p)) whose mask
// comes from a counter-based generator in parallel chunks: at::dropout draws one Bernoulli per
// element from the serial Mersenne twister, about 200 ms for the 20M outputs of the interval
// RNN. The seed is drawn from LibTorch's default CPU generator, so at::manual_seed governs it,
// and the mask does not depend on the thread count. The mask is never stored: the backward
// regenerates it from the seed.
at::Tensor Dropout(const at::Tensor& x, double p, bool training);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_DROPOUT_H_
