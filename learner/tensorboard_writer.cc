#include "learner/tensorboard_writer.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "learner/tfrecord.h"
#include "learner/update_metrics.h"
#include "proxima/tensorboard/event.pb.h"

namespace proxima {
namespace {

// Writers opened by this process: the last part of the file name.
std::atomic<int> next_writer_number{0};

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

double UnixSeconds() { return absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()); }

}  // namespace

std::vector<TensorBoardScalar> MetricsRowScalars(const MetricsRow& row) {
  std::vector<TensorBoardScalar> out;
  for (const MetricField& f : MetricFields()) {
    if (f.tensorboard_tag != nullptr) out.push_back({f.tensorboard_tag, f.value(row)});
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TensorBoardWriter>> TensorBoardWriter::Open(
    const std::string& run_dir) {
  const std::string prefix =
      absl::StrFormat("%s/events.out.tfevents.%d.%s.%d.", run_dir,
                      absl::ToUnixSeconds(absl::Now()), HostName(), static_cast<int>(::getpid()));
  // "x": never append to (or truncate) another writer's file.
  std::FILE* f = nullptr;
  std::string path;
  for (int attempt = 0; attempt < 100 && f == nullptr; ++attempt) {
    path = absl::StrCat(prefix, next_writer_number.fetch_add(1));
    f = std::fopen(path.c_str(), "wbx");
    if (f == nullptr && errno != EEXIST) break;
  }
  if (f == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create TensorBoard event file '", path, "': ", std::strerror(errno)));
  }
  std::unique_ptr<TensorBoardWriter> w(new TensorBoardWriter(f, path));
  tensorboard::Event event;
  event.set_wall_time(UnixSeconds());
  event.set_step(0);
  event.set_file_version("brain.Event:2");
  absl::Status s = w->AppendRecord(event.SerializeAsString());
  if (!s.ok()) return s;
  return w;
}

TensorBoardWriter::~TensorBoardWriter() { std::fclose(file_); }

absl::Status TensorBoardWriter::Write(const MetricsRow& row,
                                      absl::Span<const TensorBoardScalar> extra) {
  std::vector<TensorBoardScalar> scalars = MetricsRowScalars(row);
  scalars.insert(scalars.end(), extra.begin(), extra.end());
  return WriteScalars(row.env_steps, scalars);
}

absl::Status TensorBoardWriter::WriteScalars(int64_t step,
                                             absl::Span<const TensorBoardScalar> scalars) {
  tensorboard::Event event;
  event.set_wall_time(UnixSeconds());
  event.set_step(step);
  tensorboard::Summary* summary = event.mutable_summary();
  for (const TensorBoardScalar& s : scalars) {
    if (!std::isfinite(s.value)) continue;
    tensorboard::Summary::Value* v = summary->add_value();
    v->set_tag(s.tag);
    v->set_simple_value(static_cast<float>(s.value));
  }
  return AppendRecord(event.SerializeAsString());
}

absl::Status TensorBoardWriter::AppendRecord(absl::string_view serialized_event) {
  const std::string record = FrameTfRecord(serialized_event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0) {
    return absl::InternalError(absl::StrCat("cannot write '", path_, "'"));
  }
  return absl::OkStatus();
}

}  // namespace proxima
