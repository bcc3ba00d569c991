// `proxima bench [--suite NAME[,NAME...]] [--json OUT] [--quick] [--work-dir DIR]`
// (learner/cli/bench/bench.h). Parses its own flags, like `proxima plot`, since
// its --json takes a file name where the learner commands' --json is a switch.
#ifndef PROXIMA_LEARNER_BENCH_BENCH_COMMAND_H_
#define PROXIMA_LEARNER_BENCH_BENCH_COMMAND_H_

#include <string>
#include <vector>

namespace proxima {

// args: everything after "bench". Returns the exit status: 0 every suite ran,
// 1 a suite failed (the others still run), 2 bad command line.
int BenchMain(const std::vector<std::string>& args);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_BENCH_BENCH_COMMAND_H_
