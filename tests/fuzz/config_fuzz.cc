// libFuzzer target: a PpoConfig as JSON, the form in which configs are stored
// in checkpoints' meta records and run directories (learner/run_files.h).
//
// The bytes are parsed as JSON (without exceptions), converted with
// ConfigFromJson and validated. A config that validates must survive a round
// trip: ConfigToJson then ConfigFromJson gives the same JSON again, else the
// target aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "learner/ppo_config.h"
#include "learner/run_files.h"
#include "nlohmann/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr,
                                                 /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  absl::StatusOr<proxima::PpoConfig> config = proxima::ConfigFromJson(j);
  if (!config.ok() || !config->Validate().ok()) return 0;
  const nlohmann::json once = proxima::ConfigToJson(*config);
  absl::StatusOr<proxima::PpoConfig> again = proxima::ConfigFromJson(once);
  if (!again.ok() || proxima::ConfigToJson(*again) != once) {
    std::fprintf(stderr, "config does not survive a JSON round trip: %s\n", once.dump().c_str());
    std::abort();
  }
  return 0;
}
