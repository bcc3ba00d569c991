#include "learner/cli/gnuplot_render.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace proxima {
namespace {

namespace fs = std::filesystem;

// The executable `program` in PATH, or empty.
std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    const std::string candidate = absl::StrCat(dir, "/", program);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

// Runs `program script` with stdout and stderr into `log_path` (truncated)
// and stdin from /dev/null; returns the wait status, or an error if it could
// not start.
absl::StatusOr<int> RunProgram(const std::string& program, const std::string& script,
                               const std::string& log_path) {
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) {
    return absl::InternalError(absl::StrCat("cannot start ", program, ": ", std::strerror(errno)));
  }
  SpawnOptions spawn;
  spawn.stdout_fd = log;
  spawn.stderr_fd = log;
  absl::StatusOr<pid_t> pid = SpawnChild(program, {script}, spawn);
  ::close(log);
  if (!pid.ok()) {
    return absl::InternalError(absl::StrCat("cannot start ", program, ": ", pid.status().message()));
  }
  return WaitForExit(*pid);
}

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return f.good();
}

}  // namespace

std::string GnuplotString(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') q.push_back('\\');
    q.push_back(c == '\n' || c == '\r' ? ' ' : c);
  }
  return q + "\"";
}

std::string GnuplotPngPreamble(int width, int height, const std::string& png) {
  // pngcairo draws anti-aliased lines; gnuplot-nox has both terminals.
  return absl::StrFormat(
      "if (strstrt(\" \".GPVAL_TERMINALS.\" \", \" pngcairo \") > 0) {\n"
      "  set terminal pngcairo size %d,%d noenhanced font \"sans,10\"\n"
      "} else {\n"
      "  set terminal png size %d,%d noenhanced\n"
      "}\n"
      "set output %s\n",
      width, height, width, height, GnuplotString(png));
}

int RenderPng(const std::vector<std::string>& data, const GnuplotScriptFn& script,
              const std::string& out, std::ostream& err) {
  const fs::path out_path(out);
  const fs::path out_dir = out_path.has_parent_path() ? out_path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec)) {
    err << "proxima plot: --out: directory '" << out_dir.string() << "' does not exist\n";
    return 2;
  }
  const std::string gnuplot = FindInPath("gnuplot");
  if (gnuplot.empty()) {
    err << "proxima plot: gnuplot not found in PATH; install it with `apt-get install "
           "gnuplot-nox`\n";
    return 2;
  }
  absl::StatusOr<ScopedTempDir> tmp = ScopedTempDir::Create("proxima-plot-");
  if (!tmp.ok()) {
    err << "proxima plot: " << tmp.status().message() << "\n";
    return 1;
  }
  std::vector<std::string> data_files;
  for (size_t i = 0; i < data.size(); ++i) {
    data_files.push_back(absl::StrCat(tmp->path(), "/run", i, ".dat"));
    if (!WriteText(data_files.back(), data[i])) {
      err << "proxima plot: cannot write " << data_files.back() << "\n";
      return 1;
    }
  }
  // Drawn next to `out` and renamed over it when complete.
  const std::string partial = absl::StrCat(out, ".partial-", ::getpid(), ".png");
  const std::string script_path = tmp->path() + "/plot.gp";
  if (!WriteText(script_path, script(data_files, partial))) {
    err << "proxima plot: cannot write " << script_path << "\n";
    return 1;
  }
  const std::string log_path = tmp->path() + "/gnuplot.log";
  absl::StatusOr<int> status = RunProgram(gnuplot, script_path, log_path);
  absl::StatusOr<std::string> log = ReadFile(log_path);
  if (!status.ok() || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    err << "proxima plot: gnuplot failed"
        << (status.ok() ? "" : absl::StrCat(": ", status.status().message())) << "\n";
    if (log.ok()) err << *log;
    fs::remove(partial, ec);
    return 1;
  }
  fs::rename(partial, out, ec);
  if (ec) {
    err << "proxima plot: cannot write " << out << ": " << ec.message() << "\n";
    fs::remove(partial, ec);
    return 1;
  }
  return 0;
}

}  // namespace proxima
