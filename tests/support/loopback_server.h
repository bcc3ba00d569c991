// LoopbackServer: a test's gRPC server on 127.0.0.1 at a port the kernel
// picks (tests never use fixed ports), serving the services it is given
// (not owned; they must outlive it). started() says whether it is up;
// Shutdown() stops it at once, cancelling calls in flight, and may be called
// again; the destructor calls it. Header-only: a test target that includes it
// links gRPC::grpc++.
#ifndef PROXIMA_TESTS_SUPPORT_LOOPBACK_SERVER_H_
#define PROXIMA_TESTS_SUPPORT_LOOPBACK_SERVER_H_

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace proxima::testing {

class LoopbackServer {
 public:
  explicit LoopbackServer(std::initializer_list<grpc::Service*> services) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    for (grpc::Service* s : services) builder.RegisterService(s);
    server_ = builder.BuildAndStart();
  }
  ~LoopbackServer() { Shutdown(); }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  bool started() const { return server_ != nullptr && port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  grpc::Server* server() const { return server_.get(); }  // nullptr once shut down

  void Shutdown() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_LOOPBACK_SERVER_H_
