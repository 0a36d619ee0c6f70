"""Our training speed as ratios against the peers on the same networks, in one run.

    python benchmarks/compare.py                   # every workload and peer: one markdown table
    python benchmarks/compare.py --workloads mnist28,dcgan64 --rounds 5 --steps 10
    python benchmarks/compare.py --peers ours,torch,keras-onednn
    python benchmarks/compare.py --smoke           # under a minute; works without PyTorch

Each implementation trains in its own process (TensorFlow's oneDNN switch is read when it loads,
and PyTorch and TensorFlow would share threads), started once per workload; the rounds are
interleaved (round 1: A, B, C; round 2: A, B, C; ...), so the ratio of two implementations
measured in the same round holds while the load of a shared machine drifts between rounds.
Reported: images per second (median and min-max over the rounds), the ratio to the fastest
peer (the median of the per-round ratios, and their min-max), the FLOPs of one train step
counted from the step itself (convolutions and matrix products only: those a traced
TensorFlow step runs, `compare_keras.live_ops` and `op_flops`; PyTorch's FlopCounterMode over
one executed step), and the GFLOP/s achieved against a large tf.matmul in the row's precision
(float32, or bfloat16 for the `-bf16` rows, each compared with the peers of its precision), timed in
the same rounds.

An image is one real image through a discriminator update (a WGAN-GP step counts its n_critic
batches); for CycleGAN, one pair. Not part of the tests beyond --smoke: timings depend on the load.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ladder(size):
    """(base, doublings) of the pytorch/examples DCGAN ladder: 64 -> (4, 4), 32 -> (4, 3), 28 -> (7, 2)."""
    for base in (4, 7):
        doublings = math.log2(size / base)
        if doublings >= 1 and doublings == int(doublings):
            return base, int(doublings)
    raise ValueError(f"no DCGAN ladder reaches {size} px")


WORKLOADS = {
    "dcgan64": dict(
        title="DCGAN 64x64x3, batch {batch}, nz 100, ngf = ndf = 64",
        kind="dcgan",
        size=64,
        channels=3,
        batch=64,
        steps=3,
        recipe=dict(method="dcgan", data="tfds:cycle_gan/horse2zebra", note="dcgan defaults (no 64 px recipe)"),
        real=dict(name="tfds:cycle_gan/horse2zebra", split="trainA"),
    ),
    "mnist28": dict(
        title="DCGAN MNIST 28x28x1, batch {batch}",
        kind="dcgan",
        size=28,
        channels=1,
        batch=128,
        steps=15,
        recipe=dict(method="dcgan", data="mnist", note="dcgan_mnist recipe"),
        real=dict(name="mnist"),
    ),
    "wgangp32": dict(
        title="WGAN-GP 32x32x3, batch {batch}, n_critic 5",
        kind="wgan-gp",
        size=32,
        channels=3,
        batch=64,
        d_steps=5,
        steps=2,
        recipe=dict(method="wgan-gp", data="cifar10", note="wgan-gp_cifar10 recipe"),
        real=dict(name="digits"),  # shared/'s horse2zebra has 120 images a domain, fewer than a step's 320
    ),
    "cyclegan64": dict(
        title="CycleGAN ResNet-6 64x64, batch {batch}",
        kind="cyclegan",
        size=64,
        channels=3,
        batch=1,
        steps=12,
        recipe=dict(method="cyclegan", data="horse2zebra", note="cyclegan_horse2zebra recipe at 64 px"),
        real=dict(name="horse2zebra", augment="jitter"),  # the recipe's augmentation
    ),
}

ONEDNN = {"TF_ENABLE_ONEDNN_OPTS": "1"}  # keras_gans' default, set before TensorFlow loads
PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE"}  # OpenMP threads sleep at barriers instead of spinning
# name: (label, implementation, settings, data, environment (TF_ENABLE_ONEDNN_OPTS None: unset), jit_compile
# (None: as written), precision). Every environment drops the caller's TF_ENABLE_ONEDNN_OPTS and OMP_WAIT_POLICY
# first. bfloat16 is each implementation's own mixed precision: Keras' mixed_bfloat16 dtype policy (this
# library's `precision` option), PyTorch's torch.autocast on the CPU; fast only where the CPU has AMX or
# AVX512-BF16 (oneDNN's bfloat16 convolutions), and compared only with the bfloat16 peers.
F32, BF16 = "float32", "bfloat16"
CASES = {
    "ours-recipe": ("keras_gans, its recipe", "ours", "recipe", "synthetic", ONEDNN, False, F32),
    "ours": ("keras_gans, the peers' networks and settings", "ours", "peers", "synthetic", ONEDNN, False, F32),
    "ours-real": ("keras_gans, the peers' networks and settings", "ours", "peers", "real", ONEDNN, False, F32),
    "torch": ("PyTorch eager, defaults", "torch", "peers", "synthetic", {}, None, F32),
    "torch-passive": ("PyTorch eager, OMP_WAIT_POLICY=PASSIVE", "torch", "peers", "synthetic", PASSIVE, None, F32),
    "keras": ("keras.io step as written (TF defaults)", "keras", "peers", "synthetic", {}, None, F32),
    "keras-onednn": ("keras.io step, oneDNN on, XLA off", "keras", "peers", "synthetic", ONEDNN, False, F32),
    "keras-xla": ("keras.io step, oneDNN on, XLA on", "keras", "peers", "synthetic", ONEDNN, True, F32),
    "ours-bf16": ("keras_gans, the peers' networks, mixed_bfloat16", "ours", "peers", "synthetic", ONEDNN, False, BF16),
    "torch-bf16": ("PyTorch eager, autocast bfloat16", "torch", "peers", "synthetic", {}, None, BF16),
    "keras-bf16": ("keras.io step, oneDNN on, mixed_bfloat16", "keras", "peers", "synthetic", ONEDNN, False, BF16),
}
# The ratios' denominators (not this library): a row is compared with the fastest peer of its own precision.
PEERS = ("torch", "torch-passive", "keras", "keras-onednn", "keras-xla", "torch-bf16", "keras-bf16")
SMOKE = dict(
    workloads="mnist28",
    peers="ours,ours-real,torch,keras-onednn",
    rounds=1,
    steps=2,
    warmup=1,
    batch=16,
    max_seconds=2.0,
    matmul_size=512,
    matmul_seconds=0.2,
)
PROTOCOL = "@@compare "  # prefix of a worker's answers on stdout; anything else there is ignored


# ----------------------------------------------------------------------------- the worker process


def serve(spec):
    """A worker: builds one implementation for one workload, answers `run N`, `peak`, `pipeline N`."""

    def send(**message):
        print(PROTOCOL + json.dumps(message), flush=True)

    workload, impl = spec["workload"], spec["impl"]
    try:
        if impl == "torch":
            try:
                import compare_torch as side
            except ImportError as error:
                send(unavailable=f"not installed ({error})")
                return
            runner = side.Runner(workload, spec["precision"])
        else:
            import compare_keras as side

            if impl == "ours" and workload["kind"] == "cyclegan":
                spec = {**spec, "settings": "recipe"}  # CycleGAN's recipe is the peers' settings
            if impl == "ours" and spec["data"] == "real" and "source" in spec:
                workload = {**workload, "real": spec["source"]}
            runner = side.build_runner(spec, workload)
        runner.warm_up(spec["warmup"])
        send(
            ready=dict(
                images_per_step=runner.images_per_step,
                step_flops=runner.step_flops(),
                forward=runner.forward_flops(),
                facts=side.describe(runner),
            )
        )
    except Exception:
        send(error=traceback.format_exc())
        return
    for line in sys.stdin:
        command = line.split()
        if command[0] == "run":
            steps, seconds = runner.run(int(command[1]), float(command[2]))
            send(steps=steps, seconds=seconds)
        elif command[0] == "peak":
            send(gflops=side.matmul_rate(int(command[1]), float(command[2]), command[3]))
        elif command[0] == "pipeline":
            send(images_per_second=runner.pipeline_rate(int(command[1])))
        elif command[0] == "quit":
            return


class Worker:
    """One implementation's process, as the parent sees it."""

    def __init__(self, name, workload, args):
        label, impl, settings, data, environment, jit, precision = CASES[name]
        self.name, self.impl, self.precision = name, impl, precision
        self.onednn = environment.get("TF_ENABLE_ONEDNN_OPTS")
        spec = dict(
            workload=workload,
            impl=impl,
            settings=settings,
            data=data,
            jit_compile=jit,
            precision=precision,
            warmup=args.warmup,
        )
        if args.smoke and workload["real"]["name"] == "mnist":
            spec["source"] = dict(name="digits")  # the embedded digits: no TFDS read in the smoke run
        env = {
            key: value for key, value in os.environ.items() if key not in ("TF_ENABLE_ONEDNN_OPTS", "OMP_WAIT_POLICY")
        }
        env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", **environment)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.ready = self.unavailable = self.error = None
        source = spec.get("source", workload["real"])["name"]
        self.data_label = f"{source} (library loader)" if data == "real" else "synthetic"

    def answer(self):
        for line in self.process.stdout:
            if line.startswith(PROTOCOL):
                return json.loads(line[len(PROTOCOL) :])
        self.log.seek(0)
        tail = self.log.read()[-3000:]
        return {"error": f"worker exited with {self.process.wait()}:\n{tail}"}

    def wait_ready(self):
        message = self.answer()
        self.ready, self.unavailable, self.error = (message.get(key) for key in ("ready", "unavailable", "error"))
        if self.error:
            print(f"[compare] {self.name} failed:\n{self.error}", file=sys.stderr, flush=True)

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        message = self.answer()
        if "error" in message:
            raise RuntimeError(f"{self.name}: {message['error']}")
        return message

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


