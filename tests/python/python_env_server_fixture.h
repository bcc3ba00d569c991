// The Python env server of remote_env_python_test (one gtest binary, two
// files): PythonServer starts deploy/python/proxima_env_server.py as a child
// process serving tests/python/classic_envs.py's CartPole-v1, Pendulum-v1,
// Broken-v0 and NoOp-v0 on 127.0.0.1:0 and reads the address it prints;
// RemotePythonEnvTest starts one per test suite (shared by the tests of both
// files: the fixture is one class, not in an anonymous namespace) and fails
// each test that runs without it, naming the Debian packages it needs.
// StateOption spells the test option that resets a remote env to a state.
//
// Needs PROXIMA_SOURCE_DIR and PROXIMA_PYTHON3 defined (tests/python/
// CMakeLists.txt). Blocks up to 60 s for the server's address, 30 s for its
// exit. Not thread-safe.
#ifndef PROXIMA_TESTS_PYTHON_PYTHON_ENV_SERVER_FIXTURE_H_
#define PROXIMA_TESTS_PYTHON_PYTHON_ENV_SERVER_FIXTURE_H_

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/listening_line.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/test_util.h"

namespace proxima {

inline const std::string kPythonTestSource = PROXIMA_SOURCE_DIR;

// A Python env server child process and the address it printed.
struct PythonServer {
  std::unique_ptr<ChildProcess> process;
  std::string address;
  std::string log;

  static std::unique_ptr<PythonServer> Start(const std::string& dir) {
    auto s = std::make_unique<PythonServer>();
    const std::string envs = kPythonTestSource + "/tests/python/classic_envs.py";
    s->log = dir + "/env_server.log";
    s->process = std::make_unique<ChildProcess>(
        std::vector<std::string>{PROXIMA_PYTHON3,
                                 kPythonTestSource + "/deploy/python/proxima_env_server.py",
                                 "--listen", "127.0.0.1:0",
                                 "--env", "CartPole-v1=" + envs + ":make_cartpole",
                                 "--env", "Pendulum-v1=" + envs + ":make_pendulum",
                                 "--env", "Broken-v0=" + envs + ":make_broken",
                                 "--env", "NoOp-v0=" + envs + ":make_noop",
                                 "--stubs-dir", dir + "/stubs",
                                 "--log-level", "WARNING"},
        s->log);
    absl::StatusOr<std::string> address = s->process->ReadListeningAddress(kEnvServerProgram, 60);
    if (address.ok()) s->address = *address;
    return s;
  }

  std::string Log() const {
    std::ifstream in(log);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
};

class RemotePythonEnvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // No __pycache__ beside the sources.
    ::setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
    dir_ = new std::string(MakeTempDir("remote_env_python_test"));
    server_ = PythonServer::Start(*dir_).release();
  }
  static void TearDownTestSuite() {
    server_->process->Signal(SIGTERM);
    EXPECT_EQ(server_->process->Wait(30), 0) << server_->Log();
    delete server_;
    if (!::testing::UnitTest::GetInstance()->Failed()) std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    ASSERT_FALSE(server_->address.empty())
        << "the Python env server did not start (needs python3-grpcio, python3-numpy, "
           "python3-protobuf, protoc and grpc_python_plugin):\n"
        << server_->Log();
  }

  static std::string Id(const std::string& env, const std::string& query = "") {
    return absl::StrCat("remote://", server_->address, "/", env, query.empty() ? "" : "?", query);
  }

  inline static std::string* dir_ = nullptr;
  inline static PythonServer* server_ = nullptr;
};

inline std::string StateOption(const std::vector<double>& s) {
  return absl::StrCat("initial_state=", absl::StrJoin(s, ","));
}

}  // namespace proxima

#endif  // PROXIMA_TESTS_PYTHON_PYTHON_ENV_SERVER_FIXTURE_H_
