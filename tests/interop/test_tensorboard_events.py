"""TensorBoard's own reader loads Ember's metrics sinks.

Runs build/tests/write_events_fixture (tests/train/write_events_fixture.cpp, which logs through
ember::train::MetricsLog) twice on one run directory: steps 1-5, then a resume at step 3. Checks
that EventAccumulator sees each tag at the right steps with the right float32 values (the resumed
process's values replacing the stale ones, NaN kept), and that metrics.jsonl is strict JSON with the
same steps and null for NaN.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def as_float32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def write_steps(fixture, run_dir, steps):
    """steps: list of (step, {name: value}); one MetricsLog.log call each, in one process."""
    arguments = [f"{step}:" + ",".join(f"{name}={value!r}" for name, value in scalars.items())
                 for step, scalars in steps]
    result = subprocess.run([fixture, run_dir, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"write_events_fixture exited {result.returncode}: {result.stderr}")


def check_scalars(accumulator, tag, expected):
    """expected: list of (step, value) in step order."""
    events = accumulator.Scalars(tag)
    got_steps = [event.step for event in events]
    want_steps = [step for step, _ in expected]
    if got_steps != want_steps:
        fail(f"tag {tag}: TensorBoard steps {got_steps}, expected {want_steps}")
    for event, (step, value) in zip(events, expected):
        if math.isnan(value):
            if not math.isnan(event.value):
                fail(f"tag {tag} step {step}: {event.value}, expected NaN")
        elif event.value != as_float32(value):
            fail(f"tag {tag} step {step}: {event.value}, expected {as_float32(value)}")
        if not event.wall_time > 1.5e9:
            fail(f"tag {tag} step {step}: implausible wall_time {event.wall_time}")


def load_tensorboard(run_dir):
    accumulator = EventAccumulator(run_dir)
    accumulator.Reload()
    return accumulator


def read_jsonl(path):
    def reject_constant(name):
        fail(f"{path} holds the non-JSON constant {name}")

    with open(path, encoding="utf-8") as handle:
        return [json.loads(line, parse_constant=reject_constant) for line in handle]


def main():
    fixture = os.path.join(os.environ["EMBER_BINARY_DIR"], "tests", "write_events_fixture")
    if not os.access(fixture, os.X_OK):
        fail(f"{fixture} is missing: build the write_events_fixture target (part of `all`)")
    run_dir = os.path.join(os.environ["EMBER_TEST_TMP"], "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)

    first_run = [(step, {"loss": 10.0 - step, "lr": 1e-3 * step}) for step in range(1, 6)]
    write_steps(fixture, run_dir, first_run)
    accumulator = load_tensorboard(run_dir)
    if sorted(accumulator.Tags()["scalars"]) != ["loss", "lr"]:
        fail(f"scalar tags {accumulator.Tags()['scalars']}, expected loss and lr")
    check_scalars(accumulator, "loss", [(step, scalars["loss"]) for step, scalars in first_run])
    check_scalars(accumulator, "lr", [(step, scalars["lr"]) for step, scalars in first_run])

    # A resumed process starting at step 3: TensorBoard must drop the first run's steps 3-5.
    resumed_run = [(3, {"loss": 0.5, "lr": 3.5e-3}),
                   (4, {"loss": float("nan"), "lr": 4.5e-3, "val_loss": 1.25})]
    write_steps(fixture, run_dir, resumed_run)
    event_files = sorted(name for name in os.listdir(run_dir) if "tfevents" in name)
    if len(event_files) != 2:
        fail(f"expected one event file per process, found {event_files}")
    accumulator = load_tensorboard(run_dir)
    check_scalars(accumulator, "loss", [(1, 9.0), (2, 8.0), (3, 0.5), (4, float("nan"))])
    check_scalars(accumulator, "lr", [(1, 1e-3), (2, 2e-3), (3, 3.5e-3), (4, 4.5e-3)])
    check_scalars(accumulator, "val_loss", [(4, 1.25)])

    lines = read_jsonl(os.path.join(run_dir, "metrics.jsonl"))
    if [line["step"] for line in lines] != [1, 2, 3, 4]:
        fail(f"metrics.jsonl steps {[line['step'] for line in lines]}, expected [1, 2, 3, 4]")
    if list(lines[3]) != ["step", "loss", "lr", "val_loss"] or lines[3]["loss"] is not None:
        fail(f"metrics.jsonl last line {lines[3]}: expected step first and loss null")
    if lines[2]["loss"] != 0.5 or lines[1]["lr"] != 2e-3:
        fail(f"metrics.jsonl values changed: {lines}")
    print(f"OK: TensorBoard read {len(event_files)} event files; {len(lines)} metrics.jsonl lines")


if __name__ == "__main__":
    main()
