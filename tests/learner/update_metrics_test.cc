// The per-update metrics table (learner/update_metrics.h) against what it
// generates: metrics.csv's header and rows are exactly the format written out
// here by hand (issue 17 added max_lag, dropped_steps and dropped_fraction
// after mean_lag: the columns after them moved, readers look columns up by
// name; issue 18 appended the time shares), every v1::UpdateMetrics field has exactly one row (and every row's
// field exists), and the TensorBoard tags and Prometheus gauges are the ones
// dashboards know. Also summary.json's keys (learner/run_files.h).
#include "learner/update_metrics.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "learner/run_files.h"
#include "learner/tensorboard_writer.h"
#include "proxima/v1/metrics.pb.h"

namespace proxima {
namespace {

MetricsRow SampleRow() {
  MetricsRow r;
  r.update = 7;
  r.policy_version = 9;
  r.env_steps = 3584;
  r.wall_seconds = 12.345678;
  r.env_steps_per_second = 290.34;
  r.episodes = 41;
  r.mean_return = 87.123456789;
  r.mean_length = 87.5;
  r.mean_lag = 0.123456;
  r.max_lag = 2;
  r.dropped_steps = 128;
  r.dropped_fraction = 0.2;
  r.batch_chunks = 3;
  r.time_shares = TimeShareRow{0.01, 0.05, 0.91, 0.02, 0.2, 0.06, 0.03, 0.64};
  UpdateMetrics& u = r.update_metrics;
  u.policy_loss = -0.0123456789;
  u.value_loss = 12.5;
  u.entropy = 0.6931;
  u.approx_kl = 1.5e-4;
  u.clip_fraction = 0.0625;
  u.explained_variance = std::numeric_limits<double>::quiet_NaN();
  u.grad_norm = 0.42;
  u.learning_rate = 2.5e-4;
  u.kl_beta = 1;
  u.minibatches = 16;
  u.skipped_minibatches = 1;
  u.epochs_run = 4;
  u.samples = 512;
  u.first_minibatch_ratio_max_deviation = 3e-7;
  u.update_seconds = 0.0421234567;
  r.eval = EvalRow{187.333333, 12.5, 187.333333, 0.0123456};
  return r;
}

TEST(UpdateMetricsTest, CsvHeader) {
  EXPECT_EQ(MetricsCsvHeader(),
            "update,policy_version,env_steps,wall_seconds,env_steps_per_second,episodes,"
            "mean_return,mean_length,mean_lag,max_lag,dropped_steps,dropped_fraction,"
            "policy_loss,value_loss,entropy,approx_kl,"
            "clip_fraction,explained_variance,grad_norm,learning_rate,kl_beta,minibatches,"
            "skipped_minibatches,epochs_run,update_seconds,learner_ingest_share,"
            "learner_wait_batch_share,learner_update_share,learner_publish_share,actor_env_share,"
            "actor_inference_share,actor_send_wait_share,actor_weights_wait_share,"
            "eval_return,eval_return_std,eval_length,eval_seconds");
}

// metrics.csv's row format, written out by hand. A default row (what an
// in-process run leaves of the lag and drop columns) has 0 there.
TEST(UpdateMetricsTest, CsvLine) {
  for (MetricsRow r : {SampleRow(), MetricsRow()}) {
    const UpdateMetrics& u = r.update_metrics;
    // In-process rows (no time shares) write 0 there.
    const TimeShareRow t = r.time_shares.value_or(TimeShareRow{});
    // Rows without an evaluation write "nan" there.
    constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
    const EvalRow e = r.eval.value_or(EvalRow{kNan, kNan, kNan, kNan});
    const std::string expected = absl::StrFormat(
        "%d,%d,%d,%.4f,%.1f,%d,%.6g,%.6g,%.4g,%d,%d,%.4g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
        "%.6g,%d,%d,%d,%.6f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.6g,%.6g,%.6g,%.4f",
        r.update, r.policy_version, r.env_steps, r.wall_seconds, r.env_steps_per_second,
        r.episodes, r.mean_return, r.mean_length, r.mean_lag, r.max_lag, r.dropped_steps,
        r.dropped_fraction, u.policy_loss, u.value_loss,
        u.entropy, u.approx_kl, u.clip_fraction, u.explained_variance, u.grad_norm,
        u.learning_rate, u.kl_beta, u.minibatches, u.skipped_minibatches, u.epochs_run,
        u.update_seconds, t.ingest, t.wait_batch, t.update, t.publish, t.env, t.inference,
        t.send_wait, t.weights_wait, e.mean_return, e.std_return, e.mean_length, e.seconds);
    EXPECT_EQ(MetricsCsvLine(r), expected);
  }
}

TEST(UpdateMetricsTest, EveryProtoFieldHasOneRowAndEveryRowAField) {
  const google::protobuf::Descriptor* d = v1::UpdateMetrics::descriptor();
  std::multiset<std::string> in_table;
  for (const MetricField& f : MetricFields()) {
    if (f.proto_field == nullptr) continue;
    in_table.insert(f.proto_field);
    EXPECT_NE(d->FindFieldByName(f.proto_field), nullptr) << f.name << ": " << f.proto_field;
  }
  std::multiset<std::string> in_proto;
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->name() == "time") continue;  // stamped by the server, not a metric
    in_proto.insert(d->field(i)->name());
  }
  EXPECT_EQ(in_table, in_proto);
}

