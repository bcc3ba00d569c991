// TensorBoard event files: the CRC-32C and TFRecord framing, the writer's
// events, and a real in-process training run, all checked by an independent
// reader (event_file_reader.h) that verifies every CRC.
#include "learner/tensorboard_writer.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "learner/in_process_trainer.h"
#include "learner/run_files.h"
#include "learner/tfrecord.h"
#include "tests/learner/event_file_reader.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::FindEventFiles;
using ::proxima::testing::ParseEventRecords;
using ::proxima::testing::ReadEventFile;
using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// The tags every update carries (the two episode means only once an episode
// has finished).
const std::set<std::string>& ExpectedTags() {
  static const std::set<std::string> tags = {
      "charts/episodic_return", "charts/episodic_length", "charts/episodes",
      "charts/learning_rate", "charts/policy_version", "charts/updates",
      "losses/policy_loss", "losses/value_loss", "losses/entropy", "losses/approx_kl",
      "losses/clip_fraction", "losses/explained_variance", "losses/grad_norm",
      "losses/kl_beta", "losses/ratio_max_deviation", "perf/env_steps_per_second",
      "perf/update_seconds", "perf/wall_seconds", "perf/minibatches",
      "perf/skipped_minibatches", "perf/epochs_run", "perf/batch_transitions",
      "lag/mean_lag", "lag/max_lag", "lag/dropped_steps", "lag/dropped_fraction",
      "time/learner_ingest_share", "time/learner_wait_batch_share",
      "time/learner_update_share", "time/learner_publish_share", "time/actor_env_share",
      "time/actor_inference_share", "time/actor_send_wait_share",
      "time/actor_weights_wait_share"};
  return tags;
}

std::map<std::string, float> ScalarsOf(const tensorboard::Event& e) {
  std::map<std::string, float> m;
  for (const auto& v : e.summary().value()) m[v.tag()] = v.simple_value();
  return m;
}

TEST(Crc32cTest, MatchesPublishedCheckValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the CRC catalogue's check value
  EXPECT_EQ(Crc32c(""), 0u);
  // RFC 3720 (iSCSI) appendix B.4 test vectors.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

TEST(TfRecordTest, FrameHasLengthCrcsAndData) {
  const std::string record = FrameTfRecord("hello");
  ASSERT_EQ(record.size(), 8u + 4 + 5 + 4);
  EXPECT_EQ(record.substr(0, 8), std::string("\x05\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(record.substr(12, 5), "hello");
  const uint32_t c = Crc32c("hello");
  const uint32_t masked = ((c >> 15) | (c << 17)) + 0xa282ead8u;
  EXPECT_EQ(MaskCrc32c(c), masked);
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= static_cast<uint32_t>(static_cast<uint8_t>(record[17 + i])) << (8 * i);
  EXPECT_EQ(stored, masked);
}

class TensorBoardWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("tensorboard"); }
  std::string dir_;
};

TEST_F(TensorBoardWriterTest, FileNameAndFirstEventIsFileVersion) {
  auto writer = TensorBoardWriter::Open(dir_);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::string name = std::filesystem::path((*writer)->path()).filename().string();
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_THAT(name, ::testing::MatchesRegex("events\\.out\\.tfevents\\.[0-9]+\\..+\\.[0-9]+\\.[0-9]+"));
  EXPECT_THAT(name, HasSubstr(absl::StrCat(".", host, ".", ::getpid(), ".")));
  EXPECT_EQ(FindEventFiles(dir_), std::vector<std::string>{(*writer)->path()});
  auto events = ReadEventFile((*writer)->path());
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].file_version(), "brain.Event:2");
  EXPECT_GT((*events)[0].wall_time(), 1.6e9);
}

TEST_F(TensorBoardWriterTest, TwoWritersInOneSecondGetTwoFiles) {
  auto a = TensorBoardWriter::Open(dir_);
  auto b = TensorBoardWriter::Open(dir_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->path(), (*b)->path());
  EXPECT_EQ(FindEventFiles(dir_).size(), 2u);
}

TEST_F(TensorBoardWriterTest, RowBecomesOneFlushedSummaryWithoutNaN) {
  auto writer = TensorBoardWriter::Open(dir_);
  ASSERT_TRUE(writer.ok()) << writer.status();
  MetricsRow row;
  row.update = 3;
  row.policy_version = 3;
  row.env_steps = 1536;
  row.mean_return = std::nan("");  // no episode finished yet
  row.mean_length = std::nan("");
  row.update_metrics.value_loss = 12.5;
  row.update_metrics.learning_rate = 2.5e-4;
  const TensorBoardScalar extra[] = {{"perf/max_lag", 2}};
  ASSERT_TRUE((*writer)->Write(row, extra).ok());
  row.env_steps = 2048;
  row.mean_return = 21.5;
  row.mean_length = 21.5;
  ASSERT_TRUE((*writer)->Write(row).ok());
  // Read while the writer is still open: every Write is flushed.
  auto events = ReadEventFile((*writer)->path());
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  const tensorboard::Event& first = (*events)[1];
  EXPECT_EQ(first.step(), 1536);
  ASSERT_TRUE(first.has_summary());
  std::map<std::string, float> s = ScalarsOf(first);
  EXPECT_EQ(s.count("charts/episodic_return"), 0u);
  EXPECT_EQ(s.count("charts/episodic_length"), 0u);
  EXPECT_FLOAT_EQ(s.at("losses/value_loss"), 12.5f);
  EXPECT_FLOAT_EQ(s.at("charts/learning_rate"), 2.5e-4f);
  EXPECT_FLOAT_EQ(s.at("charts/policy_version"), 3.0f);
  EXPECT_FLOAT_EQ(s.at("perf/max_lag"), 2.0f);
  EXPECT_EQ(s.size(), ExpectedTags().size() - 2 + 1);
  s = ScalarsOf((*events)[2]);
  EXPECT_EQ((*events)[2].step(), 2048);
  EXPECT_FLOAT_EQ(s.at("charts/episodic_return"), 21.5f);
  std::set<std::string> tags;
  for (const auto& [tag, value] : s) tags.insert(tag);
  EXPECT_EQ(tags, ExpectedTags());
}

