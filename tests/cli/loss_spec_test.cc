// --losses parsing: known lists, and every malformed entry refused naming the flag and the entry.
#include <string>
#include <vector>

#include "core/train/loss_spec.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

std::string Describe(const std::vector<LossSpec>& specs) {
  std::string s;
  for (const LossSpec& spec : specs) s += spec.name + "=" + std::to_string(spec.weight) + ";";
  return s;
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<std::vector<LossSpec>> specs = ParseLossSpecs(text);
  return specs.ok() ? "accepted: " + Describe(*specs) : std::string(specs.status().message());
}

TEST(ParseLossSpecs, ReadsNamesAndWeights) {
  absl::StatusOr<std::vector<LossSpec>> specs = ParseLossSpecs(" hinge, sal:1e-6 ,l2:0.01");
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_EQ(Describe(*specs), "hinge=1.000000;sal=0.000001;l2=0.010000;");
}

TEST(ParseLossSpecs, AZeroWeightAndAnEmptyListAreAllowed) {
  absl::StatusOr<std::vector<LossSpec>> specs = ParseLossSpecs("hinge,sal:0");
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_EQ(Describe(*specs), "hinge=1.000000;sal=0.000000;");
  EXPECT_EQ(ErrorOf(""), "accepted: ");  // --losses= : no weighted term (e.g. popularity)
  EXPECT_EQ(ErrorOf("  "), "accepted: ");
}

TEST(ParseLossSpecs, RefusesNegativeWeightsNamingTheEntry) {
  EXPECT_EQ(ErrorOf("hinge,sal:-1"),
            "--losses: entry 'sal:-1' has a negative weight; weights must be >= 0 (0 disables a term)");
  EXPECT_EQ(ErrorOf("l2:-1e-9"),
            "--losses: entry 'l2:-1e-9' has a negative weight; weights must be >= 0 (0 disables a term)");
}

TEST(ParseLossSpecs, RefusesEmptyEntriesNamingTheirPosition) {
  EXPECT_EQ(ErrorOf("hinge,,sal"), "--losses: entry 2 of 'hinge,,sal' is empty (a stray comma?)");
  EXPECT_EQ(ErrorOf("hinge,sal,"), "--losses: entry 3 of 'hinge,sal,' is empty (a stray comma?)");
  EXPECT_EQ(ErrorOf(",hinge"), "--losses: entry 1 of ',hinge' is empty (a stray comma?)");
  EXPECT_EQ(ErrorOf("hinge, ,sal"), "--losses: entry 2 of 'hinge, ,sal' is empty (a stray comma?)");
}

TEST(ParseLossSpecs, RefusesBadNamesAndWeightsAsBefore) {
  EXPECT_EQ(ErrorOf("hinge,:1"), "--losses: empty loss name in entry ':1'");
  EXPECT_EQ(ErrorOf("sal:abc"), "--losses: loss weight of 'sal' is not a number: 'abc'");
  EXPECT_EQ(ErrorOf("sal:inf"), "--losses: loss weight of 'sal' is not a number: 'inf'");
  EXPECT_EQ(ErrorOf("sal,sal:2"), "--losses: 'sal' is listed twice");
}

}  // namespace
}  // namespace hardgnn
