#include "plugins/samplers/cosine_top_k.h"

// The screens share one layout: items are normalized (x / |x|, in float) while they are packed
// into dimension-major panels of 16, a register tile scores 6 anchors (12 in the int8 screen) x
// 16 items, and the tile's scores are compared, still in registers, with each anchor's running
// cut; only the rare score above it leaves the registers. The float screen packs every item
// first, then tasks of 132 anchors pass over 64 KB item blocks. Up to K = 16 the integer screens pass each anchor over
// the first 16 item blocks of 32 KB in one worker (the seed, which sets every cut near its final
// value), then the workers take the remaining blocks in turn, pack one and pass every anchor
// over it while it is in cache (SearchItemBlocks): the packed items never leave the cache, and
// a worker slowed by a neighbour on a shared machine takes fewer blocks; anchors share their
// cuts across workers (see IntAnchor, Int8Anchor). Above it, the int16 screen's tasks of
// anchors pass over items packed first, as in the float screen (see kItemSplitMaxK).
//
// The int16 screen's bound. With S = 2^14, q = round(S x r), r = 1/|x| in float, for the
// normalized vectors a and x (v = x / |x| in float; |v_i| <= 1, so q fits int16): S x r differs
// from S v by at most S 3u < 2^-8 (u = 2^-24), so v = (q + e) / S with |e_i| <= E = 1/2 + 2^-8,
// a.x = (q_a.q_x + q_a.e_x + e_a.q_x + e_a.e_x) / S^2, hence
// |a.x - q_a.q_x / S^2| <= b = (E (|q_a|_1 + |q_x|_1) + d E^2) / S^2, plus the float rounding
// of the score itself (d u |a||x|). q_a.q_x is exact in int32: it and every
// partial sum are at most |q_a|_2 |q_x|_2 < 2^29. If P is the K-th best integer product among
// any set of an anchor's allowed items (those seen so far, or one worker's), K items score at least P/S^2 - b in float, so an item whose
// product is below P - 2 b S^2 scores strictly below the final K-th best float score: it is
// dropped. The rest are scored in float at the end, as the float tiles score them.
//
// The int8 screen's bound is the same argument with a scale per anchor and one per panel of 16
// items: q = round(s x r) with s_a = 127 / max_i |x_i r| for the anchor and s_p = 127 / the
// largest |x_i r| of the panel's rows for its items (each at most 2^14, which S 3u above
// assumes), so |a.x - q_a.q_j / (s_a s_p)| <= (E (|q_a|_1 + |q_j|_1) + d E^2) / (s_a s_p). A
// panel's products are then in one unit, and item j can be dropped where the integer
// U = q_a.q_j + ceil(E |q_a|_1) + ceil(E |q_j|_1 + d E^2) is below low s_a s_p, low being a lower
// bound of the anchor's final K-th best score. The tile starts item j's sum at
// ceil(E |q_j|_1 + d E^2) (the items are stored as q + 128, since vpdpbusd multiplies unsigned
// by signed bytes) and admits j where the sum is at least ceil(c) - start_a, with
// start_a = ceil(E |q_a|_1) - 128 sum(q_a) and c = cut s_p rounded down, cut = low s_a rounded
// down: c <= low s_a s_p, and an integer U below ceil(c) is below c. So the screen is one integer
// comparison per anchor and 16 items. Padding and rows with a NaN start at -2^30 and never pass.
// Admitted items are scored in float as they come, eight at a time, and the cut follows the K-th
// best of those scores (less their rounding): the bound is met against an exact score, not
// against another bound. Ranges, for d up to kInt8MaxDims = 4096: |q_a.q_j| <= |q_a|_2 |q_j|_2 <
// 2^29, 128 |sum(q_a)| < 2^26 and the starts < 2^19; a cut is clamped to +-2^15 (>= 2 s_a, so
// the low clamp drops nothing: every score is above -2, and only padding anchors' +inf cut
// reaches the high one, whose items then pass nowhere). Every real sum and threshold is within
// +-(2^29 + 2^27), every padding sum below -2^30 + 2^26.

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>

#include "core/cpu/kernel_path.h"
#include "core/cpu/parallel.h"
#include "core/cpu/vec.h"

namespace hardgnn {
namespace {

constexpr int kRows = 6;             // anchors per register tile (12 accumulators hide the latency)
constexpr int kInt8Rows = 2 * kRows;  // anchors per int8 tile: two groups, one accumulator each
constexpr int kPanel = 16;           // items per register tile (two 8-lane vectors)
constexpr int64_t kGroupChunk = 22;  // anchor groups per task when tasks split the anchors (132 anchors)
constexpr int64_t kItemSplitMaxK = 16;  // int16 workers split the items up to this K, the anchors above it
constexpr int64_t kIntBlockBytes = 32 << 10, kFloatBlockBytes = 64 << 10;  // measured best
constexpr float kScale = 16384.0f;   // S = 2^14
constexpr float kQuadRange = 127.0f;  // an int8 row is scaled to its largest coordinate at 127
constexpr int64_t kSeedBlocks = 16;  // item blocks each anchor meets in one worker first (SearchItemBlocks)
constexpr int64_t kInt8MaxDims = 4096;  // its sums and thresholds stay within the ranges above (the int16 screen beyond)
constexpr int32_t kPadStart = -(1 << 30);  // an int8 padding item's start: its sums never pass
constexpr float kCutRange = 32768.0f;  // an int8 cut is clamped to +-2^15 (see the ranges above)
constexpr double kFixedError = 0.5 + 1.0 / 256;  // E above
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int32_t kNone = std::numeric_limits<int32_t>::max();  // an integer cut that admits nothing

// A 512-bit Bloom filter of a user's history, two bits an item: an item with either bit clear
// is not in it, so most lookups of an item the user never had skip the history's binary search
// (one cache line an anchor, where the search costs a few mispredicted branches and misses).
class HistoryFilter {
 public:
  HistoryFilter() = default;
  static HistoryFilter Of(const data::Csr& history, int64_t user) {
    HistoryFilter f;
    for (const int32_t* c = history.RowBegin(user); c != history.RowEnd(user); ++c) {
      const auto [b0, b1] = Bits(*c);
      f.words_[b0 >> 6] |= uint64_t{1} << (b0 & 63);
      f.words_[b1 >> 6] |= uint64_t{1} << (b1 & 63);
    }
    return f;
  }
  static HistoryFilter Everything() {  // every lookup goes to the history
    HistoryFilter f;
    std::fill(f.words_, f.words_ + 8, ~uint64_t{0});
    return f;
  }
  bool MayContain(int32_t item) const {
    const auto [b0, b1] = Bits(item);
    return (words_[b0 >> 6] >> (b0 & 63) & words_[b1 >> 6] >> (b1 & 63) & 1) != 0;
  }

