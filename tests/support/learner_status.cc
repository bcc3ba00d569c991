#include "tests/support/learner_status.h"

namespace proxima::testing {

const v1::ActorInfo* FindActor(const v1::LearnerStatus& st, const std::string& name) {
  for (const v1::ActorInfo& a : st.actors()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

uint64_t Dropped(const v1::LearnerStatus& st, v1::ChunkOutcome reason) {
  for (const v1::DropCount& d : st.chunks_dropped()) {
    if (d.reason() == reason) return d.chunks();
  }
  return 0;
}

uint64_t DroppedTotal(const v1::LearnerStatus& st) {
  uint64_t n = 0;
  for (const v1::DropCount& d : st.chunks_dropped()) n += d.chunks();
  return n;
}

}  // namespace proxima::testing
