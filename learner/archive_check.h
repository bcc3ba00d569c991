// CheckArchiveIntegrity: refuses a corrupted LibTorch archive before LibTorch
// parses it.
//
// Checkpoints are LibTorch archives (torch::serialize::OutputArchive): zip
// files of records — pickled data, tensor bytes (stored) and TorchScript
// source that loading compiles (deflated). LibTorch 1.13 reads them with
// miniz built without CRC checks, and its importer is not hardened against
// damaged contents: proxima_checkpoint_fuzz crashed it (SEGV in
// torch::jit::ScriptTypeParser on a flipped byte of the embedded source).
// This check walks the zip's end-of-central-directory record, every central
// directory entry and its local header, and requires each record to lie
// inside the file, to be stored or deflated (zlib inflates the latter through
// a small buffer) and to match its CRC-32. A truncated, bit-flipped or
// foreign file is then a DataLoss error naming the problem instead of
// undefined behaviour in LibTorch. It guards against
// corruption, not against a crafted file with consistent CRCs: checkpoints
// remain trusted input. Zip64 archives (records over 4 GiB, never written
// for our models) are passed through unchecked. Pure function.
//
// SerializeArchive is the writing side both kinds of checkpoint share
// (learner/checkpoint.h, learner/lm/seq_checkpoint.h): the bytes of the
// archive `fill` writes, or InternalError "cannot serialize the checkpoint:
// ..." when LibTorch throws.
#ifndef PROXIMA_LEARNER_ARCHIVE_CHECK_H_
#define PROXIMA_LEARNER_ARCHIVE_CHECK_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace torch::serialize {
class OutputArchive;
}  // namespace torch::serialize

namespace proxima {

absl::Status CheckArchiveIntegrity(absl::string_view bytes);

absl::StatusOr<std::string> SerializeArchive(
    const std::function<void(torch::serialize::OutputArchive&)>& fill);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_ARCHIVE_CHECK_H_