 private:
  static std::pair<uint32_t, uint32_t> Bits(int32_t item) {  // two 9-bit fields of a multiplicative hash
    const uint32_t h = static_cast<uint32_t>(item) * 0x9E3779B1u;
    return {h >> 23, (h >> 14) & 511u};
  }
  uint64_t words_[8] = {};
};

// The items searched: rows ids[j] of `raw` (n of them; every row when ids is null), and their
// norms, so that the normalized value of (j, k) is always computed as raw / norm, by every path.
struct Pool {
  const float* raw;
  const int64_t* ids;
  int64_t n, d;
  std::vector<float> norm;  // max(|x_j|, 1e-12); NaN for rows with a NaN or infinite value
  const data::Csr* history;
  int64_t Id(int64_t j) const { return ids == nullptr ? j : ids[j]; }
  const float* Row(int64_t j) const { return raw + Id(j) * d; }
  bool Allowed(int64_t user, int64_t j) const { return !history->Contains(user, static_cast<int32_t>(Id(j))); }
  bool Allowed(const HistoryFilter& filter, int64_t user, int64_t j) const {
    const int32_t id = static_cast<int32_t>(Id(j));
    return !filter.MayContain(id) || !history->Contains(user, id);
  }
};

// out[r] = max(|x[r]|, 1e-12) for `count` rows: the sum of squares in double, in four lanes;
// NaN if it is not finite. Eight rows at a time, so that their addition chains overlap (with
// four, the chains' latency held the loop to half the FMA rate); every row's arithmetic is the
// same wherever it is computed.
HARDGNN_SIMD_CLONES void NormsOf(const float* const* x, int64_t count, int64_t d, float* out) {
  constexpr int kRowsAtOnce = 8;
  for (int64_t r0 = 0; r0 < count; r0 += kRowsAtOnce) {
    const float* rows[kRowsAtOnce];
    for (int r = 0; r < kRowsAtOnce; ++r) rows[r] = x[std::min(r0 + r, count - 1)];
    cpu::d4 lanes[kRowsAtOnce] = {};
    int64_t k = 0;
    for (; k + 4 <= d; k += 4) {
      for (int r = 0; r < kRowsAtOnce; ++r) {
        const cpu::d4 v = {rows[r][k], rows[r][k + 1], rows[r][k + 2], rows[r][k + 3]};
        lanes[r] += v * v;
      }
    }
    for (int r = 0; r < kRowsAtOnce && r0 + r < count; ++r) {
      double sum = (lanes[r][0] + lanes[r][1]) + (lanes[r][2] + lanes[r][3]);
      for (int64_t t = k; t < d; ++t) sum += static_cast<double>(rows[r][t]) * rows[r][t];
      out[r0 + r] = std::isfinite(sum) ? std::max(static_cast<float>(std::sqrt(sum)), 1e-12f) : std::nanf("");
    }
  }
}

// The norms of panel p's rows into pool.norm.
void PanelNorms(Pool& pool, int64_t p) {
  const int64_t j0 = p * kPanel, count = std::min<int64_t>(kPanel, pool.n - j0);
  const float* rows[kPanel];
  for (int64_t l = 0; l < count; ++l) rows[l] = pool.Row(j0 + l);
  if (count > 0) NormsOf(rows, count, pool.d, pool.norm.data() + j0);
}

// ---- float screen ----

// The K best (score, id) of one anchor, best first; ties keep the earlier id.
struct FloatAnchor {
  int64_t k, user;
  float threshold;  // the K-th best score so far: -inf until K are held, +inf for padding rows
  std::vector<std::pair<float, int64_t>> top;
  void Offer(float score, int64_t id) {  // caller ensures score > threshold
    auto pos = std::upper_bound(top.begin(), top.end(), score,
                                [](float s, const std::pair<float, int64_t>& e) { return s > e.first; });
    top.insert(pos, {score, id});
    if (static_cast<int64_t>(top.size()) > k) top.pop_back();
    if (static_cast<int64_t>(top.size()) == k) threshold = top.back().first;
  }
};

HARDGNN_INLINE bool AnyLane(cpu::i8 m) {
  const cpu::l4 x = (cpu::l4)m;  // a bit cast
  return (x[0] | x[1] | x[2] | x[3]) != 0;
}

// Scores kRows anchors (a: d x kRows) against panels [p0, p1) of x[p][dim][16].
HARDGNN_SIMD_CLONES void FloatPanels(const float* a, const float* panels, int64_t p0, int64_t p1, const Pool& pool,
                                     FloatAnchor* rows) {
  const int64_t d = pool.d;
  for (int64_t p = p0; p < p1; ++p) {
    const float* x = panels + p * d * kPanel;
    cpu::f8 acc[kRows][2] = {};
    for (int64_t k = 0; k < d; ++k) {
      const cpu::f8 x0 = cpu::Load<float>(x + k * kPanel), x1 = cpu::Load<float>(x + k * kPanel + 8);
#pragma GCC unroll 6
      for (int i = 0; i < kRows; ++i) {
        const cpu::f8 ai = cpu::SplatV<cpu::f8>(a[k * kRows + i]);
        acc[i][0] += ai * x0;
        acc[i][1] += ai * x1;
      }
    }
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const cpu::f8 t = cpu::SplatV<cpu::f8>(rows[i].threshold);
      if (__builtin_expect(!AnyLane((acc[i][0] > t) | (acc[i][1] > t)), 1)) continue;
      float s[kPanel];
      cpu::Store<float>(s, acc[i][0]);
      cpu::Store<float>(s + 8, acc[i][1]);
      for (int l = 0; l < kPanel; ++l) {
        const int64_t j = p * kPanel + l;
        if (j < pool.n && s[l] > rows[i].threshold && pool.Allowed(rows[i].user, j)) rows[i].Offer(s[l], pool.Id(j));
      }
    }
  }
}

// Float panels x[p][dim][16] (zero-padded); fills pool.norm.
std::vector<float> FloatPanelsOf(Pool& pool) {
  const int64_t n = pool.n, d = pool.d, num_panels = cpu::DivUp(n, kPanel);
  std::vector<float> out(num_panels * d * kPanel);
  cpu::ForEachChunk(num_panels, 64, [&](int64_t p0, int64_t p1, int64_t) {
    for (int64_t p = p0; p < p1; ++p) {
      float* panel = out.data() + p * d * kPanel;
      PanelNorms(pool, p);
      for (int64_t l = 0; l < kPanel; ++l) {
        const int64_t j = p * kPanel + l;
        for (int64_t k = 0; k < d; ++k) panel[k * kPanel + l] = j < n ? pool.Row(j)[k] / pool.norm[j] : 0.0f;
      }
    }
  });
  return out;
}

// ---- int16 screen ----

using Held = std::vector<std::pair<int32_t, int32_t>>;  // (product, pool position)

// Drops the held items whose product the cut has ruled out.
void DropRuledOut(Held& held, int32_t cut) {
  held.erase(std::remove_if(held.begin(), held.end(), [&](const auto& h) { return h.first <= cut; }), held.end());
}

// One worker's part of an anchor's search: the allowed items it saw that the anchor's cut has
// not ruled out. Products at or below the cut are ruled out. A worker raises it to
// P - band - 1, P the K-th best product among the items that worker saw (a lower bound of the
// K-th best among all items), so a cut raised by any worker is valid for all: at the start of
// each item block a worker publishes its cut to the shared one and takes the others' (sharing at
// every raise or every tile would bounce the cut's cache line between the cores).
struct IntAnchor {
  int64_t k, user;
  const HistoryFilter* filter;                    // the user's history, filtered first
  int64_t band;                                   // 2 b S^2, rounded up, with a margin
  std::atomic<int32_t>* shared;                   // the anchor's cut, shared by the workers
  int32_t cut;                                    // this worker's copy, at most the shared one
  std::vector<int32_t> best;                      // the K best products this worker added, a min-heap
  Held held;                                      // above the cut when added

  void Raise(int32_t to) { cut = std::max(cut, to); }
  void Done(const Pool&) { Sync(); }
  void Sync() {
    int32_t now = shared->load(std::memory_order_relaxed);
    while (cut > now && !shared->compare_exchange_weak(now, cut, std::memory_order_relaxed)) {
    }
    cut = std::max(cut, now);
  }

  void Add(int32_t product, int32_t j) {
    held.emplace_back(product, j);
    const auto greater = std::greater<int32_t>();
    if (static_cast<int64_t>(best.size()) < k) {
      best.push_back(product);
      std::push_heap(best.begin(), best.end(), greater);
    } else if (product > best.front()) {
      std::pop_heap(best.begin(), best.end(), greater);
      best.back() = product;
      std::push_heap(best.begin(), best.end(), greater);
    } else {
      return;
    }
    if (static_cast<int64_t>(best.size()) == k) {
      Raise(static_cast<int32_t>(std::max<int64_t>(best.front() - band - 1, std::numeric_limits<int32_t>::min())));
    }
    // The cut never rules out one of the K best, so this keeps them.
    if (static_cast<int64_t>(held.size()) >= 4 * k + 16) DropRuledOut(held, cut);
  }
};

// The float scores of up to eight rows (count), as the float tiles compute them: per lane one
// FMA chain from dimension 0 over raw / norm, each row in its own lane.
__attribute__((target("avx2,fma"))) void ChainDots(const float* a, const float* const* x, const float* norm,
                                                   int count, int64_t d, float* out) {
  const float* rows[8];
  alignas(32) float norms[8], scores[8];
  for (int l = 0; l < 8; ++l) {
    rows[l] = x[std::min(l, count - 1)];
    norms[l] = norm[std::min(l, count - 1)];
  }
  const __m256 n = _mm256_load_ps(norms);
  __m256 s = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= d; k += 8) {  // eight dimensions of the eight rows at a time, transposed in registers
    __m256 t[8], u[8];
    for (int l = 0; l < 8; ++l) t[l] = _mm256_loadu_ps(rows[l] + k);
    for (int l = 0; l < 8; l += 2) {
      u[l] = _mm256_unpacklo_ps(t[l], t[l + 1]);
      u[l + 1] = _mm256_unpackhi_ps(t[l], t[l + 1]);
    }
    for (int l = 0; l < 8; l += 4) {
      t[l] = _mm256_shuffle_ps(u[l], u[l + 2], 0x44);
      t[l + 1] = _mm256_shuffle_ps(u[l], u[l + 2], 0xEE);
      t[l + 2] = _mm256_shuffle_ps(u[l + 1], u[l + 3], 0x44);
      t[l + 3] = _mm256_shuffle_ps(u[l + 1], u[l + 3], 0xEE);
    }
    for (int l = 0; l < 4; ++l) {  // t[l]: rows 0-3 and 4-7 of dimension k + l (low) and k + l + 4 (high)
      u[l] = _mm256_permute2f128_ps(t[l], t[l + 4], 0x20);
      u[l + 4] = _mm256_permute2f128_ps(t[l], t[l + 4], 0x31);
    }
    for (int l = 0; l < 8; ++l) s = _mm256_fmadd_ps(_mm256_set1_ps(a[k + l]), _mm256_div_ps(u[l], n), s);
  }
  for (; k < d; ++k) {
    const __m256 v = _mm256_setr_ps(rows[0][k], rows[1][k], rows[2][k], rows[3][k], rows[4][k], rows[5][k], rows[6][k], rows[7][k]);
    s = _mm256_fmadd_ps(_mm256_set1_ps(a[k]), _mm256_div_ps(v, n), s);
  }
  _mm256_store_ps(scores, s);
  std::copy(scores, scores + count, out);
}

constexpr int kChainLanes = 8;  // rows ChainDots scores at once

// The float scores of pool positions [0, count) (count <= kChainLanes) against `anchor`.
void FloatScores(const float* anchor, const Pool& pool, const int32_t* positions, int count, float* scores) {
  const float* rows[kChainLanes];
  float norms[kChainLanes];
  for (int l = 0; l < count; ++l) {
    rows[l] = pool.Row(positions[l]);
    norms[l] = pool.norm[positions[l]];
  }
  ChainDots(anchor, rows, norms, count, pool.d, scores);
}