TEST_F(TensorBoardWriterTest, ReaderDetectsCorruption) {
  std::string path;
  {
    auto writer = TensorBoardWriter::Open(dir_);
    ASSERT_TRUE(writer.ok()) << writer.status();
    MetricsRow row;
    row.env_steps = 512;
    row.mean_return = 9;
    ASSERT_TRUE((*writer)->Write(row).ok());
    path = (*writer)->path();
  }
  const std::string good = ReadFile(path).value_or("");
  ASSERT_TRUE(ParseEventRecords(good).ok());
  // The second record starts after the first (16 bytes of framing + data).
  const uint64_t first_length = static_cast<uint8_t>(good[0]) | (static_cast<uint8_t>(good[1]) << 8);
  const size_t second = 16 + first_length;
  ASSERT_LT(second + 30, good.size());

  std::string bad = good;
  bad[second + 12 + 5] ^= 0x01;  // a byte of the second event's data
  WriteBytes(path, bad);
  EXPECT_THAT(ReadEventFile(path),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("record 1 at offset")));
  EXPECT_THAT(ParseEventRecords(bad),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("data CRC mismatch")));

  bad = good;
  bad[second] ^= 0x40;  // the second record's length
  EXPECT_THAT(ParseEventRecords(bad),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("length CRC mismatch")));

  bad = good;
  bad[good.size() - 1] ^= 0x80;  // the last data CRC itself
  EXPECT_THAT(ParseEventRecords(bad),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("data CRC mismatch")));

  EXPECT_THAT(ParseEventRecords(good.substr(0, good.size() - 3)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
}

TEST_F(TensorBoardWriterTest, OpenFailsForMissingDirectory) {
  EXPECT_THAT(TensorBoardWriter::Open(dir_ + "/no/such/dir"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("cannot create TensorBoard event file")));
}

// A real run: one summary per update, at the env steps metrics.csv reports,
// written before the update's callback runs (so a TensorBoard tailing the
// file sees it live).
TEST(TensorBoardRunTest, InProcessTrainingWritesOneSummaryPerUpdate) {
  const std::string dir = MakeTempDir("tbrun");
  auto config = PresetFor("CartPole-v1");
  ASSERT_TRUE(config.ok()) << config.status();
  config->seed = 7;
  config->total_steps = 4096;
  config->device = "cpu";
  TrainerOptions options;
  options.run_dir = dir;
  std::vector<int64_t> update_steps;
  std::string event_path;
  options.on_update = [&](const MetricsRow& row) {
    update_steps.push_back(row.env_steps);
    const std::vector<std::string> files = FindEventFiles(dir);
    ASSERT_EQ(files.size(), 1u);
    event_path = files[0];
    auto events = ReadEventFile(event_path);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), update_steps.size() + 1);
    EXPECT_EQ(events->back().step(), row.env_steps);
    EXPECT_FLOAT_EQ(ScalarsOf(events->back()).at("losses/value_loss"),
                    static_cast<float>(row.update_metrics.value_loss));
  };
  auto trainer = InProcessTrainer::Create(*config, options);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  auto summary = (*trainer)->Run();
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_GE(update_steps.size(), 4u);
  ASSERT_GT(summary->episodes, 0);

  auto events = ReadEventFile(event_path);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), update_steps.size() + 1);
  EXPECT_EQ((*events)[0].file_version(), "brain.Event:2");
  std::set<std::string> tags;
  int64_t last_step = 0;
  double last_wall = 0;
  for (size_t i = 1; i < events->size(); ++i) {
    const tensorboard::Event& e = (*events)[i];
    ASSERT_TRUE(e.has_summary()) << "event " << i;
    EXPECT_GT(e.step(), last_step) << "event " << i;
    EXPECT_EQ(e.step(), update_steps[i - 1]);
    EXPECT_GE(e.wall_time(), last_wall);
    last_step = e.step();
    last_wall = e.wall_time();
    for (const auto& v : e.summary().value()) {
      EXPECT_TRUE(std::isfinite(v.simple_value())) << v.tag();
      tags.insert(v.tag());
    }
  }
  EXPECT_EQ(last_step, summary->total_env_steps);
  EXPECT_EQ(tags, ExpectedTags());
}

}  // namespace
}  // namespace proxima
