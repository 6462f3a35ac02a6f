// `ember --version`: Ember's version and git revision, the LibTorch version, and whether CUDA,
// NCCL and MPI are compiled in and usable at run time.
#include <string>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/version.h>
#if EMBER_HAVE_MPI
#include <mpi.h>
#endif

#include "apps/command.h"
#include "core/version.h"

namespace ember::apps {
namespace {

std::string mpi_line() {
#if EMBER_HAVE_MPI
  char library[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(library, &length);  // allowed before MPI_Init
  std::string name(library, size_t(length));
  auto newline = name.find('\n');
  if (newline != std::string::npos) name.resize(newline);
  auto comma = name.find(',');
  if (comma != std::string::npos) name.resize(comma);
  return "compiled in, runtime " + name;
#else
  return "not compiled in";
#endif
}

std::string cuda_line() {
#if EMBER_HAVE_CUDA
  bool available = at::hasCUDA();
  return available ? "compiled in, available" : "compiled in, no usable GPU at run time";
#else
  return "not compiled in";
#endif
}

std::string nccl_line() {
#if EMBER_HAVE_NCCL
  return at::hasCUDA() ? "compiled in, available" : "compiled in, unavailable (no GPU)";
#else
  return "not compiled in";
#endif
}

}  // namespace

std::string version_report() {
  return fmt::format(
      "ember {} (git {})\n"
      "libtorch {} (wheel {})\n"
      "cuda: {}\n"
      "nccl: {}\n"
      "mpi: {}",
      version_string(), git_revision(), TORCH_VERSION, EMBER_TORCH_WHEEL_VERSION, cuda_line(), nccl_line(),
      mpi_line());
}

void register_version(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print versions and build features (same as --version)");
  cmd->callback([] { fmt::print("{}\n", version_report()); });
}

}  // namespace ember::apps
