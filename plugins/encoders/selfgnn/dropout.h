#ifndef HARDGNN_PLUGINS_ENCODERS_SELFGNN_DROPOUT_H_
#define HARDGNN_PLUGINS_ENCODERS_SELFGNN_DROPOUT_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace hardgnn::selfgnn {

// A dropout seed for one forward pass, drawn from LibTorch's default CPU generator, so
// at::manual_seed governs it.
uint64_t DrawDropoutSeed();

// Inverted dropout (keep with probability 1 - p, scale kept values by 1 / (1 - p)) of the rows
// of x ([N, ...]): row n's mask is drawn from the counter-based generator Rng(seed, keys[n])
// ([N] int64), so it depends on the row's key alone, not on the other rows of the call nor on
// the thread count. Keys are what a row is: a user's batch row (Batch::first_row + row), an
// item's id; a rank computing a share of a batch, or an item computed in another call of the
// same pass, draws the same mask. (at::dropout draws one Bernoulli per element from the serial
// Mersenne twister, about 200 ms for the 20M outputs of the interval RNN.) The mask is never
// stored: the backward regenerates it from the seed and the keys.
at::Tensor RowDropout(const at::Tensor& x, double p, bool training, uint64_t seed, const at::Tensor& keys);

// The interval fusion's row dropout of the RNN's output in training: RowDropout's p, seed and
// keys (one per row).
struct FusionDropout {
  double p;
  uint64_t seed;
  at::Tensor keys;
};

// RowDropout's forward in training with 0 < p < 1 (and so its backward too: the gradient gets
// the same mask) on `rows` rows of `width` floats keyed by keys[0, rows), from src into dst (in
// place where they are equal), in the calling thread: the same mask and bits.
void RowDropoutRows(const float* src, float* dst, int64_t rows, int64_t width, const int64_t* keys, double p,
                    uint64_t seed);

}  // namespace hardgnn::selfgnn

#endif  // HARDGNN_PLUGINS_ENCODERS_SELFGNN_DROPOUT_H_
