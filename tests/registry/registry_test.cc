#include "core/registry/registry.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hardgnn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A plugin kind that exists only in this test, so the registry is tested on its own.
struct Widget {
  static constexpr char kKind[] = "widget";
  struct Context {
    int base = 0;
  };
  virtual ~Widget() = default;
  virtual int Value() const = 0;
};

struct Adder : Widget {
  explicit Adder(int v) : v(v) {}
  int Value() const override { return v; }
  int v;
};

const Registration<Widget> kAdder(
    "adder",
    {"adds its parameter to the context's base",
     {{"amount", ParamType::kInt, "3", "what to add"},
      {"scale", ParamType::kDouble, "1.5", "unused here"}}},
    [](const PluginArgs& args, const Widget::Context& ctx) -> absl::StatusOr<std::unique_ptr<Widget>> {
      return std::make_unique<Adder>(ctx.base + static_cast<int>(args.Int("amount")));
    });

const Registration<Widget> kZero("zero", {"always zero", {}},
                                 [](const PluginArgs&, const Widget::Context&)
                                     -> absl::StatusOr<std::unique_ptr<Widget>> {
                                   return std::make_unique<Adder>(0);
                                 });

TEST(RegistryTest, CreatesByNameWithDefaultsAndGivenArgs) {
  auto& registry = Registry<Widget>::Global();
  auto by_default = registry.Create("adder", {}, {10});
  ASSERT_TRUE(by_default.ok()) << by_default.status();
  EXPECT_EQ((*by_default)->Value(), 13);
  auto given = registry.Create("adder", {{"amount", "-4"}}, {10});
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ((*given)->Value(), 6);
}

TEST(RegistryTest, UnknownNameListsCandidates) {
  auto result = Registry<Widget>::Global().Create("adr", {}, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("unknown widget 'adr'"));
  EXPECT_THAT(result.status().message(), HasSubstr("adder, zero"));
}

TEST(RegistryTest, UndeclaredOrMistypedParameterIsRejected) {
  auto& registry = Registry<Widget>::Global();
  auto undeclared = registry.Create("adder", {{"amout", "1"}}, {});
  ASSERT_FALSE(undeclared.ok());
  EXPECT_THAT(undeclared.status().message(), HasSubstr("no parameter 'amout'"));
  EXPECT_THAT(undeclared.status().message(), HasSubstr("amount, scale"));
  auto mistyped = registry.Create("adder", {{"amount", "1.5"}}, {});
  ASSERT_FALSE(mistyped.ok());
  EXPECT_THAT(mistyped.status().message(), HasSubstr("expects int, got '1.5'"));
}

TEST(RegistryTest, DuplicateRegistrationIsRejected) {
  Registry<Widget> registry;
  auto factory = [](const PluginArgs&, const Widget::Context&)
      -> absl::StatusOr<std::unique_ptr<Widget>> { return std::make_unique<Adder>(1); };
  ASSERT_TRUE(registry.Add({"once", {"", {}}, factory}).ok());
  absl::Status again = registry.Add({"once", {"", {}}, factory});
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.message(), HasSubstr("widget 'once' is registered twice"));
}

TEST(RegistryDeathTest, DuplicateStaticRegistrationAbortsAtStartUp) {
  auto register_adder_again = [] {
    Registration<Widget> again("adder", {"", {}}, nullptr);
  };
  EXPECT_DEATH(register_adder_again(), "fatal at start-up: widget 'adder' is registered twice");
}

TEST(RegistryTest, ListsEntriesSortedWithDescriptionsAndParameters) {
  std::vector<const Registry<Widget>::Entry*> entries = Registry<Widget>::Global().Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]->name, "adder");
  EXPECT_EQ(entries[0]->info.description, "adds its parameter to the context's base");
  ASSERT_EQ(entries[0]->info.params.size(), 2u);
  EXPECT_EQ(entries[0]->info.params[1].name, "scale");
  EXPECT_EQ(entries[0]->info.params[1].type, ParamType::kDouble);
  EXPECT_EQ(entries[0]->info.params[1].default_value, "1.5");
  EXPECT_THAT(Registry<Widget>::Global().Names(), ElementsAre("adder", "zero"));
}

TEST(PluginArgsTest, ParsesTypedValuesAndDefaults) {
  std::vector<ParamSpec> specs = {{"k", ParamType::kInt, "5", ""},
                                  {"tau", ParamType::kDouble, "0.1", ""},
                                  {"exclude", ParamType::kBool, "true", ""},
                                  {"mode", ParamType::kString, "exact", ""}};
  auto args = PluginArgs::Parse("sampler 'x'", specs, {{"tau", "2.5e-1"}, {"exclude", "false"}});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Int("k"), 5);
  EXPECT_DOUBLE_EQ(args->Double("tau"), 0.25);
  EXPECT_FALSE(args->Bool("exclude"));
  EXPECT_EQ(args->String("mode"), "exact");
}

TEST(PluginArgsTest, BadDefaultIsReportedNotIgnored) {
  auto args = PluginArgs::Parse("p", {{"k", ParamType::kInt, "five", ""}}, {});
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), HasSubstr("'k' expects int, got 'five'"));
}

TEST(ParseArgListTest, SplitsPairsAndRejectsMalformedItems) {
  auto parsed = ParseArgList(" k=5, tau = 0.1 ,mode=a=b");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->at("k"), "5");
  EXPECT_EQ(parsed->at("tau"), "0.1");
  EXPECT_EQ(parsed->at("mode"), "a=b");
  EXPECT_TRUE(ParseArgList("").ok());
  EXPECT_FALSE(ParseArgList("k=5,oops").ok());
  EXPECT_FALSE(ParseArgList("=3").ok());
}

}  // namespace
}  // namespace hardgnn