TEST(UpdateMetricsTest, NamesAndTagsAreUnique) {
  std::set<std::string> names, tags, columns, gauges;
  for (const MetricField& f : MetricFields()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    if (f.tensorboard_tag) {
      EXPECT_TRUE(tags.insert(f.tensorboard_tag).second) << f.name;
    }
    if (f.csv_column) {
      EXPECT_TRUE(columns.insert(f.csv_column).second) << f.name;
    }
    if (f.prometheus_gauge) {
      EXPECT_TRUE(gauges.insert(f.prometheus_gauge).second) << f.name;
      EXPECT_NE(f.prometheus_help, nullptr) << f.name;
      EXPECT_NE(f.proto_field, nullptr) << f.name << ": gauges are read from the proto";
    }
  }
  EXPECT_EQ(gauges, (std::set<std::string>{
                        "proxima_last_update_policy_loss", "proxima_last_update_value_loss",
                        "proxima_last_update_entropy", "proxima_last_update_approx_kl",
                        "proxima_last_update_clip_fraction", "proxima_last_update_mean_lag",
                        "proxima_last_update_learning_rate", "proxima_last_update_max_lag",
                        "proxima_last_update_dropped_steps"}));
}

// Lag and drops chart under lag/ (DESIGN's metric groups: charts/, losses/,
// perf/, lag/); mean_lag moved there from perf/mean_lag.
TEST(UpdateMetricsTest, LagAndDropTagsAreUnderLag) {
  std::map<std::string, std::string> tag_of;
  for (const MetricField& f : MetricFields()) {
    if (f.tensorboard_tag != nullptr) tag_of[f.name] = f.tensorboard_tag;
  }
  EXPECT_EQ(tag_of["mean_lag"], "lag/mean_lag");
  EXPECT_EQ(tag_of["max_lag"], "lag/max_lag");
  EXPECT_EQ(tag_of["dropped_steps"], "lag/dropped_steps");
  EXPECT_EQ(tag_of["dropped_fraction"], "lag/dropped_fraction");
  const std::map<std::string, double> scalars = [] {
    std::map<std::string, double> m;
    for (const TensorBoardScalar& s : MetricsRowScalars(SampleRow())) m[s.tag] = s.value;
    return m;
  }();
  EXPECT_EQ(scalars.at("lag/max_lag"), 2);
  EXPECT_EQ(scalars.at("lag/dropped_steps"), 128);
  EXPECT_EQ(scalars.at("lag/dropped_fraction"), 0.2);
}

