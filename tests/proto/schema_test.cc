// The shape and hygiene of the proxima.v1 schema, read from descriptors:
//  * the four services have exactly the expected methods and streaming kinds;
//  * every .proto file is compiled into proxima::proto and linked;
//  * every message reserves the prototype band 900-999 and uses no number
//    in it; every enum starts with *_UNSPECIFIED = 0;
//  * every file, message, enum, service, method and field is documented
//    (checked on the descriptor set that protoc writes with comments).
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/checkpoint.pb.h"
#include "proxima/v1/config.pb.h"
#include "proxima/v1/env_service.grpc.pb.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "proxima/v1/metrics.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "proxima/v1/space.pb.h"
#include "proxima/v1/status.pb.h"
#include "proxima/v1/tensor.pb.h"
#include "proxima/v1/trajectory.pb.h"
#include "proxima/v1/weights.pb.h"

namespace proxima {
namespace {

namespace gpb = ::google::protobuf;

constexpr int kPrototypeBandStart = 900;
constexpr int kPrototypeBandEnd = 1000;  // exclusive

// One message per .proto file. Touching its descriptor links the file's
// object code (the library is static) and registers the file in the
// generated pool. A new .proto file needs an entry here; the test
// EveryProtoFileIsLinked says so if it is missing.
std::vector<const gpb::FileDescriptor*> LinkedFiles() {
  return {
      v1::TensorProto::descriptor()->file(),
      v1::Space::descriptor()->file(),
      v1::RunConfig::descriptor()->file(),
      v1::TrajectoryChunk::descriptor()->file(),
      v1::WeightSnapshot::descriptor()->file(),
      v1::CheckpointInfo::descriptor()->file(),
      v1::UpdateMetrics::descriptor()->file(),
      v1::LearnerStatus::descriptor()->file(),
      v1::RegisterRequest::descriptor()->file(),
      v1::GetStatusRequest::descriptor()->file(),
      v1::PauseRequest::descriptor()->file(),
      v1::EnvRequest::descriptor()->file(),
  };
}

std::vector<std::string> ProtoFilesFromBuild() {
  return absl::StrSplit(PROXIMA_PROTO_FILES, ',', absl::SkipEmpty());
}

// The descriptor set written by protoc --include_imports
// --include_source_info, loaded into its own pool so that comments are
// available.
class DescriptorSetPool {
 public:
  DescriptorSetPool() {
    std::ifstream in(PROXIMA_PROTO_DESCRIPTOR_SET, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    ok_ = in.good() || in.eof();
    ok_ = ok_ && set_.ParseFromString(buf.str());
    // Files are in dependency order.
    for (const gpb::FileDescriptorProto& f : set_.file()) {
      const gpb::FileDescriptor* fd = pool_.BuildFile(f);
      if (fd == nullptr) {
        ok_ = false;
        continue;
      }
      if (fd->package() == "proxima.v1") files_.push_back(fd);
    }
  }
  bool ok() const { return ok_; }
  const std::vector<const gpb::FileDescriptor*>& files() const {
    return files_;
  }

 private:
  gpb::FileDescriptorSet set_;
  gpb::DescriptorPool pool_;
  std::vector<const gpb::FileDescriptor*> files_;
  bool ok_ = false;
};

const DescriptorSetPool& SchemaWithComments() {
  static const DescriptorSetPool* pool = new DescriptorSetPool();
  return *pool;
}

// Calls f on every message of `file`, nested ones included, except the
// synthetic map-entry messages protoc makes for map fields.
void ForEachMessage(const gpb::FileDescriptor* file,
                    const std::function<void(const gpb::Descriptor*)>& f) {
  std::function<void(const gpb::Descriptor*)> visit =
      [&](const gpb::Descriptor* d) {
        if (d->options().map_entry()) return;
        f(d);
        for (int i = 0; i < d->nested_type_count(); ++i) {
          visit(d->nested_type(i));
        }
      };
  for (int i = 0; i < file->message_type_count(); ++i) {
    visit(file->message_type(i));
  }
}

struct MethodShape {
  std::string name;
  std::string input;
  std::string output;
  bool client_streaming;
  bool server_streaming;
};

void ExpectService(const std::string& full_name,
                   const std::vector<MethodShape>& methods) {
  const gpb::ServiceDescriptor* service =
      gpb::DescriptorPool::generated_pool()->FindServiceByName(full_name);
  ASSERT_NE(service, nullptr) << full_name;
  EXPECT_EQ(service->method_count(), static_cast<int>(methods.size()))
      << full_name;
  for (const MethodShape& m : methods) {
    const gpb::MethodDescriptor* md = service->FindMethodByName(m.name);
    ASSERT_NE(md, nullptr) << full_name << "." << m.name;
    EXPECT_EQ(md->input_type()->full_name(), "proxima.v1." + m.input)
        << m.name;
    EXPECT_EQ(md->output_type()->full_name(), "proxima.v1." + m.output)
        << m.name;
    EXPECT_EQ(md->client_streaming(), m.client_streaming) << m.name;
    EXPECT_EQ(md->server_streaming(), m.server_streaming) << m.name;
  }
}

TEST(SchemaTest, EveryProtoFileIsLinked) {
  const std::vector<const gpb::FileDescriptor*> linked = LinkedFiles();
  std::set<std::string> linked_names;
  for (const gpb::FileDescriptor* f : linked) linked_names.insert(f->name());
  const std::vector<std::string> built = ProtoFilesFromBuild();
  ASSERT_FALSE(built.empty());
  for (const std::string& name : built) {
    EXPECT_TRUE(linked_names.count(name))
        << name << " is built but has no anchor in LinkedFiles()";
    EXPECT_NE(gpb::DescriptorPool::generated_pool()->FindFileByName(name),
              nullptr)
        << name;
  }
  EXPECT_EQ(linked_names.size(), built.size());
}

TEST(SchemaTest, LearnerService) {
  LinkedFiles();
  EXPECT_STREQ(v1::Learner::service_full_name(), "proxima.v1.Learner");
  ExpectService(
      "proxima.v1.Learner",
      {{"Register", "RegisterRequest", "RegisterResponse", false, false},
       {"StreamTrajectories", "TrajectoryChunk", "ChunkAck", true, true},
       {"WatchWeights", "WatchWeightsRequest", "WeightSnapshot", false,
        true}});
}

TEST(SchemaTest, MonitorService) {
  LinkedFiles();
  EXPECT_STREQ(v1::Monitor::service_full_name(), "proxima.v1.Monitor");
  ExpectService(
      "proxima.v1.Monitor",
      {{"GetStatus", "GetStatusRequest", "LearnerStatus", false, false},
       {"WatchMetrics", "WatchMetricsRequest", "UpdateMetrics", false, true},
       {"ListActors", "ListActorsRequest", "ListActorsResponse", false,
        false}});
}

TEST(SchemaTest, AdminService) {
  LinkedFiles();
  EXPECT_STREQ(v1::Admin::service_full_name(), "proxima.v1.Admin");
  ExpectService(
      "proxima.v1.Admin",
      {{"SaveCheckpoint", "SaveCheckpointRequest", "SaveCheckpointResponse",
        false, false},
       {"Pause", "PauseRequest", "PauseResponse", false, false},
       {"Resume", "ResumeRequest", "ResumeResponse", false, false},
       {"SetHyperparameters", "SetHyperparametersRequest",
        "SetHyperparametersResponse", false, false},
       {"Shutdown", "ShutdownRequest", "ShutdownResponse", false, false}});
}

TEST(SchemaTest, EnvService) {
  LinkedFiles();
  EXPECT_STREQ(v1::Env::service_full_name(), "proxima.v1.Env");
  ExpectService("proxima.v1.Env",
                {{"Session", "EnvRequest", "EnvResponse", true, true}});
}

TEST(SchemaTest, ProtocolVersionIsOne) {
  EXPECT_EQ(v1::PROTOCOL_VERSION_1, 1);
}

TEST(SchemaTest, EveryMessageReservesThePrototypeBand) {
  int messages = 0;
  for (const gpb::FileDescriptor* file : LinkedFiles()) {
    ForEachMessage(file, [&](const gpb::Descriptor* d) {
      ++messages;
      EXPECT_GT(d->reserved_range_count(), 0)
          << d->full_name() << " declares no reserved range";
      bool band = false;
      for (int i = 0; i < d->reserved_range_count(); ++i) {
        const gpb::Descriptor::ReservedRange* r = d->reserved_range(i);
        band |= r->start <= kPrototypeBandStart && r->end >= kPrototypeBandEnd;
      }
      EXPECT_TRUE(band) << d->full_name()
                        << " must declare `reserved 900 to 999;`";
      for (int i = 0; i < d->field_count(); ++i) {
        EXPECT_LT(d->field(i)->number(), kPrototypeBandStart)
            << d->field(i)->full_name() << " uses a number above the v1 range";
      }
    });
  }
  EXPECT_GT(messages, 40);
}

TEST(SchemaTest, EveryEnumStartsWithUnspecified) {
  for (const gpb::FileDescriptor* file : LinkedFiles()) {
    for (int i = 0; i < file->enum_type_count(); ++i) {
      const gpb::EnumDescriptor* e = file->enum_type(i);
      const gpb::EnumValueDescriptor* zero = e->FindValueByNumber(0);
      ASSERT_NE(zero, nullptr) << e->full_name();
      const std::string suffix = "_UNSPECIFIED";
      ASSERT_GT(zero->name().size(), suffix.size());
      ASSERT_EQ(zero->name().substr(zero->name().size() - suffix.size()),
                suffix)
          << e->full_name();
      const std::string prefix =
          zero->name().substr(0, zero->name().size() - suffix.size() + 1);
      for (int j = 0; j < e->value_count(); ++j) {
        EXPECT_EQ(e->value(j)->name().rfind(prefix, 0), 0u)
            << e->value(j)->name() << " lacks the prefix " << prefix;
      }
    }
  }
}

bool HasComment(const gpb::SourceLocation& loc) {
  return !loc.leading_comments.empty() || !loc.trailing_comments.empty();
}

TEST(SchemaTest, EverythingIsDocumented) {
  const DescriptorSetPool& schema = SchemaWithComments();
  ASSERT_TRUE(schema.ok()) << "cannot load " << PROXIMA_PROTO_DESCRIPTOR_SET;
  ASSERT_EQ(schema.files().size(), ProtoFilesFromBuild().size());

  for (const gpb::FileDescriptor* file : schema.files()) {
    // The file comment sits right above `syntax` (path: [12]).
    gpb::SourceLocation loc;
    gpb::FileDescriptorProto proto;
    file->CopySourceCodeInfoTo(&proto);
    bool file_comment = false;
    for (const gpb::SourceCodeInfo::Location& l :
         proto.source_code_info().location()) {
      if (l.path_size() == 1 && l.path(0) == 12) {
        file_comment = !l.leading_comments().empty() ||
                       l.leading_detached_comments_size() > 0;
      }
    }
    EXPECT_TRUE(file_comment) << file->name() << " has no file comment";

    for (int i = 0; i < file->enum_type_count(); ++i) {
      const gpb::EnumDescriptor* e = file->enum_type(i);
      EXPECT_TRUE(e->GetSourceLocation(&loc) && HasComment(loc))
          << "enum " << e->full_name();
    }
    for (int i = 0; i < file->service_count(); ++i) {
      const gpb::ServiceDescriptor* s = file->service(i);
      EXPECT_TRUE(s->GetSourceLocation(&loc) && HasComment(loc))
          << "service " << s->full_name();
      for (int j = 0; j < s->method_count(); ++j) {
        EXPECT_TRUE(s->method(j)->GetSourceLocation(&loc) && HasComment(loc))
            << "rpc " << s->method(j)->full_name();
      }
    }
    ForEachMessage(file, [&](const gpb::Descriptor* d) {
      EXPECT_TRUE(d->GetSourceLocation(&loc) && HasComment(loc))
          << "message " << d->full_name();
      // A field is documented by its own comment, or as part of a block of
      // fields on consecutive lines that starts with a documented field
      // (e.g. `keepalive_time` / `keepalive_timeout` under one comment).
      bool previous_documented = false;
      int previous_end_line = -2;
      for (int i = 0; i < d->field_count(); ++i) {
        const gpb::FieldDescriptor* f = d->field(i);
        ASSERT_TRUE(f->GetSourceLocation(&loc)) << f->full_name();
        const bool documented =
            HasComment(loc) ||
            (previous_documented && loc.start_line == previous_end_line + 1);
        EXPECT_TRUE(documented) << "field " << f->full_name()
                                << " (line " << loc.start_line + 1 << ")";
        previous_documented = documented;
        previous_end_line = loc.end_line;
      }
    });
  }
}

}  // namespace
}  // namespace proxima
