// Validation, counting and the size-1 backend shared by every Communicator (see communicator.h).
#include "distributed/communicator.h"

#include <map>
#include <mutex>

#include <ATen/ops/empty.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace ember::distributed {
namespace {

std::mutex registry_mutex;
std::map<int64_t, Communicator*>& registry() {
  static std::map<int64_t, Communicator*> communicators;
  return communicators;
}
int64_t next_id = 1;

int64_t payload_bytes(const at::Tensor& t) { return t.numel() * int64_t(t.element_size()); }

/// Runs `body` on a contiguous version of `t` and copies the result back when a copy was needed.
template <typename Body>
void in_place_contiguous(const at::Tensor& t, Body body) {
  if (t.is_contiguous()) {
    body(t);
    return;
  }
  auto buffer = t.contiguous();
  body(buffer);
  t.copy_(buffer);
}

class FinishedCollective : public PendingCollective {
 public:
  void wait() override {}
};

class SoloCommunicator : public Communicator {
 public:
  explicit SoloCommunicator(const std::string& name) : Communicator(name, 0, 1) {}
  const char* backend() const override { return "solo"; }
  std::shared_ptr<Communicator> split(int color, int key, const std::string& name) override {
    return make_solo_communicator(name);
  }

 protected:
  // Never called: the public calls return early for one rank.
  void run_all_reduce(const at::Tensor&, ReduceOp) override {}
  void run_all_gather(const at::Tensor&, const at::Tensor&) override {}
  void run_reduce_scatter(const at::Tensor&, const at::Tensor&, ReduceOp) override {}
  void run_broadcast(const at::Tensor&, int) override {}
  void run_barrier() override {}
};

}  // namespace

const char* collective_name(Collective kind) {
  switch (kind) {
    case Collective::all_reduce: return "all_reduce";
    case Collective::all_gather: return "all_gather";
    case Collective::reduce_scatter: return "reduce_scatter";
    case Collective::broadcast: return "broadcast";
  }
  return "collective";
}

int64_t CommVolume::total_bytes() const {
  int64_t total = 0;
  for (auto b : bytes) total += b;
  return total;
}

CommVolume& CommVolume::operator+=(const CommVolume& other) {
  for (int k = 0; k < kCollectiveKinds; ++k) {
    bytes[size_t(k)] += other.bytes[size_t(k)];
    calls[size_t(k)] += other.calls[size_t(k)];
  }
  return *this;
}

CommVolume CommVolume::operator-(const CommVolume& earlier) const {
  CommVolume difference = *this;
  for (int k = 0; k < kCollectiveKinds; ++k) {
    difference.bytes[size_t(k)] -= earlier.bytes[size_t(k)];
    difference.calls[size_t(k)] -= earlier.calls[size_t(k)];
  }
  return difference;
}

Communicator::Communicator(std::string name, int rank, int size) : name_(std::move(name)), rank_(rank), size_(size) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  id_ = next_id++;
  registry()[id_] = this;
}

Communicator::~Communicator() {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry().erase(id_);
}

std::string Communicator::describe() const { return fmt::format("group '{}' (rank {} of {})", name_, rank_, size_); }

void Communicator::fail_collective(const char* collective, const std::string& why) const {
  fail("{} on {}: {}", collective, describe(), why);
}

void Communicator::count(Collective kind, const at::Tensor& payload) {
  volume_.bytes[size_t(kind)] += payload_bytes(payload);
  volume_.calls[size_t(kind)] += 1;
}

void Communicator::check_reduce_op(const char* collective, const at::Tensor& tensor, ReduceOp op) const {
  if (op == ReduceOp::avg && !at::isFloatingType(tensor.scalar_type())) {
    fail_collective(collective, fmt::format("avg needs a floating-point tensor, got {}", c10::toString(tensor.scalar_type())));
  }
}

void Communicator::all_reduce(const at::Tensor& tensor, ReduceOp op) {
  check_reduce_op("all_reduce", tensor, op);
  if (size_ == 1) return;
  count(Collective::all_reduce, tensor);
  in_place_contiguous(tensor, [&](const at::Tensor& t) { run_all_reduce(t, op); });
}