// An item scored in float; Better() orders by score, ties to the earlier pool position.
struct Scored {
  float score;
  int32_t j;
};
struct BetterThan {
  bool operator()(const Scored& x, const Scored& y) const { return x.score != y.score ? x.score > y.score : x.j < y.j; }
};
constexpr BetterThan Better;

// The ids of the k best of `scored`, best first.
std::vector<int64_t> BestIds(std::vector<Scored> scored, int64_t k, const Pool& pool) {
  std::sort(scored.begin(), scored.end(), Better);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < std::min<int64_t>(k, scored.size()); ++i) ids.push_back(pool.Id(scored[i].j));
  return ids;
}

// f(Scored) for the float score of each of `count` pool positions against `anchor`, eight at a
// time; NaN scores left out.
template <typename F>
void ForEachScored(const float* anchor, const Pool& pool, const int32_t* positions, int64_t count, const F& f) {
  for (int64_t p0 = 0; p0 < count; p0 += kChainLanes) {
    const int n = static_cast<int>(std::min<int64_t>(kChainLanes, count - p0));
    float scores[kChainLanes];
    FloatScores(anchor, pool, positions + p0, n, scores);
    for (int l = 0; l < n; ++l) {
      if (!std::isnan(scores[l])) f(Scored{scores[l], positions[p0 + l]});
    }
  }
}

// The K best items of an anchor (normalized: `anchor`) by their float scores (ties: earlier pool
// position), among the items its workers hold above the final cut.
std::vector<int64_t> Finish(const float* anchor, const Pool& pool, int64_t k, int32_t cut,
                            Held held) {
  DropRuledOut(held, cut);
  std::vector<int32_t> positions;
  for (const auto& [product, j] : held) positions.push_back(j);
  std::vector<Scored> scored;
  ForEachScored(anchor, pool, positions.data(), positions.size(), [&](const Scored& item) { scored.push_back(item); });
  return BestIds(std::move(scored), k, pool);
}

// Holds the lanes of panel p whose products s[l] are above anchor `row`'s cut (lanes: a bit per
// lane that was above the cut as the tile ended).
HARDGNN_INLINE void AdmitLanes(uint32_t lanes, const int32_t* s, int64_t p, const Pool& pool, IntAnchor& row) {
  for (uint32_t m = lanes; m != 0; m &= m - 1) {
    const int l = __builtin_ctz(m);
    const int64_t j = p * kPanel + l;
    if (j < pool.n && s[l] > row.cut && !std::isnan(pool.norm[j]) && pool.Allowed(*row.filter, row.user, j)) {
      row.Add(s[l], static_cast<int32_t>(j));
    }
  }
}

// Integer products of kRows anchors (a: [dim pair][kRows] int16 pairs) with panels [p0, p1),
// packed in `block` as x[p - p0][dim pair][16][2]; the products above an anchor's cut are held.
__attribute__((target("avx2,fma"))) void Int16PanelsAvx2(const int32_t* a, int64_t pairs, const uint8_t* block,
                                                          int64_t p0, int64_t p1, const Pool& pool, IntAnchor* rows) {
  for (int64_t p = p0; p < p1; ++p) {
    const __m256i* x = reinterpret_cast<const __m256i*>(block + (p - p0) * pairs * 4 * kPanel);
    cpu::i8 acc[kRows][2];
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = cpu::i8{};
#pragma GCC unroll 4
    for (int64_t k = 0; k < pairs; ++k) {
      const __m256i x0 = _mm256_loadu_si256(x + 2 * k), x1 = _mm256_loadu_si256(x + 2 * k + 1);
#pragma GCC unroll 6
      for (int i = 0; i < kRows; ++i) {
        const __m256i ai = _mm256_set1_epi32(a[k * kRows + i]);
        acc[i][0] += (cpu::i8)_mm256_madd_epi16(ai, x0);
        acc[i][1] += (cpu::i8)_mm256_madd_epi16(ai, x1);
      }
    }
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m256i t = _mm256_set1_epi32(rows[i].cut);
      const __m256i above0 = _mm256_cmpgt_epi32((__m256i)acc[i][0], t), above1 = _mm256_cmpgt_epi32((__m256i)acc[i][1], t);
      const __m256i above = _mm256_or_si256(above0, above1);
      if (__builtin_expect(_mm256_testz_si256(above, above), 1)) continue;
      alignas(32) int32_t s[kPanel];
      _mm256_store_si256(reinterpret_cast<__m256i*>(s), (__m256i)acc[i][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(s + 8), (__m256i)acc[i][1]);
      AdmitLanes(static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(above0))) |
                     static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(above1))) << 8,
                 s, p, pool, rows[i]);
    }
  }
}

// acc += the products of x's 16 lanes with the lane at a, broadcast by the instruction's own
// load: vpdpbusd (four unsigned bytes of x by four signed bytes of a) and vpdpwssd (two int16 by
// two). GCC emits a separate vpbroadcastd for _mm512_set1_epi32, which made the tiles issue
// twice the instructions their multiply-adds need.
__attribute__((target("avx512f,avx512vnni"), always_inline)) inline __m512i BytesDotBroadcast(__m512i acc, __m512i x, const int32_t* a) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(x), "m"(*a));
  return acc;
}
__attribute__((target("avx512f,avx512vnni"), always_inline)) inline __m512i WordsDotBroadcast(__m512i acc, __m512i x, const int32_t* a) {
  asm("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(x), "m"(*a));
  return acc;
}

// sum[i] = start + the products of kRows anchors (a: [unit][kRows], a unit = four bytes or two
// int16) with the 16 items of one panel (x: [unit][16]), by Dot. Two sums an anchor (even and odd
// units): 12 independent chains, as many as the instructions' latency needs on a CPU that issues
// two a cycle. Integer sums wrap, so the split gives the same integers.
template <__m512i (*Dot)(__m512i, __m512i, const int32_t*)>
__attribute__((target("avx512f,avx512vnni"), always_inline)) inline void PanelSums(const int32_t* a, int64_t units,
                                                                                  const __m512i* x, __m512i start,
                                                                                  __m512i* sum) {
  __m512i acc[kRows], odd[kRows];
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    acc[i] = start;
    odd[i] = _mm512_setzero_si512();
  }
  int64_t k = 0;
#pragma GCC unroll 2
  for (; k + 2 <= units; k += 2) {
    const __m512i xk = _mm512_load_si512(x + k), xn = _mm512_load_si512(x + k + 1);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      acc[i] = Dot(acc[i], xk, a + k * kRows + i);
      odd[i] = Dot(odd[i], xn, a + (k + 1) * kRows + i);
    }
  }
  if (k < units) {
    const __m512i xk = _mm512_load_si512(x + k);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) acc[i] = Dot(acc[i], xk, a + k * kRows + i);
  }
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) sum[i] = _mm512_add_epi32(acc[i], odd[i]);
}

// The same products by AVX-512 VNNI, a panel's 16 items in one register: vpdpwssd multiplies
// and adds them into the accumulator in one instruction (vpmaddwd, then vpaddd above; both
// wrap, so every product is the same integer). `units`: pairs per row.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni,avx2,fma"))) void Int16PanelsVnni(
    const int32_t* a, int64_t units, const uint8_t* block, int64_t p0, int64_t p1, const Pool& pool, IntAnchor* rows) {
  for (int64_t p = p0; p < p1; ++p) {
    const __m512i* x = reinterpret_cast<const __m512i*>(block + (p - p0) * units * 4 * kPanel);
    __m512i acc[kRows];
    PanelSums<WordsDotBroadcast>(a, units, x, _mm512_setzero_si512(), acc);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __mmask16 above = _mm512_cmpgt_epi32_mask(acc[i], _mm512_set1_epi32(rows[i].cut));
      if (__builtin_expect(above == 0, 1)) continue;
      alignas(64) int32_t s[kPanel];
      _mm512_store_si512(s, acc[i]);
      AdmitLanes(above, s, p, pool, rows[i]);
    }
  }
}

using IntTile = void (*)(const int32_t*, int64_t, const uint8_t*, int64_t, int64_t, const Pool&, IntAnchor*);

}  // namespace

bool VnniTilesAvailable() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}

