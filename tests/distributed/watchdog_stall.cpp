// The watchdog test program, run under mpirun: every rank but the last all-reduces while the last
// rank stops participating (it sleeps). The watchdog must end the whole job after
// parallel.timeout_s (argv[1]) with a message naming the collective and the rank, for a blocking
// all-reduce and (argv[2] = "async") for an async one waited for later (the overlapped gradient
// buckets' path).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <ATen/Parallel.h>
#include <ATen/ops/ones.h>

#include "distributed/mesh.h"

int main(int argc, char** argv) {
  using namespace ember::distributed;
  at::set_num_threads(1);
  MeshOptions options;
  options.timeout_s = argc > 1 ? std::atof(argv[1]) : 2.0;
  auto mesh = Mesh::init(detect_launch_env(), options);
  if (mesh.rank() == mesh.world_size() - 1) {
    std::this_thread::sleep_for(std::chrono::seconds(120));
  } else {
    auto t = at::ones({4});
    if (argc > 2 && std::strcmp(argv[2], "async") == 0) {
      mesh.world->all_reduce_async(t)->wait();
    } else {
      mesh.world->all_reduce(t);
    }
  }
  std::printf("rank %d: the collective finished; the watchdog did not fire\n", mesh.rank());
  return 0;
}
