// Sequence-policy checkpoints (learner/lm/seq_checkpoint.h): the round trip
// (config, tokenizer, task, SFT summary, every parameter bit for bit), the
// directory and run-directory resolution, `proxima lm sft --run-dir`, and each
// way a file can be wrong: truncated, bit-flipped, another format version,
// another kind (an MLP checkpoint's meta), parameters that disagree with the
// config, a tokenizer that does not fit the model.
#include "learner/lm/seq_checkpoint.h"

#include <torch/serialize.h>
#include <torch/types.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/lm/char_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/lm/lm_command.h"
#include "nlohmann/json.hpp"
#include "tests/lm/lm_test_commands.h"
#include "tests/lm/sanitizer_build.h"
#include "tests/lm/tiny_seq_policy.h"
#include "tests/test_util.h"

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::HasSubstr;

SeqPolicyConfig TinyConfig() { return lm_testing::TinySeqPolicyConfig(16, 16); }

SeqCheckpointInfo TinyInfo() {
  SeqCheckpointInfo info;
  info.config = TinyConfig();
  info.tokenizer = CharTokenizer().spec();
  info.task_id = "lm/Addition-v0";
  info.policy_version = 7;
  info.sft = {123, 50, 0.34, 0.61, 9};
  return info;
}

// Rewrites the checkpoint at `path` with its meta record changed by `edit`
// and the parameter records kept: crafted files for the error cases.
void RewriteMeta(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  torch::serialize::InputArchive in;
  in.load_from(path);
  c10::IValue meta_value;
  in.read("meta", meta_value);
  nlohmann::json meta = nlohmann::json::parse(meta_value.toStringRef());
  torch::serialize::OutputArchive out;
  for (size_t i = 0; i < meta["parameters"].size(); ++i) {
    torch::Tensor t;
    in.read("param_" + std::to_string(i), t);
    out.write("param_" + std::to_string(i), t);
  }
  torch::Tensor tok;
  in.read("tokenizer", tok);
  out.write("tokenizer", tok);
  edit(meta);
  out.write("meta", c10::IValue(meta.dump()));
  out.save_to(path);
}

class SeqCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = proxima::MakeTempDir("seq_ckpt");
    model_ = SeqPolicy(TinyConfig(), 3);
    path_ = SaveSeqCheckpoint(dir_ + "/checkpoints", *model_, TinyInfo()).value();
  }
  std::string dir_;
  SeqPolicy model_{nullptr};
  std::string path_;
};

TEST_F(SeqCheckpointTest, RoundTripKeepsEverything) {
  EXPECT_EQ(path_, dir_ + "/checkpoints/ckpt-000000000007.pt");
  LoadedSeqCheckpoint loaded = LoadSeqCheckpoint(path_).value();
  EXPECT_EQ(loaded.path, path_);
  EXPECT_EQ(loaded.info.config.DebugString(), TinyConfig().DebugString());
  EXPECT_EQ(loaded.info.tokenizer.kind, "char");
  EXPECT_EQ(loaded.info.tokenizer.data, std::string(kDefaultAlphabet));
  EXPECT_EQ(loaded.tokenizer->vocab_size(), TinyConfig().vocab_size);
  EXPECT_EQ(loaded.info.task_id, "lm/Addition-v0");
  EXPECT_EQ(loaded.info.policy_version, 7u);
  EXPECT_EQ(loaded.info.sft.steps, 123);
  EXPECT_EQ(loaded.info.sft.eval_prompts, 50);
  EXPECT_DOUBLE_EQ(loaded.info.sft.held_out_accuracy, 0.34);
  EXPECT_DOUBLE_EQ(loaded.info.sft.mean_partial_credit, 0.61);
  EXPECT_EQ(loaded.info.sft.seed, 9u);

  const auto saved = model_->named_parameters();
  const auto got = loaded.model->named_parameters();
  ASSERT_EQ(saved.size(), got.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(saved[i].key(), got[i].key());
    EXPECT_TRUE(torch::equal(saved[i].value(), got[i].value())) << saved[i].key();
    EXPECT_FALSE(got[i].value().requires_grad());
  }
  // A model seeded differently differs, so the equality above is the load's.
  SeqPolicy other(TinyConfig(), 4);
  EXPECT_FALSE(torch::equal(other->named_parameters()[0].value(), saved[0].value()));
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = torch::tensor({{1, 4, 5, 16, 6}}, torch::kLong);
  EXPECT_TRUE(torch::equal(model_->forward(tokens).logits, loaded.model->forward(tokens).logits));
}

