#!/usr/bin/env bash
# Launches an ember recipe on NP ranks with Open MPI: one rank per GPU (the local rank picks it),
# tensor-parallel ranks packed on one node (ranks are placed node by node), and the environment a
# multi-node NCCL job needs passed to every rank.
#
#   NP=16 HOSTFILE=hosts scripts/launch/mpirun.sh pretrain --config configs/nano/pretrain.yaml parallel.tp=8
#   NP=2 scripts/launch/mpirun.sh pretrain --config configs/nano/pretrain.yaml parallel.tp=2   # one machine
#
# Variables (all optional but NP):
#   NP                 ranks in the job (world = parallel.dp x parallel.tp)
#   HOSTFILE           Open MPI hostfile ("node01 slots=8" per line); none runs on this machine
#   RANKS_PER_NODE     ranks per node (default: GPUs on this machine, or NP without GPUs)
#   EMBER              the binary (default build/bin/ember)
#   NCCL_SOCKET_IFNAME interface NCCL and Open MPI bootstrap over (e.g. eth0; default: NCCL's choice)
#   NCCL_IB_HCA        InfiniBand adapters NCCL may use (e.g. mlx5_0,mlx5_1,...; default: all)
#   NCCL_IB_GID_INDEX  RoCE GID index (3 on most RoCE v2 fabrics; unset on InfiniBand)
#   NCCL_DEBUG         NCCL's log level (default WARN; INFO shows the rings and transports chosen)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${NP:?set NP to the number of ranks}"
EMBER="${EMBER:-build/bin/ember}"
[ -x "$EMBER" ] || { echo "mpirun.sh: $EMBER is not built (scripts/build.sh)" >&2; exit 2; }
gpus=$(nvidia-smi -L 2>/dev/null | wc -l || true)
RANKS_PER_NODE="${RANKS_PER_NODE:-$([ "${gpus:-0}" -gt 0 ] && echo "$gpus" || echo "$NP")}"

export NCCL_DEBUG="${NCCL_DEBUG:-WARN}"
# NCCL fails fast instead of hanging when a peer dies; Ember's watchdog (parallel.timeout_s) covers
# collectives that never start.
export NCCL_IB_TIMEOUT="${NCCL_IB_TIMEOUT:-22}"

args=(--bind-to none --map-by "ppr:${RANKS_PER_NODE}:node" -np "$NP")
[ -n "${HOSTFILE:-}" ] && args+=(--hostfile "$HOSTFILE")
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
# Keep MPI's own traffic (bootstrap, CPU collectives) on the interface NCCL uses.
if [ -n "${NCCL_SOCKET_IFNAME:-}" ]; then
  args+=(--mca btl_tcp_if_include "$NCCL_SOCKET_IFNAME" --mca oob_tcp_if_include "$NCCL_SOCKET_IFNAME")
fi
# Every rank sees the same environment: NCCL settings, paths, and Ember's log switches.
for name in $(compgen -e | grep -E '^(NCCL_|UCX_|CUDA_|EMBER_|LD_LIBRARY_PATH$|PATH$)' || true); do
  args+=(-x "$name")
done
exec mpirun "${args[@]}" "$EMBER" "$@"
