// libFuzzer target: weight snapshot bytes as an actor receives them.
//
// The bytes are parsed as a proxima.v1.WeightSnapshot and handed to
// DecodeSnapshot, the actor's path from a received snapshot to a policy it
// acts with (checksum, then every tensor's name, dtype and shape against a
// fresh network, then the copy). A fuzzer rarely forges a valid FNV-1a
// checksum, so each input is tried twice: as received, and with its checksum
// recomputed (CanonicalChecksum over whatever the message holds), which lets
// malformed tensors reach the name/dtype/shape checks and the copy.
#include <cstddef>
#include <cstdint>

#include "common/policy/policy_snapshot.h"
#include "common/policy/weight_codec.h"
#include "google/protobuf/stubs/logging.h"
#include "proxima/v1/weights.pb.h"
#include "tests/fuzz/fuzz_specs.h"

// Protobuf logs every string field with invalid UTF-8; at fuzzing rates that
// is most of the run's time and output.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxima::v1::WeightSnapshot snapshot;
  if (!snapshot.ParseFromArray(data, static_cast<int>(size))) return 0;
  static const proxima::PolicyShape* const shape =
      new proxima::PolicyShape(proxima::fuzz::SnapshotShape());
  (void)proxima::DecodeSnapshot(snapshot, *shape);
  if (snapshot.checksum_algorithm() == proxima::v1::CHECKSUM_ALGORITHM_FNV1A64_CANONICAL) {
    snapshot.set_checksum(proxima::CanonicalChecksum(snapshot));
    (void)proxima::DecodeSnapshot(snapshot, *shape);
  }
  return 0;
}
