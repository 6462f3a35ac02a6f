// NCCL collectives on the current CUDA stream (async ones on a side stream), with async error and
// timeout polling (see nccl_communicator.h).
#include "distributed/nccl_communicator.h"

#include "core/error.h"

#if EMBER_HAVE_NCCL

#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAStream.h>
#include <fmt/format.h>

namespace ember::distributed {
namespace {

ncclDataType_t nccl_type(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kInt: return ncclInt32;
    case at::kLong: return ncclInt64;
    case at::kChar: return ncclInt8;
    case at::kByte:
    case at::kBool: return ncclUint8;
    default: fail("the NCCL backend does not move {} tensors", c10::toString(dtype));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return ncclSum;
    case ReduceOp::avg: return ncclAvg;
    case ReduceOp::max: return ncclMax;
  }
  return ncclSum;
}

/// A collective enqueued on a stream and the event that completes after it.
struct Pending {
  cudaEvent_t done;
  std::chrono::steady_clock::time_point deadline;
  std::string what;
};

/// An all-reduce enqueued on the side stream: wait() orders the caller's current stream after it.
class SideStreamCollective : public PendingCollective {
 public:
  SideStreamCollective(cudaEvent_t done, at::Tensor tensor, int device, std::string what)
      : done_(done), tensor_(std::move(tensor)), device_(device), what_(std::move(what)) {}
  ~SideStreamCollective() override { cudaEventDestroy(done_); }

  void wait() override {
    auto stream = c10::cuda::getCurrentCUDAStream(c10::DeviceIndex(device_)).stream();
    const cudaError_t result = cudaStreamWaitEvent(stream, done_, 0);
    if (result != cudaSuccess) fail("{}: CUDA error: {}", what_, cudaGetErrorString(result));
  }

 private:
  cudaEvent_t done_;
  at::Tensor tensor_;  ///< alive until the handle goes; recordStream covers an earlier release
  int device_;
  std::string what_;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, int device, const std::string& name, std::shared_ptr<Watchdog> watchdog)
      : Communicator(name, comm_rank(comm), comm_count(comm)), comm_(comm), device_(device),
        watchdog_(std::move(watchdog)) {
    if (watchdog_) poll_ = watchdog_->add_poll([this] { return poll(); });
  }