namespace {

// q[k] = round(s x[k] r), r = 1 / norm, by the float rounding of the addition of 1.5 * 2^23
// (|s x r| <= s + 1), vectorized; returns |q|_1 and, if sum is given, adds sum(q) to it. For a
// row with no NaN.
template <typename Q>
HARDGNN_INLINE int64_t RoundRow(const float* x, float r, float s, int64_t d, Q* q, int32_t* sum = nullptr) {
  int32_t l1 = 0, total = 0;
  for (int64_t k = 0; k < d; ++k) {
    const int32_t v = static_cast<int32_t>((x[k] * r * s + 12582912.0f) - 12582912.0f);
    q[k] = static_cast<Q>(v);
    l1 += v < 0 ? -v : v;
    total += v;
  }
  if (sum != nullptr) *sum += total;
  return l1;
}
HARDGNN_SIMD_CLONES int64_t FixedRow(const float* x, float r, float s, int64_t d, int16_t* q) { return RoundRow(x, r, s, d, q); }
HARDGNN_SIMD_CLONES int64_t FixedRow8(const float* x, float r, float s, int64_t d, int8_t* q, int32_t* sum) {
  return RoundRow(x, r, s, d, q, sum);
}

// max_k |x_k r|, each product as RoundRow computes it, eight lanes at a time (max is exact, so
// the order does not matter); for a row with no NaN.
HARDGNN_SIMD_CLONES float LargestScaled(const float* x, float r, int64_t d) {
  cpu::f8 lanes = {};
  int64_t k = 0;
  for (; k + 8 <= d; k += 8) {
    cpu::f8 v = {x[k] * r, x[k + 1] * r, x[k + 2] * r, x[k + 3] * r, x[k + 4] * r, x[k + 5] * r, x[k + 6] * r, x[k + 7] * r};
    v = v < 0 ? -v : v;
    lanes = lanes > v ? lanes : v;
  }
  float largest = 0.0f;
  for (int l = 0; l < 8; ++l) largest = std::max(largest, lanes[l]);
  for (; k < d; ++k) largest = std::max(largest, std::fabs(x[k] * r));
  return largest;
}

// The fixed-point row of x / norm as int16 pairs at S = 2^14 (dimensions 2i, 2i+1 in pair i; an
// odd d's last pair padded with 0; all zero when norm is NaN), as the int16 tiles read it.
// Returns |q|_1.
int64_t FixedPairs(const float* x, float norm, int64_t d, uint32_t* pairs) {
  std::fill(pairs, pairs + cpu::DivUp(d, 2), 0);
  return std::isnan(norm) ? 0 : FixedRow(x, 1.0f / norm, kScale, d, reinterpret_cast<int16_t*>(pairs));
}

// A row for the int8 tiles at its own scale s = 127 / max_k |x_k r| (at most 2^14, which the
// error bound assumes), as signed quads (zero past d, and all zero when norm is NaN). Returns
// |q|_1, s and sum(q).
int64_t FixedQuads(const float* x, float norm, int64_t d, uint32_t* quads, float* scale, int32_t* sum) {
  std::fill(quads, quads + cpu::DivUp(d, 4), 0);
  *scale = kScale;
  *sum = 0;
  if (std::isnan(norm)) return 0;
  const float r = 1.0f / norm, largest = LargestScaled(x, r, d);
  if (largest > 0.0f) *scale = std::min(kScale, kQuadRange / largest);
  return FixedRow8(x, r, *scale, d, reinterpret_cast<int8_t*>(quads), sum);
}

// panel[unit][16] from q[16][unit]: the kPanel rows' units, dimension-major as the tiles read them.
void Interleave(const uint32_t* q, int64_t units, uint32_t* panel) {
  for (int64_t k = 0; k < units; ++k) {
    for (int64_t l = 0; l < kPanel; ++l) panel[k * kPanel + l] = q[l * units + k];
  }
}

// Packs int16 panels [p0, p1) as the tiles read them, x[p - p0][pair][16] (zero-padded; rows
// with a NaN are zero), and fills their pool.norm. q: scratch for kPanel rows of pairs.
void PackPanels(Pool& pool, int64_t p0, int64_t p1, uint8_t* block, uint32_t* q) {
  const int64_t n = pool.n, d = pool.d, units = cpu::DivUp(d, 2);
  for (int64_t p = p0; p < p1; ++p) {
    uint32_t* panel = reinterpret_cast<uint32_t*>(block + (p - p0) * units * 4 * kPanel);
    PanelNorms(pool, p);
    for (int64_t l = 0; l < kPanel; ++l) {
      const int64_t j = p * kPanel + l;
      FixedPairs(j < n ? pool.Row(j) : nullptr, j < n ? pool.norm[j] : std::nanf(""), d, q + l * units);
    }
    Interleave(q, units, panel);
  }
}

// ---- int8 screen ----

// The bytes of an int8 panel: quads[unit][16] (q + 128, at the panel's scale s_p), then each
// item's start ceil(E |q_j|_1 + d E^2) (int32[16]; kPadStart for padding and rows with a NaN),
// then s_p in every lane (float[16]).
int64_t Int8PanelBytes(int64_t units) { return (units + 2) * 4 * kPanel; }

// Panel p's parts in its bytes (quads, starts, scales), its norms filled in.
std::tuple<uint32_t*, int32_t*, float*> Int8PanelParts(Pool& pool, int64_t p, uint8_t* bytes, int64_t units) {
  uint32_t* panel = reinterpret_cast<uint32_t*>(bytes);
  PanelNorms(pool, p);
  return {panel, reinterpret_cast<int32_t*>(panel + units * kPanel), reinterpret_cast<float*>(panel + (units + 1) * kPanel)};
}

// s_p = 127 / the largest coordinate of the panel's rows (at most 2^14).
float PanelScale(float largest) { return largest > 0.0f ? std::min(kScale, kQuadRange / largest) : kScale; }

void PackInt8Panels(Pool& pool, int64_t p0, int64_t p1, uint8_t* block, uint32_t* q) {
  const int64_t n = pool.n, d = pool.d, units = cpu::DivUp(d, 4);
  for (int64_t p = p0; p < p1; ++p) {
    const auto [panel, start, scale] = Int8PanelParts(pool, p, block + (p - p0) * Int8PanelBytes(units), units);
    const int64_t j0 = p * kPanel;
    float inverse[kPanel];  // 1 / norm of each real row, NaN elsewhere
    float largest = 0.0f;
    for (int64_t l = 0; l < kPanel; ++l) {
      inverse[l] = j0 + l < n ? 1.0f / pool.norm[j0 + l] : std::nanf("");
      if (!std::isnan(inverse[l])) largest = std::max(largest, LargestScaled(pool.Row(j0 + l), inverse[l], d));
    }
    const float s = PanelScale(largest);
    for (int64_t l = 0; l < kPanel; ++l) {
      uint32_t* row = q + l * units;
      std::fill(row, row + units, 0);
      start[l] = kPadStart;
      if (!std::isnan(inverse[l])) {
        const int64_t l1 = FixedRow8(pool.Row(j0 + l), inverse[l], s, d, reinterpret_cast<int8_t*>(row), nullptr);
        start[l] = static_cast<int32_t>(std::ceil(kFixedError * l1 + d * kFixedError * kFixedError));
      }
      for (int64_t t = 0; t < units; ++t) row[t] ^= 0x80808080u;  // q + 128 in every byte
      scale[l] = s;
    }
    Interleave(q, units, panel);
  }
}

// The mask of a vector's first `count` lanes (none, or all 16, beyond).
HARDGNN_INLINE __mmask16 FirstLanes(int64_t count) {
  return count >= 16 ? __mmask16{0xFFFF} : count <= 0 ? __mmask16{0} : static_cast<__mmask16>((1u << count) - 1);
}

// |x[k, k + 16) r| (zero past d), each product as RoundRow computes it; |y| by its bits, and
// maskz forms: GCC warns on the plain forms' undefined inputs.
__attribute__((target("avx512f"), always_inline)) inline __m512 ScaledMagnitudes(const float* x, int64_t k, int64_t d, __m512 r) {
  const __m512 y = _mm512_mul_ps(_mm512_maskz_loadu_ps(FirstLanes(d - k), x + k), r);
  return _mm512_castsi512_ps(_mm512_and_epi32(_mm512_castps_si512(y), _mm512_set1_epi32(0x7FFFFFFF)));
}

// ceil(E l1 + d E^2) of 8 or 16 lanes, exact in double (E = 129/256, l1 < 2^19): the items'
// starts. The maskz forms: GCC warns on the plain forms' undefined inputs.
__attribute__((target("avx512f"), always_inline)) inline __m256i ItemStarts(__m256i l1, int64_t d) {
  const __m512d sum = _mm512_fmadd_pd(_mm512_maskz_cvtepi32_pd(0xFF, l1), _mm512_set1_pd(kFixedError),
                                      _mm512_set1_pd(d * kFixedError * kFixedError));
  return _mm512_maskz_cvtpd_epi32(0xFF, _mm512_maskz_roundscale_pd(0xFF, sum, _MM_FROUND_TO_POS_INF));
}
__attribute__((target("avx512f"), always_inline)) inline __m512i ItemStarts(__m512i l1, int64_t d) {
  const __m256i low = ItemStarts(_mm512_maskz_extracti64x4_epi64(0xFF, l1, 0), d);
  const __m256i high = ItemStarts(_mm512_maskz_extracti64x4_epi64(0xFF, l1, 1), d);
  return _mm512_maskz_inserti64x4(0xFF, _mm512_castsi256_si512(low), high, 1);
}

// Transposes the 16 x 16 int32 in x (x[i] lane j becomes x[j] lane i): 64 shuffles (maskz
// forms: GCC warns on the plain forms' undefined inputs).
__attribute__((target("avx512f"), always_inline)) inline void Transpose16(__m512i* x) {
  __m512i t[kPanel], u[kPanel];
  for (int i = 0; i < kPanel; i += 2) {  // per 128-bit lane: pairs of rows' elements 0-1, 2-3
    t[i] = _mm512_maskz_unpacklo_epi32(0xFFFF, x[i], x[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_epi32(0xFFFF, x[i], x[i + 1]);
  }
  for (int i = 0; i < kPanel; i += 4) {  // u[i + m], 128-bit lane L: element 4 L + m of rows i to i + 3
    u[i] = _mm512_maskz_unpacklo_epi64(0xFF, t[i], t[i + 2]);
    u[i + 1] = _mm512_maskz_unpackhi_epi64(0xFF, t[i], t[i + 2]);
    u[i + 2] = _mm512_maskz_unpacklo_epi64(0xFF, t[i + 1], t[i + 3]);
    u[i + 3] = _mm512_maskz_unpackhi_epi64(0xFF, t[i + 1], t[i + 3]);
  }
  for (int m = 0; m < 4; ++m) {  // gather lane L of u[m], u[4 + m], u[8 + m], u[12 + m]
    const __m512i even0 = _mm512_maskz_shuffle_i32x4(0xFFFF, u[m], u[4 + m], 0x88);
    const __m512i odd0 = _mm512_maskz_shuffle_i32x4(0xFFFF, u[m], u[4 + m], 0xDD);
    const __m512i even1 = _mm512_maskz_shuffle_i32x4(0xFFFF, u[8 + m], u[12 + m], 0x88);
    const __m512i odd1 = _mm512_maskz_shuffle_i32x4(0xFFFF, u[8 + m], u[12 + m], 0xDD);
    x[m] = _mm512_maskz_shuffle_i32x4(0xFFFF, even0, even1, 0x88);
    x[8 + m] = _mm512_maskz_shuffle_i32x4(0xFFFF, even0, even1, 0xDD);
    x[4 + m] = _mm512_maskz_shuffle_i32x4(0xFFFF, odd0, odd1, 0x88);
    x[12 + m] = _mm512_maskz_shuffle_i32x4(0xFFFF, odd0, odd1, 0xDD);
  }
}

// PackInt8Panels with AVX-512 (the CPUs with the int8 tiles have it), 16 dimensions a vector:
// the panel's largest coordinate, each row's bytes, then the panel transposed in registers and
// every item's |q|_1 summed from it. The same q as FixedQuads: each product rounded as in float (x r, then
// times s), then to the nearest integer, ties to even.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni,avx2,fma"))) void PackInt8PanelsAvx512(
    Pool& pool, int64_t p0, int64_t p1, uint8_t* block, uint32_t* q) {
  const int64_t n = pool.n, d = pool.d, units = cpu::DivUp(d, 4), bytes = units * 4;
  for (int64_t p = p0; p < p1; ++p) {
    const auto [panel, start, scale] = Int8PanelParts(pool, p, block + (p - p0) * Int8PanelBytes(units), units);
    const int64_t j0 = p * kPanel, rows = std::max<int64_t>(0, std::min<int64_t>(kPanel, n - j0));
    float inverse[kPanel];  // 1 / norm of each real row, NaN elsewhere
    for (int64_t l = 0; l < kPanel; ++l) inverse[l] = l < rows ? 1.0f / pool.norm[j0 + l] : std::nanf("");
    // The largest coordinate over the panel's real rows, lane-wise, in four chains held in
    // registers (64 dimensions a step; one chain was a 64-long chain of max latencies).
    __m512 chain0 = _mm512_setzero_ps(), chain1 = chain0, chain2 = chain0, chain3 = chain0;
    for (int64_t l = 0; l < rows; ++l) {
      if (std::isnan(inverse[l])) continue;
      const float* x = pool.Row(j0 + l);
      const __m512 r = _mm512_set1_ps(inverse[l]);
      for (int64_t k = 0; k < d; k += 64) {
        chain0 = _mm512_maskz_max_ps(0xFFFF, chain0, ScaledMagnitudes(x, k, d, r));
        chain1 = _mm512_maskz_max_ps(0xFFFF, chain1, ScaledMagnitudes(x, k + 16, d, r));
        chain2 = _mm512_maskz_max_ps(0xFFFF, chain2, ScaledMagnitudes(x, k + 32, d, r));
        chain3 = _mm512_maskz_max_ps(0xFFFF, chain3, ScaledMagnitudes(x, k + 48, d, r));
      }
    }
    __m512 largest = _mm512_maskz_max_ps(0xFFFF, _mm512_maskz_max_ps(0xFFFF, chain0, chain1),
                                         _mm512_maskz_max_ps(0xFFFF, chain2, chain3));
    // Tree reductions (halves, quarters, pairs, lanes); max is exact in any order.
    largest = _mm512_maskz_max_ps(0xFFFF, largest, _mm512_maskz_shuffle_f32x4(0xFFFF, largest, largest, 0x4E));
    largest = _mm512_maskz_max_ps(0xFFFF, largest, _mm512_maskz_shuffle_f32x4(0xFFFF, largest, largest, 0xB1));
    largest = _mm512_maskz_max_ps(0xFFFF, largest, _mm512_maskz_permute_ps(0xFFFF, largest, 0x4E));
    largest = _mm512_maskz_max_ps(0xFFFF, largest, _mm512_maskz_permute_ps(0xFFFF, largest, 0xB1));
    const float s = PanelScale(_mm512_cvtss_f32(largest));
    const __m512 sv = _mm512_set1_ps(s);
    __mmask16 real = 0;
    for (int64_t l = 0; l < kPanel; ++l) {
      uint8_t* row = reinterpret_cast<uint8_t*>(q + l * units);
      scale[l] = s;
      if (std::isnan(inverse[l])) {  // padding or a NaN row: zero (stored as 128), never passes
        std::memset(row, 0, bytes);
        continue;
      }
      real |= static_cast<__mmask16>(1u << l);
      const float* x = pool.Row(j0 + l);
      const __m512 r = _mm512_set1_ps(inverse[l]);
      for (int64_t k = 0; k < d; k += 16) {
        const __m512 y = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(FirstLanes(d - k), x + k), r), sv);
        const __m512i v = _mm512_maskz_cvt_roundps_epi32(0xFFFF, y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_mask_storeu_epi8(row + k, FirstLanes(bytes - k), _mm512_maskz_cvtepi32_epi8(0xFFFF, v));  // the row ends at its last quad
      }
    }
    // Interleaved 16 units at a time in registers, q + 128 stored; each item's |q|_1 summed on
    // the way by vpdpbusd against ones (at most 127 d < 2^19), for its start.
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80)), ones = _mm512_set1_epi8(1);
    __m512i l1 = _mm512_setzero_si512();
    for (int64_t t0 = 0; t0 < units; t0 += kPanel) {
      __m512i x[kPanel];
      for (int l = 0; l < kPanel; ++l) x[l] = _mm512_maskz_loadu_epi32(FirstLanes(units - t0), q + l * units + t0);
      Transpose16(x);
      for (int64_t t = 0; t < std::min<int64_t>(kPanel, units - t0); ++t) {
        l1 = _mm512_dpbusd_epi32(l1, _mm512_maskz_abs_epi8(~__mmask64{0}, x[t]), ones);
        _mm512_storeu_si512(panel + (t0 + t) * kPanel, _mm512_xor_si512(x[t], bias));
      }
    }
    _mm512_storeu_si512(start, _mm512_mask_blend_epi32(real, _mm512_set1_epi32(kPadStart), ItemStarts(l1, d)));
  }
}

