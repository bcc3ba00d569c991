// The single-thread micro suites — env, inference, update — on Google
// Benchmark (Debian's libbenchmark-dev): it picks iteration counts, and a
// reporter of ours turns its runs into BenchRows.
#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "common/fused/mlp_math.h"
#include "common/logging.h"
#include "common/policy/actor_critic.h"
#include "common/policy/cpu_threads.h"
#include "common/envs/mujoco/mujoco_model.h"
#include "common/envs/mujoco/mujoco_registry.h"
#include "common/envs/registry.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/wire/rollout_batch.h"
#include "common/policy/weight_codec.h"
#include "common/rng.h"
#include "learner/cli/bench/bench.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"

namespace proxima::bench {
namespace {

// Collects Google Benchmark's runs: the per-iteration wall time and every
// user counter (rates are already divided by the measured time).
class RowReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) {
        errors_.push_back(absl::StrCat(run.benchmark_name(), ": ", run.error_message));
        continue;
      }
      Result r;
      r.name = run.benchmark_name();
      r.iterations = run.iterations;
      r.seconds_per_iteration = run.GetAdjustedRealTime() /
                                benchmark::GetTimeUnitMultiplier(run.time_unit);
      for (const auto& [key, counter] : run.counters) r.counters[key] = counter.value;
      results_.push_back(std::move(r));
    }
  }
  struct Result {
    std::string name;
    int64_t iterations = 0;
    double seconds_per_iteration = 0;
    std::map<std::string, double> counters;
  };
  const std::vector<Result>& results() const { return results_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<Result> results_;
  std::vector<std::string> errors_;
};

// Runs what is registered, clears the registry, and returns the results in
// registration order.
absl::StatusOr<std::vector<RowReporter::Result>> RunRegistered() {
  RowReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  if (!reporter.errors().empty()) {
    return absl::InternalError(absl::StrCat("benchmark failed: ", reporter.errors()[0]));
  }
  return reporter.results();
}

double MinTime(const BenchOptions& options) { return options.quick ? 0.05 : 0.5; }

std::string ModelName(const std::vector<int>& hidden) {
  std::string s;
  for (size_t i = 0; i < hidden.size(); ++i) absl::StrAppend(&s, i ? "x" : "", hidden[i]);
  return s;
}

}  // namespace

// The env suite's fixed workload: kCycle steps of uniformly random actions
// (drawn beforehand, so loops time the env and not the sampler) from
// Seed(1) + Reset, resetting after each episode's end; then the cycle repeats.
constexpr int kCycle = 4096;

std::vector<float> RandomActions(const EnvSpec& spec) {
  const Space& space = spec.action_space;
  std::vector<float> actions(kCycle * spec.action_dim());
  Rng rng(1);
  for (size_t k = 0; k < actions.size(); ++k) {
    const size_t j = k % spec.action_dim();
    actions[k] = space.is_discrete() ? static_cast<float>(rng.UniformInt(space.n))
                                     : static_cast<float>(rng.Uniform(space.low[j], space.high[j]));
  }
  return actions;
}

