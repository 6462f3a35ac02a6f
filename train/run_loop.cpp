// The run loop every recipe runs on (see run_loop.h). Checkpoints are touched in two functions
// only: load_resume_checkpoint (find, check, load) and save_run_checkpoint.
#include "train/run_loop.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "distributed/mesh.h"
#include "checkpoint/reader.h"
#include "checkpoint/resolve.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/peak_flops.h"
#include "train/preemption.h"
#include "train/run_dir.h"

namespace fs = std::filesystem;

namespace ember::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// The run's running totals, saved with every checkpoint.
struct RunTotals {
  int64_t tokens = 0;
  std::vector<std::pair<std::string, double>> flops;  ///< by kind, in the order first reported

  void add_flops(const std::string& kind, double value) {
    for (auto& [name, total] : flops) {
      if (name == kind) {
        total += value;
        return;
      }
    }
    flops.emplace_back(kind, value);
  }
  double flops_total() const {
    double sum = 0;
    for (const auto& kind : flops) sum += kind.second;
    return sum;
  }
  nlohmann::json to_json() const {
    auto kinds = nlohmann::json::array();
    for (const auto& [name, total] : flops) kinds.push_back({name, total});
    return {{"tokens", tokens}, {"flops", kinds}};
  }
  void restore(const nlohmann::json& j) {
    tokens = j.value("tokens", int64_t(0));
    for (const auto& kind : j.value("flops", nlohmann::json::array())) {
      add_flops(kind.at(0).get<std::string>(), kind.at(1).get<double>());
    }
  }
};

/// Keys of a checkpoint's state that the loop owns; a recipe's state may not use them.
constexpr const char* kLoopStateKeys[] = {"optimizer_steps", "bad_steps_total", "loss_window", "layout", "schedule",
                                          "totals"};

/// The checkpoint a run continues from, checked, and the newer ones a rewind moves aside.
struct ResumePoint {
  std::optional<checkpoint::CheckpointReader> checkpoint;
  fs::path dir;
  std::vector<fs::path> newer;
};

/// Checkpoint call 1 of 2. Finds the checkpoint of checkpoint.resume and checks it against the run
/// (same model, same schedule, nothing newer in run.dir unless checkpoint.rewind; run_dir.h), then
/// loads it. Writes nothing.
ResumePoint load_resume_checkpoint(const RecipeCommon& config, const Recipe& recipe, const ScheduleOptions& schedule) {
  const fs::path run_dir(config.run.dir);
  const auto& c = config.checkpoint;
  ResumePoint point;
  const auto found = checkpoint::find_resume_checkpoint(run_dir, c.resume, c.on_corrupt == "fallback");
  if (found) {
    check_same_model(*found, recipe.model_config());
    point.dir = *found;
    point.checkpoint.emplace(*found);
    const auto& state = point.checkpoint->state();
    const int64_t updates = state.value("optimizer_steps", point.checkpoint->step());
    check_schedule(*found, saved_schedule(state, point.checkpoint->config_yaml(), recipe.updates_per_step()), schedule,
                   updates, c.allow_schedule_change);
  }
  // resume=auto continues from the newest checkpoint that verifies; anything else may start
  // before checkpoints of run.dir that the run would then overwrite.
  if (c.resume != "auto") point.newer = check_rewind(run_dir, found ? point.checkpoint->step() : 0, c.rewind);
  return point;
}

/// Restores the trainer, the CPU RNG, the totals and the recipe's state; returns the step to continue after.
int64_t restore(const ResumePoint& point, Recipe& recipe, Trainer& trainer, RunTotals& totals) {
  const auto& checkpoint = *point.checkpoint;
  const auto& state = checkpoint.state();
  trainer.load(checkpoint, state.value("optimizer_steps", checkpoint.step()));
  trainer.spike_guard().restore(state.value("loss_window", std::vector<double>{}));
  if (checkpoint.contains("rng.cpu")) {
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(checkpoint.read("rng.cpu"));
  }
  totals.restore(state.value("totals", nlohmann::json::object()));
  recipe.restore(state);
  if (state.contains("layout")) {
    const auto& saved = state["layout"];
    log::info("resumed from {} at step {} (saved at dp {} x tp {}, ZeRO-{})", point.dir.string(), checkpoint.step(),
              saved.value("dp", 1), saved.value("tp", 1), saved.value("zero", 0));
  } else {
    log::info("resumed from {} at step {}", point.dir.string(), checkpoint.step());
  }
  return checkpoint.step();
}

