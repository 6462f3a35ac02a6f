#!/usr/bin/env bash
# Prepares what a lent GPU machine needs to run Ember's GPU checks. That machine has the same
# torch 2.11.0 (cu130) wheel, CUDA and CMake but no Debian packages and no network, so instead of
# rebuilding there we carry the binaries built here against the identical LibTorch plus the
# shared libraries they need that are not part of torch, its nvidia-* wheels (CUDA runtime, NCCL)
# or glibc, as one compressed archive:
#   build/gpu-pack.tar.xz   (carry it: run(carry=["build/gpu-pack.tar.xz"], command="scripts/gpu/run_checks.sh"))
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh cpu-release ember test_cuda
pack=build/gpu-pack
rm -rf "$pack" && mkdir -p "$pack/bin" "$pack/lib"
cp build/bin/ember build/tests/test_cuda "$pack/bin/"
for binary in "$pack"/bin/*; do
  ldd "$binary" | awk '/=> \//{print $3}'
done | sort -u | while read -r lib; do
  case "$lib" in
    */torch/lib/*|*/nvidia/*|*/libnccl.so*|*/libcudart.so*|*/libc.so*|*/libm.so*|*/libdl.so*|*/librt.so*|*/libpthread.so*|*/ld-linux*|*/libcuda.so*) ;;
    *) cp -L "$lib" "$pack/lib/" ;;
  esac
done
tar -C build -cJf build/gpu-pack.tar.xz gpu-pack
du -h build/gpu-pack.tar.xz
