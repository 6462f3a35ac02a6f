// The world and helpers of the distributed tests (see distributed_test_util.h).
#include "distributed_test_util.h"

#include <ATen/Parallel.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/randn.h>

namespace ember::distributed::testing {

std::shared_ptr<Communicator> world() {
  static std::shared_ptr<Communicator> communicator = [] {
    at::set_num_threads(1);
    MeshOptions options;
    options.timeout_s = 60;
    return Mesh::init(detect_launch_env(), options).world;
  }();
  return communicator;
}

bool tp_fits(int64_t tp) { return world()->size() % tp == 0; }

Mesh mesh_with_tp(int64_t tp) { return Mesh::over(world(), 0, tp); }

at::Tensor same_everywhere(at::IntArrayRef sizes, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(sizes, generator, at::TensorOptions().dtype(at::kDouble));
}

}  // namespace ember::distributed::testing
