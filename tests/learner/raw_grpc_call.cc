#include "tests/learner/raw_grpc_call.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace proxima {
namespace testing {
namespace {

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

void* Tag(intptr_t i) { return reinterpret_cast<void*>(i); }

}  // namespace

RawCall::RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                 std::chrono::milliseconds timeout)
    : stub_(channel) {
  ctx_.set_deadline(std::chrono::system_clock::now() + timeout);
  call_ = stub_.PrepareCall(&ctx_, method, &cq_);
  call_->StartCall(Tag(1));
  started_ = Wait(Tag(1));
}

RawCall::~RawCall() {
  if (!finished_) {
    ctx_.TryCancel();
    (void)Finish();
  }
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

bool RawCall::Write(const std::string& bytes) {
  if (!started_) return false;
  grpc::ByteBuffer buffer = ToBuffer(bytes);
  call_->Write(buffer, Tag(2));
  return Wait(Tag(2));
}

bool RawCall::WritesDone() {
  if (!started_) return false;
  call_->WritesDone(Tag(3));
  return Wait(Tag(3));
}

bool RawCall::Read(std::string* bytes) {
  if (!started_) return false;
  grpc::ByteBuffer buffer;
  call_->Read(&buffer, Tag(4));
  if (!Wait(Tag(4))) return false;
  *bytes = FromBuffer(buffer);
  return true;
}

grpc::Status RawCall::Finish() {
  grpc::Status status;
  call_->Finish(&status, Tag(5));
  (void)Wait(Tag(5));
  finished_ = true;
  return status;
}

bool RawCall::Wait(void* want) {
  void* tag = nullptr;
  bool ok = false;
  if (!cq_.Next(&tag, &ok)) return false;
  EXPECT_EQ(tag, want);
  return ok;
}

CallResult Exchange(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                    const std::vector<std::string>& messages,
                    std::chrono::milliseconds timeout, int max_replies) {
  RawCall call(channel, method, timeout);
  CallResult r;
  bool writable = true;
  for (const std::string& m : messages) {
    if (!call.Write(m)) {
      writable = false;
      break;
    }
  }
  if (writable) (void)call.WritesDone();
  std::string reply;
  while (static_cast<int>(r.replies.size()) < max_replies && call.Read(&reply)) {
    r.replies.push_back(reply);
  }
  if (static_cast<int>(r.replies.size()) == max_replies) call.Cancel();
  r.status = call.Finish();
  return r;
}

}  // namespace testing
}  // namespace proxima
