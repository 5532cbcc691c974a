// libFuzzer target: gzip + the five text readers, then Prepare on what they read, checking
// that every prepared dataset validates, round-trips through the cache and keeps its
// negatives off the interacted items. Bytes 0-7 choose the format and options.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/data/cache.h"
#include "core/data/file_io.h"
#include "core/data/input_format.h"
#include "core/data/prepare.h"
#include "core/data/validate.h"

namespace hd = hardgnn::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  constexpr hd::InputFormat kFormats[] = {hd::InputFormat::kGowalla, hd::InputFormat::kMovieLensDat,
                                          hd::InputFormat::kMovieLensCsv, hd::InputFormat::kAmazon,
                                          hd::InputFormat::kGeneric};
  const hd::InputFormat format = kFormats[data[0] % 5];
  std::string content(reinterpret_cast<const char*>(data) + 8, size - 8);
  if (data[1] & 1) {
    auto unzipped = hd::Gunzip(content, "fuzz.gz", 1 << 20);
    if (!unzipped.ok()) return 0;
    content = std::move(*unzipped);
  }
  auto log = hd::ParseInteractions(format, content, "fuzz.txt");
  if (!log.ok() || log->size() > 20000) return 0;
  hd::PrepareOptions o;
  o.kcore = data[2] % 4;
  o.filter = (data[2] >> 2) & 1 ? hd::FilterKind::kSelfGnn : hd::FilterKind::kKCore;
  o.num_slices = 1 + data[3] % 4;
  o.eval_negatives = data[4] % 5;
  o.num_eval_users = data[5] % 3;
  o.noise = (data[6] % 3) * 0.25;
  o.seed = data[7];
  if (data[6] & 8) o.time_begin = 1000;
  if (data[6] & 16) o.time_end = 2000000000;
  auto ds = hd::Prepare(*log, o);
  if (!ds.ok()) return 0;
  if (!hd::ValidatePreparedDataset(*ds).ok()) std::abort();
  for (size_t r = 0; r < ds->eval_users.size(); ++r) {
    for (int32_t j = 0; j < ds->negatives_per_user; ++j) {
      if (ds->interacted.Contains(ds->eval_users[r], ds->EvalNegatives(r)[j])) std::abort();
    }
  }
  auto back = hd::ParsePreparedDataset(hd::SerializePreparedDataset(*ds), "round-trip");
  if (!back.ok() || hd::Fingerprint(*back) != hd::Fingerprint(*ds)) std::abort();
  return 0;
}
