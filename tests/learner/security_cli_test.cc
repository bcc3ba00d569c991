// Security flags of the binaries (docs/security.md): bad TLS and token
// settings exit 2 with a message that names the flag (and the file line)
// but never a token; and a real cluster — proxima-learner with TLS, mutual
// TLS and bearer tokens, two proxima-actor processes, `proxima status` —
// trains a few updates while no token reaches a log or the run directory.
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/listening_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/child_process.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string MakeSecrets() {
  const std::string dir = MakeTempDir("security_cli") + "/secrets";
  CommandResult r = RunCommand(absl::StrCat(PROXIMA_SOURCE_DIR, "/deploy/make-secrets.sh ", dir));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir;
}

std::string ReadToken(const std::string& path) {
  absl::StatusOr<std::string> t = ReadFile(path);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*t)) : std::string();
}

// `proxima-learner` with `flags` on a free port; only flag errors are
// expected (exit 2 before anything listens).
CommandResult Learner(const std::string& flags, const std::string& env = "") {
  const std::string run = MakeTempDir("security_flags");
  return RunCommand(absl::StrCat(env, env.empty() ? "" : " ", BinPath("proxima-learner"),
                                 " --env CartPole-v1 --listen 127.0.0.1:0 --quiet --run-dir ",
                                 run, " ", flags, " < /dev/null"));
}

TEST(SecurityFlagsTest, LearnerRefusesBadTlsAndTokenSettings) {
  const std::string s = MakeSecrets();
  struct Case {
    std::string flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"--tls-cert " + s + "/learner.pem", "--tls-cert and --tls-key go together"},
      {"--tls-key " + s + "/learner.key", "--tls-cert and --tls-key go together"},
      {"--tls-cert /nonexistent.pem --tls-key " + s + "/learner.key",
       "--tls-cert: cannot read '/nonexistent.pem'"},
      {"--tls-cert " + s + "/auth_tokens --tls-key " + s + "/learner.key", "not a PEM file"},
      {"--tls-ca " + s + "/ca.pem", "--tls-ca verifies client certificates and needs TLS"},
      {"--tls-cert " + s + "/learner.pem --tls-key " + s + "/learner.key --require-client-cert",
       "--require-client-cert needs --tls-ca"},
      {"--auth-tokens-file /nonexistent-tokens", "--auth-tokens-file: cannot read"},
  };
  for (const Case& c : cases) {
    CommandResult r = Learner(c.flags);
    EXPECT_EQ(r.exit_code, 2) << c.flags << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.flags;
  }
  // A bad token file line: named by file and line, the token never echoed.
  const std::string secret = "do-not-print-me-0123456789";
  const std::string tokens = s + "/bad_tokens";
  ASSERT_TRUE(WriteFileAtomic(tokens, "# roles\nactor ok-token\nroot " + secret + "\n").ok());
  CommandResult r = Learner("--auth-tokens-file " + tokens);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(tokens + ":3: unknown role"));
  EXPECT_THAT(r.output, Not(HasSubstr(secret)));
  // The same from the environment, and both at once.
  r = Learner("", "PROXIMA_AUTH_TOKENS=actor:ok,superuser:" + secret);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PROXIMA_AUTH_TOKENS entry 2: unknown role"));
  EXPECT_THAT(r.output, Not(HasSubstr(secret)));
  r = Learner("--auth-tokens-file " + s + "/auth_tokens", "PROXIMA_AUTH_TOKENS=actor:x");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not both"));
}

TEST(SecurityFlagsTest, ClientsRefuseBadTlsAndTokenSettings) {
  const std::string s = MakeSecrets();
  for (const std::string& cmd :
       {BinPath("proxima-actor") + " --learner 127.0.0.1:1", BinPath("proxima") + " status "
                                                             "--learner 127.0.0.1:1"}) {
    CommandResult r = RunCommand(cmd + " --tls-server-name learner");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("--tls-server-name needs TLS"));
    r = RunCommand(cmd + " --token-file /nonexistent-token");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("--token-file: cannot read"));
    r = RunCommand(cmd + " --tls-cert " + s + "/client.pem");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("--tls-cert and --tls-key go together"));
    r = RunCommand("PROXIMA_TOKEN='two words' " + cmd);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("PROXIMA_TOKEN"));
  }
  // `proxima train` runs its cluster without TLS or tokens and says so.
  CommandResult r = RunCommand(BinPath("proxima") + " train --env CartPole-v1 --auth-tokens-file " +
                               s + "/auth_tokens");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("docs/security.md"));
}

