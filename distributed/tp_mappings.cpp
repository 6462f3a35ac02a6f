// The conjugate autograd pairs of tensor parallelism (see tp_mappings.h for the maths).
#include "distributed/tp_mappings.h"

#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"

namespace ember::distributed {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The primitive collectives each mapping is built from, on the group with id `group`.
at::Tensor all_reduce_sum(const at::Tensor& x, int64_t group) {
  auto y = x.clone(at::MemoryFormat::Contiguous);
  communicator_by_id(group).all_reduce(y, ReduceOp::sum);
  return y;
}
at::Tensor keep_my_part(const at::Tensor& x, int64_t dim, int64_t group) {
  return split_for_rank(x, dim, communicator_by_id(group)).contiguous();
}
at::Tensor all_gather(const at::Tensor& x, int64_t dim, int64_t group) {
  return communicator_by_id(group).gather_along(x, dim);
}
at::Tensor reduce_scatter(const at::Tensor& x, int64_t dim, int64_t group) {
  return communicator_by_id(group).reduce_scatter_along(x, dim, ReduceOp::sum);
}

variable_list grad_only(at::Tensor grad) { return {std::move(grad), at::Tensor(), at::Tensor()}; }

int64_t saved_group(AutogradContext* ctx) { return ctx->saved_data["group"].toInt(); }
int64_t saved_dim(AutogradContext* ctx) { return ctx->saved_data["dim"].toInt(); }
void save(AutogradContext* ctx, int64_t dim, int64_t group) {
  ctx->saved_data["dim"] = dim;
  ctx->saved_data["group"] = group;
}

struct CopyToTp : torch::autograd::Function<CopyToTp> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim, int64_t group) {
    save(ctx, dim, group);
    return x.view_as(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return grad_only(all_reduce_sum(grads[0], saved_group(ctx)));
  }
};

struct ReduceFromTp : torch::autograd::Function<ReduceFromTp> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim, int64_t group) {
    return all_reduce_sum(x, group);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) { return grad_only(grads[0]); }
};

/// fwd: keep this rank's part along dim; bwd: all-gather.
struct Split : torch::autograd::Function<Split> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim, int64_t group) {
    save(ctx, dim, group);
    return keep_my_part(x, dim, group);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return grad_only(all_gather(grads[0], saved_dim(ctx), saved_group(ctx)));
  }
};

/// fwd: all-gather along dim; bwd: keep this rank's part.
struct Gather : torch::autograd::Function<Gather> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim, int64_t group) {
    save(ctx, dim, group);
    return all_gather(x, dim, group);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return grad_only(keep_my_part(grads[0], saved_dim(ctx), saved_group(ctx)));
  }
};

/// fwd: all-gather along dim; bwd: reduce-scatter.
struct GatherReduceScatter : torch::autograd::Function<GatherReduceScatter> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim, int64_t group) {
    save(ctx, dim, group);
    return all_gather(x, dim, group);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return grad_only(reduce_scatter(grads[0], saved_dim(ctx), saved_group(ctx)));
  }
};

/// fwd: reduce-scatter along dim; bwd: all-gather.
struct ReduceScatterGather : torch::autograd::Function<ReduceScatterGather> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim, int64_t group) {
    save(ctx, dim, group);
    return reduce_scatter(x, dim, group);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return grad_only(all_gather(grads[0], saved_dim(ctx), saved_group(ctx)));
  }
};

}  // namespace

at::Tensor split_for_rank(const at::Tensor& x, int64_t dim, const Communicator& group) {
  dim = at::maybe_wrap_dim(dim, x.dim());
  const int64_t parts = group.size();
  if (x.size(dim) % parts != 0) {
    fail("tensor parallelism on {}: dim {} of size {} does not split into {} equal parts", group.describe(), dim,
         x.size(dim), parts);
  }
  const int64_t length = x.size(dim) / parts;
  return x.narrow(dim, group.rank() * length, length);
}

at::Tensor copy_to_tp(const at::Tensor& x, Communicator& tp) {
  return tp.size() == 1 ? x : CopyToTp::apply(x, int64_t(-1), tp.id());
}

at::Tensor reduce_from_tp(const at::Tensor& x, Communicator& tp) {
  return tp.size() == 1 ? x : ReduceFromTp::apply(x, int64_t(-1), tp.id());
}

at::Tensor scatter_to_tp(const at::Tensor& x, Communicator& tp) {
  return tp.size() == 1 ? x : Split::apply(x, int64_t(-1), tp.id());
}

at::Tensor gather_from_tp(const at::Tensor& x, Communicator& tp) {
  return tp.size() == 1 ? x : Gather::apply(x, int64_t(-1), tp.id());
}

at::Tensor scatter_to_sequence(const at::Tensor& x, Communicator& tp) {
  return tp.size() == 1 ? x : Split::apply(x, kSequenceDim, tp.id());
}

at::Tensor all_gather_sequence(const at::Tensor& x, Communicator& tp) {
  return tp.size() == 1 ? x : GatherReduceScatter::apply(x, kSequenceDim, tp.id());
}

at::Tensor reduce_scatter_sequence(const at::Tensor& x, Communicator& tp) {
  return tp.size() == 1 ? x : ReduceScatterGather::apply(x, kSequenceDim, tp.id());
}

}  // namespace ember::distributed
