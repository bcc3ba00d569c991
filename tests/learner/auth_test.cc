// The pieces of channel security without a server: the learner's token
// table and call check (learner/server/auth.h) and the client's
// ChannelSecurity loader (common/grpc/channel_security.h).
#include <grpcpp/support/string_ref.h>

#include <map>
#include <string>

#include "common/grpc/channel_security.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/server/auth.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(TokenTableTest, ParsesRolesCommentsAndSeveralTokensPerRole) {
  absl::StatusOr<TokenTable> t = TokenTable::ParseFile(
      "# comment\n\nactor  a1\nactor\ta2\r\nmonitor m1\nadmin x1\nmonitor x1\n", "f");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->RolesOf("a1"), static_cast<uint8_t>(Role::kActor));
  EXPECT_EQ(t->RolesOf("a2"), static_cast<uint8_t>(Role::kActor));
  EXPECT_EQ(t->RolesOf("x1"),
            static_cast<uint8_t>(Role::kAdmin) | static_cast<uint8_t>(Role::kMonitor));
  EXPECT_EQ(t->RolesOf("a"), 0);
  EXPECT_EQ(t->RolesOf("a1x"), 0);
  EXPECT_EQ(t->RolesOf(""), 0);
  absl::StatusOr<TokenTable> l = TokenTable::ParseList("actor:a1, admin:z9", "ENV");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->RolesOf("z9"), static_cast<uint8_t>(Role::kAdmin));
}

TEST(TokenTableTest, ErrorsNameTheLineButNeverTheToken) {
  const std::string secret = "s3cr3t-T0KEN";
  for (const std::string& text :
       {"actor ok\n#\nsuperuser " + secret + "\n", "actor ok\n\n" + secret + " actor\n",
        "actor ok\n\nactor " + secret + " extra\n", "actor ok\n\nactor " + secret + "\x01\n"}) {
    absl::StatusOr<TokenTable> t = TokenTable::ParseFile(text, "tokens.txt");
    EXPECT_THAT(t, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokens.txt:3")));
    EXPECT_THAT(t.status().message(), Not(HasSubstr(secret)));
  }
  EXPECT_THAT(TokenTable::ParseFile("# nothing\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no tokens")));
  absl::StatusOr<TokenTable> l = TokenTable::ParseList("actor:a,root:" + secret, "ENV");
  EXPECT_THAT(l, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ENV entry 2")));
  EXPECT_THAT(l.status().message(), Not(HasSubstr(secret)));
  EXPECT_THAT(TokenTable::ParseList("actor:", "ENV"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty token")));
}

TEST(CallAuthorizerTest, NoTokensMeansNoChecks) {
  std::multimap<grpc::string_ref, grpc::string_ref> none;
  CallAuthorizer open{TokenTable()};
  EXPECT_FALSE(open.enabled());
  EXPECT_TRUE(open.Check(none, Access::kAdmin).ok());
  TokenTable t;
  t.Add(Role::kMonitor, "m");
  CallAuthorizer checked{std::move(t)};
  EXPECT_EQ(checked.Check(none, Access::kMonitor).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::multimap<grpc::string_ref, grpc::string_ref> basic{{"authorization", "Basic m"}};
  EXPECT_EQ(checked.Check(basic, Access::kMonitor).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::multimap<grpc::string_ref, grpc::string_ref> bearer{{"authorization", "bearer m"}};
  EXPECT_TRUE(checked.Check(bearer, Access::kMonitor).ok());
  EXPECT_EQ(checked.Check(bearer, Access::kAdmin).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(ChannelSecurityTest, LoadChecksFilesAndFlags) {
  const std::string dir = MakeTempDir("channel_security");
  ClientSecurityOptions o;
  o.tls_cert = dir + "/missing.pem";
  EXPECT_THAT(ChannelSecurity::Load(o, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-key")));
  o.tls_key = dir + "/missing.key";
  EXPECT_THAT(ChannelSecurity::Load(o, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-cert: cannot read")));
  o = ClientSecurityOptions();
  o.tls_server_name = "learner";
  EXPECT_THAT(ChannelSecurity::Load(o, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs TLS")));
  o = ClientSecurityOptions();
  ASSERT_TRUE(WriteFileAtomic(dir + "/token", "abc123\n").ok());
  o.token_file = dir + "/token";
  absl::StatusOr<ChannelSecurity> s = ChannelSecurity::Load(o, "ignored-env-token");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->has_token());
  EXPECT_FALSE(s->tls());
  ASSERT_TRUE(WriteFileAtomic(dir + "/token", "two words\n").ok());
  s = ChannelSecurity::Load(o, "");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("visible ASCII")));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("two words")));
  EXPECT_THAT(ChannelSecurity::Load(ClientSecurityOptions(), "with space"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PROXIMA_TOKEN")));
}

}  // namespace
}  // namespace proxima
