#include "tests/learner/event_file_reader.h"

#include <algorithm>
#include <boost/crc.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace proxima::testing {
namespace {

uint32_t MaskedCrc(absl::string_view data) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data.data(), data.size());
  const uint32_t c = crc.checksum();
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

uint64_t LittleEndian(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  return v;
}

}  // namespace

absl::StatusOr<std::vector<tensorboard::Event>> ParseEventRecords(absl::string_view bytes) {
  std::vector<tensorboard::Event> events;
  size_t pos = 0;
  for (int index = 0; pos < bytes.size(); ++index) {
    const std::string where = absl::StrCat("record ", index, " at offset ", pos, ": ");
    if (bytes.size() - pos < 12) return absl::DataLossError(where + "truncated header");
    const absl::string_view length_bytes = bytes.substr(pos, 8);
    const uint64_t length = LittleEndian(length_bytes);
    if (LittleEndian(bytes.substr(pos + 8, 4)) != MaskedCrc(length_bytes)) {
      return absl::DataLossError(where + "length CRC mismatch");
    }
    pos += 12;
    if (bytes.size() - pos < 4 || length > bytes.size() - pos - 4) {
      return absl::DataLossError(where + "truncated data");
    }
    const absl::string_view data = bytes.substr(pos, length);
    if (LittleEndian(bytes.substr(pos + length, 4)) != MaskedCrc(data)) {
      return absl::DataLossError(where + "data CRC mismatch");
    }
    pos += length + 4;
    tensorboard::Event event;
    if (!event.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      return absl::DataLossError(where + "not an Event");
    }
    events.push_back(std::move(event));
  }
  return events;
}

absl::StatusOr<std::vector<tensorboard::Event>> ReadEventFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return ParseEventRecords(contents.str());
}

std::vector<std::string> FindEventFiles(const std::string& run_dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir, ec)) {
    if (absl::StartsWith(entry.path().filename().string(), "events.out.tfevents.")) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace proxima::testing