// One worker's part of an anchor's int8 search: the K best float scores among the items it
// admitted (a heap, the worst first) and up to eight admitted items not scored yet. `low` is
// the K-th best score any worker has found, less `slack`: a final top-K item's exact score is at
// least it, so its bound is too. Workers share it as the IntAnchor's cut is shared.
struct Int8Anchor {
  int64_t k, user;
  const HistoryFilter* filter;  // the user's history, filtered first
  const float* a;              // the normalized anchor, for the float scores
  double scale;                // s_a
  int32_t start;               // start_a: ceil(E |q_a|_1) - 128 sum(q_a)
  float slack;                 // a float score's rounding (with room to spare)
  std::atomic<float>* shared;  // the anchor's low, shared by the workers
  float low, cut;              // cut: low in the tiles' units (s_a x score), rounded down
  std::vector<Scored> top;
  int32_t pending[kChainLanes];
  int count = 0;

  void Raise(float to) {
    if (!(to > low)) return;
    low = to;
    cut = std::nextafter(static_cast<float>(static_cast<double>(low) * scale), -kInf);
  }
  void Sync() {
    float now = shared->load(std::memory_order_relaxed);
    while (low > now && !shared->compare_exchange_weak(now, low, std::memory_order_relaxed)) {
    }
    Raise(now);
  }
  void Admit(int32_t j, const Pool& pool) {
    pending[count++] = j;
    if (count == kChainLanes) ScorePending(pool);
  }
  void ScorePending(const Pool& pool) {
    ForEachScored(a, pool, pending, count, [&](const Scored& item) { Offer(item, pool); });
    count = 0;
  }
  // Raises the cut to the K-th best float score among `positions` allowed to the user, less
  // the slack (a lower bound of the final K-th best), without holding them: the tiles admit
  // them again where they pass.
  // At most kPanel positions (no allocation: it runs for every anchor and call).
  void Prime(const int32_t* positions, int count, const Pool& pool) {
    float allowed[kPanel];
    int n = 0;
    ForEachScored(a, pool, positions, std::min(count, kPanel), [&](const Scored& item) {
      if (pool.Allowed(*filter, user, item.j)) allowed[n++] = item.score;
    });
    if (n < k) return;
    std::nth_element(allowed, allowed + (k - 1), allowed + n, std::greater<float>());
    Raise(allowed[k - 1] - slack);
  }
  // The user's history is looked up only for an item that would enter the K best.
  void Offer(const Scored& item, const Pool& pool) {
    const bool full = static_cast<int64_t>(top.size()) == k;
    if (full && !Better(item, top.front())) return;
    if (!pool.Allowed(*filter, user, item.j)) return;
    if (full) {
      std::pop_heap(top.begin(), top.end(), Better);
      top.back() = item;
    } else {
      top.push_back(item);
    }
    std::push_heap(top.begin(), top.end(), Better);
    if (static_cast<int64_t>(top.size()) == k) Raise(top.front().score - slack);
  }
  void Done(const Pool& pool) {
    ScorePending(pool);
    Sync();
  }
};

