#ifndef HARDGNN_TESTS_TESTING_GOWALLA_SUBSET_H_
#define HARDGNN_TESTS_TESTING_GOWALLA_SUBSET_H_

#include "core/data/input_format.h"
#include "core/data/prepare.h"
#include "gtest/gtest.h"

namespace hardgnn::testing {

// The last five months (from 2010-06-01) of the embedded Gowalla-NYC check-ins, prepared with
// 3 time slices: a small real dataset for short trainings (about 1850 users, 3200 items). The
// test needs data = ["//data:gowalla_nyc"].
inline data::PreparedDataset GowallaSubset() {
  auto log = data::ReadInteractionFile("data/gowalla-nyc/checkins.tsv.gz", data::InputFormat::kGowalla);
  EXPECT_TRUE(log.ok()) << log.status();
  data::PrepareOptions o;
  o.name = "gowalla-nyc-subset";
  o.time_begin = 1275350400;  // 2010-06-01: the last five months
  o.num_slices = 3;
  auto d = data::Prepare(*log, o);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

}  // namespace hardgnn::testing

#endif  // HARDGNN_TESTS_TESTING_GOWALLA_SUBSET_H_
