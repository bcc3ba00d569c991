#include "learner/server/learner_status.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "learner/server/lag_report.h"
#include "learner/server/status_util.h"

namespace proxima {

v1::LearnerStatus BuildStatus(const StatusSources& src, bool include_actors) {
  v1::LearnerStatus st;
  src.progress->FillStatus(&st);
  src.sessions->FillStatus(include_actors, &st);
  st.set_queue_transitions(static_cast<uint64_t>(src.queue->transitions()));
  st.set_queue_capacity(static_cast<uint64_t>(src.queue->capacity()));
  src.accounting->FillStatus(&st);
  if (src.trainer != nullptr) src.trainer->FillStatus(&st);
  st.set_serving_state(src.serving);
  SetTimestamp(src.started_at, st.mutable_started_at());
  st.set_env_id(src.env_id);
  st.set_run_dir(src.run_dir);
  st.set_learner_instance_id(src.instance_id);
  if (src.times != nullptr) src.times->Fill(&st);
  SetTimestamp(absl::Now(), st.mutable_as_of());
  return st;
}

void PrintProgressLine(const v1::LearnerStatus& st, const std::string& env_id,
                       int64_t total_steps) {
  const bool tty = ::isatty(STDERR_FILENO);
  LogRaw(absl::StrCat(tty ? "\r" : "", ProgressLine(st, env_id, total_steps),
                      tty ? "   " : "\n"));
}

}  // namespace proxima
