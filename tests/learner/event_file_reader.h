// A TensorBoard event-file reader for tests, written independently of the
// writer (learner/tensorboard_writer.h): it parses the TFRecord framing by
// hand, checks every length CRC and data CRC with its own Boost.CRC-32C and
// mask, and parses each record as a proxima.tensorboard.Event.
#ifndef PROXIMA_TESTS_LEARNER_EVENT_FILE_READER_H_
#define PROXIMA_TESTS_LEARNER_EVENT_FILE_READER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proxima/tensorboard/event.pb.h"

namespace proxima::testing {

// Every event in `bytes`; DataLoss naming the record and what failed (length
// CRC, data CRC, truncation, unparsable event) on the first bad record.
absl::StatusOr<std::vector<tensorboard::Event>> ParseEventRecords(absl::string_view bytes);

absl::StatusOr<std::vector<tensorboard::Event>> ReadEventFile(const std::string& path);

// Paths of RUN_DIR/events.out.tfevents.*, sorted.
std::vector<std::string> FindEventFiles(const std::string& run_dir);

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_LEARNER_EVENT_FILE_READER_H_
