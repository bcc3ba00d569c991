#include "learner/archive_check.h"

#include <cstdint>
#include <cstring>

#include <zlib.h>

#include <sstream>

#include <torch/serialize/output-archive.h>

#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr size_t kEndOfCentralDirSize = 22;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kMaxComment = 0xffff;

uint32_t U16(absl::string_view b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8;
}
uint32_t U32(absl::string_view b, size_t at) { return U16(b, at) | U16(b, at + 2) << 16; }

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupted archive: ", what));
}

uint32_t Crc32(const char* data, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt len = static_cast<uInt>(n < (1u << 30) ? n : (1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), len);
    data += len;
    n -= len;
  }
  return static_cast<uint32_t>(crc);
}

// Inflates a raw deflate stream through a small buffer: true if it ends
// exactly after `size` bytes whose CRC-32 is `crc`.
bool DeflatedMatches(absl::string_view in, uint32_t size, uint32_t crc) {
  z_stream z;
  std::memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return false;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  unsigned char out[16384];
  uLong got_crc = crc32(0L, Z_NULL, 0);
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = out;
    z.avail_out = sizeof(out);
    rc = inflate(&z, Z_NO_FLUSH);
    const uInt produced = static_cast<uInt>(sizeof(out) - z.avail_out);
    got_crc = crc32(got_crc, out, produced);
    if (z.total_out > size) rc = Z_DATA_ERROR;
    if (rc == Z_BUF_ERROR && produced == 0) break;  // input ended early
  }
  const bool ok = rc == Z_STREAM_END && z.total_out == size && got_crc == crc;
  inflateEnd(&z);
  return ok;
}

}  // namespace

absl::Status CheckArchiveIntegrity(absl::string_view b) {
  if (b.size() < kEndOfCentralDirSize) return Corrupt("too short for a zip file");
  // The end-of-central-directory record, possibly followed by a comment.
  size_t eocd = b.size() - kEndOfCentralDirSize;
  const size_t lowest = eocd > kMaxComment ? eocd - kMaxComment : 0;
  while (U32(b, eocd) != kEndOfCentralDir) {
    if (eocd == lowest) return Corrupt("no end-of-central-directory record");
    --eocd;
  }
  const uint32_t entries = U16(b, eocd + 10);
  const uint32_t cd_size = U32(b, eocd + 12);
  const uint32_t cd_offset = U32(b, eocd + 16);
  if (entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    return absl::OkStatus();  // zip64: not checked (see the header)
  }
  if (entries == 0) return Corrupt("no records");
  if (static_cast<uint64_t>(cd_offset) + cd_size > eocd) {
    return Corrupt("central directory outside the file");
  }
  size_t at = cd_offset;
  const size_t cd_end = static_cast<size_t>(cd_offset) + cd_size;
  for (uint32_t i = 0; i < entries; ++i) {
    if (at + kCentralHeaderSize > cd_end || U32(b, at) != kCentralHeader) {
      return Corrupt(absl::StrCat("central directory entry ", i, " is damaged"));
    }
    const uint32_t method = U16(b, at + 10);
    const uint32_t crc = U32(b, at + 16);
    const uint32_t compressed = U32(b, at + 20);
    const uint32_t size = U32(b, at + 24);
    const size_t name_len = U16(b, at + 28);
    const size_t extra_len = U16(b, at + 30);
    const size_t comment_len = U16(b, at + 32);
    const uint32_t local = U32(b, at + 42);
    const size_t next = at + kCentralHeaderSize + name_len + extra_len + comment_len;
    if (next > cd_end) return Corrupt(absl::StrCat("central directory entry ", i, " overruns"));
    const absl::string_view name = b.substr(at + kCentralHeaderSize, name_len);
    if (compressed == 0xffffffff || size == 0xffffffff || local == 0xffffffff) {
      return absl::OkStatus();  // zip64 record
    }
    if (method != 0 && method != 8) {
      return Corrupt(absl::StrCat("record '", name, "' uses compression method ", method));
    }
    if (method == 0 && compressed != size) {
      return Corrupt(absl::StrCat("record '", name, "' has inconsistent sizes"));
    }
    if (static_cast<uint64_t>(local) + kLocalHeaderSize > cd_offset ||
        U32(b, local) != kLocalHeader) {
      return Corrupt(absl::StrCat("record '", name, "' has no local header"));
    }
    const uint64_t data = static_cast<uint64_t>(local) + kLocalHeaderSize + U16(b, local + 26) +
                          U16(b, local + 28);
    if (data + compressed > cd_offset) {
      return Corrupt(absl::StrCat("record '", name, "' extends past the data area"));
    }
    const absl::string_view stored = b.substr(data, compressed);
    const bool intact = method == 0 ? Crc32(stored.data(), stored.size()) == crc
                                    : DeflatedMatches(stored, size, crc);
    if (!intact) return Corrupt(absl::StrCat("record '", name, "' fails its CRC-32"));
    at = next;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SerializeArchive(
    const std::function<void(torch::serialize::OutputArchive&)>& fill) {
  try {
    torch::serialize::OutputArchive archive;
    fill(archive);
    std::ostringstream os;
    archive.save_to(os);
    return os.str();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("cannot serialize the checkpoint: ", e.what_without_backtrace()));
  }
}

}  // namespace proxima