  ~NcclCommunicator() override {
    if (watchdog_) watchdog_->remove_poll(poll_);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& p : pending_) cudaEventDestroy(p.done);
    if (async_done_) cudaEventDestroy(async_done_);
    ncclCommFinalize(comm_);
    ncclCommDestroy(comm_);
  }

  const char* backend() const override { return "nccl"; }

  std::shared_ptr<Communicator> split(int color, int key, const std::string& name) override {
    ncclComm_t child = nullptr;
    check(ncclCommSplit(comm_, color, key, &child, nullptr), "split");
    return std::make_shared<NcclCommunicator>(child, device_, name, watchdog_);
  }

 protected:
  void run_all_reduce(const at::Tensor& tensor, ReduceOp op) override {
    auto stream = stream_for(tensor, "all_reduce");
    after_async(stream, "all_reduce");
    check(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), size_t(tensor.numel()), nccl_type(tensor.scalar_type()),
                        nccl_op(op), comm_, stream),
          "all_reduce");
    enqueued("all_reduce", stream);
  }

  void run_all_gather(const at::Tensor& input, const at::Tensor& output) override {
    auto stream = stream_for(input, "all_gather");
    stream_for(output, "all_gather");
    after_async(stream, "all_gather");
    check(ncclAllGather(input.data_ptr(), output.data_ptr(), size_t(input.numel()), nccl_type(input.scalar_type()),
                        comm_, stream),
          "all_gather");
    enqueued("all_gather", stream);
  }

  void run_reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op) override {
    auto stream = stream_for(input, "reduce_scatter");
    stream_for(output, "reduce_scatter");
    after_async(stream, "reduce_scatter");
    check(ncclReduceScatter(input.data_ptr(), output.data_ptr(), size_t(output.numel()),
                            nccl_type(input.scalar_type()), nccl_op(op), comm_, stream),
          "reduce_scatter");
    enqueued("reduce_scatter", stream);
  }

  void run_broadcast(const at::Tensor& tensor, int root) override {
    auto stream = stream_for(tensor, "broadcast");
    after_async(stream, "broadcast");
    check(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), size_t(tensor.numel()), nccl_type(tensor.scalar_type()),
                        root, comm_, stream),
          "broadcast");
    enqueued("broadcast", stream);
  }

  void run_barrier() override {
    // A one-element all-reduce, waited for on the host.
    auto token = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA, device_));
    auto stream = stream_for(token, "barrier");
    after_async(stream, "barrier");
    check(ncclAllReduce(token.data_ptr(), token.data_ptr(), 1, ncclFloat32, ncclSum, comm_, stream), "barrier");
    enqueued("barrier", stream);
    check_cuda(cudaStreamSynchronize(stream), "barrier");
  }

  std::unique_ptr<PendingCollective> run_all_reduce_async(const at::Tensor& tensor, ReduceOp op) override {
    const cudaStream_t compute = stream_for(tensor, "all_reduce");
    if (!side_stream_) side_stream_ = c10::cuda::getStreamFromPool(/*isHighPriority=*/true, c10::DeviceIndex(device_));
    const cudaStream_t side = side_stream_->stream();
    // The side stream starts once the compute that produced the tensor is done (no host sync).
    cudaEvent_t produced = new_event("all_reduce");
    check_cuda(cudaEventRecord(produced, compute), "all_reduce");
    check_cuda(cudaStreamWaitEvent(side, produced, 0), "all_reduce");
    check_cuda(cudaEventDestroy(produced), "all_reduce");  // released once the wait is done
    check(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), size_t(tensor.numel()), nccl_type(tensor.scalar_type()),
                        nccl_op(op), comm_, side),
          "all_reduce");
    enqueued("all_reduce", side);
    // The caching allocator must not hand the memory to the compute stream before the side is done.
    c10::cuda::CUDACachingAllocator::recordStream(tensor.storage().data_ptr(), *side_stream_);
    cudaEvent_t done = new_event("all_reduce");
    check_cuda(cudaEventRecord(done, side), "all_reduce");
    if (!async_done_) async_done_ = new_event("all_reduce");
    check_cuda(cudaEventRecord(async_done_, side), "all_reduce");
    return std::make_unique<SideStreamCollective>(done, tensor, device_, fmt::format("all_reduce on {}", describe()));
  }

 private:
  static int comm_rank(ncclComm_t comm) {
    int rank = 0;
    if (ncclCommUserRank(comm, &rank) != ncclSuccess) fail("ncclCommUserRank failed");
    return rank;
  }
  static int comm_count(ncclComm_t comm) {
    int count = 0;
    if (ncclCommCount(comm, &count) != ncclSuccess) fail("ncclCommCount failed");
    return count;
  }

  cudaStream_t stream_for(const at::Tensor& t, const char* collective) const {
    if (!t.is_cuda() || t.get_device() != device_) {
      fail_collective(collective, fmt::format("the NCCL backend needs tensors on cuda:{}, got one on {}", device_,
                                              t.device().str()));
    }
    return c10::cuda::getCurrentCUDAStream(c10::DeviceIndex(device_)).stream();
  }

  void check(ncclResult_t result, const char* collective) const {
    if (result == ncclSuccess) return;
    fail_collective(collective, fmt::format("NCCL error {} ({}): {}", int(result), ncclGetErrorString(result),
                                            ncclGetLastError(comm_)));
  }

  void check_cuda(cudaError_t result, const char* collective) const {
    if (result == cudaSuccess) return;
    fail_collective(collective, fmt::format("CUDA error: {}", cudaGetErrorString(result)));
  }

  cudaEvent_t new_event(const char* collective) const {
    cudaEvent_t event = nullptr;
    check_cuda(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), collective);
    return event;
  }

  /// A blocking collective enqueued on `stream` runs after every async one made before it.
  void after_async(cudaStream_t stream, const char* collective) const {
    if (async_done_) check_cuda(cudaStreamWaitEvent(stream, async_done_, 0), collective);
  }

  /// Records the completion event the watchdog polls.
  void enqueued(const char* collective, cudaStream_t stream) {
    if (!watchdog_) return;
    cudaEvent_t done = nullptr;
    check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), collective);
    check_cuda(cudaEventRecord(done, stream), collective);
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(watchdog_->timeout_s()));
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back({done, deadline, fmt::format("{} on {} [nccl]", collective, describe())});
  }

  /// Runs on the watchdog thread: an async NCCL error or an overdue collective ends the job.
  std::optional<std::string> poll() {
    ncclResult_t async_error = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async_error);
    if (async_error != ncclSuccess && async_error != ncclInProgress) {
      ncclCommAbort(comm_);
      return fmt::format("NCCL reported error {} ({}) on {}", int(async_error), ncclGetErrorString(async_error),
                         describe());
    }
    cudaSetDevice(device_);
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      const cudaError_t state = cudaEventQuery(it->done);
      if (state == cudaSuccess) {
        cudaEventDestroy(it->done);
        it = pending_.erase(it);
      } else if (state == cudaErrorNotReady && it->deadline > now) {
        ++it;
      } else {
        std::string what = it->what;
        ncclCommAbort(comm_);
        return state == cudaErrorNotReady
                   ? fmt::format("{} did not finish within {} s (parallel.timeout_s): a rank stopped, crashed or "
                                 "diverged; ending the job",
                                 what, watchdog_->timeout_s())
                   : fmt::format("{} failed on the GPU: {}", what, cudaGetErrorString(state));
      }
    }
    return std::nullopt;
  }

  ncclComm_t comm_;
  int device_;
  std::shared_ptr<Watchdog> watchdog_;
  int64_t poll_ = 0;
  std::mutex mutex_;
  std::deque<Pending> pending_;
  std::optional<c10::cuda::CUDAStream> side_stream_;  ///< async collectives, in call order
  cudaEvent_t async_done_ = nullptr;                  ///< recorded after the latest async collective
};

}  // namespace

