"""Bad inputs to `ember export` and `ember import` fail cleanly: the message names the file (and
the field or tensor), the exit status is 1 (runtime) or 2 (usage), and no output — not even a
partial directory or a temporary one — is left behind."""
import json
import shutil
from pathlib import Path

from export_fixtures import build_hf_model, ember, fresh_scratch, import_checkpoint, train_tokenizer


def expect_failure(args, rc, *named, out=None):
    result = ember(*args, expect_rc=rc)
    for text in named:
        assert str(text) in result.stderr, f"{args}: message does not name {text!r}:\n{result.stderr}"
    if out is not None:
        assert not Path(out).exists(), f"{out} was left behind"
        leftovers = [p.name for p in Path(out).parent.iterdir() if ".tmp-" in p.name]
        assert not leftovers, leftovers
    return result


def edited_hf_copy(source, target, edit):
    shutil.copytree(source, target)
    config = json.loads((target / "config.json").read_text())
    edit(config)
    (target / "config.json").write_text(json.dumps(config))
    return target


def main():
    scratch = fresh_scratch()
    tokenizer_json = train_tokenizer(scratch)
    hf_dir = scratch / "hf"
    build_hf_model(hf_dir, "llama", tokenizer_json, tied=True)
    run = scratch / "run"
    checkpoint = import_checkpoint(hf_dir, run)
    out = scratch / "out"

    # Import: unknown architecture, unsupported fields, shape mismatch, vocab smaller than the tokenizer.
    mixtral = edited_hf_copy(hf_dir, scratch / "mixtral", lambda c: c.update(architectures=["MixtralForCausalLM"]))
    expect_failure(["import", "--hf", mixtral, "--out", out], 2, "MixtralForCausalLM", mixtral / "config.json", out=out)
    scaled = edited_hf_copy(hf_dir, scratch / "scaled",
                            lambda c: c.update(rope_scaling={"rope_type": "linear", "factor": 2.0}))
    expect_failure(["import", "--hf", scaled, "--out", out], 2, "rope_scaling", out=out)
    windowed = edited_hf_copy(hf_dir, scratch / "windowed", lambda c: c.update(num_local_experts=4))
    expect_failure(["import", "--hf", windowed, "--out", out], 2, "num_local_experts", out=out)
    wide = edited_hf_copy(hf_dir, scratch / "wide", lambda c: c.update(intermediate_size=128))
    expect_failure(["import", "--hf", wide, "--out", out], 1, wide / "model.safetensors", "has shape", out=out)
    small = edited_hf_copy(hf_dir, scratch / "small", lambda c: c.update(vocab_size=100))
    expect_failure(["import", "--hf", small, "--out", out], 1, small / "tokenizer.json", out=out)
    no_weights = scratch / "no-weights"
    shutil.copytree(hf_dir, no_weights)
    (no_weights / "model.safetensors").unlink()
    expect_failure(["import", "--hf", no_weights, "--out", out], 1, "model.safetensors", out=out)
    expect_failure(["import", "--hf", hf_dir, "--out", run], 2, run)  # never overwrites a run

    # Export: incomplete / corrupt checkpoints, vocab smaller than the tokenizer, bad options.
    incomplete = scratch / "incomplete" / "checkpoints" / checkpoint.name
    shutil.copytree(checkpoint, incomplete)
    (incomplete / "rank_00000.safetensors").unlink()
    expect_failure(["export", "--checkpoint", incomplete, "--format", "hf", "--out", out], 1,
                   incomplete / "rank_00000.safetensors", out=out)
    corrupt = scratch / "corrupt"
    shutil.copytree(checkpoint, corrupt)
    with open(corrupt / "rank_00000.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x01\x02\x03\x04")
    expect_failure(["export", "--checkpoint", corrupt, "--format", "gguf", "--out", scratch / "x.gguf"], 1,
                   corrupt / "rank_00000.safetensors", out=scratch / "x.gguf")
    # Every file read is listed: a stray weights file makes the checkpoint invalid.
    stray = scratch / "stray"
    shutil.copytree(checkpoint, stray)
    shutil.copy(stray / "rank_00000.safetensors", stray / "model.safetensors")
    expect_failure(["export", "--checkpoint", stray, "--format", "hf", "--out", out], 1, "model.safetensors",
                   "does not list", out=out)
    # The manifest's step must match its directory's name.
    renamed = scratch / "renamed" / "checkpoints" / "step_000007"
    shutil.copytree(checkpoint, renamed)
    expect_failure(["export", "--checkpoint", renamed, "--format", "hf", "--out", out], 1, "records step 0",
                   out=out)
    # A tokenizer other than the checkpoint's own is refused unless allowed (then a warning).
    other_dir = scratch / "other_tokenizer"
    other_dir.mkdir()
    other = train_tokenizer(other_dir, vocab_size=300)
    expect_failure(["export", "--checkpoint", checkpoint, "--format", "hf", "--out", out, "--tokenizer", other], 2,
                   "differs from the one", "--allow-other-tokenizer", out=out)
    allowed = ember("export", "--checkpoint", checkpoint, "--format", "hf", "--out", out, "--tokenizer", other,
                    "--allow-other-tokenizer")
    assert "differs from the checkpoint's own" in allowed.stderr, allowed.stderr
    shutil.rmtree(out)
    shrunk = scratch / "shrunk"
    shutil.copytree(checkpoint, shrunk)
    manifest = json.loads((shrunk / "manifest.json").read_text())
    vocab = json.loads((hf_dir / "config.json").read_text())["vocab_size"]
    manifest["config"] = manifest["config"].replace(f"vocab_size: {vocab}", "vocab_size: 100")
    (shrunk / "manifest.json").write_text(json.dumps(manifest))
    expect_failure(["export", "--checkpoint", shrunk, "--format", "hf", "--out", out], 1, "tokenizer", "100",
                   out=out)
    expect_failure(["export", "--checkpoint", scratch / "missing", "--format", "hf", "--out", out], 1,
                   scratch / "missing", out=out)
    expect_failure(["export", "--checkpoint", checkpoint, "--format", "hf", "--out", out, "--dtype", "q8_0"], 2,
                   "q8_0", out=out)
    expect_failure(["export", "--checkpoint", checkpoint, "--format", "onnx", "--out", out], 2, "onnx", out=out)
    occupied = scratch / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    expect_failure(["export", "--checkpoint", checkpoint, "--format", "hf", "--out", occupied], 2, occupied)
    assert (occupied / "notes.txt").read_text() == "keep me"
    print("export / import error handling: OK")


if __name__ == "__main__":
    main()
