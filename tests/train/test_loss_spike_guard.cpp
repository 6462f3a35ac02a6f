// Loss-spike guard: the z-score rule by hand, a full window before it acts, the window restored
// from saved state, and the trainer skipping spikes (and stopping after too many in a row).
#include <cmath>

#include <gtest/gtest.h>

#include <ATen/ops/ones.h>
#include <torch/nn/module.h>

#include "core/error.h"
#include "train/loss_spike_guard.h"
#include "train/trainer.h"

using ember::train::LossSpikeGuard;

TEST(LossSpikeGuard, FlagsALossFarAboveTheWindow) {
  LossSpikeGuard guard(3.0, 4);
  for (double l : {2.0, 2.2, 1.8, 2.0}) guard.accept(l);  // mean 2.0, std sqrt(0.02)
  EXPECT_LT(guard.spike_zscore(2.3), 0);                  // z = 2.12
  EXPECT_NEAR(guard.spike_zscore(2.5), 0.5 / std::sqrt(0.02), 1e-9);
  EXPECT_LT(guard.spike_zscore(1.0), 0);                  // a drop is never a spike
}

TEST(LossSpikeGuard, WaitsForAFullWindowAndCanBeOff) {
  LossSpikeGuard guard(3.0, 4);
  for (double l : {2.0, 2.2, 1.8}) guard.accept(l);
  EXPECT_LT(guard.spike_zscore(100.0), 0);
  LossSpikeGuard off(0.0, 4);
  for (double l : {2.0, 2.2, 1.8, 2.0}) off.accept(l);
  EXPECT_LT(off.spike_zscore(100.0), 0);
  EXPECT_TRUE(off.window().empty());
}

TEST(LossSpikeGuard, WindowSlidesAndRestores) {
  LossSpikeGuard guard(3.0, 3);
  for (double l : {5.0, 1.0, 1.1, 0.9}) guard.accept(l);
  EXPECT_EQ(guard.window(), (std::vector<double>{1.0, 1.1, 0.9}));
  LossSpikeGuard resumed(3.0, 3);
  resumed.restore(guard.window());
  EXPECT_EQ(resumed.spike_zscore(2.0), guard.spike_zscore(2.0));
  EXPECT_GT(resumed.spike_zscore(2.0), 0);
}

// ----------------------------------------------------------------------------- in the trainer

namespace {

/// A trainer over one parameter whose step loss is exactly the value given (zero gradient).
struct ScriptedLoss {
  ScriptedLoss() {
    module = std::make_shared<torch::nn::Module>();
    weight = module->register_parameter("w", at::ones({4}));
    ember::train::TrainConfig train;
    train.spike_zscore = 3.0;
    train.spike_window = 4;
    train.max_bad_steps = 2;
    ember::train::OptimConfig optim;
    optim.schedule = "constant";
    trainer = std::make_unique<ember::train::Trainer>(module, optim, train, 100);
  }
  ember::train::StepResult step(double loss) {
    return trainer->step(1, [&](int64_t) { return weight.mul(0.0).sum().add(loss); });
  }
  std::shared_ptr<torch::nn::Module> module;
  at::Tensor weight;
  std::unique_ptr<ember::train::Trainer> trainer;
};

}  // namespace

TEST(TrainerSpikeGuard, SkipsASpikeAndStopsAfterTooManyInARow) {
  ScriptedLoss run;
  for (double loss : {1.0, 1.1, 0.9, 1.0, 1.05}) EXPECT_FALSE(run.step(loss).skipped);
  EXPECT_TRUE(run.step(50.0).skipped);
  EXPECT_FALSE(run.step(1.0).skipped);
  EXPECT_EQ(run.trainer->steps_done(), 6);
  EXPECT_EQ(run.trainer->bad_steps_total(), 1);
  EXPECT_TRUE(run.step(60.0).skipped);
  try {
    run.step(70.0);
    FAIL() << "two spikes in a row should stop the run";
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss spike"), std::string::npos) << e.what();
  }
}
