# Finds every third-party dependency. System packages come from scripts/setup.sh (Debian);
# LibTorch comes from the torch wheel in Ember's virtual environment.
find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)

# The torch wheel ships its own fmt headers (a newer major version) in the same include directory
# as ATen; the system spdlog is built against the system fmt. A shim directory that holds only the
# system fmt and spdlog headers, searched before everything else, makes every translation unit use
# the fmt that libfmt.so and libspdlog.so were built with (torch's headers we use do not include fmt).
get_target_property(fmt_include_dirs fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
find_path(EMBER_SYSTEM_FMT_DIR fmt/format.h HINTS ${fmt_include_dirs} NO_DEFAULT_PATH)
if(NOT EMBER_SYSTEM_FMT_DIR)
  find_path(EMBER_SYSTEM_FMT_DIR fmt/format.h PATHS /usr/include)
endif()
find_path(EMBER_SYSTEM_SPDLOG_DIR spdlog/spdlog.h PATHS /usr/include)
set(EMBER_INCLUDE_SHIM ${CMAKE_BINARY_DIR}/include-shim)
file(MAKE_DIRECTORY ${EMBER_INCLUDE_SHIM})
file(CREATE_LINK ${EMBER_SYSTEM_FMT_DIR}/fmt ${EMBER_INCLUDE_SHIM}/fmt SYMBOLIC)
file(CREATE_LINK ${EMBER_SYSTEM_SPDLOG_DIR}/spdlog ${EMBER_INCLUDE_SHIM}/spdlog SYMBOLIC)
include_directories(BEFORE SYSTEM ${EMBER_INCLUDE_SHIM})
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# Compressed inputs of `ember data prepare` (data/compressed_reader.cpp): zlib for gzip, libzstd.
find_package(ZLIB REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT TARGET hdf5::hdf5)
  add_library(hdf5::hdf5 INTERFACE IMPORTED)
  target_include_directories(hdf5::hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
  target_link_libraries(hdf5::hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
  target_compile_definitions(hdf5::hdf5 INTERFACE ${HDF5_DEFINITIONS})
endif()

set(EMBER_HAVE_MPI OFF)
if(EMBER_WITH_MPI)
  find_package(MPI REQUIRED COMPONENTS C)
  set(EMBER_HAVE_MPI ON)
  # C bindings only: the deprecated C++ bindings would need libmpi_cxx.
  add_compile_definitions(OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
  # The test driver uses the same mpiexec that CMake found.
  set(EMBER_MPIEXEC ${MPIEXEC_EXECUTABLE})
endif()

set(EMBER_HAVE_CUDA OFF)
set(EMBER_HAVE_NCCL OFF)
# The Python of Ember's virtual environment (scripts/setup.sh): its wheels provide LibTorch
# (torch) and Arrow C++ (pyarrow). EMBER_PYTHON, else the venv, else python3.
if(NOT EMBER_PYTHON)
  if(DEFINED ENV{EMBER_VENV})
    set(EMBER_PYTHON "$ENV{EMBER_VENV}/bin/python")
  elseif(DEFINED ENV{XDG_DATA_HOME})
    set(EMBER_PYTHON "$ENV{XDG_DATA_HOME}/ember/venv/bin/python")
  else()
    set(EMBER_PYTHON "$ENV{HOME}/.local/share/ember/venv/bin/python")
  endif()
  if(NOT EXISTS ${EMBER_PYTHON})
    find_program(EMBER_PYTHON_FALLBACK python3)
    set(EMBER_PYTHON ${EMBER_PYTHON_FALLBACK})
  endif()
endif()
set(EMBER_PYTHON ${EMBER_PYTHON} CACHE FILEPATH "Python interpreter whose torch and pyarrow wheels provide LibTorch and Arrow C++")

# Arrow C++ and Parquet for data/parquet_reader.cpp: the pyarrow wheel ships libarrow / libparquet
# (versioned names only) and their headers; Debian packages neither. Binaries find the libraries
# through their RPATH.
execute_process(COMMAND ${EMBER_PYTHON} -c "import pyarrow;print(pyarrow.get_include());print(pyarrow.get_library_dirs()[0]);print(pyarrow.__version__)"
  OUTPUT_VARIABLE pyarrow_info RESULT_VARIABLE pyarrow_rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_VARIABLE pyarrow_err)
if(NOT pyarrow_rc EQUAL 0)
  message(FATAL_ERROR "Cannot import pyarrow with ${EMBER_PYTHON}: ${pyarrow_err}\nRun scripts/setup.sh first, or pass -DEMBER_PYTHON=/path/to/python.")
endif()
string(REPLACE "\n" ";" pyarrow_info "${pyarrow_info}")
list(GET pyarrow_info 0 pyarrow_include)
list(GET pyarrow_info 1 pyarrow_lib_dir)
list(GET pyarrow_info 2 pyarrow_version)
file(GLOB arrow_library ${pyarrow_lib_dir}/libarrow.so.[0-9]*)
file(GLOB parquet_library ${pyarrow_lib_dir}/libparquet.so.[0-9]*)
if(NOT arrow_library OR NOT parquet_library)
  message(FATAL_ERROR "pyarrow ${pyarrow_version} in ${pyarrow_lib_dir} has no libarrow.so.N / libparquet.so.N")
endif()
list(GET arrow_library 0 arrow_library)
list(GET parquet_library 0 parquet_library)
add_library(ember_arrow INTERFACE)
target_include_directories(ember_arrow SYSTEM INTERFACE ${pyarrow_include})
target_link_libraries(ember_arrow INTERFACE ${parquet_library} ${arrow_library})
target_link_options(ember_arrow INTERFACE "LINKER:-rpath,${pyarrow_lib_dir}")
message(STATUS "Arrow C++ ${pyarrow_version} from ${pyarrow_lib_dir}")

if(EMBER_WITH_TORCH)
  # Locate the torch wheel of EMBER_PYTHON.
  execute_process(COMMAND ${EMBER_PYTHON} -c "import torch,os;print(torch.utils.cmake_prefix_path);print(torch.__version__)"
    OUTPUT_VARIABLE torch_info RESULT_VARIABLE torch_rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_VARIABLE torch_err)
  if(NOT torch_rc EQUAL 0)
    message(FATAL_ERROR "Cannot import torch with ${EMBER_PYTHON}: ${torch_err}\nRun scripts/setup.sh first, or pass -DEMBER_PYTHON=/path/to/python.")
  endif()
  string(REPLACE "\n" ";" torch_info "${torch_info}")
  list(GET torch_info 0 torch_prefix)
  list(GET torch_info 1 EMBER_TORCH_WHEEL_VERSION)
  list(APPEND CMAKE_PREFIX_PATH ${torch_prefix})
  # The CUDA wheel's TorchConfig needs the toolkit; /usr/local/cuda is the usual place.
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  # Naming the target architectures skips TorchConfig's GPU probe (a try_run that needs a GPU and
  # a CUDA dialect CMake 3.25 lacks). Hopper: H100 / H200.
  if(NOT TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
    set(TORCH_CUDA_ARCH_LIST "9.0")
  endif()
  # CUDA code of our own (model/fused_kernels_cuda.cu) uses the shared CUDA runtime, the one torch
  # itself loads, rather than a second, static copy.
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
  find_package(Torch REQUIRED)
  message(STATUS "LibTorch ${EMBER_TORCH_WHEEL_VERSION} from ${torch_prefix}")
  # TorchConfig adds its flags to the imported target; the CXX flags carry the ABI define.
  add_library(ember_torch INTERFACE)
  target_link_libraries(ember_torch INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(ember_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  separate_arguments(torch_cxx_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(ember_torch INTERFACE ${torch_cxx_flags})
  # libtorch.so exports its own statically linked copy of std::filesystem (pytorch#133437) whose
  # remove_all crashes when called from our code; naming libstdc++ first among the needed
  # libraries makes the dynamic linker bind the system one.
  target_link_options(ember_torch INTERFACE "LINKER:--push-state,--no-as-needed" -lstdc++ "LINKER:--pop-state")
  # The Fortran BLAS sgemm_ that LibTorch's CPU library exports from the BLAS it was built with
  # (MKL in the x86-64 wheels): the CPU attention kernel (model/cpu_attention.cpp) calls it on
  # blocks from its own threads. Without it that kernel is off and LibTorch's attention runs.
  include(CheckCXXSourceCompiles)
  find_library(EMBER_TORCH_CPU_LIBRARY torch_cpu PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH)
  set(CMAKE_REQUIRED_LIBRARIES ${EMBER_TORCH_CPU_LIBRARY})
  check_cxx_source_compiles([[extern "C" void sgemm_(); int main() { sgemm_(); }]] EMBER_HAVE_BLAS_SGEMM)
  unset(CMAKE_REQUIRED_LIBRARIES)

  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
    set(EMBER_HAVE_CUDA ON)
    find_package(CUDAToolkit)
    if(EMBER_WITH_NCCL AND CUDAToolkit_FOUND)
      find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
      find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
      if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
        set(EMBER_HAVE_NCCL ON)
        add_library(ember_nccl INTERFACE)
        target_include_directories(ember_nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
        target_link_libraries(ember_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
      endif()
    endif()
  endif()
endif()

# Build features visible to every translation unit (for `ember --version` and backend selection).
add_compile_definitions(
  EMBER_HAVE_MPI=$<BOOL:${EMBER_HAVE_MPI}>
  EMBER_HAVE_NCCL=$<BOOL:${EMBER_HAVE_NCCL}>
  EMBER_HAVE_CUDA=$<BOOL:${EMBER_HAVE_CUDA}>)
