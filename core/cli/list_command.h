#ifndef HARDGNN_CORE_CLI_LIST_COMMAND_H_
#define HARDGNN_CORE_CLI_LIST_COMMAND_H_

#include <string>

namespace hardgnn {

// Every registered plugin of every kind, with its description and parameters (as flags).
std::string DescribePlugins();

int RunListCommand();

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_LIST_COMMAND_H_