bool nccl_built() { return true; }

std::shared_ptr<Communicator> make_nccl_world(Communicator& bootstrap, int device_index,
                                              std::shared_ptr<Watchdog> watchdog) {
  if (cudaSetDevice(device_index) != cudaSuccess) {
    fail("rank {}: cannot use GPU {} for NCCL: {}", bootstrap.rank(), device_index,
         cudaGetErrorString(cudaGetLastError()));
  }
  ncclUniqueId id;
  if (bootstrap.rank() == 0 && ncclGetUniqueId(&id) != ncclSuccess) fail("rank 0: ncclGetUniqueId failed");
  auto id_bytes = at::empty({int64_t(sizeof(id))}, at::TensorOptions().dtype(at::kByte));
  if (bootstrap.rank() == 0) std::memcpy(id_bytes.data_ptr(), &id, sizeof(id));
  bootstrap.broadcast(id_bytes, 0);
  std::memcpy(&id, id_bytes.data_ptr(), sizeof(id));
  ncclComm_t comm = nullptr;
  const ncclResult_t result = ncclCommInitRank(&comm, bootstrap.size(), id, bootstrap.rank());
  if (result != ncclSuccess) {
    fail("ncclCommInitRank on group 'world' (rank {} of {}, GPU {}) failed: {} {}", bootstrap.rank(), bootstrap.size(),
         device_index, ncclGetErrorString(result), ncclGetLastError(nullptr));
  }
  return std::make_shared<NcclCommunicator>(comm, device_index, "world", std::move(watchdog));
}

}  // namespace ember::distributed

#else

namespace ember::distributed {

bool nccl_built() { return false; }

std::shared_ptr<Communicator> make_nccl_world(Communicator&, int, std::shared_ptr<Watchdog>) {
  fail("this Ember was built without NCCL (needs the CUDA toolkit and nccl.h at configure time)");
}

}  // namespace ember::distributed

#endif
