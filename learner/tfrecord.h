// TFRecord framing: the container format of TensorBoard event files.
//
// A TFRecord file is a sequence of records, each
//
//   uint64  length            little-endian, bytes of `data`
//   uint32  masked_crc32c(length bytes)
//   byte    data[length]
//   uint32  masked_crc32c(data)
//
// (integers little-endian), where masked_crc32c(x) = MaskCrc32c(Crc32c(x)).
// The CRC itself comes from Boost.CRC (header-only, libboost-dev).
#ifndef PROXIMA_LEARNER_TFRECORD_H_
#define PROXIMA_LEARNER_TFRECORD_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace proxima {

// CRC-32C (Castagnoli): polynomial 0x1EDC6F41, reflected input and output,
// initial value and final XOR 0xFFFFFFFF. Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(absl::string_view data);

// TFRecord's CRC mask, ((crc >> 15) | (crc << 17)) + 0xa282ead8 modulo 2^32:
// a CRC of data that itself contains CRCs stays well distributed.
uint32_t MaskCrc32c(uint32_t crc);

// `data` framed as one TFRecord (16 + data.size() bytes).
std::string FrameTfRecord(absl::string_view data);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_TFRECORD_H_
