// Calls of any method as raw bytes, for tests that send what no generated
// stub would: RawCall drives one call of any kind (unary, server stream,
// bidi) through grpc::GenericStub on a private completion queue, and
// Exchange() runs a whole call (send, half-close, read, finish). Every wait is
// bounded by the call's deadline, so a server that never answers fails the
// test instead of hanging it. Each RawCall is used by one thread.
#ifndef PROXIMA_TESTS_LEARNER_RAW_GRPC_CALL_H_
#define PROXIMA_TESTS_LEARNER_RAW_GRPC_CALL_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace proxima {
namespace testing {

class RawCall {
 public:
  // Starts a call of `method` ("/package.Service/Method") that ends at the
  // latest `timeout` from now.
  RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
          std::chrono::milliseconds timeout);
  // Cancels and finishes a call not finished yet.
  ~RawCall();

  RawCall(const RawCall&) = delete;
  RawCall& operator=(const RawCall&) = delete;

  // Each blocks until its operation completes; false when the call has
  // ended (or never started).
  bool Write(const std::string& bytes);
  bool WritesDone();
  bool Read(std::string* bytes);

  void Cancel() { ctx_.TryCancel(); }

  // Blocks until the call's status arrives.
  grpc::Status Finish();

 private:
  bool Wait(void* want);

  grpc::GenericStub stub_;
  grpc::ClientContext ctx_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool started_ = false;
  bool finished_ = false;
};

struct CallResult {
  grpc::Status status;
  std::vector<std::string> replies;
};

// Sends `messages` (then half-closes), reads up to `max_replies` and
// finishes; cancels a stream that is still sending after that.
CallResult Exchange(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                    const std::vector<std::string>& messages,
                    std::chrono::milliseconds timeout, int max_replies = 8);

}  // namespace testing
}  // namespace proxima

#endif  // PROXIMA_TESTS_LEARNER_RAW_GRPC_CALL_H_
