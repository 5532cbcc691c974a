#ifndef HARDGNN_TESTS_DATA_TEST_UTIL_H_
#define HARDGNN_TESTS_DATA_TEST_UTIL_H_

// Helpers shared by the data tests.

#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/data/interaction_log.h"

namespace hardgnn::data::testing {

// An event of an InteractionLog with its original ids, to compare logs with known answers.
struct Event {
  std::string user, item;
  int64_t time;
  bool operator==(const Event& o) const { return user == o.user && item == o.item && time == o.time; }
};
std::ostream& operator<<(std::ostream& os, const Event& e);

// The log's events in order.
std::vector<Event> Events(const InteractionLog& log);

// A fresh directory under $TEST_TMPDIR (or /tmp) for this test.
std::string TempDir(absl::string_view name);

// Writes `contents` to `path` (test setup; aborts the test on failure via ADD_FAILURE).
void WriteFile(const std::string& path, absl::string_view contents);

// gzip-compresses `data` (one member).
std::string Gzip(absl::string_view data);

// Path of the yelp2019 log: $HARDGNN_YELP2019, default the shared copy.
std::string Yelp2019Path();

}  // namespace hardgnn::data::testing

// Asserts that `status_expr` is an error whose message contains every one of the strings.
#define EXPECT_ERROR_MENTIONS(status_expr, ...)                                    \
  do {                                                                             \
    const absl::Status _s = (status_expr);                                         \
    EXPECT_FALSE(_s.ok()) << "expected an error";                                  \
    for (const char* _part : {__VA_ARGS__}) {                                      \
      EXPECT_NE(std::string(_s.message()).find(_part), std::string::npos)          \
          << "message '" << _s.message() << "' does not mention '" << _part << "'"; \
    }                                                                              \
  } while (0)

#endif  // HARDGNN_TESTS_DATA_TEST_UTIL_H_