// The whole system with every protection on.
TEST(SecureClusterTest, TlsMutualTlsAndTokensTrainEndToEnd) {
  const std::string s = MakeSecrets();
  const std::string run = MakeTempDir("secure_cluster");
  const std::string tls_client = absl::StrCat(" --tls-ca ", s, "/ca.pem --tls-cert ", s,
                                              "/client.pem --tls-key ", s, "/client.key");
  ChildProcess learner({BinPath("proxima-learner"), "--env", "CartPole-v1", "--listen",
                        "127.0.0.1:0", "--run-dir", run + "/run", "--quiet", "--mode", "sync",
                        "--min-actors", "2", "--total-steps", "4096", "--tls-cert", s + "/learner.pem", "--tls-key",
                        s + "/learner.key", "--tls-ca", s + "/ca.pem", "--require-client-cert",
                        "--auth-tokens-file", s + "/auth_tokens"},
                       run + "/learner.log");
  const absl::StatusOr<std::string> listening = learner.ReadListeningAddress(kLearnerProgram, 120);
  ASSERT_TRUE(listening.ok()) << listening.status();
  const std::string address = *listening;

  // Monitor over TLS with the monitor token; without it, refused.
  const std::string status = absl::StrCat(BinPath("proxima"), " status --json --learner ",
                                          address, tls_client);
  CommandResult r = RunCommand(status + " --token-file " + s + "/monitor_token");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["env_id"], "CartPole-v1");
  r = RunCommand(status);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
  r = RunCommand("PROXIMA_TOKEN=" + ReadToken(s + "/actor_token") + " " + status);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED"));
  // Health stays open to probes (TLS still applies).
  r = RunCommand(absl::StrCat(BinPath("proxima"), " health --learner ", address, tls_client));
  EXPECT_EQ(r.exit_code, 0) << r.output;

  std::vector<std::unique_ptr<ChildProcess>> actors;
  for (int i = 0; i < 2; ++i) {
    actors.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{BinPath("proxima-actor"), "--learner", address, "--name",
                                 absl::StrCat("secure-", i), "--tls-ca", s + "/ca.pem",
                                 "--tls-cert", s + "/client.pem", "--tls-key", s + "/client.key",
                                 "--tls-server-name", "localhost", "--token-file",
                                 s + "/actor_token"},
        absl::StrCat(run, "/actor-", i, ".log")));
  }
  EXPECT_EQ(learner.Wait(240), 0) << "see " << run << "/learner.log";
  for (auto& a : actors) {
    a->Signal(SIGTERM);
    a->Wait(30);
  }
  const nlohmann::json summary = LoadJsonOrDie(run + "/run/summary.json");
  // Sync rounds of both actors: 1024 env steps per update.
  EXPECT_EQ(summary["actors"], 2) << summary.dump();
  EXPECT_GE(summary["updates"].get<int64_t>(), 3) << summary.dump();
  EXPECT_GE(summary["total_env_steps"].get<int64_t>(), 4096);

  // No token in any log or run file.
  std::string everything;
  for (const auto& e : std::filesystem::recursive_directory_iterator(run)) {
    if (!e.is_regular_file()) continue;
    absl::StatusOr<std::string> f = ReadFile(e.path().string());
    if (f.ok()) absl::StrAppend(&everything, *f);
  }
  EXPECT_THAT(everything, HasSubstr("channel security: TLS, client certificate required"));
  for (const char* role : {"actor", "monitor", "admin"}) {
    EXPECT_THAT(everything, Not(HasSubstr(ReadToken(absl::StrCat(s, "/", role, "_token")))))
        << role;
  }
}

}  // namespace
}  // namespace proxima
