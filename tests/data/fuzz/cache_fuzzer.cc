// libFuzzer target: the dataset-cache parser (checksum off, so the structure is reached).
// Whatever it accepts must validate, produce stats and round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/data/cache.h"
#include "core/data/stats.h"
#include "core/data/validate.h"

namespace hd = hardgnn::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto ds = hd::ParsePreparedDataset(std::string(reinterpret_cast<const char*>(data), size), "fuzz.bin",
                                     /*verify_checksum=*/false);
  if (!ds.ok()) return 0;
  if (!hd::ValidatePreparedDataset(*ds).ok()) std::abort();
  const hd::DatasetStats stats = hd::ComputeStats(*ds);
  (void)hd::StatsToJson(stats, {});
  auto back = hd::ParsePreparedDataset(hd::SerializePreparedDataset(*ds), "round-trip");
  if (!back.ok() || hd::Fingerprint(*back) != hd::Fingerprint(*ds)) std::abort();
  return 0;
}
