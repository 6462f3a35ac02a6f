// MPI collectives on (host-staged) tensors (see mpi_communicator.h).
#include "distributed/mpi_communicator.h"

#include "core/error.h"
#include "distributed/comm_thread.h"
#include "distributed/mpi_runtime.h"

#if EMBER_HAVE_MPI

#include <atomic>
#include <limits>
#include <mutex>
#include <optional>

#include <mpi.h>

#include <ATen/ops/empty.h>
#include <fmt/format.h>

#include "core/log.h"

namespace ember::distributed {
namespace {

/// The MPI type that reduces `dtype` elementwise; 16-bit floats are reduced as fp32.
MPI_Datatype reduction_type(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kInt: return MPI_INT32_T;
    case at::kLong: return MPI_INT64_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kChar: return MPI_INT8_T;
    default: return MPI_DATATYPE_NULL;
  }
}

bool reduced_as_float(c10::ScalarType dtype) { return dtype == at::kHalf || dtype == at::kBFloat16; }

MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::max ? MPI_MAX : MPI_SUM; }

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, const std::string& name, std::shared_ptr<Watchdog> watchdog)
      : Communicator(name, comm_rank(comm), comm_size(comm)), comm_(comm), watchdog_(std::move(watchdog)) {}

  ~MpiCommunicator() override {
    comm_thread_.reset();  // its queued collectives run first
    if (mpi_running()) MPI_Comm_free(&comm_);
  }

  const char* backend() const override { return "mpi"; }

  std::shared_ptr<Communicator> split(int color, int key, const std::string& name) override {
    wait_for_async();
    MPI_Comm child = MPI_COMM_NULL;
    {
      auto scope = watch("split");
      check(MPI_Comm_split(comm_, color, key, &child), "split");
    }
    check(MPI_Comm_set_errhandler(child, MPI_ERRORS_RETURN), "split");
    return std::make_shared<MpiCommunicator>(child, name, watchdog_);
  }

 protected:
  void run_all_reduce(const at::Tensor& tensor, ReduceOp op) override {
    wait_for_async();
    all_reduce_now(tensor, op);
  }

  std::unique_ptr<PendingCollective> run_all_reduce_async(const at::Tensor& tensor, ReduceOp op) override {
    if (!mpi_thread_multiple()) {
      static std::atomic<bool> logged{false};
      if (!logged.exchange(true)) {
        log::info("MPI does not grant MPI_THREAD_MULTIPLE: async all-reduces run at once, without overlap");
      }
      return Communicator::run_all_reduce_async(tensor, op);
    }
    std::call_once(comm_thread_started_, [this] { comm_thread_ = std::make_unique<CommThread>(); });
    // The job holds the tensor until it ran.
    return comm_thread_->submit([this, tensor, op] { all_reduce_now(tensor, op); });
  }

  void run_all_gather(const at::Tensor& input, const at::Tensor& output) override {
    wait_for_async();
    auto host_in = staged(input, false);
    auto host_out = staged(output, false, /*copy=*/false);
    const int bytes = int_count(host_in.numel() * int64_t(host_in.element_size()), "all_gather");
    {
      auto scope = watch("all_gather");
      check(MPI_Allgather(host_in.data_ptr(), bytes, MPI_BYTE, host_out.data_ptr(), bytes, MPI_BYTE, comm_),
            "all_gather");
    }
    unstage(host_out, output);
  }

  void run_reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op) override {
    wait_for_async();
    const bool as_float = reduced_as_float(input.scalar_type());
    auto host_in = staged(input, as_float);
    auto host_out = staged(output, as_float, /*copy=*/false);
    const MPI_Datatype type = checked_reduction_type(host_in, "reduce_scatter");
    {
      auto scope = watch("reduce_scatter");
      check(MPI_Reduce_scatter_block(host_in.data_ptr(), host_out.data_ptr(),
                                     int_count(host_out.numel(), "reduce_scatter"), type, mpi_op(op), comm_),
            "reduce_scatter");
    }
    if (op == ReduceOp::avg) host_out.div_(size());
    unstage(host_out, output);
  }

  void run_broadcast(const at::Tensor& tensor, int root) override {
    wait_for_async();
    auto host = staged(tensor, false);
    {
      auto scope = watch("broadcast");
      check(MPI_Bcast(host.data_ptr(), int_count(host.numel() * int64_t(host.element_size()), "broadcast"), MPI_BYTE,
                      root, comm_),
            "broadcast");
    }
    unstage(host, tensor);
  }

  void run_barrier() override {
    wait_for_async();
    auto scope = watch("barrier");
    check(MPI_Barrier(comm_), "barrier");
  }

 private:
  /// A blocking all-reduce (on the caller's thread or as a communication-thread job).
  void all_reduce_now(const at::Tensor& tensor, ReduceOp op) {
    auto host = staged(tensor, reduced_as_float(tensor.scalar_type()));
    const MPI_Datatype type = checked_reduction_type(host, "all_reduce");
    {
      auto scope = watch("all_reduce");
      check(MPI_Allreduce(MPI_IN_PLACE, host.data_ptr(), int_count(host.numel(), "all_reduce"), type, mpi_op(op), comm_),
            "all_reduce");
    }
    if (op == ReduceOp::avg) host.div_(size());
    unstage(host, tensor);
  }

  /// Blocking calls come after the async ones already made (the order every rank shares).
  void wait_for_async() {
    if (comm_thread_) comm_thread_->drain();
  }

  static int comm_rank(MPI_Comm comm) {
    int rank = 0;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS) fail("MPI_Comm_rank failed");
    return rank;
  }
  static int comm_size(MPI_Comm comm) {
    int size = 0;
    if (MPI_Comm_size(comm, &size) != MPI_SUCCESS) fail("MPI_Comm_size failed");
    return size;
  }

  std::optional<Watchdog::Scope> watch(const char* collective) {
    if (!watchdog_) return std::nullopt;
    return watchdog_->watch(fmt::format("{} on {} [mpi]", collective, describe()));
  }

  void check(int code, const char* collective) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    fail_collective(collective, fmt::format("MPI error {}: {}", code, std::string(text, size_t(length))));
  }

  int int_count(int64_t count, const char* collective) const {
    if (count > std::numeric_limits<int>::max()) {
      fail_collective(collective, fmt::format("{} elements exceed MPI's int count; use smaller buckets", count));
    }
    return int(count);
  }

  MPI_Datatype checked_reduction_type(const at::Tensor& host, const char* collective) const {
    MPI_Datatype type = reduction_type(host.scalar_type());
    if (type == MPI_DATATYPE_NULL) {
      fail_collective(collective, fmt::format("dtype {} cannot be reduced over MPI", c10::toString(host.scalar_type())));
    }
    return type;
  }

  /// A contiguous CPU tensor holding `t` (itself when already one), fp32 when `as_float`.
  static at::Tensor staged(const at::Tensor& t, bool as_float, bool copy = true) {
    auto dtype = as_float ? at::kFloat : t.scalar_type();
    if (t.is_cpu() && t.scalar_type() == dtype) return t;
    if (!copy) return at::empty(t.sizes(), t.options().device(at::kCPU).dtype(dtype));
    return t.to(at::kCPU, dtype).contiguous();
  }

  static void unstage(const at::Tensor& host, const at::Tensor& target) {
    if (!host.is_same(target)) target.copy_(host);
  }

  MPI_Comm comm_;
  std::shared_ptr<Watchdog> watchdog_;
  std::once_flag comm_thread_started_;
  std::unique_ptr<CommThread> comm_thread_;  ///< runs the async collectives, from the first one
};

}  // namespace

std::shared_ptr<Communicator> make_mpi_world(std::shared_ptr<Watchdog> watchdog) {
  mpi_start();
  MPI_Comm world = MPI_COMM_NULL;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &world) != MPI_SUCCESS) fail("MPI_Comm_dup of MPI_COMM_WORLD failed");
  MPI_Comm_set_errhandler(world, MPI_ERRORS_RETURN);
  return std::make_shared<MpiCommunicator>(world, "world", std::move(watchdog));
}

}  // namespace ember::distributed

#else

namespace ember::distributed {

std::shared_ptr<Communicator> make_mpi_world(std::shared_ptr<Watchdog>) {
  mpi_start();  // throws: not built
  return nullptr;
}

}  // namespace ember::distributed

#endif