TEST_F(SeqCheckpointTest, DirectoriesResolveToTheNewestSequenceCheckpoint) {
  SeqCheckpointInfo later = TinyInfo();
  later.policy_version = 9;
  ASSERT_TRUE(SaveSeqCheckpoint(dir_ + "/checkpoints", *model_, later).ok());
  EXPECT_EQ(ResolveSeqCheckpointPath(dir_).value(), dir_ + "/checkpoints/ckpt-000000000009.pt");
  EXPECT_EQ(ResolveSeqCheckpointPath(dir_ + "/checkpoints").value(),
            dir_ + "/checkpoints/ckpt-000000000009.pt");
  EXPECT_TRUE(IsSeqCheckpoint(dir_));
  EXPECT_TRUE(IsSeqCheckpoint(path_));
  EXPECT_TRUE(DetectSeqCheckpoint(dir_).value());
  EXPECT_FALSE(DetectSeqCheckpoint(dir_ + "/best").value());  // absent: the MLP loader's call
  // A damaged newest file is skipped for the next one.
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/checkpoints/ckpt-000000000011.pt", "junk").ok());
  EXPECT_EQ(LoadSeqCheckpoint(dir_).value().info.policy_version, 9u);

  const std::string empty = proxima::MakeTempDir("seq_ckpt_empty");
  EXPECT_THAT(LoadSeqCheckpoint(empty).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no sequence-policy checkpoint")));
  EXPECT_FALSE(IsSeqCheckpoint(empty));
  EXPECT_THAT(LoadSeqCheckpoint(empty + "/nope.pt").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.pt")));
}

TEST_F(SeqCheckpointTest, TruncatedAndBitFlippedFilesAreDataLoss) {
  const std::string bytes = ReadFile(path_).value();
  ASSERT_TRUE(WriteFileAtomic(path_, bytes.substr(0, bytes.size() / 2)).ok());
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupted archive")));
  EXPECT_FALSE(IsSeqCheckpoint(path_));
  EXPECT_THAT(DetectSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupted archive")));
  // Flip one byte inside the stored parameter data: the record's CRC catches it.
  std::string flipped = bytes;
  flipped[bytes.size() / 3] ^= 0x10;
  ASSERT_TRUE(WriteFileAtomic(path_, flipped).ok());
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path_)));
}

TEST_F(SeqCheckpointTest, OtherVersionsAndKindsAreRefusedByName) {
  RewriteMeta(path_, [](nlohmann::json& m) { m["format"] = 2; });
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("unsupported sequence checkpoint format 2")));
  // An MLP checkpoint's meta has a format but no kind.
  RewriteMeta(path_, [](nlohmann::json& m) {
    m["format"] = 1;
    m.erase("kind");
  });
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("an MLP policy's, written by `proxima train`")));
  EXPECT_FALSE(IsSeqCheckpoint(path_));
  EXPECT_FALSE(DetectSeqCheckpoint(path_).value());
}

TEST_F(SeqCheckpointTest, ParametersMustFitTheConfig) {
  RewriteMeta(path_, [](nlohmann::json& m) { m["model"]["d_ff"] = 64; });
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("fc1.weight [32,16]")));
  RewriteMeta(path_, [](nlohmann::json& m) {
    m["model"]["d_ff"] = 32;
    m["model"]["num_heads"] = 3;
  });
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("num_heads")));
  RewriteMeta(path_, [](nlohmann::json& m) {
    m["model"]["num_heads"] = 2;
    m["sft"]["held_out_accuracy"] = 1.5;
  });
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("sft.held_out_accuracy")));
  RewriteMeta(path_, [](nlohmann::json& m) {
    m["sft"]["held_out_accuracy"] = 0.5;
    m["tokenizer"]["kind"] = "bpe";
  });
  EXPECT_THAT(LoadSeqCheckpoint(path_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown tokenizer kind \"bpe\"")));
}

