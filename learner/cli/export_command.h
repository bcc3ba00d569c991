// `proxima export --checkpoint PATH --out FILE`: writes the policy of a
// learner checkpoint as a TorchScript module (learner/export/
// torchscript_export.h, docs/export.md). PATH is a checkpoint file, a
// checkpoints directory or a run directory (newest checkpoint). A
// sequence-policy checkpoint (learner/lm/seq_checkpoint.h) is exported by
// learner/export/seq_torchscript_export.h instead.
//
// Defines --checkpoint and --out; link only into the `proxima` executable.
#ifndef PROXIMA_LEARNER_CLI_EXPORT_COMMAND_H_
#define PROXIMA_LEARNER_CLI_EXPORT_COMMAND_H_

#include <ostream>

namespace proxima {

// Exit status: 0 written, 1 could not write, 2 bad command line or checkpoint
// (missing, unreadable, not a Proxima checkpoint).
int ExportCommand(std::ostream& out, std::ostream& err);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_EXPORT_COMMAND_H_