// The sums of kRows anchors (a: [quad][kRows] signed quads) with the 16 items of one int8 panel
// x, each started at the item's start: vpdpbusd sums four products a lane.
__attribute__((target("avx512f,avx512vnni"), always_inline)) inline void Int8PanelSums(const int32_t* a, int64_t units,
                                                                                      const __m512i* x, __m512i* sum) {
  PanelSums<BytesDotBroadcast>(a, units, x, _mm512_load_si512(x + units), sum);
}
__attribute__((target("avx512f"), always_inline)) inline __m512 Int8Scales(const __m512i* x, int64_t units) {
  return _mm512_load_ps(reinterpret_cast<const float*>(x + units + 1));
}

// An int8 tile's anchors' cuts (lanes 0 to kInt8Rows - 1), clamped to +-kCutRange, and their
// starts.
__attribute__((target("avx512f"), always_inline)) inline __m512 Int8Cuts(const Int8Anchor* rows) {
  alignas(64) float cut[kPanel] = {};
  for (int i = 0; i < kInt8Rows; ++i) cut[i] = std::clamp(rows[i].cut, -kCutRange, kCutRange);
  return _mm512_load_ps(cut);
}
__attribute__((target("avx512f"), always_inline)) inline __m512i Int8Starts(const Int8Anchor* rows) {
  alignas(64) int32_t start[kPanel] = {};
  for (int i = 0; i < kInt8Rows; ++i) start[i] = rows[i].start;
  return _mm512_load_si512(start);
}

// Over panels [p0, p1) of an int8 block, the sums of two groups of anchors (a: the first group's
// tiles, the second's after them; rows: their kInt8Rows anchors), one sum an anchor (12 chains),
// each compared with the anchor's least passing sum in the panel's units, ceil(cut s_p rounded
// down) - start_a; the items at or above it are admitted (their history is looked up only if
// they score into the K best). 12 anchors rather than 6 with two sums each: no sums to add, and
// the panel's loads and thresholds shared by twice the anchors (measured 2-5% faster).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni,avx2,fma"))) void Int8Panels(
    const int32_t* a, int64_t units, const uint8_t* block, int64_t p0, int64_t p1, const Pool& pool, Int8Anchor* rows) {
  const int32_t* second = a + units * kRows;
  const __m512i starts = Int8Starts(rows);
  __m512 cuts = Int8Cuts(rows);
  alignas(64) int32_t least[kPanel];
  for (int64_t p = p0; p < p1; ++p) {
    const __m512i* x = reinterpret_cast<const __m512i*>(block + (p - p0) * Int8PanelBytes(units));
    const __m512 at = _mm512_maskz_mul_round_ps(0xFFFF, cuts, Int8Scales(x, units), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    _mm512_store_si512(least, _mm512_sub_epi32(_mm512_maskz_cvt_roundps_epi32(0xFFFF, at, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC), starts));
    // Read back from memory, so that each comparison broadcasts its threshold in the load
    // (shuffling it out of a register took two more vector instructions an anchor).
    asm volatile("" : "+m"(least));
    const __m512i item_start = _mm512_load_si512(x + units);
    __m512i sum[kInt8Rows];
#pragma GCC unroll 12
    for (int i = 0; i < kInt8Rows; ++i) sum[i] = item_start;
#pragma GCC unroll 2
    for (int64_t k = 0; k < units; ++k) {
      const __m512i xk = _mm512_load_si512(x + k);
#pragma GCC unroll 6
      for (int i = 0; i < kRows; ++i) {
        sum[i] = BytesDotBroadcast(sum[i], xk, a + k * kRows + i);
        sum[kRows + i] = BytesDotBroadcast(sum[kRows + i], xk, second + k * kRows + i);
      }
    }
    __mmask16 above[kInt8Rows];
#pragma GCC unroll 12
    for (int i = 0; i < kInt8Rows; ++i) above[i] = _mm512_cmpge_epi32_mask(sum[i], _mm512_set1_epi32(least[i]));
    bool admitted = false;
#pragma GCC unroll 12
    for (int i = 0; i < kInt8Rows; ++i) {
      if (__builtin_expect(above[i] == 0, 1)) continue;
      admitted = true;
      for (uint32_t m = above[i]; m != 0; m &= m - 1) rows[i].Admit(static_cast<int32_t>(p * kPanel + __builtin_ctz(m)), pool);
    }
    if (admitted) cuts = Int8Cuts(rows);
  }
}

// Before the first item block's admissions: each of kRows anchors' champions in it, the item of
// highest bound in each of the 16 lanes over panels [p0, p1), primes the anchor's cut
// (Int8Anchor::Prime). The 16 champions hold about the block's best, so the block then admits
// only the items near its K best, not every item that beat those before it (most admissions
// were those, in the first blocks). Panels differ in scale, so the bounds are compared in float
// ((sum + start_a) / s_p); their rounding only changes which items are champions.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni,avx2,fma"))) void Int8Champions(
    const int32_t* a, int64_t units, const uint8_t* block, int64_t p0, int64_t p1, const Pool& pool, Int8Anchor* rows) {
  __m512 best[kRows];
  __m512i panel_of[kRows];
  for (int i = 0; i < kRows; ++i) {
    best[i] = _mm512_set1_ps(-kInf);
    panel_of[i] = _mm512_set1_epi32(-1);
  }
  for (int64_t p = p0; p < p1; ++p) {
    const __m512i* x = reinterpret_cast<const __m512i*>(block + (p - p0) * Int8PanelBytes(units));
    __m512i sum[kRows];
    Int8PanelSums(a, units, x, sum);
    const __m512 inverse = _mm512_div_ps(_mm512_set1_ps(1.0f), Int8Scales(x, units));
    const __mmask16 real = _mm512_cmpneq_epi32_mask(_mm512_load_si512(x + units), _mm512_set1_epi32(kPadStart));
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m512 bound = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, _mm512_add_epi32(sum[i], _mm512_set1_epi32(rows[i].start))), inverse);
      const __mmask16 higher = _mm512_mask_cmp_ps_mask(real, bound, best[i], _CMP_GT_OQ);
      best[i] = _mm512_mask_mov_ps(best[i], higher, bound);
      panel_of[i] = _mm512_mask_mov_epi32(panel_of[i], higher, _mm512_set1_epi32(static_cast<int32_t>(p)));
    }
  }
  for (int i = 0; i < kRows; ++i) {
    alignas(64) int32_t panels[kPanel];
    _mm512_store_si512(panels, panel_of[i]);
    int32_t positions[kPanel];
    int count = 0;
    for (int l = 0; l < kPanel; ++l) {
      if (panels[l] >= 0) positions[count++] = static_cast<int32_t>(static_cast<int64_t>(panels[l]) * kPanel + l);
    }
    rows[i].Prime(positions, count, pool);
  }
}

// ---- search ----

// Packed integer panels on 64-byte boundaries, so that no load of the tiles straddles two
// cache lines (the allocator only promises 16 bytes).
class AlignedPanels {
 public:
  explicit AlignedPanels(int64_t bytes) : data_(static_cast<uint8_t*>(std::aligned_alloc(64, cpu::DivUp(bytes, 64) * 64))) {}
  uint8_t* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t[], Free> data_;
};

// Runs `tile(g, p0, p1)` over every (anchor group, item block), blocks outermost.
template <typename Tile>
void ForEachTile(int64_t groups, int64_t num_panels, int64_t block_bytes, int64_t panel_bytes, const Tile& tile) {
  const int64_t block = std::max<int64_t>(1, block_bytes / panel_bytes);
  for (int64_t p0 = 0; p0 < num_panels; p0 += block) {
    for (int64_t g = 0; g < groups; ++g) tile(g, p0, std::min(num_panels, p0 + block));
  }
}

// Prefetches the rows [j0, j1) of the pool into L2 in `slices` equal slices, one per Next(). A
// row and a line counter walk them (a division per line cost 3-4% of the search).
class RowPrefetch {
 public:
  RowPrefetch(const Pool& pool, int64_t j0, int64_t j1, int64_t slices)
      : pool_(pool), row_(j0), end_(j1), lines_per_row_(cpu::DivUp(pool.d * 4, 64)),
        per_slice_(cpu::DivUp((j1 - j0) * lines_per_row_, std::max<int64_t>(1, slices))) {}
  void Next() {
    for (int64_t left = per_slice_; left > 0 && row_ < end_; --left) {
      _mm_prefetch(reinterpret_cast<const char*>(pool_.Row(row_)) + line_ * 64, _MM_HINT_T1);
      if (++line_ == lines_per_row_) {
        line_ = 0;
        ++row_;
      }
    }
  }

 private:
  const Pool& pool_;
  int64_t row_, end_, lines_per_row_, per_slice_, line_ = 0;
};

