"""An independent reader of Ember checkpoints (docs/formats.md), for tests that compare tensors.

Format 2: manifest.json lists every tensor's global shape and its shards; a shard is a 1-D run of
elements stored under the tensor's name in one rank's safetensors file, placed by a tp slice
(tp_dim, [tp_start, tp_start + tp_length)) and then a flat range of that tp-local tensor. Format 1:
model.safetensors and optimizer.safetensors of whole tensors. Checks every file's and shard's
checksum (CRC-32C, or SHA-256 in format 1) with a plain-Python CRC, independent of the C++ one.
"""
import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as the manifest records it (plain Python: small checkpoints only)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def manifest(checkpoint) -> dict:
    return json.loads((Path(checkpoint) / "manifest.json").read_text())


def verify_files(checkpoint) -> None:
    """Every listed file matches its recorded checksum."""
    checkpoint = Path(checkpoint)
    for name, record in manifest(checkpoint)["files"].items():
        data = (checkpoint / name).read_bytes()
        if "crc32c" in record:
            assert f"{crc32c(data):08x}" == record["crc32c"], f"{name}: CRC-32C mismatch"
        else:
            assert hashlib.sha256(data).hexdigest() == record["sha256"], f"{name}: SHA-256 mismatch"


def _boxes(local_shape, lo, hi):
    """Element indices of the flat range [lo, hi) of a tensor of local_shape, as a numpy index array."""
    return np.unravel_index(np.arange(lo, hi), local_shape) if local_shape else ()


def load_tensors(checkpoint, group="model") -> dict:
    """Whole tensors of a group ("model" or "optimizer") by name, as numpy arrays."""
    checkpoint = Path(checkpoint)
    m = manifest(checkpoint)
    if m.get("version", 1) == 1:
        return load_file(str(checkpoint / ("model.safetensors" if group == "model" else "optimizer.safetensors")))
    files = {}
    out = {}
    for name, tensor in m["tensors"].items():
        if tensor["group"] != group:
            continue
        shape = tuple(tensor["shape"])
        full = None
        covered = 0
        for shard in tensor["shards"]:
            if shard["file"] not in files:
                files[shard["file"]] = load_file(str(checkpoint / shard["file"]))
            data = files[shard["file"]][name].reshape(-1)
            assert data.size == shard["flat_length"], (name, shard)
            if full is None:
                full = np.empty(shape, dtype=data.dtype)
            local = list(shape)
            if shard["tp_dim"] >= 0:
                local[shard["tp_dim"]] = shard["tp_length"]
            index = list(_boxes(tuple(local), shard["flat_offset"], shard["flat_offset"] + shard["flat_length"]))
            if shard["tp_dim"] >= 0:
                index[shard["tp_dim"]] = index[shard["tp_dim"]] + shard["tp_start"]
            if shape:
                full[tuple(index)] = data
            else:
                full[()] = data[0]
            covered += data.size
        assert covered == int(np.prod(shape)), f"{name}: shards cover {covered} of {int(np.prod(shape))} elements"
        out[name] = full
    return out
