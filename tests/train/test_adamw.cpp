// AdamW: a hand-computed step, the fused kernel against the plain reference, decay groups and
// state round trip.
#include <gtest/gtest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/equal.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "train/adamw.h"

using namespace ember::train;

namespace {

at::Tensor leaf(at::Tensor t) { return t.set_requires_grad(true); }

}  // namespace

TEST(AdamW, OneStepByHand) {
  for (bool fused : {false, true}) {
    auto p = leaf(at::full({1}, 1.0));
    p.mutable_grad() = at::full({1}, 0.5);
    AdamW optimizer({{"w", p, true}}, AdamWOptions{0.9, 0.95, 1e-8, 0.1, fused});
    optimizer.step(0.1);
    // decay: 1 * (1 - 0.1 * 0.1) = 0.99; m_hat = 0.5, v_hat = 0.25; update = 0.1 * 0.5 / 0.5
    EXPECT_NEAR(p.item<float>(), 0.89, 1e-6) << "fused=" << fused;
  }
}

TEST(AdamW, NoDecayGroupSkipsWeightDecay) {
  auto p = leaf(at::full({1}, 1.0));
  p.mutable_grad() = at::zeros({1});
  AdamW optimizer({{"norm.weight", p, false}}, AdamWOptions{0.9, 0.95, 1e-8, 0.5, true});
  optimizer.step(0.1);
  EXPECT_FLOAT_EQ(p.item<float>(), 1.0f);
}

TEST(AdamW, FusedMatchesPlainOverSteps) {
  at::manual_seed(0);
  auto a0 = at::randn({8, 5}), b0 = at::randn({5});
  auto a1 = leaf(a0.clone()), b1 = leaf(b0.clone());
  auto a2 = leaf(a0.clone()), b2 = leaf(b0.clone());
  AdamW plain({{"a", a1, true}, {"b", b1, false}}, AdamWOptions{0.9, 0.95, 1e-8, 0.1, false});
  AdamW fused({{"a", a2, true}, {"b", b2, false}}, AdamWOptions{0.9, 0.95, 1e-8, 0.1, true});
  for (int step = 0; step < 10; ++step) {
    auto ga = at::randn({8, 5}), gb = at::randn({5});
    a1.mutable_grad() = ga.clone(); b1.mutable_grad() = gb.clone();
    a2.mutable_grad() = ga.clone(); b2.mutable_grad() = gb.clone();
    plain.step(1e-2);
    fused.step(1e-2);
  }
  EXPECT_TRUE(at::allclose(a1, a2, 1e-6, 1e-7));
  EXPECT_TRUE(at::allclose(b1, b2, 1e-6, 1e-7));
}

TEST(AdamW, StateRoundTripContinuesIdentically) {
  at::manual_seed(1);
  auto w1 = leaf(at::randn({4, 4}));
  auto w2 = leaf(w1.detach().clone());
  AdamW first({{"w", w1, true}}, AdamWOptions{});
  auto g = at::randn({4, 4});
  w1.mutable_grad() = g.clone();
  first.step(1e-2);
  {
    c10::NoGradGuard no_grad;
    w2.copy_(w1);
  }
  AdamW second({{"w", w2, true}}, AdamWOptions{});
  const auto saved = first.state();
  second.load_state([&](const std::string& key) { return saved.at(key); }, first.steps_taken());
  w1.mutable_grad() = g.clone();
  w2.mutable_grad() = g.clone();
  first.step(1e-2);
  second.step(1e-2);
  EXPECT_TRUE(at::equal(w1, w2));
}

TEST(AdamW, MisshapenStateIsAClearError) {
  auto w = leaf(at::randn({2}));
  AdamW optimizer({{"layer.w", w, true}}, AdamWOptions{});
  try {
    optimizer.load_state([](const std::string&) { return at::zeros({3}); }, 3);
    FAIL();
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer.w.exp_avg"), std::string::npos);
  }
}