std::unique_ptr<PendingCollective> Communicator::all_reduce_async(const at::Tensor& tensor, ReduceOp op) {
  check_reduce_op("all_reduce", tensor, op);
  if (!tensor.is_contiguous()) fail_collective("all_reduce", "an async all_reduce needs a contiguous tensor");
  if (size_ == 1) return finished();
  count(Collective::all_reduce, tensor);
  return run_all_reduce_async(tensor, op);
}

std::unique_ptr<PendingCollective> Communicator::run_all_reduce_async(const at::Tensor& tensor, ReduceOp op) {
  run_all_reduce(tensor, op);
  return finished();
}

std::unique_ptr<PendingCollective> Communicator::finished() { return std::make_unique<FinishedCollective>(); }

void Communicator::all_gather(const at::Tensor& input, const at::Tensor& output) {
  if (input.dim() == 0 || output.dim() != input.dim() || output.size(0) != size_ * input.size(0) ||
      output.sizes().slice(1) != input.sizes().slice(1) || output.scalar_type() != input.scalar_type()) {
    fail_collective("all_gather", fmt::format("output {} [{}] does not hold {} x input {} [{}]", c10::toString(output.scalar_type()),
                                              fmt::join(output.sizes(), ", "), size_, c10::toString(input.scalar_type()),
                                              fmt::join(input.sizes(), ", ")));
  }
  if (size_ == 1) {
    output.copy_(input);
    return;
  }
  count(Collective::all_gather, output);
  in_place_contiguous(output, [&](const at::Tensor& out) { run_all_gather(input.contiguous(), out); });
}

void Communicator::reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op) {
  if (output.dim() == 0 || output.dim() != input.dim() || input.size(0) != size_ * output.size(0) ||
      output.sizes().slice(1) != input.sizes().slice(1) || output.scalar_type() != input.scalar_type()) {
    fail_collective("reduce_scatter", fmt::format("input {} [{}] is not {} x output {} [{}]", c10::toString(input.scalar_type()),
                                                  fmt::join(input.sizes(), ", "), size_, c10::toString(output.scalar_type()),
                                                  fmt::join(output.sizes(), ", ")));
  }
  check_reduce_op("reduce_scatter", input, op);
  if (size_ == 1) {
    output.copy_(input);
    return;
  }
  count(Collective::reduce_scatter, input);
  in_place_contiguous(output, [&](const at::Tensor& out) { run_reduce_scatter(input.contiguous(), out, op); });
}

void Communicator::broadcast(const at::Tensor& tensor, int root) {
  if (root < 0 || root >= size_) fail_collective("broadcast", fmt::format("root {} is outside the group", root));
  if (size_ == 1) return;
  count(Collective::broadcast, tensor);
  in_place_contiguous(tensor, [&](const at::Tensor& t) { run_broadcast(t, root); });
}

void Communicator::barrier() {
  if (size_ > 1) run_barrier();
}

at::Tensor Communicator::gather_along(const at::Tensor& input, int64_t dim) {
  if (size_ == 1) return input;
  dim = at::maybe_wrap_dim(dim, input.dim());
  auto front = input.movedim(dim, 0).contiguous();
  auto sizes = front.sizes().vec();
  sizes[0] *= size_;
  auto gathered = at::empty(sizes, front.options());
  all_gather(front, gathered);
  return gathered.movedim(0, dim);
}

at::Tensor Communicator::reduce_scatter_along(const at::Tensor& input, int64_t dim, ReduceOp op) {
  if (size_ == 1) return input;
  dim = at::maybe_wrap_dim(dim, input.dim());
  if (input.size(dim) % size_ != 0) {
    fail_collective("reduce_scatter",
                    fmt::format("dim {} of size {} does not split into {} equal parts", dim, input.size(dim), size_));
  }
  auto front = input.movedim(dim, 0).contiguous();
  auto sizes = front.sizes().vec();
  sizes[0] /= size_;
  auto scattered = at::empty(sizes, front.options());
  reduce_scatter(front, scattered, op);
  return scattered.movedim(0, dim);
}

std::shared_ptr<Communicator> make_solo_communicator(const std::string& name) {
  return std::make_shared<SoloCommunicator>(name);
}

Communicator& communicator_by_id(int64_t id) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(id);
  if (it == registry().end()) fail("communicator {} was destroyed while autograd still needed it", id);
  return *it->second;
}

}  // namespace ember::distributed
