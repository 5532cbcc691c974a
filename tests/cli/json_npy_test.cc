// The JSON reader compare uses on summary.json, and the .npy bytes recommend exports.
#include <cstring>
#include <string>

#include "core/cli/json.h"
#include "core/cli/npy.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

TEST(JsonTest, ReadsWhatTheTrainerWrites) {
  absl::StatusOr<Json> j = ParseJson(
      R"({"encoder":"selfgnn","variant":"a \"b\"\n\u00e9","trained":true,"best_epoch":-1,"x":null,)"
      R"("best":{"validation":{"sampled":{"users":60,"ndcg@10":0.648304,"hr@10":8.8e-1}}},"list":[1,[],{}]})");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->At({"encoder"})->string, "selfgnn");
  EXPECT_EQ(j->At({"variant"})->string, "a \"b\"\n\xc3\xa9");
  EXPECT_TRUE(j->At({"trained"})->boolean);
  EXPECT_EQ(j->At({"best_epoch"})->number, -1);
  EXPECT_EQ(j->At({"x"})->kind, Json::Kind::kNull);
  EXPECT_EQ(j->At({"best", "validation", "sampled", "ndcg@10"})->number, 0.648304);
  EXPECT_EQ(j->At({"best", "validation", "sampled", "hr@10"})->number, 0.88);
  EXPECT_EQ(j->At({"best", "test"}), nullptr);
  EXPECT_EQ(j->At({"encoder", "deeper"}), nullptr);
  ASSERT_EQ(j->At({"list"})->array.size(), 3u);
  EXPECT_EQ(j->At({"list"})->array[2].kind, Json::Kind::kObject);
}

TEST(JsonTest, ABrokenDocumentSaysWhatAndWhere) {
  EXPECT_EQ(ParseJson(R"({"a":1,})").status().message(), "JSON: expected a key at byte 7");
  EXPECT_EQ(ParseJson(R"({"a" 1})").status().message(), "JSON: expected ':' at byte 5");
  EXPECT_EQ(ParseJson(R"([1 2])").status().message(), "JSON: expected ',' or ']' at byte 3");
  EXPECT_EQ(ParseJson(R"("open)").status().message(), "JSON: expected '\"' at byte 5");
  EXPECT_EQ(ParseJson("{} x").status().message(), "JSON: expected the end of the document at byte 3");
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson(std::string(100, '[')).ok()) << "nesting is bounded";
}

TEST(NpyTest, AVersionOneFloat32HeaderThenLittleEndianRowMajorValues) {
  const float values[6] = {1.0f, -2.5f, 0.0f, 3.25f, 1e-3f, 7.0f};
  const std::string npy = NpyFloat32Matrix(2, 3, values);
  ASSERT_EQ(npy.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len = static_cast<uint8_t>(npy[8]) | (static_cast<uint8_t>(npy[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u) << "the data is aligned as numpy writes it";
  const std::string header = npy.substr(10, header_len);
  EXPECT_EQ(header.substr(0, 61), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }  ");
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(npy.size(), 10 + header_len + 6 * 4);
  const unsigned char minus_two_and_a_half[4] = {0x00, 0x00, 0x20, 0xc0};  // -2.5f, little-endian
  EXPECT_EQ(std::memcmp(npy.data() + 10 + header_len + 4, minus_two_and_a_half, 4), 0);
  float back[6];
  std::memcpy(back, npy.data() + 10 + header_len, sizeof(back));  // this host is little-endian
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back[i], values[i]) << i;
}

}  // namespace
}  // namespace hardgnn
