#include "tests/fuzz/scratch_dir.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace proxima {
namespace fuzz {
namespace {

void RemoveScratchDir() {
  const std::string& dir = ScratchDir();
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") std::remove((dir + "/" + name).c_str());
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

}  // namespace

const std::string& ScratchDir() {
  static const std::string* const dir = [] {
    absl::StatusOr<std::string> made = testing::CreateTempDir("proxima-fuzz-");
    if (!made.ok()) {
      std::fprintf(stderr, "proxima fuzz: %s\n", made.status().ToString().c_str());
      std::abort();
    }
    return new std::string(*made);
  }();
  static const bool registered = (std::atexit(RemoveScratchDir), true);
  (void)registered;
  return *dir;
}

std::string WriteScratchFile(const std::string& name, absl::string_view contents) {
  const std::string path = ScratchDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) {
    std::perror(("proxima fuzz: cannot write " + path).c_str());
    std::abort();
  }
  return path;
}

}  // namespace fuzz
}  // namespace proxima