/// What the checkpoint of every recipe holds besides the recipe's own state.
struct SaveContext {
  const ParallelRun& parallel;
  const distributed::ParallelLayout& layout;
  const RecipeCommon& config;
  const ScheduleOptions& schedule;
};

/// Checkpoint call 2 of 2: every rank writes its own slices (train/checkpoint.h); the lead adds the
/// loop's and the recipe's state.
void save_run_checkpoint(const SaveContext& context, RunWriters& writers, const Recipe& recipe, Trainer& trainer,
                         const RunTotals& totals, int64_t step) {
  const auto& mesh = *context.parallel.mesh;
  save_sharded_checkpoint(*mesh.world, context.parallel.runtime.device, trainer, writers.checkpoint_writer(), step,
                          [&](checkpoint::Checkpoint& checkpoint) {
    checkpoint.optimizer["rng.cpu"] = at::detail::getDefaultCPUGenerator().get_state();
    checkpoint.info.state = recipe.state();
    for (const char* key : kLoopStateKeys) {
      if (checkpoint.info.state.contains(key)) fail("a recipe's checkpoint state uses the loop's key '{}'", key);
    }
    checkpoint.info.state["optimizer_steps"] = trainer.steps_done();
    checkpoint.info.state["bad_steps_total"] = trainer.bad_steps_total();
    checkpoint.info.state["loss_window"] = trainer.spike_guard().window();
    checkpoint.info.state["layout"] = layout_json(mesh, context.layout, context.config.parallel.zero);
    checkpoint.info.state["schedule"] = schedule_json(context.schedule);
    checkpoint.info.state["totals"] = totals.to_json();
    checkpoint.info.config_yaml = recipe.saved_config();
    checkpoint.info.tokenizer_json = recipe.tokenizer_json();
  });
}

/// The bytes and calls a step handed to each kind of collective (comm_<kind>_bytes / _calls).
void add_volume_scalars(const distributed::CommVolume& volume, Scalars& scalars) {
  for (int k = 0; k < distributed::kCollectiveKinds; ++k) {
    const auto name = std::string(distributed::collective_name(distributed::Collective(k)));
    scalars.add("comm_" + name + "_bytes", double(volume.bytes[size_t(k)]));
    scalars.add("comm_" + name + "_calls", double(volume.calls[size_t(k)]));
  }
}

/// The run-level scalars of a log line: rates, totals.
void add_run_scalars(const Progress::Rates& rates, const RunTotals& totals, Scalars& scalars) {
  scalars.add("tokens_per_s", rates.tokens_per_s).add("mfu", rates.mfu);
  if (totals.flops.size() > 1) {
    for (const auto& [kind, total] : totals.flops) scalars.add(kind, total, Reduce::last);
  }
  scalars.add("flops_total", totals.flops_total(), Reduce::last).add("tokens", double(totals.tokens), Reduce::last);
}

}  // namespace

