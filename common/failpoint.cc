#include "common/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

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

}  // namespace

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
