// Sharded checkpoint saves against gathered ones, per rank: resident memory added by a save, and
// the time to save and to load. Run it under mpirun at the layout to measure, on CPU (fp32):
//
//   mpirun -np 4 checkpoint_bench --tp 2 --zero 1 --dir /tmp/ckpt_bench [model sizes]
//
//   gathered   what main did before sharding: every rank all-gathers the logical parameters and
//              AdamW moments (tp all-gathers, ZeRO-1 dp all-gathers), rank 0 writes them whole
//              (model.safetensors + optimizer.safetensors through the in-memory safetensors writer)
//   sharded    save_sharded_checkpoint: every rank streams its own slices
//   gathered-load  main's load of the gathered checkpoint (every rank reads every logical tensor)
//   load       what a resume does now: verify the sharded checkpoint, then Trainer::load (each rank
//              reads its own regions, one tensor at a time)
// The default model has 154M parameters (1.8 GB of fp32 state), the size issue 16 measured main at.
// Memory: VmHWM after resetting it (/proc/self/clear_refs "5") minus VmRSS before each phase; when
// the reset is not permitted a sampling thread records the peak of VmRSS instead. Each rank prints
// one line per phase and one JSON line at the end.
#include <atomic>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <ATen/ops/empty.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/reader.h"
#include "checkpoint/verify.h"
#include "checkpoint/writer.h"
#include "core/files.h"
#include "core/safetensors.h"
#include "core/sha256.h"
#include "distributed/launch_env.h"
#include "distributed/mesh.h"
#include "distributed/parallelize.h"
#include "distributed/zero1.h"
#include "model/flops.h"
#include "model/transformer.h"
#include "train/checkpoint.h"
#include "train/parallel_setup.h"
#include "train/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ember;

/// A field of /proc/self/status in bytes (VmRSS, VmHWM).
int64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