// What the learner server used to fill field by field.
TEST(UpdateMetricsTest, ProtoHoldsTheRow) {
  const MetricsRow r = SampleRow();
  const UpdateMetrics& u = r.update_metrics;
  v1::UpdateMetrics m;
  MetricsRowToProto(r, &m);
  EXPECT_EQ(m.update(), 7u);
  EXPECT_EQ(m.policy_version(), 9u);
  EXPECT_EQ(m.env_steps(), 3584u);
  EXPECT_EQ(m.policy_loss(), u.policy_loss);
  EXPECT_EQ(m.value_loss(), u.value_loss);
  EXPECT_EQ(m.entropy(), u.entropy);
  EXPECT_EQ(m.approx_kl(), u.approx_kl);
  EXPECT_EQ(m.clip_fraction(), u.clip_fraction);
  EXPECT_TRUE(std::isnan(m.explained_variance()));
  EXPECT_EQ(m.grad_norm(), u.grad_norm);
  EXPECT_EQ(m.learning_rate(), u.learning_rate);
  EXPECT_EQ(m.kl_beta(), u.kl_beta);
  EXPECT_EQ(m.skipped_minibatches(), 1u);
  EXPECT_EQ(m.epochs_run(), 4u);
  EXPECT_EQ(m.minibatches_run(), 16u);
  EXPECT_EQ(m.update_seconds(), u.update_seconds);
  EXPECT_EQ(m.first_minibatch_ratio_max_deviation(), u.first_minibatch_ratio_max_deviation);
  EXPECT_EQ(m.mean_lag(), r.mean_lag);
  EXPECT_EQ(m.max_lag(), 2u);
  EXPECT_EQ(m.dropped_steps(), 128u);
  EXPECT_EQ(m.dropped_fraction(), 0.2);
  EXPECT_EQ(m.batch_transitions(), 512u);
  EXPECT_EQ(m.batch_chunks(), 3u);
  EXPECT_FALSE(m.has_time());
  EXPECT_EQ(m.env_steps_per_second(), r.env_steps_per_second);
  EXPECT_EQ(m.mean_episode_return(), r.mean_return);
  EXPECT_EQ(m.mean_episode_length(), r.mean_length);
  EXPECT_EQ(m.episodes(), 41u);
  EXPECT_EQ(m.learner_update_share(), 0.91);
  EXPECT_EQ(m.actor_weights_wait_share(), 0.64);
  for (const MetricField& f : MetricFields()) {
    if (f.proto_field == nullptr) continue;
    const double v = f.value(r);
    if (std::isnan(v)) continue;
    EXPECT_EQ(ProtoMetricValue(m, f), v) << f.name;
  }
}

TEST(UpdateMetricsTest, UnsetChunksStayOutOfProtoAndTensorBoard) {
  MetricsRow r = SampleRow();
  r.batch_chunks.reset();
  v1::UpdateMetrics m;
  m.set_batch_chunks(5);
  MetricsRowToProto(r, &m);
  EXPECT_EQ(m.batch_chunks(), 5u);  // left alone
  bool seen = false;
  for (const TensorBoardScalar& s : MetricsRowScalars(r)) {
    if (s.tag == "perf/batch_chunks") {
      seen = true;
      EXPECT_TRUE(std::isnan(s.value)) << s.tag;  // the writer leaves NaN out
    }
  }
  EXPECT_TRUE(seen);
}