// Raw MuJoCo along a MuJoCo env's own cycle: the same model and actions, the
// same episode starts (recorded from the env), and per step only what an env
// step cannot avoid — ctrl, mj_step x frame_skip, mj_rnePostConstraint, and
// mj_resetData + state + mj_forward at each episode start. Deterministic
// physics makes it follow the env's trajectory exactly, so the env row's
// overhead (observation, reward, termination, bookkeeping) is its time per
// step above this one.
void RegisterRawMujoco(const std::string& id, const BenchOptions& options) {
  benchmark::RegisterBenchmark(absl::StrCat(id, "/raw").c_str(), [id](benchmark::State& state) {
    std::unique_ptr<MujocoEnv> env = *MakeMujocoEnv(id);
    const EnvSpec& spec = env->spec();
    const std::vector<float> actions = RandomActions(spec);
    const mjModel* m = env->model();
    std::vector<int> reset_before(kCycle, -1);  // index into starts, or -1
    std::vector<std::vector<double>> starts;     // qpos then qvel of each episode start
    const auto record_start = [&](int i) {
      const mjData* d = env->data();
      std::vector<double> s(d->qpos, d->qpos + m->nq);
      s.insert(s.end(), d->qvel, d->qvel + m->nv);
      reset_before[i] = static_cast<int>(starts.size());
      starts.push_back(std::move(s));
    };
    std::vector<float> obs(spec.obs_dim());
    env->Seed(1);
    env->Reset(obs.data());
    record_start(0);
    for (int i = 0; i + 1 < kCycle; ++i) {
      const StepResult r = env->Step(&actions[i * spec.action_dim()], obs.data());
      if (r.terminated || r.truncated) {
        env->Reset(obs.data());
        record_start(i + 1);
      }
    }
    mjData* d = mj_makeData(m);
    int i = 0;
    for (auto _ : state) {
      if (reset_before[i] >= 0) {
        const std::vector<double>& s = starts[reset_before[i]];
        mj_resetData(m, d);
        std::copy_n(s.data(), m->nq, d->qpos);
        std::copy_n(s.data() + m->nq, m->nv, d->qvel);
        mj_forward(m, d);
      }
      for (int j = 0; j < m->nu; ++j) d->ctrl[j] = actions[i * m->nu + j];
      for (int k = 0; k < env->frame_skip(); ++k) mj_step(m, d);
      mj_rnePostConstraint(m, d);
      i = (i + 1) % kCycle;
    }
    mj_deleteData(d);
    state.counters["steps_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  })->MinTime(MinTime(options))->UseRealTime();
}

absl::Status RunEnvSuite(const BenchOptions& options, BenchReport* report) {
  struct Registered {
    std::string id;
    bool raw;  // the raw MuJoCo row of the env before it
  };
  std::vector<Registered> rows;
  for (const std::string& id : RegisteredEnvIds()) {
    auto env = MakeEnv(id);
    if (!env.ok()) return env.status();
    rows.push_back({id, false});
    // One env on the fixed cycle, resets included.
    benchmark::RegisterBenchmark(id.c_str(), [id](benchmark::State& state) {
      auto env = *MakeEnv(id);
      const EnvSpec& spec = env->spec();
      const std::vector<float> actions = RandomActions(spec);
      std::vector<float> obs(spec.obs_dim());
      int i = 0;
      double reward = 0;
      for (auto _ : state) {
        if (i == 0) {
          env->Seed(1);
          env->Reset(obs.data());
        }
        StepResult r = env->Step(&actions[i * spec.action_dim()], obs.data());
        reward += r.reward;
        i = (i + 1) % kCycle;
        if ((r.terminated || r.truncated) && i != 0) env->Reset(obs.data());
      }
      benchmark::DoNotOptimize(reward);
      state.counters["steps_per_second"] =
          benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    })->MinTime(MinTime(options))->UseRealTime();
    if (IsMujocoEnvId(id)) {
      RegisterRawMujoco(id, options);
      rows.push_back({id, true});
    }
  }
  absl::StatusOr<std::vector<RowReporter::Result>> results = RunRegistered();
  if (!results.ok()) return results.status();
  for (size_t i = 0; i < results->size(); ++i) {
    if (rows[i].raw) continue;
    const RowReporter::Result& r = (*results)[i];
    BenchRow row{"env", rows[i].id};
    row.params = {{"env", rows[i].id}, {"threads", 1}};
    row.metrics = {{"steps_per_second", r.counters.at("steps_per_second")},
                   {"ns_per_step", r.seconds_per_iteration * 1e9}};
    if (i + 1 < rows.size() && rows[i + 1].raw) {
      // MuJoCo: the physics alone, and the share of the step the env adds.
      const RowReporter::Result& raw = (*results)[i + 1];
      row.metrics.push_back({"raw_mujoco_steps_per_second", raw.counters.at("steps_per_second")});
      row.metrics.push_back(
          {"env_overhead_fraction", 1.0 - raw.seconds_per_iteration / r.seconds_per_iteration});
    }
    report->Add(std::move(row));
  }
  return absl::OkStatus();
}

absl::Status RunInferenceSuite(const BenchOptions& options, BenchReport* report) {
  // As the actor runs it: one LibTorch / OpenBLAS thread, CartPole-v1's
  // spaces; each case on both inference engines, side by side.
  ConfigureCpuThreads(1);
  absl::StatusOr<EnvSpec> spec = GetEnvSpec("CartPole-v1");
  if (!spec.ok()) return spec.status();
  struct Case {
    std::vector<int> hidden;
    int batch;
    InferenceEngine engine;
    std::string name;  // <model>/batch=<batch>/<engine>
  };
  std::vector<Case> cases;
  auto add = [&cases](std::vector<int> hidden, int batch) {
    for (InferenceEngine engine : {InferenceEngine::kFused, InferenceEngine::kTorch}) {
      cases.push_back({hidden, batch, engine,
                       absl::StrCat(ModelName(hidden), "/batch=", batch, "/",
                                    InferenceEngineName(engine))});
    }
  };
  for (int batch : {1, 4, 16, 64, 256, 1024, 4096}) add({64, 64}, batch);
  for (int batch : {1, 16, 256, 4096}) add({256, 256}, batch);
  for (const Case& c : cases) {
    PolicyShape shape{spec->obs_dim(), spec->action_space, ModelSpec{}};
    shape.model.hidden_sizes = c.hidden;
    const std::string& name = c.name;
    benchmark::RegisterBenchmark(name.c_str(), [shape, c](benchmark::State& state) {
      torch::manual_seed(1);
      ActorCritic model(shape.obs_dim, shape.action_space, shape.model);
      v1::WeightSnapshot proto;
      const NormalizerState off{false, 10.0, RunningMeanStd(shape.obs_dim)};
      EncodeWeights(model, off, 1, &proto);
      auto snapshot = DecodeSnapshot(proto, shape);
      if (!snapshot.ok()) {
        state.SkipWithError(std::string(snapshot.status().message()).c_str());
        return;
      }
      PolicyInference policy(shape, c.batch, c.engine);
      if (absl::Status s = policy.SetPolicy(*snapshot); !s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        return;
      }
      Rng rng(1);
      std::vector<float> obs(static_cast<size_t>(c.batch) * shape.obs_dim);
      for (float& o : obs) o = static_cast<float>(rng.Uniform(-0.2, 0.2));
      std::vector<float> actions(static_cast<size_t>(c.batch) * policy.action_dim());
      std::vector<float> logp(c.batch);
      // Normalization, the MLP and action sampling: what one actor step costs
      // per env column.
      for (auto _ : state) {
        policy.Act(obs.data(), rng, actions.data(), logp.data());
        benchmark::ClobberMemory();
      }
      state.counters["samples_per_second"] = benchmark::Counter(
          static_cast<double>(state.iterations()) * c.batch, benchmark::Counter::kIsRate);
    })->MinTime(MinTime(options))->UseRealTime();
  }
  absl::StatusOr<std::vector<RowReporter::Result>> results = RunRegistered();
  if (!results.ok()) return results.status();
  for (size_t i = 0; i < results->size(); ++i) {
    const RowReporter::Result& r = (*results)[i];
    BenchRow row{"inference", cases[i].name};
    row.params = {{"model", ModelName(cases[i].hidden)}, {"batch", cases[i].batch},
                  {"engine", InferenceEngineName(cases[i].engine)},
                  {"env", "CartPole-v1"}, {"threads", 1}};
    row.metrics = {{"samples_per_second", r.counters.at("samples_per_second")},
                   {"us_per_call", r.seconds_per_iteration * 1e6}};
    report->Add(std::move(row));
  }
  return absl::OkStatus();
}

namespace {

// num_envs × rollout_length transitions shaped like `spec`'s with random but
// plausible contents (the update's cost does not depend on the values):
// two-way discrete actions at log 0.5, or standard-normal continuous ones
// at their N(0, 1) log-density.
RolloutBatch SyntheticBatch(const PpoConfig& config, const EnvSpec& spec) {
  const bool discrete = spec.action_space.is_discrete();
  const int64_t act_dim = spec.action_space.flat_dim();
  RolloutBatch b = RolloutBatch::Allocate(config.rollout_length, config.num_envs,
                                          spec.obs_dim(), act_dim, discrete);
  at::manual_seed(1);
  b.obs.copy_(at::randn_like(b.obs) * 0.1);
  if (discrete) {
    b.actions.copy_(at::randint(0, 2, b.actions.sizes()));
    b.behaviour_logp.fill_(std::log(0.5));
  } else {
    b.actions.copy_(at::randn_like(b.actions));
    b.behaviour_logp.copy_(
        (-0.5 * b.actions.pow(2) - 0.5 * std::log(2 * M_PI)).sum(-1));
  }
  b.rewards.fill_(1.0);
  b.terminated.copy_(at::rand(b.terminated.sizes()) < 0.02);
  b.bootstrap_obs.copy_(at::randn_like(b.bootstrap_obs) * 0.1);
  return b;
}

// Floating-point operations of one sample's pass through a minibatch step's
// GEMMs: the forward of the policy and value MLPs (2·in·out per layer),
// the weight gradients (the same again) and the input gradients (the same
// but for the first layer, whose input needs none). What the elementwise
// work (activations, loss, Adam) adds is left out: this is the arithmetic
// the GEMMs cannot avoid, the figure to hold against the machine's peak.
double StepFlopsPerSample(const PpoConfig& config, const EnvSpec& spec) {
  const int head = spec.action_space.is_discrete() ? spec.action_space.n
                                                   : spec.action_space.flat_dim();
  // Layer widths (in, out) of one MLP ending in `out`.
  auto layers = [&](int out, bool with_trunk) {
    std::vector<std::pair<int, int>> l;
    int in = spec.obs_dim();
    if (with_trunk) {
      for (int h : config.model.hidden_sizes) {
        l.push_back({in, h});
        in = h;
      }
    } else if (!config.model.hidden_sizes.empty()) {
      in = config.model.hidden_sizes.back();
    }
    l.push_back({in, out});
    return l;
  };
  const bool shared = config.model.shared_trunk;
  double flops = 0;
  for (const auto& mlp : {layers(head, true), layers(1, !shared)}) {
    for (size_t i = 0; i < mlp.size(); ++i) {
      const double layer = 2.0 * mlp[i].first * mlp[i].second;
      const bool first_layer = i == 0 && (mlp.size() > 1 || !shared);
      flops += layer * (first_layer ? 2 : 3);
    }
  }
  return flops;
}

}  // namespace

absl::Status RunUpdateSuite(const BenchOptions& options, BenchReport* report) {
  // The default preset (CartPole-v1: 512 transitions, 4 epochs × 4
  // minibatches of 128) and CleanRL's continuous-control one on a MuJoCo-
  // sized env (HalfCheetah-v4: 2,048 transitions, 10 epochs × 32 minibatches
  // of 64, a diagonal Gaussian of 6 actions over 17 observations; its rows
  // are named "HalfCheetah-v4/..." and left out when the env cannot be built,
  // e.g. without MuJoCo's assets).
  struct Preset {
    std::string env;
    PpoConfig config;
    EnvSpec spec;
  };
  std::vector<Preset> presets;
  for (const char* env : {"CartPole-v1", "HalfCheetah-v4"}) {
    absl::StatusOr<PpoConfig> preset = PresetFor(env);
    absl::StatusOr<EnvSpec> spec = preset.ok() ? GetEnvSpec(env) : preset.status();
    if (!spec.ok()) {
      if (presets.empty()) return spec.status();
      LogWarning(absl::StrCat("bench update: ", env, " rows left out: ", spec.status().message()));
      continue;
    }
    presets.push_back({env, *preset, *spec});
  }
  struct Case {
    const Preset* preset;
    std::vector<int> hidden;
    std::string device;
    std::string engine;  // PpoConfig::engine: torch and fused side by side
    std::string Name() const {
      const std::string prefix =
          preset->env == "CartPole-v1" ? "" : absl::StrCat(preset->env, "/");
      return absl::StrCat(prefix, ModelName(hidden), "/", device, "/", engine);
    }
  };
  std::vector<Case> cases;
  // CUDA too when LibTorch sees a GPU (a CUDA build of LibTorch on a GPU host);
  // the fused engine is CPU-only.
  std::vector<std::string> devices = {"cpu"};
  if (torch::cuda::is_available()) devices.push_back("cuda");
  for (const Preset& p : presets) {
    for (const std::string& device : devices) {
      for (std::vector<int> hidden : {std::vector<int>{64, 64}, std::vector<int>{256, 256}}) {
        for (const char* engine : {"torch", "fused"}) {
          if (device == "cpu" || engine == std::string("torch")) {
            cases.push_back({&p, hidden, device, engine});
          }
        }
      }
    }
  }
  for (const Case& c : cases) {
    PpoConfig config = c.preset->config;
    const EnvSpec* spec = &c.preset->spec;
    config.model.hidden_sizes = c.hidden;
    config.device = c.device;
    config.engine = c.engine;
    const std::string name = c.Name();
    benchmark::RegisterBenchmark(name.c_str(), [config, spec](benchmark::State& state) {
      ConfigureCpuThreads(config.torch_threads);
      auto updater = PpoUpdater::Create(config, *spec, torch::Device(config.device));
      if (!updater.ok()) {
        state.SkipWithError(std::string(updater.status().message()).c_str());
        return;
      }
      const RolloutBatch batch = SyntheticBatch(config, *spec);
      int64_t minibatches = 0;
      for (auto _ : state) {
        absl::StatusOr<UpdateMetrics> m = (*updater)->Update(batch, 0.0);
        if (!m.ok()) {
          state.SkipWithError(std::string(m.status().message()).c_str());
          return;
        }
        minibatches += m->minibatches;
      }
      const double iters = static_cast<double>(state.iterations());
      // Transitions consumed per second, and sample-gradients (each
      // transition is trained update_epochs times).
      state.counters["transitions_per_second"] =
          benchmark::Counter(iters * config.batch_size(), benchmark::Counter::kIsRate);
      state.counters["samples_trained_per_second"] = benchmark::Counter(
          iters * config.batch_size() * config.update_epochs, benchmark::Counter::kIsRate);
      state.counters["minibatches_per_second"] =
          benchmark::Counter(static_cast<double>(minibatches), benchmark::Counter::kIsRate);
    })->MinTime(options.quick ? 0.2 : 2.0)->UseRealTime();
  }
  absl::StatusOr<std::vector<RowReporter::Result>> results = RunRegistered();
  if (!results.ok()) return results.status();
  for (size_t i = 0; i < results->size(); ++i) {
    const RowReporter::Result& r = (*results)[i];
    BenchRow row{"update", cases[i].Name()};
    const PpoConfig& preset = cases[i].preset->config;
    row.params = {{"env", cases[i].preset->env},     {"model", ModelName(cases[i].hidden)},
                  {"device", cases[i].device},       {"engine", cases[i].engine},
                  {"batch", preset.batch_size()},    {"minibatch", preset.minibatch_size()},
                  {"epochs", preset.update_epochs},  {"threads", preset.torch_threads}};
    const double samples = r.counters.at("samples_trained_per_second");
    PpoConfig measured = preset;
    measured.model.hidden_sizes = cases[i].hidden;
    row.metrics = {{"transitions_per_second", r.counters.at("transitions_per_second")},
                   {"samples_trained_per_second", samples},
                   {"ms_per_update", r.seconds_per_iteration * 1e3},
                   {"ms_per_minibatch", 1e3 / r.counters.at("minibatches_per_second")},
                   {"gemm_gflops", samples * StepFlopsPerSample(measured, cases[i].preset->spec) / 1e9}};
    report->Add(std::move(row));
  }
  // The machine's peak for that arithmetic on the updater's one thread: a
  // square float GEMM large enough to run at BLAS's best.
  constexpr int kPeakN = 512;
  std::vector<float> a(kPeakN * kPeakN, 0.5f), b(kPeakN * kPeakN, 0.25f), c(kPeakN * kPeakN);
  benchmark::RegisterBenchmark("peak", [&](benchmark::State& state) {
    ConfigureCpuThreads(1);
    for (auto _ : state) {
      fused::Gemm(false, false, kPeakN, kPeakN, kPeakN, 1.0f, a.data(), kPeakN, b.data(), kPeakN,
                  0.0f, c.data(), kPeakN);
      benchmark::DoNotOptimize(c.data());
    }
  })->MinTime(options.quick ? 0.2 : 2.0)->UseRealTime();
  absl::StatusOr<std::vector<RowReporter::Result>> peak = RunRegistered();
  if (!peak.ok()) return peak.status();
  BenchRow row{"update", absl::StrCat("peak/sgemm", kPeakN)};
  row.params = {{"n", kPeakN}, {"threads", 1}};
  row.metrics = {{"gemm_gflops", 2.0 * kPeakN * kPeakN * kPeakN /
                                     peak->at(0).seconds_per_iteration / 1e9}};
  report->Add(std::move(row));
  return absl::OkStatus();
}

}  // namespace proxima::bench