// Few negatives per anchor: workers take item blocks in turn, pack each (pack(p0, p1, block, q))
// and pass every anchor group over it while it is in cache (tile(g, block, p0, p1, anchors of
// group g)). Returns each worker's anchors, Done() called.
template <typename Anchor, typename MakeAnchor, typename Pack, typename Prime, typename Tile>
std::vector<std::vector<Anchor>> SearchItemBlocks(const Pool& pool, int64_t groups, int64_t group_rows, int64_t block_panels,
                                                  int64_t panel_bytes, int64_t scratch, const MakeAnchor& make,
                                                  const Pack& pack, const Prime& prime, const Tile& tile) {
  const int64_t n = pool.n, num_panels = cpu::DivUp(n, kPanel), num_blocks = cpu::DivUp(num_panels, block_panels);
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), num_blocks));
  std::vector<std::vector<Anchor>> state(workers);
  const auto make_state = [&](int64_t w) {
    state[w].reserve(groups * group_rows);
    for (int64_t r = 0; r < groups * group_rows; ++r) state[w].push_back(make(r));
  };
  // The seed: the first blocks, packed once, each anchor over them in one worker (worker 0's
  // state), the workers splitting the anchors; prime(g, ...) first sets group g's cuts from the
  // seed's first block. Each cut then starts near its final value when the workers split the
  // remaining items. Measured at B512/N50k/d64/K5: an eighth of the search's time off (the
  // admissions fell only from 59,000 to 56,000 a call, so why is not established); 16 blocks
  // (512 KB, in L2) best, 64 slower than none.
  const int64_t seed_blocks = std::min(num_blocks, kSeedBlocks), seed_panels = std::min(num_panels, seed_blocks * block_panels);
  make_state(0);
  {
    const AlignedPanels seed(seed_panels * panel_bytes);
    cpu::ForEachChunk(seed_blocks, 1, [&](int64_t b, int64_t, int64_t) {
      std::vector<uint32_t> q(scratch);
      pack(b * block_panels, std::min(seed_panels, (b + 1) * block_panels), seed.data() + b * block_panels * panel_bytes, q.data());
    });
    cpu::ForEachChunk(groups, 1, [&](int64_t g, int64_t, int64_t) {
      prime(g, seed.data(), 0, std::min(seed_panels, block_panels), state[0].data() + g * group_rows);
      for (int64_t b = 0; b < seed_blocks; ++b) {
        const int64_t p0 = b * block_panels;
        tile(g, seed.data() + p0 * panel_bytes, p0, std::min(seed_panels, p0 + block_panels), state[0].data() + g * group_rows);
      }
      for (int64_t r = g * group_rows; r < (g + 1) * group_rows; ++r) state[0][r].Sync();
    });
  }
  std::atomic<int64_t> next_block{seed_blocks};
  at::parallel_for(0, workers, 1, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      if (w > 0) make_state(w);  // after the seed: its anchors start from the seeded cuts
      const AlignedPanels block(block_panels * panel_bytes);
      std::vector<uint32_t> q(scratch);
      // The next block is claimed before this one is scored, so that its rows are fetched from
      // memory (into L2) while the anchors pass over this one.
      for (int64_t b = next_block++, after = next_block++; b < num_blocks; b = after, after = next_block++) {
        const int64_t p0 = b * block_panels, p1 = std::min(num_panels, p0 + block_panels);
        pack(p0, p1, block.data(), q.data());
        for (Anchor& anchor : state[w]) anchor.Sync();
        RowPrefetch prefetch(pool, std::min(n, after * block_panels * kPanel), std::min(n, (after + 1) * block_panels * kPanel), groups);
        for (int64_t g = 0; g < groups; ++g) {
          prefetch.Next();
          tile(g, block.data(), p0, p1, state[w].data() + g * group_rows);
        }
      }
      for (Anchor& anchor : state[w]) anchor.Done(pool);
    }
  });
  return state;
}

// The same search in LibTorch ops on the anchors' device (CUDA, or forced on the CPU): the score
// matrix written whole, the anchor's history and NaN scores set to -inf, and a stable descending
// sort, so that ties go to the earlier pool position. Scores are summed in ATen's order, so an
// item within float rounding of the K-th best may differ from the kernels' pick.
std::vector<std::vector<int64_t>> AtenCosineTopK(const at::Tensor& anchors, const at::Tensor& items,
                                                 const std::vector<int64_t>* pool_ids, const int64_t* users,
                                                 const data::Csr& history, int64_t k) {
  const int64_t batch = anchors.size(0);
  std::vector<std::vector<int64_t>> out(batch);
  if (k < 1 || batch == 0) return out;
  const auto normalized = [](const at::Tensor& x) {
    const at::Tensor f = x.to(at::kFloat);
    return f / at::linalg_vector_norm(f, 2, {1}, /*keepdim=*/true).clamp_min(1e-12);
  };
  at::Tensor x = items.to(anchors.device());
  std::vector<int64_t> position;  // an item's place in the pool, -1 outside it
  if (pool_ids != nullptr) {
    x = x.index_select(0, at::tensor(at::ArrayRef<int64_t>(*pool_ids), at::kLong).to(x.device()));
    position.assign(items.size(0), -1);
    for (size_t j = 0; j < pool_ids->size(); ++j) position[(*pool_ids)[j]] = static_cast<int64_t>(j);
  }
  at::Tensor scores = at::mm(normalized(anchors), normalized(x).t());  // [B, n]
  const int64_t n = scores.size(1);
  std::vector<int64_t> rows, cols;  // (anchor, pool position) of each history item
  for (int64_t b = 0; b < batch; ++b) {
    for (const int32_t* h = history.RowBegin(users[b]); h != history.RowEnd(users[b]); ++h) {
      const int64_t j = pool_ids != nullptr ? (*h < static_cast<int64_t>(position.size()) ? position[*h] : -1) : *h;
      if (j < 0 || j >= n) continue;
      rows.push_back(b);
      cols.push_back(j);
    }
  }
  scores.masked_fill_(scores.isnan(), -kInf);
  if (!rows.empty()) {
    const auto index = [&](const std::vector<int64_t>& v) { return at::tensor(at::ArrayRef<int64_t>(v), at::kLong).to(scores.device()); };
    scores.index_put_({index(rows), index(cols)}, -kInf);
  }
  const int64_t kept = std::min(k, n);
  auto [values, order] = at::sort(scores, /*stable=*/true, /*dim=*/1, /*descending=*/true);
  const at::Tensor top_values = values.narrow(1, 0, kept).cpu().contiguous(), top = order.narrow(1, 0, kept).cpu().contiguous();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t j = 0; j < kept && top_values.data_ptr<float>()[b * kept + j] > -kInf; ++j) {
      const int64_t p = top.data_ptr<int64_t>()[b * kept + j];
      out[b].push_back(pool_ids != nullptr ? (*pool_ids)[p] : p);
    }
  }
  return out;
}

}  // namespace

bool Int16ScreenAvailable() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