// summary.json: the keys runs have always written keep their names and
// values; the accounting and lag keys are there with dropped_fraction =
// dropped / collected.
// Resuming a run whose metrics.csv an earlier version wrote (fewer columns):
// its rows up to the checkpoint are kept, column by column, the new columns
// read nan, and appending continues under the current header. A column this
// version does not know is refused.
TEST(MetricsCsvTest, ContinueUpgradesAnOlderHeaderAndRefusesUnknownColumns) {
  const std::string dir = ::testing::TempDir() + "/metrics_continue";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/metrics.csv";
  std::string old_text = "update,policy_version,env_steps\n1,1,512\n2,2,1024\n3,3,1536\n";
  ASSERT_TRUE(WriteFileAtomic(path, old_text).ok());
  auto csv = MetricsCsv::Continue(path, /*updates=*/2);
  ASSERT_TRUE(csv.ok()) << csv.status();
  csv->reset();  // flush and close
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  const std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);  // header + updates 1 and 2
  EXPECT_EQ(lines[0], MetricsCsvHeader());
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  const std::vector<std::string> row = absl::StrSplit(lines[2], ',');
  ASSERT_EQ(row.size(), header.size());
  std::map<std::string, std::string> cell;
  for (size_t c = 0; c < header.size(); ++c) cell[header[c]] = row[c];
  EXPECT_EQ(cell["update"], "2");
  EXPECT_EQ(cell["env_steps"], "1024");
  EXPECT_EQ(cell["policy_loss"], "nan");
  ASSERT_TRUE(WriteFileAtomic(path, "update,from_the_future\n1,7\n").ok());
  auto refused = MetricsCsv::Continue(path, 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("from_the_future"), std::string::npos);
}

TEST(RunSummaryTest, JsonHasOldKeysAndTheAccountingTotals) {
  RunSummary s;
  s.env = "CartPole-v1";
  s.seed = 3;
  s.total_env_steps = 4096;
  s.updates = 8;
  s.mode = "async";
  s.actors = 2;
  s.mean_return_last_100 = std::numeric_limits<double>::quiet_NaN();
  s.transitions_collected = 5000;
  s.transitions_trained = 4096;
  s.transitions_dropped = 904;
  s.transitions_dropped_by_reason = {{"dropped_policy_lag", 512}, {"dropped_at_shutdown", 392}};
  s.mean_lag = 0.75;
  s.max_lag = 2;
  const nlohmann::json j = SummaryToJson(s);
  for (const char* key : {"env", "seed", "mode", "device", "actors", "total_env_steps", "updates",
                          "wall_seconds", "env_steps_per_second", "episodes",
                          "mean_return_last_100", "solved_at_step", "solved_at_seconds"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["total_env_steps"], 4096);
  EXPECT_TRUE(j["mean_return_last_100"].is_null());
  EXPECT_EQ(j["transitions_collected"], 5000);
  EXPECT_EQ(j["transitions_trained"], 4096);
  EXPECT_EQ(j["transitions_dropped"], 904);
  EXPECT_EQ(j["transitions_dropped_by_reason"],
            nlohmann::json({{"dropped_policy_lag", 512}, {"dropped_at_shutdown", 392}}));
  EXPECT_DOUBLE_EQ(j["dropped_fraction"].get<double>(), 904.0 / 5000.0);
  EXPECT_EQ(j["mean_lag"], 0.75);
  EXPECT_EQ(j["max_lag"], 2);
  // Nothing collected: no fraction to divide, 0; no reasons: an empty object.
  const nlohmann::json empty = SummaryToJson(RunSummary());
  EXPECT_EQ(empty["dropped_fraction"], 0.0);
  EXPECT_TRUE(empty["transitions_dropped_by_reason"].is_object());
  EXPECT_TRUE(empty["transitions_dropped_by_reason"].empty());
  // Where the time went: an object of stage seconds, and the verdict line;
  // in-process (nothing measured) an empty object and null.
  EXPECT_TRUE(empty["time_seconds"].is_object());
  EXPECT_TRUE(empty["time_seconds"].empty());
  EXPECT_TRUE(empty["bottleneck"].is_null());
  s.time_seconds = {{"learner_update", 12.5}, {"actor_env", 40}};
  s.bottleneck = "actor-bound: learner waits for data 70%; actors 85% stepping envs";
  const nlohmann::json timed = SummaryToJson(s);
  EXPECT_EQ(timed["time_seconds"], nlohmann::json({{"learner_update", 12.5}, {"actor_env", 40}}));
  EXPECT_EQ(timed["bottleneck"], s.bottleneck);
}

}  // namespace
}  // namespace proxima
