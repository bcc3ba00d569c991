#include "tests/learner/reference_cases.h"

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

#ifndef PROXIMA_SOURCE_DIR
#error "PROXIMA_SOURCE_DIR must name the source tree (tests/learner/CMakeLists.txt)"
#endif

namespace proxima {

std::vector<std::string> ReferenceDirs() {
  return {GoldenDir() + "/ppo", std::string(PROXIMA_SOURCE_DIR) + "/tests/reference/ppo"};
}

std::vector<std::string> ReferenceFiles(const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& dir : ReferenceDirs()) {
    auto files = ListFiles(dir, ".json");
    EXPECT_TRUE(files.ok()) << dir << ": " << files.status();
    if (!files.ok()) continue;
    for (const auto& f : *files) {
      const std::string name = f.substr(f.find_last_of('/') + 1);
      if (name.rfind(prefix, 0) == 0) out.push_back(f);
    }
  }
  return out;
}

int ForEachCase(const std::string& prefix,
                const std::function<void(const nlohmann::json&, const std::string&)>& fn) {
  const auto files = ReferenceFiles(prefix);
  if (files.empty()) {
    std::string dirs;
    for (const auto& d : ReferenceDirs()) dirs += " " + d;
    ADD_FAILURE() << "no " << prefix << "*.json under any of" << dirs;
    return 0;
  }
  int cases = 0;
  for (const auto& file : files) {
    const nlohmann::json doc = LoadJsonOrDie(file);
    EXPECT_TRUE(doc.contains("description")) << file;
    for (const auto& c : doc.at("cases")) fn(c, file + " case " + std::to_string(cases++));
  }
  return cases;
}

PpoConfig TotalLossCaseConfig(const nlohmann::json& in) {
  PpoConfig config;
  config.clip_coef = in.at("clip_eps").get<double>();
  config.value_clip_coef = in.at("value_clip_eps").get<double>();
  config.clip_value_loss = in.at("clip_value_loss").get<bool>();
  config.normalize_advantages = in.at("normalize_advantages").get<bool>();
  config.ent_coef = in.at("ent_coef").get<double>();
  config.vf_coef = in.at("vf_coef").get<double>();
  return config;
}

}  // namespace proxima