TEST_F(SeqCheckpointTest, SaveRefusesMismatchedInfo) {
  SeqCheckpointInfo info = TinyInfo();
  info.tokenizer.data = "0123456789";  // 13 ids, the model has 19
  EXPECT_THAT(SaveSeqCheckpoint(dir_, *model_, info).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("13 ids")));
  info = TinyInfo();
  info.config.d_model = 32;
  EXPECT_THAT(SaveSeqCheckpoint(dir_, *model_, info).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not the model's")));
  EXPECT_THAT(SaveSeqCheckpoint(dir_, *model_, TinyInfo(), "bad tag").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad tag")));
}

using ::proxima::lm_testing::RunLm;

const std::vector<std::string> kTinySft = {"sft",         "--steps=10",     "--warmup=2",
                                           "--eval-prompts=10", "--layers=1", "--width=32",
                                           "--heads=2",   "--batch-size=8"};

std::vector<std::string> TinySft(std::vector<std::string> more) {
  std::vector<std::string> args = kTinySft;
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(SftCheckpointTest, LmSftRunDirWritesALoadableCheckpoint) {
  const std::string run = proxima::MakeTempDir("sft_run");
  std::string out, err;
  ASSERT_EQ(RunLm(TinySft({"--task=lm/Reverse-v0", "--run-dir", run}), &out, &err), 0) << err;
  const std::string expected = run + "/checkpoints/ckpt-000000000000-sft.pt";
  EXPECT_THAT(out, HasSubstr("checkpoint: " + expected));
  const LoadedSeqCheckpoint loaded = LoadSeqCheckpoint(run).value();
  EXPECT_EQ(loaded.path, expected);
  EXPECT_EQ(loaded.info.task_id, "lm/Reverse-v0");
  EXPECT_EQ(loaded.info.sft.steps, 10);
  EXPECT_EQ(loaded.info.sft.eval_prompts, 10);
  EXPECT_EQ(loaded.info.config.d_model, 32);
  EXPECT_EQ(loaded.info.config.d_ff, 128);
}

// `proxima lm tokenizer` trains a SentencePiece model; `proxima lm sft
// --tokenizer` trains with it and the checkpoint carries the model's bytes.
TEST(SftCheckpointTest, SentencePieceTokenizerGoesIntoTheCheckpoint) {
#ifdef PROXIMA_SANITIZED
  GTEST_SKIP() << "SentencePiece's bridge needs RTLD_DEEPBIND, refused under sanitizers";
#endif
  const std::string dir = proxima::MakeTempDir("sft_spm");
  std::string corpus;
  for (int i = 0; i < 300; ++i) {
    corpus += "r" + std::to_string(i * 7919 % 100000) + "=" + std::to_string(i * 31 % 1000) + "\n";
  }
  ASSERT_TRUE(WriteFileAtomic(dir + "/corpus.txt", corpus).ok());
  std::string out, err;
  ASSERT_EQ(RunLm({"tokenizer", "--corpus", dir + "/corpus.txt", "--vocab-size=24", "--out",
                   dir + "/tok.model"},
                  &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("SentencePiece unigram model of 24 pieces"));
  ASSERT_EQ(RunLm(TinySft({"--task=lm/Reverse-v0", "--max-seq-len=16", "--tokenizer",
                           dir + "/tok.model", "--run-dir", dir}),
                  &out, &err),
            0)
      << err;
  const LoadedSeqCheckpoint loaded = LoadSeqCheckpoint(dir).value();
  EXPECT_EQ(loaded.info.tokenizer.kind, "sentencepiece");
  EXPECT_EQ(loaded.info.tokenizer.data, ReadFile(dir + "/tok.model").value());
  EXPECT_EQ(loaded.info.config.vocab_size, 24);
  EXPECT_EQ(loaded.tokenizer->Decode(loaded.tokenizer->Encode("r4071=").value()).value(),
            "r4071=");

  EXPECT_EQ(RunLm(TinySft({"--tokenizer", dir + "/none.model"}), &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("none.model"));
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad.model", "junk").ok());
  EXPECT_EQ(RunLm(TinySft({"--tokenizer", dir + "/bad.model"}), &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("bad.model: not a SentencePiece model"));
  EXPECT_EQ(RunLm({"tokenizer", "--corpus", dir + "/corpus.txt", "--out", dir + "/x.model"}, &out,
                  &err),
            2);
  EXPECT_THAT(err, HasSubstr("needs --corpus FILE, --vocab-size N and --out MODEL"));
  EXPECT_EQ(RunLm({"tokenizer", "--corpus", dir + "/missing.txt", "--vocab-size=24", "--out",
                   dir + "/x.model"},
                  &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("no such corpus file"));
}

}  // namespace
}  // namespace proxima::lm