std::vector<std::vector<int64_t>> CosineTopK(const at::Tensor& anchors, const at::Tensor& items,
                                             const std::vector<int64_t>* pool_ids, const int64_t* users,
                                             const data::Csr& history, int64_t k, CosineScreen screen,
                                             IntTiles tiles) {
  if (!cpu::UseCpuKernels(anchors)) return AtenCosineTopK(anchors, items, pool_ids, users, history, k);
  // The integer screen, if any: int8 needs VNNI and few negatives (else int16), int16 needs AVX2
  // (else float).
  const bool vnni = tiles == IntTiles::kBest && VnniTilesAvailable();
  const bool int8 = screen == CosineScreen::kInt8 && vnni && k <= kItemSplitMaxK && anchors.size(-1) <= kInt8MaxDims;
  const bool integer = screen != CosineScreen::kFloat && Int16ScreenAvailable();
  const bool avx512_pack = int8;  // the int8 tiles' CPUs have AVX-512 F, BW and VL
  const IntTile int16_tile = vnni ? Int16PanelsVnni : Int16PanelsAvx2;
  const at::Tensor af = anchors.to(at::kFloat).contiguous(), xf = items.to(at::kFloat).contiguous();
  const int64_t batch = af.size(0), d = af.size(1), n = pool_ids ? static_cast<int64_t>(pool_ids->size()) : xf.size(0);
  // int8: groups of kRows in pairs (its tile takes kInt8Rows anchors).
  const int64_t units = cpu::DivUp(d, int8 ? 4 : 2), num_panels = cpu::DivUp(n, kPanel),
                groups = int8 ? 2 * cpu::DivUp(batch, kInt8Rows) : cpu::DivUp(batch, kRows);
  Pool pool{xf.data_ptr<float>(), pool_ids ? pool_ids->data() : nullptr, n, d, std::vector<float>(n), &history};
  std::vector<std::vector<int64_t>> out(batch);
  if (k < 1 || batch == 0) return out;

  // The normalized anchors, as a[r] and packed as [group][dim (unit)][kRows] so that each
  // broadcast is one load. Padding rows (past the batch) are zero and admit nothing.
  std::vector<float> a(groups * kRows * d, 0.0f), float_tiles(integer ? 0 : groups * d * kRows, 0.0f);
  std::vector<uint32_t> int_tiles(integer ? groups * units * kRows : 0, 0);
  std::vector<int64_t> l1(groups * kRows, 0);
  std::vector<int32_t> start(groups * kRows, 0);  // int8: ceil(E |q_a|_1) - 128 sum(q_a)
  std::vector<double> scale(groups * kRows, kScale);  // int8: s_a
  std::vector<char> admits(groups * kRows, 0);
  std::vector<HistoryFilter> filters(groups * kRows, HistoryFilter::Everything());
  cpu::ForEachChunk(groups, kGroupChunk, [&](int64_t g0, int64_t g1, int64_t) {
    const int64_t r0 = g0 * kRows, r1 = std::min(batch, g1 * kRows);
    std::vector<const float*> raw(r1 - r0);
    std::vector<float> norms(r1 - r0);
    std::vector<uint32_t> q(units);
    for (int64_t r = r0; r < r1; ++r) raw[r - r0] = af.data_ptr<float>() + r * d;
    NormsOf(raw.data(), r1 - r0, d, norms.data());
    for (int64_t r = r0; r < r1; ++r) {
      const float norm = norms[r - r0];
      const int64_t g = r / kRows, i = r % kRows;
      admits[r] = !std::isnan(norm);
      if (integer) filters[r] = HistoryFilter::Of(history, users[r]);
      for (int64_t dim = 0; dim < d; ++dim) a[r * d + dim] = raw[r - r0][dim] / norm;
      if (int8) {
        float s = kScale;
        int32_t sum = 0;  // the items' offset adds 128 sum(q_a) to every product
        l1[r] = FixedQuads(raw[r - r0], norm, d, q.data(), &s, &sum);
        scale[r] = s;
        start[r] = static_cast<int32_t>(std::ceil(kFixedError * l1[r])) - 128 * sum;
      } else if (integer) {
        l1[r] = FixedPairs(raw[r - r0], norm, d, q.data());
      }
      if (integer) {
        for (int64_t t = 0; t < units; ++t) int_tiles[(g * units + t) * kRows + i] = q[t];
      } else {
        for (int64_t dim = 0; dim < d; ++dim) float_tiles[(g * d + dim) * kRows + i] = a[r * d + dim];
      }
    }
  });

  if (!integer) {
    const std::vector<float> float_panels = FloatPanelsOf(pool);
    cpu::ForEachChunk(groups, kGroupChunk, [&](int64_t g0, int64_t g1, int64_t) {
      std::vector<FloatAnchor> state;
      for (int64_t r = g0 * kRows; r < g1 * kRows; ++r) state.push_back({k, r < batch ? users[r] : 0, r < batch ? -kInf : kInf, {}});
      ForEachTile(g1 - g0, num_panels, kFloatBlockBytes, d * kPanel * 4, [&](int64_t g, int64_t p0, int64_t p1) {
        FloatPanels(float_tiles.data() + (g0 + g) * d * kRows, float_panels.data(), p0, p1, pool, state.data() + g * kRows);
      });
      for (int64_t r = g0 * kRows; r < std::min(batch, g1 * kRows); ++r) {
        for (const auto& [score, id] : state[r - g0 * kRows].top) out[r].push_back(id);
      }
    });
    return out;
  }
  const auto tiles_of = [&](int64_t g) { return reinterpret_cast<const int32_t*>(int_tiles.data()) + g * units * kRows; };

  if (int8) {
    // A float score lies within 1.2e-7 d of the exact one; the tile compares integers against
    // a threshold rounded down, so the rest is room to spare.
    const float slack = static_cast<float>(3.2e-7 * d + 5e-7);
    std::unique_ptr<std::atomic<float>[]> lows(new std::atomic<float>[groups * kRows]);
    for (int64_t r = 0; r < groups * kRows; ++r) lows[r].store(admits[r] ? -kInf : kInf);
    const int64_t panel_bytes = Int8PanelBytes(units), block_panels = std::max<int64_t>(1, kIntBlockBytes / panel_bytes);
    const auto state = SearchItemBlocks<Int8Anchor>(
        pool, groups / 2, kInt8Rows, block_panels, panel_bytes, kPanel * units,
        [&](int64_t r) {
          const float low = lows[r].load();
          Int8Anchor anchor{k, r < batch ? users[r] : 0, &filters[r], a.data() + r * d, scale[r], start[r], slack, &lows[r], -kInf, -kInf, {}, {}, 0};
          anchor.Raise(low);
          anchor.top.reserve(k);
          return anchor;
        },
        [&](int64_t p0, int64_t p1, uint8_t* block, uint32_t* q) {
          (avx512_pack ? PackInt8PanelsAvx512 : PackInt8Panels)(pool, p0, p1, block, q);
        },
        [&](int64_t g, const uint8_t* block, int64_t p0, int64_t p1, Int8Anchor* rows) {
          Int8Champions(tiles_of(2 * g), units, block, p0, p1, pool, rows);
          Int8Champions(tiles_of(2 * g + 1), units, block, p0, p1, pool, rows + kRows);
        },
        [&](int64_t g, const uint8_t* block, int64_t p0, int64_t p1, Int8Anchor* rows) {
          Int8Panels(tiles_of(2 * g), units, block, p0, p1, pool, rows);
        });
    cpu::ForEachChunk(batch, 64, [&](int64_t r0, int64_t r1, int64_t) {
      for (int64_t r = r0; r < r1; ++r) {
        std::vector<Scored> scored;
        for (const auto& worker : state) scored.insert(scored.end(), worker[r].top.begin(), worker[r].top.end());
        out[r] = BestIds(std::move(scored), k, pool);
      }
    });
    return out;
  }

  // The int16 screen. An item's |q_x|_1 is at most sqrt(d) |q_x|_2 <= sqrt(d) (S (1 + 1e-6) + sqrt(d) / 2).
  const double item_l1 = std::sqrt(static_cast<double>(d)) * (kScale * (1 + 1e-6) + 0.5 * std::sqrt(static_cast<double>(d)));
  std::unique_ptr<std::atomic<int32_t>[]> cuts(new std::atomic<int32_t>[groups * kRows]);
  std::vector<int64_t> bands(groups * kRows);
  const double scale2 = static_cast<double>(kScale) * kScale;
  for (int64_t r = 0; r < groups * kRows; ++r) {
    cuts[r].store(admits[r] ? std::numeric_limits<int32_t>::min() : kNone);
    const double bound = (kFixedError * (static_cast<double>(l1[r]) + item_l1) + d * kFixedError * kFixedError) / scale2 +
                         1.2e-7 * d + 1e-7;
    bands[r] = static_cast<int64_t>(std::ceil(2 * bound * scale2)) + 2;
  }
  const int64_t panel_bytes = units * 4 * kPanel, block_panels = std::max<int64_t>(1, kIntBlockBytes / panel_bytes);
  const auto make_anchor = [&](int64_t r) {
    IntAnchor anchor{k, r < batch ? users[r] : 0, &filters[r], bands[r], &cuts[r], cuts[r].load(), {}, {}};
    anchor.best.reserve(k);
    anchor.held.reserve(4 * k + 16);
    return anchor;
  };
  if (k > kItemSplitMaxK) {
    // Many negatives per anchor: admitting items costs more than scoring them, and workers that
    // split an anchor's items would each admit its own K best. So every block is packed first,
    // and tasks of anchors pass over all of them, each anchor in one worker.
    const AlignedPanels packed(num_panels * panel_bytes);
    cpu::ForEachChunk(num_panels, 64, [&](int64_t p0, int64_t p1, int64_t) {
      std::vector<uint32_t> q(kPanel * units);
      PackPanels(pool, p0, p1, packed.data() + p0 * panel_bytes, q.data());
    });
    cpu::ForEachChunk(groups, kGroupChunk, [&](int64_t g0, int64_t g1, int64_t) {
      std::vector<IntAnchor> state;
      for (int64_t r = g0 * kRows; r < g1 * kRows; ++r) state.push_back(make_anchor(r));
      ForEachTile(g1 - g0, num_panels, kIntBlockBytes, panel_bytes, [&](int64_t g, int64_t p0, int64_t p1) {
        int16_tile(tiles_of(g0 + g), units, packed.data() + p0 * panel_bytes, p0, p1, pool, state.data() + g * kRows);
      });
      for (int64_t r = g0 * kRows; r < std::min(batch, g1 * kRows); ++r) {
        IntAnchor& anchor = state[r - g0 * kRows];
        out[r] = Finish(a.data() + r * d, pool, k, anchor.cut, std::move(anchor.held));
      }
    });
    return out;
  }
  const auto state = SearchItemBlocks<IntAnchor>(
      pool, groups, kRows, block_panels, panel_bytes, kPanel * units, make_anchor,
      [&](int64_t p0, int64_t p1, uint8_t* block, uint32_t* q) { PackPanels(pool, p0, p1, block, q); },
      [](int64_t, const uint8_t*, int64_t, int64_t, IntAnchor*) {},  // its cut needs no prime: held items are scored at the end
      [&](int64_t g, const uint8_t* block, int64_t p0, int64_t p1, IntAnchor* rows) {
        int16_tile(tiles_of(g), units, block, p0, p1, pool, rows);
      });
  cpu::ForEachChunk(batch, 64, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; ++r) {
      Held held;
      for (const auto& worker : state) held.insert(held.end(), worker[r].held.begin(), worker[r].held.end());
      out[r] = Finish(a.data() + r * d, pool, k, cuts[r].load(), std::move(held));
    }
  });
  return out;
}

std::vector<uint8_t> Int8ItemPanelsForTest(const at::Tensor& items, bool avx512) {
  const at::Tensor xf = items.to(at::kFloat).contiguous();
  const int64_t n = xf.size(0), d = xf.size(1), units = cpu::DivUp(d, 4), num_panels = cpu::DivUp(n, kPanel);
  Pool pool{xf.data_ptr<float>(), nullptr, n, d, std::vector<float>(n), nullptr};
  std::vector<uint8_t> panels(num_panels * Int8PanelBytes(units));
  std::vector<uint32_t> q(kPanel * units);
  (avx512 ? PackInt8PanelsAvx512 : PackInt8Panels)(pool, 0, num_panels, panels.data(), q.data());
  return panels;
}

}  // namespace hardgnn
