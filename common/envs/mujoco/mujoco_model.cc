#include "common/envs/mujoco/mujoco_model.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/subprocess.h"

#ifndef PROXIMA_MUJOCO_SOURCE_ASSETS
#define PROXIMA_MUJOCO_SOURCE_ASSETS ""
#endif

namespace proxima {
namespace {

bool IsReadable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

struct ModelCache {
  absl::Mutex mu;
  std::map<std::string, std::shared_ptr<const mjModel>> models ABSL_GUARDED_BY(mu);
};

ModelCache& Cache() {
  static ModelCache* const cache = new ModelCache;  // never destroyed: envs may outlive main
  return *cache;
}

}  // namespace

std::vector<std::string> MujocoAssetDirs() {
  if (const char* env = std::getenv("PROXIMA_MUJOCO_ASSETS"); env != nullptr && *env != '\0') {
    return {env};
  }
  std::vector<std::string> dirs;
  const absl::StatusOr<std::string> exe_dir_or = ExecutableDir();
  const std::string exe_dir = exe_dir_or.ok() ? *exe_dir_or : "";
  if (!exe_dir.empty()) dirs.push_back(exe_dir + "/../share/proxima/mujoco");
  const std::string source = PROXIMA_MUJOCO_SOURCE_ASSETS;
  if (!source.empty()) dirs.push_back(source);
  return dirs;
}

absl::StatusOr<std::shared_ptr<const mjModel>> LoadMujocoModel(absl::string_view xml_file) {
  ModelCache& cache = Cache();
  absl::MutexLock lock(&cache.mu);
  const std::string key(xml_file);
  if (auto it = cache.models.find(key); it != cache.models.end()) return it->second;

  const std::vector<std::string> dirs = MujocoAssetDirs();
  std::string path;
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", xml_file);
    if (IsReadable(candidate)) {
      path = candidate;
      break;
    }
  }
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MuJoCo model file ", xml_file, " not found (searched: ", absl::StrJoin(dirs, ", "),
        "; set PROXIMA_MUJOCO_ASSETS to the folder holding Proxima's MuJoCo XMLs)"));
  }
  absl::StatusOr<std::shared_ptr<const mjModel>> model = LoadMujocoModelFile(path);
  if (model.ok()) cache.models.emplace(key, *model);
  return model;
}

absl::StatusOr<std::shared_ptr<const mjModel>> LoadMujocoModelFile(const std::string& path) {
  if (!IsReadable(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("MuJoCo model file ", path, " cannot be read: ", std::strerror(errno)));
  }
  char error[1024] = {0};
  mjModel* raw = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  if (raw == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("MuJoCo model file ", path,
                                                   " could not be loaded: ",
                                                   error[0] ? error : "unknown error"));
  }
  return std::shared_ptr<const mjModel>(
      raw, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
}

std::string MujocoVersion() {
  const int v = mj_version();  // e.g. 222
  return absl::StrCat(v / 100, ".", (v / 10) % 10, ".", v % 10);
}

}  // namespace proxima