# ----------------------------------------------------------------------------- the parent


def measure(workload_name, names, args, peaks):
    """Starts each implementation's worker (side by side), then runs the interleaved rounds."""
    workload = {**WORKLOADS[workload_name], **({"batch": args.batch} if args.batch else {})}
    steps = args.steps or workload["steps"]
    names = [n for n in names if not (n == "ours-recipe" and workload["kind"] == "cyclegan")]
    workers = [Worker(name, workload, args) for name in names]
    results = {w.name: dict(worker=w, rates=[], pipeline=[]) for w in workers}
    try:
        for worker in workers:
            worker.wait_ready()
        live = [w for w in workers if w.ready]
        timer = next((w for w in live if w.impl != "torch" and w.onednn == "1"), None)
        precisions = sorted({w.precision for w in live}, reverse=True)  # float32 first
        for round_index in range(args.rounds):
            for precision in precisions if timer is not None else ():
                command = f"peak {args.matmul_size} {args.matmul_seconds} {precision}"
                peaks.setdefault(precision, []).append(timer.ask(command)["gflops"])
            for worker in live:
                answer = worker.ask(f"run {steps} {args.max_seconds}")
                rate = worker.ready["images_per_step"] * answer["steps"] / answer["seconds"]
                results[worker.name]["rates"].append(rate)
                if worker.name == "ours-real":
                    results[worker.name]["pipeline"].append(worker.ask("pipeline 20")["images_per_second"])
                print(
                    f"[compare] {workload_name} round {round_index + 1}/{args.rounds} {worker.name}: "
                    f"{rate:.1f} images/s ({answer['steps']} steps)",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for worker in workers:
            worker.close()
    return dict(workload=workload, steps=steps, results=results)


def spread(values, digits=None):
    """'median (min-max)' of the values, or the value alone; 1 decimal, or 2 below 10."""
    if not values:
        return "n/a"
    if digits is None:
        digits = 2 if statistics.median(values) < 10 else 1
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:.{digits}f}"
    return f"{middle:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def implementation_label(name, workload):
    label, impl, *_, precision = CASES[name]
    if name == "ours-recipe" or (impl == "ours" and workload["kind"] == "cyclegan"):
        label = f"keras_gans, {workload['recipe']['note']}" + (", mixed_bfloat16" if precision == BF16 else "")
    return f"{label} [`{name}`]"


