// The Communicator: collectives over a group of ranks, with MPI (mpi_communicator.h), NCCL
// (nccl_communicator.h) and a size-1 no-op backend (here) behind one interface.
//
// Conventions: collectives run along dim 0 of contiguous buffers and every rank of the group calls
// them in the same order with tensors of the same shape and dtype.
//   all_reduce(t, op)          t <- op over ranks of t                  (in place; op sum, avg, max)
//   all_gather(in, out)        out = cat(in_0, ..., in_{p-1})           out.size(0) = p * in.size(0)
//   reduce_scatter(in, out)    out = slice r of (op over ranks of in)   in.size(0) = p * out.size(0)
//   broadcast(t, root)         t <- t_root                              (in place)
//   all_reduce_async(t, op)    all_reduce, started now, finished by the handle's wait()
// The public calls are not virtual: they validate shapes (errors name the collective, the group and
// the rank), count the bytes moved (CommVolume, logged per step by the trainer), make
// non-contiguous tensors contiguous, and skip all work when the group has one rank.
//
// Async collectives overlap communication with the caller's compute (the dp gradient buckets with
// backward, grad_sync.h). A group runs its async calls in call order, and a blocking call of the
// same group waits for the async calls before it, so each rank's sequence of collectives on a group
// is its call order, as MPI and NCCL require. MPI runs them on a communication thread
// (comm_thread.h), NCCL on a side stream; backends without either run them at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <ATen/Tensor.h>

namespace ember::distributed {

enum class ReduceOp { sum, avg, max };

enum class Collective { all_reduce, all_gather, reduce_scatter, broadcast };
constexpr int kCollectiveKinds = 4;
const char* collective_name(Collective kind);

/// Payload bytes and calls per collective kind (all_reduce: the tensor; all_gather: the gathered
/// output; reduce_scatter: the input; broadcast: the tensor). Groups of one rank count nothing.
struct CommVolume {
  std::array<int64_t, kCollectiveKinds> bytes{};
  std::array<int64_t, kCollectiveKinds> calls{};

  int64_t total_bytes() const;
  CommVolume& operator+=(const CommVolume& other);
  /// The volume since an earlier snapshot (per-step logging: `now - at_step_start`).
  CommVolume operator-(const CommVolume& earlier) const;
};

/// A collective started by an *_async call. wait() returns once the caller may use the result (MPI:
/// the data is in the tensor; NCCL: the caller's current stream is ordered after the collective, no
/// host sync) and rethrows the collective's error. The backend keeps the tensor alive until the
/// collective ends, whether it is waited for or not; wait() before reading or writing the tensor.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  Communicator(std::string name, int rank, int size);
  virtual ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& name() const { return name_; }
  /// A process-unique id; autograd functions store it and find the communicator again in backward.
  int64_t id() const { return id_; }
  /// "group 'tp' (rank 1 of 2)": the phrase every error message uses.
  std::string describe() const;
  /// The backend: "solo", "mpi" or "nccl".
  virtual const char* backend() const = 0;

  void all_reduce(const at::Tensor& tensor, ReduceOp op = ReduceOp::sum);
  void all_gather(const at::Tensor& input, const at::Tensor& output);
  void reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op = ReduceOp::sum);
  void broadcast(const at::Tensor& tensor, int root);
  void barrier();

  /// all_reduce started now and finished by wait() (see the top). The tensor must be contiguous.
  /// Counted like all_reduce; with one rank it returns a finished no-op.
  std::unique_ptr<PendingCollective> all_reduce_async(const at::Tensor& tensor, ReduceOp op = ReduceOp::sum);

  /// All-gather along any dim: [.., n, ..] -> [.., p*n, ..] (a new tensor).
  at::Tensor gather_along(const at::Tensor& input, int64_t dim);
  /// Reduce-scatter along any dim: [.., p*n, ..] -> this rank's [.., n, ..] of the reduction.
  at::Tensor reduce_scatter_along(const at::Tensor& input, int64_t dim, ReduceOp op = ReduceOp::sum);

  /// Splits this group (a collective over it): ranks passing the same color form a new group,
  /// ordered by key. Children share the parent's backend and watchdog.
  virtual std::shared_ptr<Communicator> split(int color, int key, const std::string& name) = 0;

  const CommVolume& volume() const { return volume_; }

 protected:
  // Backends see contiguous tensors of validated shapes on a group of two or more ranks.
  virtual void run_all_reduce(const at::Tensor& tensor, ReduceOp op) = 0;
  virtual void run_all_gather(const at::Tensor& input, const at::Tensor& output) = 0;
  virtual void run_reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op) = 0;
  virtual void run_broadcast(const at::Tensor& tensor, int root) = 0;
  virtual void run_barrier() = 0;
  /// Default: runs run_all_reduce at once (a backend that cannot overlap).
  virtual std::unique_ptr<PendingCollective> run_all_reduce_async(const at::Tensor& tensor, ReduceOp op);

  /// A handle with nothing left to wait for.
  static std::unique_ptr<PendingCollective> finished();

  /// Throws ember::Error: "<collective> on group 'g' (rank r of p): <why>".
  [[noreturn]] void fail_collective(const char* collective, const std::string& why) const;

 private:
  void count(Collective kind, const at::Tensor& payload);
  /// avg needs a floating-point tensor.
  void check_reduce_op(const char* collective, const at::Tensor& tensor, ReduceOp op) const;

  std::string name_;
  int rank_;
  int size_;
  int64_t id_;
  CommVolume volume_;
};

/// A group of one rank: every collective is the identity (no MPI needed).
std::shared_ptr<Communicator> make_solo_communicator(const std::string& name = "solo");

/// The live communicator with this id; throws ember::Error when it was destroyed.
Communicator& communicator_by_id(int64_t id);

}  // namespace ember::distributed
