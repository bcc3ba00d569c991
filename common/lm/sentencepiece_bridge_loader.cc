// GetApi() of common/lm/sentencepiece_bridge.h: finds and opens
// libproxima_spm_bridge.so once.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "common/lm/sentencepiece_bridge.h"

#ifndef PROXIMA_SPM_BRIDGE_BUILD_PATH
#define PROXIMA_SPM_BRIDGE_BUILD_PATH ""
#endif

namespace proxima::lm::spm {
namespace {

constexpr char kLibrary[] = "libproxima_spm_bridge.so";

std::string ExecutableDir() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  const std::string exe(buf.data(), static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "" : exe.substr(0, slash);
}

std::vector<std::string> Candidates() {
  if (const char* env = std::getenv("PROXIMA_SPM_BRIDGE"); env != nullptr && *env != '\0') {
    return {env};
  }
  std::vector<std::string> out;
  if (const std::string dir = ExecutableDir(); !dir.empty()) {
    out.push_back(dir + "/../lib/proxima/" + kLibrary);
    out.push_back(dir + "/" + kLibrary);
  }
  if (*PROXIMA_SPM_BRIDGE_BUILD_PATH != '\0') out.push_back(PROXIMA_SPM_BRIDGE_BUILD_PATH);
  return out;
}

}  // namespace

const Api* GetApi(std::string* error) {
  static std::once_flag once;
  static const Api* api = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    std::string tried;
    for (const std::string& path : Candidates()) {
      if (::access(path.c_str(), R_OK) != 0) {
        tried += "\n  " + path + ": not found";
        continue;
      }
      void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle == nullptr) {
        tried += "\n  " + path + ": " + ::dlerror();
        continue;
      }
      using Entry = const Api* (*)();
      auto entry = reinterpret_cast<Entry>(::dlsym(handle, "proxima_spm_api"));
      if (entry == nullptr) {
        tried += "\n  " + path + ": no proxima_spm_api symbol";
        continue;
      }
      api = entry();  // the handle stays open for the process's life
      return;
    }
    failure = "cannot load the SentencePiece bridge (" + std::string(kLibrary) +
              "; set PROXIMA_SPM_BRIDGE to its path); tried:" + tried;
  });
  if (api == nullptr && error != nullptr) *error = failure;
  return api;
}

}  // namespace proxima::lm::spm
