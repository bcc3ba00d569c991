// learner/archive_check: a LibTorch archive as torch::save writes it
// passes; truncated, bit-flipped and foreign bytes are DataLoss errors that
// name the problem (checkpoint.cc runs this before torch::load).
#include "learner/archive_check.h"

#include <torch/torch.h>

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace proxima {
namespace {

// A tensor whose bytes are easy to find in the archive (stored, not deflated).
torch::Tensor Marker() { return torch::full({256}, 1234.5f); }

std::string SavedArchive() {
  torch::serialize::OutputArchive archive;
  archive.write("marker", Marker());
  archive.write("weights", torch::arange(0, 1000, torch::kFloat32));
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

size_t MarkerOffset(const std::string& bytes) {
  const float value = 1234.5f;
  std::string pattern;
  for (int i = 0; i < 8; ++i) pattern.append(reinterpret_cast<const char*>(&value), sizeof(value));
  return bytes.find(pattern);
}

TEST(ArchiveCheckTest, AcceptsWhatTorchSaveWritesAndTorchLoadReads) {
  const std::string bytes = SavedArchive();
  ASSERT_TRUE(CheckArchiveIntegrity(bytes).ok()) << CheckArchiveIntegrity(bytes);
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes);
  in.load_from(stream);
  torch::Tensor marker;
  in.read("marker", marker);
  EXPECT_TRUE(torch::equal(marker, Marker()));
}

TEST(ArchiveCheckTest, AFlippedBitInTensorDataFailsItsCrc) {
  const std::string bytes = SavedArchive();
  const size_t at = MarkerOffset(bytes);
  ASSERT_NE(at, std::string::npos) << "marker tensor not found stored in the archive";
  for (size_t delta : {size_t{0}, size_t{17}, size_t{4 * 255}}) {
    for (int bit : {0, 7}) {
      std::string damaged = bytes;
      damaged[at + delta] = static_cast<char>(damaged[at + delta] ^ (1 << bit));
      const absl::Status s = CheckArchiveIntegrity(damaged);
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "byte " << at + delta << " bit " << bit;
      EXPECT_NE(s.message().find("fails its CRC-32"), absl::string_view::npos) << s;
    }
  }
}

TEST(ArchiveCheckTest, TruncatedArchivesAreRejected) {
  const std::string bytes = SavedArchive();
  for (size_t keep : {size_t{0}, size_t{21}, size_t{100}, bytes.size() / 2, bytes.size() - 100,
                      bytes.size() - 1}) {
    const absl::Status s = CheckArchiveIntegrity(bytes.substr(0, keep));
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "first " << keep << " bytes: " << s;
    EXPECT_NE(s.message().find("corrupted archive"), absl::string_view::npos) << s;
  }
}

TEST(ArchiveCheckTest, ForeignBytesAndBrokenDirectoriesNameTheProblem) {
  EXPECT_NE(CheckArchiveIntegrity("").message().find("too short"), absl::string_view::npos);
  EXPECT_NE(CheckArchiveIntegrity(std::string(4096, 'x')).message().find("no end-of-central"),
            absl::string_view::npos);

  // The central directory offset of the end record pointed past the file.
  std::string bytes = SavedArchive();
  const size_t eocd = bytes.rfind(std::string("PK\x05\x06", 4));
  ASSERT_NE(eocd, std::string::npos);
  std::string moved = bytes;
  moved[eocd + 19] = static_cast<char>(0x7f);
  EXPECT_NE(CheckArchiveIntegrity(moved).message().find("central directory outside the file"),
            absl::string_view::npos)
      << CheckArchiveIntegrity(moved);

  // A central directory entry whose signature is damaged.
  std::string entry = bytes;
  const size_t central = entry.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(central, std::string::npos);
  entry[central + 1] = 'X';
  EXPECT_NE(CheckArchiveIntegrity(entry).message().find("central directory entry 0 is damaged"),
            absl::string_view::npos)
      << CheckArchiveIntegrity(entry);

  // An unknown compression method.
  std::string method = bytes;
  method[central + 10] = 99;
  EXPECT_NE(CheckArchiveIntegrity(method).message().find("compression method 99"),
            absl::string_view::npos)
      << CheckArchiveIntegrity(method);
}

}  // namespace
}  // namespace proxima