void run_recipe(const RecipeCommon& config, Recipe& recipe) {
  const auto parallel = setup_parallel_run(config.train, config.parallel);
  const auto& mesh = parallel.mesh;
  const auto& device = parallel.runtime.device;
  const fs::path run_dir(config.run.dir);
  const int64_t total_steps = config.train.steps;

  std::optional<RunDirectoryLock> lock;
  run_on_lead(*mesh->world, device, parallel.lead, "lock run.dir '" + run_dir.string() + "'",
              [&] { lock.emplace(RunDirectoryLock::acquire(run_dir)); });
  recipe.prepare(parallel);
  const auto schedule = run_schedule(config.optim, total_steps, recipe.updates_per_step());
  auto resume = load_resume_checkpoint(config, recipe, schedule);

  auto built = recipe.build(resume.checkpoint.has_value());
  const auto layout = std::make_shared<distributed::ParallelLayout>(
      distributed::parallelize(*built.model, *mesh, built.plan));
  Trainer trainer(built.model.ptr(), config.optim, config.train, schedule.total_steps,
                  TrainerParallel{mesh, layout, config.parallel.zero, config.parallel.bucket_mb,
                                  config.parallel.overlap_grad_reduce});
  recipe.attach(trainer, *layout);
  if (mesh->world_size() > 1) {
    log::info("mesh: {} ranks = dp {} x tp {}, ZeRO-{}, {} backend, collective timeout {} s", mesh->world_size(),
              mesh->dp, mesh->tp, config.parallel.zero, mesh->world->backend(), config.parallel.timeout_s);
  }
  RunTotals totals;
  int64_t step = resume.checkpoint ? restore(resume, recipe, trainer, totals) : 0;
  resume.checkpoint.reset();  // the tensors now live in the trainer

  // Every check has passed: from here on the run writes.
  if (parallel.lead) {
    lock->keep_directory();
    rewind_checkpoints(run_dir, resume.newer);
    write_file_atomic(run_dir / "config.yaml", recipe.saved_config());
  }
  if (step >= total_steps) {
    log::info("nothing to do: the run is already at step {} of {}", step, total_steps);
    return;
  }
  const auto peak = peak_flops(device, parallel.runtime.bf16_autocast, config.metrics.peak_flops);
  log::info("peak for MFU: {:.3g} FLOP/s per rank ({})", peak.flops_per_s, peak.how);
  // A fresh run logs from step 0 (an evaluation before training); a resumed one after its checkpoint.
  RunWriters writers = open_run_writers(parallel.lead, run_dir, config.metrics, config.checkpoint,
                                        step == 0 ? 0 : step + 1);
  const SaveContext save_context{parallel, *layout, config, schedule};
  auto log_line = [&](int64_t at, const Scalars& scalars) {
    if (writers.metrics) writers.metrics->log(at, scalars.items());
  };

  install_preemption_handlers();
  Progress progress(total_steps, peak.flops_per_s * double(mesh->world_size()));  // the job's peak
  progress.start(step);
  if (step == 0 && recipe.evaluation_due(0)) {
    Scalars scalars;
    recipe.evaluate(0, scalars);
    if (!scalars.empty()) log_line(0, scalars);
  }
  const auto fields = recipe.console_fields();
  IntervalScalars interval;
  while (step < total_steps) {
    const auto volume_before = mesh->volume();
    const auto step_start = Clock::now();
    auto report = recipe.step(step + 1);
    double step_flops = 0;
    for (const auto& [kind, flops] : report.flops) {
      totals.add_flops(kind, flops);
      step_flops += flops;
    }
    progress.add_step(report.trained ? report.tokens : 0, step_flops, seconds_since(step_start));
    if (!report.trained) continue;
    ++step;
    totals.tokens += report.tokens;
    if (mesh->world_size() > 1) add_volume_scalars(mesh->volume() - volume_before, report.scalars);
    interval.add(report.scalars);

    const bool evaluate = recipe.evaluation_due(step);
    const bool console = step % config.train.log_interval == 0 || step == 1 || step == total_steps || evaluate;
    if (console || recipe.log_every_step()) {
      auto scalars = interval.take();
      const auto rates = progress.mark();
      add_run_scalars(rates, totals, scalars);
      if (evaluate) recipe.evaluate(step, scalars);
      log_line(step, scalars);
      if (console) log::info("{}", progress.line(step, scalars, fields, rates));
    }
    const bool due = checkpoint_due(config.checkpoint, step, total_steps);
    const int signal = agreed_preemption_signal(*mesh->world, device);
    if (checkpoint_after_step(step, due, signal, [&] {
          save_run_checkpoint(save_context, writers, recipe, trainer, totals, step);
        })) {
      if (writers.metrics) writers.metrics->flush();
      return;  // checkpoint_after_step said how to continue
    }
  }
  if (writers.metrics) writers.metrics->flush();
  log::info("done: {} steps ({} optimizer updates), {} tokens, {:.3g} FLOPs{}, {} in this process", step, trainer.steps_done(), totals.tokens, totals.flops_total(), recipe.summary(),
            format_duration(progress.elapsed_s()));
}

}  // namespace ember::train
