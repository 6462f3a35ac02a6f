#!/usr/bin/env bash
# Installs everything Ember needs on a fresh Debian machine: system packages (compilers' libraries,
# MPI, HDF5, Eigen, yaml-cpp, CLI11, spdlog/fmt, nlohmann-json, PCRE2, zlib, zstd, GoogleTest,
# ccache) and a Python virtual environment outside the checkout with torch==2.11.0 (whose LibTorch
# we link), pyarrow (whose Arrow C++ reads Parquet) and the interop packages the tests use.
# Idempotent: a second run checks and returns in seconds.
#
#   scripts/setup.sh            install what is missing
#   EMBER_VENV=/path scripts/setup.sh   use another venv location
set -euo pipefail

EMBER_VENV="${EMBER_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/ember/venv}"
TORCH_VERSION="2.11.0"
APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-dev
  libeigen3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libpcre2-dev libicu-dev zlib1g-dev libzstd-dev libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
)
PY_PACKAGES=(
  "torch==${TORCH_VERSION}" numpy safetensors transformers tokenizers gguf h5py tensorboard
  matplotlib pyyaml pyarrow
)

step() { echo "[setup] $*"; }
fail() { echo "[setup] FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------- system packages
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  step "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || fail "apt-get install ${missing[*]}"
else
  step "Debian packages: all present"
fi

# ---------------------------------------------------------------- python venv
PYTHON="${PYTHON:-$(command -v python3 || true)}"
[ -n "$PYTHON" ] || fail "python3 not found (install python3 and python3-venv)"
if [ ! -x "$EMBER_VENV/bin/python" ]; then
  step "creating virtual environment $EMBER_VENV"
  mkdir -p "$(dirname "$EMBER_VENV")"
  "$PYTHON" -m venv "$EMBER_VENV" || fail "python3 -m venv $EMBER_VENV (install python3-venv)"
  "$EMBER_VENV/bin/python" -m pip install -q --upgrade pip || fail "pip upgrade"
fi

py_ok() {
  "$EMBER_VENV/bin/python" - "$TORCH_VERSION" <<'PY' 2>/dev/null
import sys, importlib
import torch
assert torch.__version__.split("+")[0] == sys.argv[1], torch.__version__
for m in ["numpy", "safetensors", "transformers", "tokenizers", "gguf", "h5py", "tensorboard", "matplotlib", "yaml", "pyarrow"]:
    importlib.import_module(m)
PY
}
if py_ok; then
  step "Python packages: all present in $EMBER_VENV"
else
  step "installing Python packages into $EMBER_VENV: ${PY_PACKAGES[*]}"
  "$EMBER_VENV/bin/python" -m pip install -q "${PY_PACKAGES[@]}" || fail "pip install ${PY_PACKAGES[*]}"
  py_ok || fail "Python packages installed but an import fails (run: $EMBER_VENV/bin/python -c 'import torch')"
fi
step "ready: venv $EMBER_VENV, torch $("$EMBER_VENV/bin/python" -c 'import torch;print(torch.__version__)')"
