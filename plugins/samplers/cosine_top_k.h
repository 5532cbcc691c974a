#ifndef HARDGNN_PLUGINS_SAMPLERS_COSINE_TOP_K_H_
#define HARDGNN_PLUGINS_SAMPLERS_COSINE_TOP_K_H_

// Exact top-K cosine search of anchors over an item pool, with each anchor's user history
// excluded, without ever writing the anchors x items score matrix.

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/data/csr.h"

namespace hardgnn {

enum class CosineScreen {
  // Every score in float (FMA register tiles), compared in registers with the anchor's running
  // K-th best score.
  kFloat,
  // Every score first as an exact integer product of the vectors rounded to 14-bit fixed point
  // (twice the float throughput on AVX2); only the scores that the rounding-error bound cannot
  // rule out of the running top-K are recomputed in float, in the order kFloat uses. Same
  // result as kFloat, bit for bit. Needs AVX2 and FMA (see Int16ScreenAvailable).
  kInt16,
  // The same with 8-bit vectors, each row (anchor or item) at its own scale, its largest
  // coordinate at 127, on AVX-512 VNNI: twice the products an instruction of kInt16, with a
  // per-item bound (about 0.015 in cosine instead of 5e-4), so every item that passes it is
  // scored in float at once and the cut follows the exact K-th best score. Same result, bit
  // for bit; kInt16 without VNNI or above K = 16.
  kInt8,
};

bool Int16ScreenAvailable();

// The instructions of the integer screens' tiles: kBest is AVX-512 VNNI where the CPU has it
// (int16: one vpdpwssd per 16 multiply-adds, accumulated; int8: vpdpbusd), else AVX2 (vpmaddwd,
// then vpaddd; the int8 screen falls back to int16). The integer products, hence the result,
// are the same; kAvx2 lets a test compare the two on one machine.
enum class IntTiles { kBest, kAvx2 };
bool VnniTilesAvailable();

// For each anchor b (a row of `anchors`, B x d), the ids of the at most k items of `pool`
// (row indices of `items`, N x d; null: every row) with the highest cosine similarity to it,
// leaving out the items in history row users[b]; best first, ties to the earlier pool position.
// NaN scores are never chosen, so a row can get fewer than k.
std::vector<std::vector<int64_t>> CosineTopK(const at::Tensor& anchors, const at::Tensor& items,
                                             const std::vector<int64_t>* pool, const int64_t* users,
                                             const data::Csr& history, int64_t k, CosineScreen screen,
                                             IntTiles tiles = IntTiles::kBest);

// The int8 screen's item panels as its tiles read them (quads + 128, starts, s_p), packed by
// the AVX-512 packer (only where VnniTilesAvailable()) or the portable one, for the test that
// they agree byte for byte.
std::vector<uint8_t> Int8ItemPanelsForTest(const at::Tensor& items, bool avx512);

}  // namespace hardgnn

#endif  // HARDGNN_PLUGINS_SAMPLERS_COSINE_TOP_K_H_
