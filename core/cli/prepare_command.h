#ifndef HARDGNN_CORE_CLI_PREPARE_COMMAND_H_
#define HARDGNN_CORE_CLI_PREPARE_COMMAND_H_

namespace hardgnn {

// `hardgnn prepare`: reads a raw log or a SelfGNN release folder, preprocesses it and
// writes <out>/dataset.bin (the prepared-dataset cache) and <out>/stats.json, printing the
// statistics as a table. With --audit on a SelfGNN release it prints the leakage checks
// of SPEC §1.6 (and, if --out is given, also writes the dataset and <out>/audit.txt).
// Reads its own flags, defined in prepare_command.cc (--input, --format, --out, --name,
// --kcore, --filter, --slices, --time_begin, --time_end, --num_eval_users,
// --eval_negatives, --noise, --data_seed, --audit); call after
// gflags::ParseCommandLineFlags. Returns the process exit code: 0 success, 1 bad input or
// failure (message on stderr), 2 bad flags.
int RunPrepareCommand();

}  // namespace hardgnn

#endif  // HARDGNN_CORE_CLI_PREPARE_COMMAND_H_
