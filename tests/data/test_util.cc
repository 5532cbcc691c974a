#include "tests/data/test_util.h"

#include <stdlib.h>  // realpath
#include <sys/stat.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hardgnn::data::testing {

std::ostream& operator<<(std::ostream& os, const Event& e) {
  return os << "(" << e.user << ", " << e.item << ", " << e.time << ")";
}

std::vector<Event> Events(const InteractionLog& log) {
  std::vector<Event> out;
  for (const Interaction& e : log.events()) out.push_back({log.user_name(e.user), log.item_name(e.item), e.time});
  return out;
}

std::string TempDir(absl::string_view name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/", info != nullptr ? info->name() : "t", "_", name);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

void WriteFile(const std::string& path, absl::string_view contents) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    ADD_FAILURE() << "cannot write " << path;
    return;
  }
  std::fwrite(contents.data(), 1, contents.size(), f);
  std::fclose(f);
}

std::string Gzip(absl::string_view data) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Yelp2019Path() {
  if (const char* env = std::getenv("HARDGNN_YELP2019")) return env;
  // ../shared beside the repository, found through a runfile that links into the source tree.
  constexpr char kAnchor[] = "data/gowalla-nyc/checkins.tsv.gz";
  char* real = realpath(kAnchor, nullptr);
  std::string root = real != nullptr ? real : "";
  std::free(real);
  if (root.size() <= sizeof(kAnchor)) return "../shared/datasets/yelp2019/interactions.tsv";
  root.resize(root.size() - sizeof(kAnchor));  // drops "/data/gowalla-nyc/checkins.tsv.gz"
  return root + "/../shared/datasets/yelp2019/interactions.tsv";
}

}  // namespace hardgnn::data::testing
