// TensorBoardWriter: the learner's metrics as a TensorBoard event file, so that
// `tensorboard --logdir runs/` shows every run live, next to metrics.csv.
//
// Open(run_dir) creates
//   RUN_DIR/events.out.tfevents.<unix_seconds>.<hostname>.<pid>.<n>
// (n counts the writers this process opened, so names never collide; a resumed
// run adds a new file to the same directory, which TensorBoard reads as one
// run) and writes the "brain.Event:2" file-version event. The file is a
// TFRecord stream (learner/tfrecord.h) of proxima.tensorboard.Event messages
// (proto/proxima/tensorboard/event.proto, TensorFlow's field numbers).
//
// Write(row) appends one event at step = row.env_steps whose summary holds one
// scalar per metric of the row (MetricsRowScalars below), plus any `extra`
// scalars, and flushes the file, so a TensorBoard tailing it sees each update
// as it lands.
// Non-finite values (the mean return before the first episode) are left out.
//
// Not thread-safe: one thread (the trainer) owns the writer.
#ifndef PROXIMA_LEARNER_TENSORBOARD_WRITER_H_
#define PROXIMA_LEARNER_TENSORBOARD_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace proxima {

struct MetricsRow;  // learner/update_metrics.h

struct TensorBoardScalar {
  std::string tag;
  double value = 0;
};

// The scalars of one row: one per metric with a TensorBoard tag in
// learner/update_metrics.h, in its order (charts/, losses/ and perf/ tags as
// CleanRL names them). A metric the row did not measure is NaN, so Write()
// leaves it out.
std::vector<TensorBoardScalar> MetricsRowScalars(const MetricsRow& row);

class TensorBoardWriter {
 public:
  // Creates the event file in `run_dir` (which must exist) and writes the
  // file-version event.
  static absl::StatusOr<std::unique_ptr<TensorBoardWriter>> Open(const std::string& run_dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // MetricsRowScalars(row) and `extra` at step row.env_steps; flushed.
  absl::Status Write(const MetricsRow& row, absl::Span<const TensorBoardScalar> extra = {});

  // One event holding `scalars` (non-finite ones left out) at `step`; flushed.
  absl::Status WriteScalars(int64_t step, absl::Span<const TensorBoardScalar> scalars);

  const std::string& path() const { return path_; }

 private:
  TensorBoardWriter(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  // Frames `serialized_event` as a TFRecord, writes and flushes it.
  absl::Status AppendRecord(absl::string_view serialized_event);

  std::FILE* file_;
  std::string path_;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_TENSORBOARD_WRITER_H_
