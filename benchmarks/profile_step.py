"""Where a train step's time goes, op by op: TensorFlow's profiler over a few steps of one of
compare.py's TensorFlow cases, summed by op type (and optionally by op name).

    python benchmarks/profile_step.py --workload mnist28 --case ours --steps 10
    python benchmarks/profile_step.py --workload mnist28 --case keras-onednn --steps 10 --by name

Run each case in its own process (the case's oneDNN setting is applied before TensorFlow loads),
one after the other, and compare the per-step milliseconds. Times are of the kernels as the
profiler sees them on TensorFlow's threads (two cores: the sum can exceed the step's wall time).
"""

import argparse
import collections
import glob
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compare  # noqa: E402  (after the path; imports nothing heavy)


def op_times(logdir):
    """{(op name, op type): (total microseconds, count)} of the TensorFlow ops in a profile."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals = collections.defaultdict(lambda: [0.0, 0])
    for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            for line in plane.lines:
                if not line.name.startswith("tf_Compute"):  # TensorFlow's inter-op threads run the kernels
                    continue
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    if ":" not in name or "::" in name:  # an op is "name:type"; "A::B" are executor events
                        continue
                    op_name, op_type = name.rsplit(":", 1)
                    totals[(op_name, op_type)][0] += event.duration_ps / 1e6
                    totals[(op_name, op_type)][1] += 1
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mnist28", choices=list(compare.WORKLOADS))
    parser.add_argument("--case", default="ours", choices=[n for n, c in compare.CASES.items() if c[1] != "torch"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--by", choices=("type", "name"), default="type")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", help="also write the totals to this file")
    args = parser.parse_args()
    label, impl, settings, data, environment, jit, precision = compare.CASES[args.case]
    if os.environ.get("_PROFILE_STEP_CHILD") != "1":  # re-run with the case's environment before TensorFlow loads
        env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS", "OMP_WAIT_POLICY")}
        env.update(environment, _PROFILE_STEP_CHILD="1", TF_CPP_MIN_LOG_LEVEL="3")
        os.execve(sys.executable, [sys.executable, *sys.argv], env)

    import compare_keras
    import tensorflow as tf

    workload = {**compare.WORKLOADS[args.workload], **({"batch": args.batch} if args.batch else {})}
    spec = dict(impl=impl, settings=settings, data=data, jit_compile=jit, precision=precision)
    if impl == "ours" and workload["kind"] == "cyclegan":
        spec["settings"] = "recipe"
    runner = compare_keras.build_runner(spec, workload)
    runner.warm_up(3)
    wall_steps, wall = runner.run(args.steps, 1e9)
    logdir = tempfile.mkdtemp(prefix="profile_step_")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    runner.model.fit(runner.dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
    traced = time.perf_counter() - start
    tf.profiler.experimental.stop()
    totals = op_times(logdir)
    grouped = collections.defaultdict(lambda: [0.0, 0])
    for (op_name, op_type), (micros, count) in totals.items():
        key = op_type if args.by == "type" else f"{op_name} ({op_type})"
        grouped[key][0] += micros
        grouped[key][1] += count
    ms_per_step = sum(micros for micros, _ in grouped.values()) / 1e3 / args.steps
    ops_per_step = sum(count for _, count in grouped.values()) / args.steps
    print(
        f"{args.workload} `{args.case}` ({label}): {1e3 * wall / wall_steps:.1f} ms a step unprofiled, "
        f"{1e3 * traced / args.steps:.1f} profiled; op time {ms_per_step:.1f} ms and {ops_per_step:.0f} op runs a step"
    )
    print(f"| op {args.by} | ms a step | runs a step | share |")
    print("|---|---|---|---|")
    for key, (micros, count) in sorted(grouped.items(), key=lambda item: -item[1][0])[: args.top]:
        share = micros / 1e3 / args.steps / ms_per_step
        print(f"| {key} | {micros / 1e3 / args.steps:.2f} | {count / args.steps:.0f} | {100 * share:.1f}% |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: v for k, v in grouped.items()}, f, indent=1)


if __name__ == "__main__":
    main()
