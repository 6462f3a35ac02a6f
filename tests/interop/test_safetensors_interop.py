"""Ember's safetensors writer and reader against the reference `safetensors` package, both ways.

1. test_core (case SafetensorsInterop.WriteSample) writes its sample file; `safetensors.torch`
   loads it and the values, dtypes, shapes and metadata must be the ones the C++ test wrote.
2. This script writes the same sample with `safetensors.torch.save_file`; test_core (case
   SafetensorsInterop.ReadPythonSample) reads it with Ember's reader and checks the values.
"""
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

binary_dir = Path(os.environ["EMBER_BINARY_DIR"])
scratch = Path(os.environ["EMBER_TEST_TMP"])
scratch.mkdir(parents=True, exist_ok=True)
test_core = binary_dir / "tests" / "test_core"

SAMPLE = {
    "model.layers.0.weight": torch.tensor([[0.0, 0.5, 1.0], [1.5, 2.0, 2.5]], dtype=torch.float32),
    "bf16": torch.tensor([1.0, -2.0, 3.140625], dtype=torch.bfloat16),
    "ids": torch.tensor([-3, 0, 1 << 40], dtype=torch.int64),
    "mask": torch.tensor([[True, False], [True, True]]),
    "scalar": torch.tensor(2.25, dtype=torch.float64),
    "empty": torch.zeros(0, 4, dtype=torch.float16),
}


def run_case(case, **env):
    result = subprocess.run([str(test_core), f"--gtest_filter={case}"], env={**os.environ, **env},
                            capture_output=True, text=True)
    if result.returncode != 0 or "[  PASSED  ] 1 test" not in result.stdout:
        sys.exit(f"{case} failed:\n{result.stdout}\n{result.stderr}")


def check_ember_file():
    path = scratch / "ember_sample.safetensors"
    run_case("SafetensorsInterop.WriteSample", EMBER_SAFETENSORS_SAMPLE_OUT=str(path))
    tensors = load_file(str(path))
    assert set(tensors) == set(SAMPLE), sorted(tensors)
    for name, expected in SAMPLE.items():
        got = tensors[name]
        assert got.dtype == expected.dtype, (name, got.dtype, expected.dtype)
        assert got.shape == expected.shape, (name, got.shape, expected.shape)
        assert torch.equal(got, expected), (name, got, expected)
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata() == {"format": "pt", "step": "7"}, f.metadata()
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    assert header_len % 8 == 0, header_len


def check_python_file():
    path = scratch / "python_sample.safetensors"
    save_file(SAMPLE, str(path), metadata={"format": "pt"})
    run_case("SafetensorsInterop.ReadPythonSample", EMBER_SAFETENSORS_PYTHON_SAMPLE=str(path))


check_ember_file()
check_python_file()
print("safetensors interop: ok")
