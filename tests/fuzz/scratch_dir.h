// A private scratch directory for fuzz targets whose code under test reads
// files (checkpoints, flag files): created once per process by
// testing::CreateTempDir (under $TMPDIR, default /tmp), removed with its files
// at exit. WriteScratchFile writes without fsync (WriteFileAtomic's fsyncs
// would dominate a fuzzing run); failure to write aborts, since the target
// could not test anything.
#ifndef PROXIMA_TESTS_FUZZ_SCRATCH_DIR_H_
#define PROXIMA_TESTS_FUZZ_SCRATCH_DIR_H_

#include <string>

#include "absl/strings/string_view.h"

namespace proxima {
namespace fuzz {

// The directory's path (no trailing slash).
const std::string& ScratchDir();

// Replaces ScratchDir()/name with `contents` and returns its path.
std::string WriteScratchFile(const std::string& name, absl::string_view contents);

}  // namespace fuzz
}  // namespace proxima

#endif  // PROXIMA_TESTS_FUZZ_SCRATCH_DIR_H_