def table(measured, peak):
    """The markdown table (a row per workload and implementation) and the notes under it."""
    lines = [
        "| workload | implementation | data | images/s: median (min-max) | x fastest peer: median (min-max) "
        "| GFLOP/image (counted) | GFLOP/s | % of matmul peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for workload_name, run in measured.items():
        workload, results = run["workload"], run["results"]
        fastest = {}
        for precision in (F32, BF16):
            peers = [n for n, r in results.items() if n in PEERS and r["rates"] and r["worker"].precision == precision]
            fastest[precision] = max(peers, key=lambda n: statistics.median(results[n]["rates"]), default=None)
        named = ", ".join(f"`{n}` ({p})" for p, n in fastest.items() if n) or "none measured"
        notes.append(
            f"`{workload_name}`: {workload['title'].format(batch=workload['batch'])}; up to {run['steps']} timed "
            f"steps a round; the fastest peer: {named}."
        )
        for name, result in results.items():
            worker, rates = result["worker"], result["rates"]
            precision = worker.precision
            row = [workload_name, implementation_label(name, workload), worker.data_label]
            if not worker.ready:
                lines.append(
                    "| " + " | ".join(row + [worker.unavailable or "failed (see stderr)", "", "", "", ""]) + " |"
                )
                continue
            ratio = "n/a"
            if fastest[precision] is not None and rates:
                ratios = [mine / theirs for mine, theirs in zip(rates, results[fastest[precision]]["rates"])]
                ratio = spread(ratios, 2)
            flops = worker.ready["step_flops"] / worker.ready["images_per_step"]
            achieved = flops * statistics.median(rates) / 1e9 if rates else None
            row += [
                spread(rates),
                ratio,
                f"{flops / 1e9:.3f}",
                f"{achieved:.1f}" if achieved else "n/a",
                f"{100 * achieved / peak[precision]:.0f}%" if achieved and peak.get(precision) else "n/a",
            ]
            lines.append("| " + " | ".join(row) + " |")
            if result["pipeline"]:
                notes.append(
                    f"`{workload_name}` `{name}`: the library's pipeline alone ({worker.data_label}) delivers "
                    f"{spread(result['pipeline'], 0)} images/s, without training."
                )
            forward = worker.ready["forward"]
            if name in ("ours", "ours-recipe", "torch") or (name == "ours-real" and "ours" not in results):
                parts = [
                    f"{network} {traced / 1e6:.1f}" + (f" (per-layer count {analytic / 1e6:.1f})" if analytic else "")
                    for network, (traced, analytic) in forward.items()
                ]
                notes.append(f"`{workload_name}` `{name}`: forward MFLOP per image, counted: " + ", ".join(parts) + ".")
            facts = worker.ready["facts"]
            if impl_is_keras(name):
                notes.append(
                    f"`{workload_name}` `{name}`: jit_compile resolved to {facts['jit_compile']}, oneDNN "
                    f"{'on' if facts['onednn'] else 'off'}."
                )
    return "\n".join(lines), notes


def impl_is_keras(name):
    return CASES[name][1] == "keras"


def versions(measured):
    facts = {}
    for run in measured.values():
        for result in run["results"].values():
            ready = result["worker"].ready
            if ready:
                facts.update({k: v for k, v in ready["facts"].items() if k in ("tensorflow", "keras", "torch")})
    return facts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated: {', '.join(WORKLOADS)}")
    parser.add_argument(
        "--peers", default=",".join(CASES), help=f"implementations, comma-separated: {', '.join(CASES)}"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, help="timed steps per round and implementation; default: the workload's")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=6.0,
        help="a round's measurement stops after the step that passes this many seconds (at least one step)",
    )
    parser.add_argument("--batch", type=int, help="batch size of every workload; default: the workload's")
    parser.add_argument(
        "--matmul-size",
        type=int,
        default=2048,
        help="n of the n x n matmul timed for the peak of each precision measured",
    )
    parser.add_argument("--matmul-seconds", type=float, default=1.5, help="how long the matmul is timed each round")
    parser.add_argument("--warmup", type=int, default=1, help="steps run once before the rounds (tracing, XLA)")
    parser.add_argument("--smoke", action="store_true", help=f"a quick check, in these settings unless given: {SMOKE}")
    parser.add_argument("--json", help="also write the raw measurements to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:  # its settings, where the command line gives none
        given = {word.split("=")[0] for word in (sys.argv[1:] if argv is None else argv) if word.startswith("--")}
        for key, value in SMOKE.items():
            if f"--{key.replace('_', '-')}" not in given:
                setattr(args, key, value)
    for flag, names, known in (("--workloads", args.workloads, WORKLOADS), ("--peers", args.peers, CASES)):
        unknown = [name for name in names.split(",") if name not in known]
        if unknown:
            parser.error(f"{flag}: unknown {', '.join(unknown)}; choose from {', '.join(known)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        serve(json.loads(args.worker))
        return
    started, load_before = time.time(), os.getloadavg()
    peaks, measured = {}, {}
    for workload_name in args.workloads.split(","):
        measured[workload_name] = measure(workload_name, args.peers.split(","), args, peaks)
    load_after = os.getloadavg()
    peak = {precision: max(rates) for precision, rates in peaks.items()}
    rows, notes = table(measured, peak)
    print(rows)
    print()
    print(
        f"Run of {time.strftime('%Y-%m-%d %H:%M', time.localtime(started))}, {time.time() - started:.0f} s, "
        f"{os.cpu_count()} CPUs; load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}; "
        + ", ".join(f"{k} {v}" for k, v in versions(measured).items())
        + f"; {args.rounds} round(s)."
    )
    for precision, rates in peaks.items():
        print(
            f"{precision} matmul ({args.matmul_size}^2, tf.matmul, oneDNN on), once a round: peak "
            f"{peak[precision]:.1f} GFLOP/s, median (min-max) {spread(rates)}."
        )
    for note in notes:
        print(f"- {note}")
    if args.json:
        raw = {
            w: {
                n: dict(rates=r["rates"], pipeline=r["pipeline"], ready=r["worker"].ready)
                for n, r in run["results"].items()
            }
            for w, run in measured.items()
        }
        with open(args.json, "w") as f:
            json.dump(dict(peaks=peaks, load_before=load_before, load_after=load_after, results=raw), f, indent=1)
    failed = [n for run in measured.values() for n, r in run["results"].items() if r["worker"].error]
    if failed:
        sys.exit(f"[compare] failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
