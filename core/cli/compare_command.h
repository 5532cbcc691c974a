#ifndef HARDGNN_CORE_CLI_COMPARE_COMMAND_H_
#define HARDGNN_CORE_CLI_COMPARE_COMMAND_H_

#include <string>
#include <vector>

namespace hardgnn {

// `hardgnn compare RUN_DIR...`: one table of the selected models of finished runs (their
// summary.json): validation and test NDCG@10 and HR@10 on the paper's protocol and on full
// ranking; then each run's variant and protocol, and every flag whose value differs between
// the runs (their flags.txt). A run without summary.json or flags.txt is an error naming it.
int RunCompareCommand(const std::vector<std::string>& run_dirs);

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_COMPARE_COMMAND_H_
