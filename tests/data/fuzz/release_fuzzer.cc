// libFuzzer target: a whole SelfGNN release from bytes. The input is three little-endian
// uint16 lengths (trn_mat_time, sequence, test_dict), then the four files back to back
// (tst_int takes the rest). Accepted releases are mapped, validated, audited and cached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/data/cache.h"
#include "core/data/selfgnn_release.h"
#include "core/data/validate.h"

namespace hd = hardgnn::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  size_t len[3], pos = 6;
  for (int k = 0; k < 3; ++k) len[k] = data[2 * k] | (data[2 * k + 1] << 8);
  hd::ReleaseFiles files;
  std::string* parts[3] = {&files.trn_mat_time, &files.sequence, &files.test_dict};
  for (int k = 0; k < 3; ++k) {
    const size_t n = len[k] < size - pos ? len[k] : size - pos;
    parts[k]->assign(reinterpret_cast<const char*>(data) + pos, n);
    pos += n;
  }
  files.tst_int.assign(reinterpret_cast<const char*>(data) + pos, size - pos);
  auto release = hd::ParseSelfGnnRelease(std::move(files), "fuzz");
  if (!release.ok()) return 0;
  // Memory is proportional to the declared shape (a transposed CSR per slice): keep the
  // fuzzer to shapes a 4-8 KB input can legitimately describe.
  const double cells = (release->slices.size() + 2.0) * (release->num_users + release->num_items + 2.0);
  if (cells > 2e6) return 0;
  (void)hd::FormatAudit(hd::AuditRelease(*release));
  hd::ReleaseReport report;
  auto ds = hd::ReleaseToPrepared(*release, "fuzz", &report);
  if (!ds.ok()) return 0;
  if (!hd::ValidatePreparedDataset(*ds).ok()) std::abort();
  auto back = hd::ParsePreparedDataset(hd::SerializePreparedDataset(*ds), "round-trip");
  if (!back.ok() || hd::Fingerprint(*back) != hd::Fingerprint(*ds)) std::abort();
  return 0;
}
