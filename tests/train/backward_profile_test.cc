// BackwardNodeProfile: every autograd node of a backward under its name, a node's time measured
// (a custom node that sleeps a known time), nothing recorded when disabled or on another thread.
#include "core/model/backward_profile.h"

#include <chrono>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hardgnn {
namespace {

// A node whose backward takes at least 30 ms.
struct SlowIdentity : public torch::autograd::Function<SlowIdentity> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) { return x.clone(); }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list g) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return {g[0]};
  }
};

void Backward() {
  const torch::Tensor x = torch::randn({8, 4}, torch::requires_grad());
  SlowIdentity::apply(x).index_select(0, torch::tensor({1, 3, 3})).sum().backward();
}

std::map<std::string, double> Totals() {
  std::map<std::string, double> out;
  for (const auto& [name, seconds] : BackwardNodeProfile::Totals()) out[name] = seconds;
  return out;
}

TEST(BackwardNodeProfileTest, TimesEveryNodeOfTheBackwardByName) {
  BackwardNodeProfile::Reset();
  BackwardNodeProfile::Enable();
  Backward();
  Backward();
  BackwardNodeProfile::Disable();
  const auto totals = Totals();
  for (const char* name : {"SumBackward0", "IndexSelectBackward0", "SlowIdentity", "AccumulateGrad"}) {
    ASSERT_TRUE(totals.count(name)) << name;
    EXPECT_GT(totals.at(name), 0.0) << name;
  }
  EXPECT_GE(totals.at("SlowIdentity"), 0.060);  // two backward passes of at least 30 ms each
  EXPECT_LT(totals.at("SlowIdentity"), 1.0);
  EXPECT_EQ(BackwardNodeProfile::Totals().front().first, "SlowIdentity");  // largest first
}

TEST(BackwardNodeProfileTest, RecordsNothingWhenDisabledOrOnAnotherThread) {
  BackwardNodeProfile::Reset();
  Backward();
  EXPECT_TRUE(BackwardNodeProfile::Totals().empty());
  BackwardNodeProfile::Enable();
  std::thread([] { Backward(); }).join();  // the callback is this thread's
  BackwardNodeProfile::Disable();
  EXPECT_TRUE(BackwardNodeProfile::Totals().empty());
}

}  // namespace
}  // namespace hardgnn
