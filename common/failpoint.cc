#include "common/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"

namespace proxima {
namespace {

struct FailPointSpec {
  std::string name;   // empty: none configured
  int64_t hit = 1;    // the N-th MaybeFail(name) fires
};

const FailPointSpec& Spec() {
  static const FailPointSpec spec = [] {
    FailPointSpec s;
    const char* env = std::getenv("PROXIMA_FAILPOINT");
    if (env == nullptr || env[0] == '\0') return s;
    std::string v(env);
    const size_t colon = v.rfind(':');
    int64_t n = 0;
    if (colon != std::string::npos && absl::SimpleAtoi(v.substr(colon + 1), &n) && n >= 1) {
      s.hit = n;
      v.resize(colon);
    }
    s.name = v;
    return s;
  }();
  return spec;
}

std::atomic<int64_t> g_hits{0};

struct DelayPointSpec {
  std::string name;  // empty: none configured
  int64_t millis = 0;
};

const DelayPointSpec& DelaySpec() {
  static const DelayPointSpec spec = [] {
    DelayPointSpec s;
    const char* env = std::getenv("PROXIMA_DELAYPOINT");
    if (env == nullptr || env[0] == '\0') return s;
    const std::string v(env);
    const size_t colon = v.rfind(':');
    int64_t ms = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(v.substr(colon + 1), &ms) || ms < 0) {
      LogRaw(absl::StrFormat("PROXIMA_DELAYPOINT=%s: want <name>:<milliseconds>; ignored\n", v));
      return s;
    }
    s.name = v.substr(0, colon);
    s.millis = ms;
    return s;
  }();
  return spec;
}

}  // namespace

void MaybeDelay(absl::string_view name) {
  const DelayPointSpec& spec = DelaySpec();
  if (spec.name.empty() || name != spec.name) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(spec.millis));
}

void MaybeFail(absl::string_view name) {
  const FailPointSpec& spec = Spec();
  if (spec.name.empty() || name != spec.name) return;
  if (g_hits.fetch_add(1) + 1 != spec.hit) return;
  LogRaw(absl::StrFormat("failpoint %s (hit %lld): SIGKILL\n", spec.name,
                         static_cast<long long>(spec.hit)));
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace proxima
