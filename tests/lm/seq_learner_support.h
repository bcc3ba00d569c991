// Helpers of the sequence learner's tests (seq_learner_test.cc,
// seq_sync_test.cc): a small run, a loopback learner, registration as a
// revision-2 actor, the first snapshot of a session, and one trajectory
// stream that sends a chunk and reads its ack.
#ifndef PROXIMA_TESTS_LM_SEQ_LEARNER_SUPPORT_H_
#define PROXIMA_TESTS_LM_SEQ_LEARNER_SUPPORT_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

#include "common/grpc/grpc_util.h"
#include "learner/server/learner_options.h"
#include "learner/server/seq_learner_server.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima::seq_test {

// A small model so the test is quick: 1 layer of width 32.
inline SeqLearnerConfig SmallRun() {
  SeqLearnerConfig c;
  c.run.task_id = "lm/Addition-v0";
  c.run.model.max_seq_len = 16;
  c.run.model.d_model = 32;
  c.run.model.num_layers = 1;
  c.run.model.num_heads = 2;
  c.run.model.d_ff = 64;
  c.run.group_size = 2;
  c.run.prompts_per_chunk = 2;
  c.run.max_new_tokens = 5;
  c.seed = 7;
  return c;
}

inline LearnerOptions LoopbackOptions() {
  LearnerOptions o;
  o.listen = "127.0.0.1:0";
  return o;
}

inline grpc::Status RegisterSeqActor(v1::Learner::Stub* stub, uint32_t protocol,
                                     v1::RegisterResponse* resp,
                                     const std::string& name = "seq-actor") {
  grpc::ClientContext ctx;
  v1::RegisterRequest req;
  req.set_actor_name(name);
  req.set_protocol_version(protocol);
  return stub->Register(&ctx, req, resp);
}

// The first snapshot of the registered session.
inline v1::WeightSnapshot FirstSnapshotOf(v1::Learner::Stub* stub, const v1::RegisterResponse& reg) {
  grpc::ClientContext ctx;
  v1::WatchWeightsRequest req;
  req.set_actor_id(reg.actor_id());
  req.set_session_id(reg.session_id());
  std::unique_ptr<grpc::ClientReader<v1::WeightSnapshot>> r = stub->WatchWeights(&ctx, req);
  v1::WeightSnapshot snap;
  EXPECT_TRUE(r->Read(&snap));
  ctx.TryCancel();
  r->Finish();
  return snap;
}

// A started learner on loopback, a stub to it and, with RegisteredSeqLearner,
// the registration of one revision-2 actor ("seq-actor").
struct LoopbackSeqLearner {
  std::unique_ptr<SeqLearnerServer> server;
  std::unique_ptr<v1::Learner::Stub> stub;
  v1::RegisterResponse reg;
};
inline absl::StatusOr<LoopbackSeqLearner> StartLoopbackSeqLearner(
    const SeqLearnerConfig& config, const LearnerOptions& options = LoopbackOptions()) {
  absl::StatusOr<std::unique_ptr<SeqLearnerServer>> server =
      SeqLearnerServer::Create(config, options);
  if (!server.ok()) return server.status();
  if (absl::Status s = (*server)->Start(); !s.ok()) return s;
  auto stub = v1::Learner::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  return LoopbackSeqLearner{*std::move(server), std::move(stub), {}};
}
inline absl::StatusOr<LoopbackSeqLearner> RegisteredSeqLearner(const SeqLearnerConfig& config) {
  absl::StatusOr<LoopbackSeqLearner> l = StartLoopbackSeqLearner(config);
  if (!l.ok()) return l;
  if (absl::Status s = ToAbslStatus(RegisterSeqActor(l->stub.get(), v1::PROTOCOL_VERSION_2, &l->reg));
      !s.ok()) {
    return s;
  }
  return l;
}

// One trajectory stream: send a chunk, read its ack.
class Stream {
 public:
  Stream(v1::Learner::Stub* stub, const v1::RegisterResponse& reg) : reg_(reg) {
    rw_ = stub->StreamTrajectories(&ctx_);
  }
  v1::ChunkAck Send(v1::TrajectoryChunk chunk) {
    chunk.set_actor_id(reg_.actor_id());
    chunk.set_session_id(reg_.session_id());
    chunk.set_seq(seq_++);
    v1::ChunkAck ack;
    EXPECT_TRUE(rw_->Write(chunk));
    EXPECT_TRUE(rw_->Read(&ack));
    return ack;
  }
  ~Stream() {
    rw_->WritesDone();
    rw_->Finish();
  }

 private:
  v1::RegisterResponse reg_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::TrajectoryChunk, v1::ChunkAck>> rw_;
  uint64_t seq_ = 0;
};

}  // namespace proxima::seq_test

#endif  // PROXIMA_TESTS_LM_SEQ_LEARNER_SUPPORT_H_