/// The peak resident memory over a phase, above what was resident when it began.
class PeakResident {
 public:
  PeakResident() : before_(status_bytes("VmRSS")) {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    hwm_reset_ = bool(clear) && status_bytes("VmHWM") <= before_ + (int64_t(4) << 20);
    if (!hwm_reset_) {
      sampler_ = std::thread([this] {
        while (!stop_) {
          peak_ = std::max<int64_t>(peak_, status_bytes("VmRSS"));
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      });
    }
  }
  ~PeakResident() { stop(); }
  /// Bytes above the start (and how they were measured).
  int64_t rise() {
    stop();
    const int64_t peak = hwm_reset_ ? status_bytes("VmHWM") : std::max<int64_t>(peak_, status_bytes("VmRSS"));
    return std::max<int64_t>(0, peak - before_);
  }
  const char* method() const { return hwm_reset_ ? "VmHWM reset" : "VmRSS sampled"; }

 private:
  void stop() {
    stop_ = true;
    if (sampler_.joinable()) sampler_.join();
  }
  int64_t before_;
  bool hwm_reset_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread sampler_;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
double mib(int64_t bytes) { return double(bytes) / double(1 << 20); }

/// main's save: gather every logical tensor on every rank, rank 0 writes them whole.
void gathered_save(const train::Trainer& trainer, const distributed::Mesh& mesh, const distributed::ParallelLayout& layout,
                   const distributed::Zero1* zero, const std::filesystem::path& dir) {
  const std::vector<std::string> suffixes = {".exp_avg", ".exp_avg_sq"};
  auto parameters = layout.gather_full(trainer.parameters());
  const auto local = zero ? zero->gather_state(trainer.optimizer_state(), suffixes) : trainer.optimizer_state();
  std::map<std::string, at::Tensor> optimizer;
  for (const auto& suffix : suffixes) {
    std::map<std::string, at::Tensor> by_parameter;
    for (const auto& [name, tensor] : parameters) {
      if (local.count(name + suffix)) by_parameter[name] = local.at(name + suffix);
    }
    for (const auto& [name, tensor] : layout.gather_full(by_parameter)) optimizer[name + suffix] = tensor;
  }
  if (mesh.rank() == 0) {
    make_directories(dir);
    for (const auto& [file, tensors] : {std::pair{"model.safetensors", &parameters}, {"optimizer.safetensors", &optimizer}}) {
      SafetensorsWriter writer;
      for (const auto& [name, tensor] : *tensors) {
        writer.add(name, "F32", tensor.sizes().vec(),
                   std::span(static_cast<const std::byte*>(tensor.data_ptr()), size_t(tensor.nbytes())));
      }
      writer.write(dir / file);
    }
  }
  mesh.world->barrier();
}

/// main's load: verify both files' SHA-256 (find_resume_checkpoint, then load_checkpoint), read
/// every logical tensor into memory, keep this rank's tp shard and ZeRO-1 pieces.
void gathered_load(train::Trainer& trainer, const distributed::ParallelLayout& layout, const distributed::Zero1* zero,
                   const std::filesystem::path& dir) {
  for (int pass = 0; pass < 2; ++pass) {
    for (const char* file : {"model.safetensors", "optimizer.safetensors"}) sha256_file((dir / file).string());
  }
  std::map<std::string, at::Tensor> full;
  for (const char* file : {"model.safetensors", "optimizer.safetensors"}) {
    const auto weights = SafetensorsFile::open(dir / file);
    for (const auto& name : weights.names()) {
      const TensorView& view = weights.get(name);
      at::Tensor tensor = at::empty(view.shape, at::kFloat);
      std::memcpy(tensor.data_ptr(), view.data, view.nbytes);
      full[name] = tensor;
    }
  }
  for (auto& [name, parameter] : trainer.parameters()) parameter.copy_(layout.shard_of(name, full.at(name)));
  std::map<std::string, at::Tensor> local;
  for (const auto& [name, tensor] : full) {
    for (const char* suffix : {".exp_avg", ".exp_avg_sq"}) {
      const std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        local[name] = layout.shard_of(name.substr(0, name.size() - s.size()), tensor);
      }
    }
  }
  const auto pieces = zero ? zero->scatter_state(local, {".exp_avg", ".exp_avg_sq"}) : local;
  for (auto& [name, state] : trainer.optimizer_state()) state.copy_(pieces.at(name).view(state.sizes()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sharded vs gathered checkpoint saves: resident memory and time per rank"};
  int64_t tp = 1, zero = 1;
  model::ModelConfig config;
  config.vocab_size = 32000;
  config.d_model = 768;
  config.n_layers = 12;
  config.n_heads = 12;
  config.n_kv_heads = 4;
  config.ffn_hidden = 3072;
  config.max_seq_len = 256;
  std::string dir = "/tmp/ember_checkpoint_bench";
  app.add_option("--tp", tp, "Tensor-parallel ranks (dp = world / tp)")->capture_default_str();
  app.add_option("--zero", zero, "ZeRO stage (0 or 1)")->capture_default_str();
  app.add_option("--vocab", config.vocab_size)->capture_default_str();
  app.add_option("--d-model", config.d_model)->capture_default_str();
  app.add_option("--layers", config.n_layers)->capture_default_str();
  app.add_option("--heads", config.n_heads)->capture_default_str();
  app.add_option("--kv-heads", config.n_kv_heads)->capture_default_str();
  app.add_option("--ffn", config.ffn_hidden)->capture_default_str();
  app.add_option("--dir", dir, "Scratch run directory (shared by the ranks)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const auto env = distributed::detect_launch_env();
    auto mesh = std::make_shared<distributed::Mesh>(distributed::Mesh::init(env, {0, tp, 600, false}));
    at::manual_seed(7);
    model::Transformer model(config);
    auto layout = std::make_shared<distributed::ParallelLayout>(
        distributed::parallelize(*model, *mesh, distributed::ParallelPlan::megatron()));
    train::Trainer trainer(model.ptr(), train::OptimConfig{}, train::TrainConfig{}, 10,
                           train::TrainerParallel{mesh, layout, zero, 25, true});
    std::unique_ptr<distributed::Zero1> zero_view;  // the same partition as the trainer's, to gather through
    if (zero) {
      distributed::NamedTensors trainable;
      for (const auto& item : model->named_parameters()) trainable.emplace_back(item.key(), item.value());
      zero_view = std::make_unique<distributed::Zero1>(trainable, mesh->dp_group);
    }
    int64_t state_bytes = 0, share_bytes = 0;
    for (const auto& [name, spec] : layout->shards) {
      int64_t n = 1;
      for (int64_t size : spec.full_shape) n *= size;
      state_bytes += 3 * n * 4;  // parameter + two moments, fp32
    }
    for (const auto& shard : trainer.checkpoint_shards()) share_bytes += shard.data.numel() * 4;

    nlohmann::json result = {{"rank", mesh->rank()}, {"dp", mesh->dp}, {"tp", mesh->tp}, {"zero", zero},
                             {"parameters", model::count_parameters(config)}, {"state_bytes", state_bytes},
                             {"written_bytes", share_bytes}};
    auto report = [&](const char* phase, double seconds, PeakResident& peak) {
      const int64_t rise = peak.rise();
      fmt::print("rank {} {:<13} {:7.2f} s  resident +{:8.1f} MiB ({})\n", mesh->rank(), phase, seconds, mib(rise),
                 peak.method());
      result[phase] = {{"seconds", seconds}, {"resident_rise_bytes", rise}};
    };
    {
      mesh->world->barrier();
      PeakResident peak;
      const auto start = Clock::now();
      gathered_save(trainer, *mesh, *layout, zero_view.get(), std::filesystem::path(dir) / "gathered");
      report("gathered", seconds_since(start), peak);
    }
    const checkpoint::CheckpointWriter writer(dir, 1);
    {
      mesh->world->barrier();
      PeakResident peak;
      const auto start = Clock::now();
      train::save_sharded_checkpoint(*mesh->world, c10::Device(c10::kCPU), trainer, writer, 1,
                                     [](checkpoint::Checkpoint&) {});
      report("sharded", seconds_since(start), peak);
    }
    {
      mesh->world->barrier();
      PeakResident peak;
      const auto start = Clock::now();
      gathered_load(trainer, *layout, zero_view.get(), std::filesystem::path(dir) / "gathered");
      report("gathered-load", seconds_since(start), peak);
    }
    {
      mesh->world->barrier();
      PeakResident peak;
      const auto start = Clock::now();
      const auto saved = std::filesystem::path(dir) / "checkpoints" / "step_000001";
      checkpoint::verify_checkpoint(saved);
      trainer.load(checkpoint::CheckpointReader(saved), 1);
      report("load", seconds_since(start), peak);
    }
    fmt::print("{}\n", result.dump());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "checkpoint_bench: {}\n", e.what());
    return 1;
  }
}
