// Loading Gymnasium's MuJoCo model files (common/envs/mujoco/assets/).
//
// The XMLs ship with Proxima as data. They are looked up, in this order, in
//   1. $PROXIMA_MUJOCO_ASSETS, when set (and then only there);
//   2. <directory of the running executable>/../share/proxima/mujoco — the
//      build tree (build/bin, build/tests) and an installed or containerised
//      binary (/usr/local/bin -> /usr/local/share/proxima/mujoco);
//   3. the source tree's common/envs/mujoco/assets, compiled in.
// A model is parsed once per process and shared read-only by every env that
// uses it (MuJoCo's simulation functions take `const mjModel*`). A missing,
// unreadable or invalid file is an InvalidArgument error that names the file
// and every directory searched. Thread-safe.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_MODEL_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mujoco/mujoco.h"

namespace proxima {

// The directories searched for `xml_file`, in order (see the file comment).
std::vector<std::string> MujocoAssetDirs();

// The model in `xml_file` (a bare file name such as "half_cheetah.xml"),
// loaded on first use and cached for the life of the process.
absl::StatusOr<std::shared_ptr<const mjModel>> LoadMujocoModel(absl::string_view xml_file);

// Parses the model at `path` (not cached): the same errors, naming `path`.
absl::StatusOr<std::shared_ptr<const mjModel>> LoadMujocoModelFile(const std::string& path);

// MuJoCo's version string ("2.2.2").
std::string MujocoVersion();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_MODEL_H_
