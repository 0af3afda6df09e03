#!/usr/bin/python3
"""PyTorch baseline for `clrnn bench`: training throughput of one tanh RNN layer.

Run with /usr/bin/python3 (Debian's python3-torch imports only there).

A measured step is what `clrnn bench` measures: nn.RNN(nonlinearity='tanh',
batch_first=True) + nn.Linear(H, O) forward over a (B, T, I) batch, MSE loss on
every step's output, backward (full BPTT through all T steps), an
SGD(lr, momentum=0.9) step and zero_grad. Timing is wall-clock over whole steps
after warm-up steps; the step count doubles until at least --seconds have
passed (the same schedule as clrnn bench: 1, 1, 2, 4, ... steps per round).

Data: like clrnn bench, a random table of B + T + 1000 rows (uniform in
[-1, 1], seeded) and a ring of 8 batches whose B window starts are drawn at
random from it. The 8 batches are gathered into (B, T, I) / (B, T, O) tensors
once, before timing, and step i uses batch i % 8: no gathering is timed.

FLOPs use clrnn's count per window-step and layer (a multiply-add is 2, tanh 1):
  forward   2IH + 2HH + 2HO + 2H + O
  loss      3O
  backward  2OH + 2HH + 3H + 2HO + O + 2HH + 2IH + H
plus 4P per step, P = IH + HH + HO + O + H (clrnn's parameter count; nn.RNN
also has a second hidden bias b_hh, which is not counted).

Threads: torch's intra-op pool is libgomp's, which by default spins while it
waits; on a machine with other work on the same cores, 2+ threads can then run
10-80x slower than 1. OMP_WAIT_POLICY=PASSIVE (set before torch is imported,
i.e. in the environment) or --threads 1 avoids that; the header line records
the policy in force.

--models N (a list, e.g. 1,8,64): N same-shape models trained at once, as
`clrnn bench --models N` trains a group, the way one writes it in PyTorch for
many small models: the weights stacked along a model dimension (W_i (N, I, H),
W_h (N, H, H), b (N, 1, H), W_o (N, H, O), b_o (N, 1, O)), each model its own
windows ((N, B, T, I) batches), the input projection and the output layer one
torch.bmm each over all models and steps, one torch.baddbmm per step for the
recurrence, the models' mean losses summed (each model's gradient its own),
one autograd backward and one SGD(momentum 0.9) step for all; no Python loop
over the models. N = 1 is nn.RNN as above. Rates are aggregate: models x
windows x steps a second.

Exit status: 0 ok, 2 bad arguments, 3 torch cannot be imported.
"""

import argparse
import csv
import os
import random
import sys
import time

# name: (n_in, n_hidden, n_out, seq_len, batch), as in `clrnn bench --help`
SUITE = {
    "notebook": (3, 4, 1, 7, 668),
    "weather": (3, 16, 1, 7, 32),
    "medium": (8, 64, 1, 32, 1024),
    "large": (32, 256, 1, 64, 256),
}
N_BATCHES = 8
LR = 1e-6  # as clrnn bench: small enough to keep the random model finite
MOMENTUM = 0.9
SEED = 42


def parse_shape(text):
    """A suite name or NAME=I:H:O/T/B (as clrnn bench accepts)."""
    if text in SUITE:
        return text, SUITE[text]
    name, eq, spec = text.partition("=")
    try:
        if not eq or not name:
            raise ValueError
        ih_o, t, b = spec.split("/")
        i, h, o = ih_o.split(":")
        dims = tuple(int(v) for v in (i, h, o, t, b))
        if min(dims) < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}': expected {', '.join(SUITE)} or NAME=I:H:O/T/B") from None
    return name, dims


def parse_shapes(text):
    return [parse_shape(s.strip()) for s in text.split(",") if s.strip()]


def parse_precisions(text):
    out = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in out if p not in ("fp32", "fp64")]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"'{text}': expected fp32, fp64 or fp32,fp64")
    return out


def positive_float(text):
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"'{text}': must be > 0")
    return v


def count(text):
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"'{text}': must be >= 0")
    return v


def positive_int(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}': must be >= 1")
    return v


def flops_per_step(dims):
    I, H, O, T, B = (float(v) for v in dims)
    forward = 2 * I * H + 2 * H * H + 2 * H * O + 2 * H + O
    loss = 3 * O
    backward = 2 * O * H + 2 * H * H + 3 * H + 2 * H * O + O + 2 * H * H + 2 * I * H + H
    params = I * H + H * H + H * O + O + H
    return B * T * (forward + loss + backward) + 4 * params


def make_batches(torch, dims, dtype):
    """The ring of N_BATCHES (x, y) batches, from a seeded random table."""
    I, H, O, T, B = dims
    rng = random.Random(SEED)
    rows = B + T + 1000
    gen = torch.Generator().manual_seed(SEED)
    x_table = torch.rand(rows, I, generator=gen, dtype=torch.float64) * 2 - 1
    y_table = torch.rand(rows, O, generator=gen, dtype=torch.float64) * 2 - 1
    offsets = torch.arange(T)
    batches = []
    for _ in range(N_BATCHES):
        starts = torch.tensor([rng.randrange(rows - T + 1) for _ in range(B)])
        idx = starts[:, None] + offsets[None, :]  # (B, T)
        batches.append((x_table[idx].to(dtype).contiguous(),
                        y_table[idx].to(dtype).contiguous()))
    return batches


def make_group_batches(torch, dims, dtype, n_models):
    """The ring of N_BATCHES (x, y) batches of (N, B, T, I) and (N, B, T, O):
    each model its own windows of one seeded random table."""
    I, H, O, T, B = dims
    rows = B + T + 1000
    gen = torch.Generator().manual_seed(SEED)
    x_table = torch.rand(rows, I, generator=gen, dtype=torch.float64) * 2 - 1
    y_table = torch.rand(rows, O, generator=gen, dtype=torch.float64) * 2 - 1
    offsets = torch.arange(T)
    batches = []
    for _ in range(N_BATCHES):
        starts = torch.randint(0, rows - T + 1, (n_models, B), generator=gen)
        idx = starts[:, :, None] + offsets  # (N, B, T)
        batches.append((x_table[idx].to(dtype).contiguous(),
                        y_table[idx].to(dtype).contiguous()))
    return batches


def run_timed(run, seconds, warmup):
    """The schedule of clrnn bench: warm-up, then doubling rounds."""
    run(0, warmup)
    n, done, elapsed = 1, 0, 0.0
    while True:
        t0 = time.perf_counter()
        last = run(warmup + done, n)
        elapsed += time.perf_counter() - t0
        done += n
        if elapsed >= seconds:
            break
        n = done
    if last is None or last != last:
        print(f"bench_torch: warning: loss is {last}", file=sys.stderr)
    return done, elapsed


def measure_group(torch, dims, precision, seconds, warmup, n_models, device="cpu"):
    """N same-shape models at once: stacked weights, batched matrix products."""
    I, H, O, T, B = dims
    N = n_models
    dtype = torch.float32 if precision == "fp32" else torch.float64
    gen = torch.Generator().manual_seed(SEED)

    def uniform(*shape, fan):
        bound = 1.0 / fan ** 0.5  # nn.RNN's and nn.Linear's initialisation
        w = (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        return w.to(device, dtype).requires_grad_()

    W_i, W_h, b = uniform(N, I, H, fan=H), uniform(N, H, H, fan=H), uniform(N, 1, H, fan=H)
    W_o, b_o = uniform(N, H, O, fan=H), uniform(N, 1, O, fan=H)
    params = [W_i, W_h, b, W_o, b_o]
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    batches = [(x.to(device), y.to(device)) for x, y in make_group_batches(torch, dims, dtype, N)]

    def step(x, y):
        # (N, B*T, I) x (N, I, H): every model's input projection in one bmm
        xw = torch.baddbmm(b, x.reshape(N, B * T, I), W_i).reshape(N, B, T, H)
        h = torch.tanh(xw[:, :, 0])
        hs = [h]
        for t in range(1, T):
            h = torch.tanh(torch.baddbmm(xw[:, :, t], h, W_h))  # (N, B, H)
            hs.append(h)
        out = torch.baddbmm(b_o, torch.stack(hs, 2).reshape(N, B * T, H), W_o)
        # each model's mean loss; their sum gives each model its own gradient
        return ((out.reshape(N, B, T, O) - y) ** 2).mean(dim=(1, 2, 3)).sum()

    def run(first, n):
        loss = None
        for i in range(first, first + n):
            x, y = batches[i % N_BATCHES]
            loss = step(x, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        return None if loss is None else loss.item()

    done, elapsed = run_timed(run, seconds, warmup)
    return {
        "steps": done,
        "seconds": elapsed,
        "window_steps_per_second": N * done * B * T / elapsed,
        "gflops": N * flops_per_step(dims) * done / elapsed * 1e-9,
    }


def measure(torch, dims, precision, seconds, warmup, device="cpu"):
    I, H, O, T, B = dims
    dtype = torch.float32 if precision == "fp32" else torch.float64
    torch.manual_seed(SEED)
    rnn = torch.nn.RNN(I, H, num_layers=1, nonlinearity="tanh", batch_first=True).to(device, dtype)
    head = torch.nn.Linear(H, O).to(device, dtype)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.MSELoss()
    # The batches live on the device, as clrnn stages its table there once.
    batches = [(x.to(device), y.to(device)) for x, y in make_batches(torch, dims, dtype)]

    def run(first, n):
        loss = None
        for i in range(first, first + n):
            x, y = batches[i % N_BATCHES]
            out, _ = rnn(x)              # (B, T, H), h_0 = 0
            loss = loss_fn(head(out), y)  # every step's output
            loss.backward()               # full BPTT
            opt.step()
            opt.zero_grad()
        # loss.item() waits for the device: the timing covers the work queued
        return None if loss is None else loss.item()

    run(0, warmup)
    n, done, elapsed = 1, 0, 0.0
    while True:
        t0 = time.perf_counter()
        last = run(warmup + done, n)
        elapsed += time.perf_counter() - t0
        done += n
        if elapsed >= seconds:
            break
        n = done
    if last is None or last != last:
        print(f"bench_torch: warning: loss is {last}", file=sys.stderr)
    return {
        "steps": done,
        "seconds": elapsed,
        "window_steps_per_second": done * B * T / elapsed,
        "gflops": flops_per_step(dims) * done / elapsed * 1e-9,
    }


def openblas():
    """The OpenBLAS that torch calls (Debian's torch: libblas.so.3 -> OpenBLAS), or None."""
    import ctypes
    for lib in ("libopenblas.so.0", "libopenblas.so"):
        try:
            handle = ctypes.CDLL(lib)
            handle.openblas_get_num_threads.restype = ctypes.c_int
            return handle
        except (OSError, AttributeError):
            continue
    return None


def set_blas_threads(n):
    """OpenBLAS keeps its own thread pool, which torch.set_num_threads does not
    touch: give it the same count, unless OPENBLAS_NUM_THREADS (or
    OMP_NUM_THREADS) was set by hand. Returns a description."""
    lib = openblas()
    if lib is None:
        return "BLAS threads unknown"
    if not os.environ.get("OPENBLAS_NUM_THREADS") and not os.environ.get("OMP_NUM_THREADS"):
        try:
            lib.openblas_set_num_threads(n)
        except AttributeError:
            pass
    return f"OpenBLAS {lib.openblas_get_num_threads()} threads"


def main():
    ap = argparse.ArgumentParser(
        description="PyTorch CPU baseline for clrnn bench (one tanh RNN layer + Linear, "
                    "MSE on every step, BPTT, SGD with momentum 0.9).")
    ap.add_argument("--shapes", type=parse_shapes, default=parse_shapes(",".join(SUITE)),
                    help="comma list of " + ", ".join(SUITE) + " or NAME=I:H:O/T/B (default: all)")
    ap.add_argument("--precision", type=parse_precisions, default=["fp32", "fp64"],
                    help="fp32, fp64 (default: fp32,fp64)")
    ap.add_argument("--seconds", type=positive_float, default=1.0,
                    help="minimum timed seconds per measurement (1)")
    ap.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1,
                    help="torch.set_num_threads, and OpenBLAS's threads unless "
                         "OPENBLAS_NUM_THREADS is set (default: os.cpu_count(), here %(default)s)")
    ap.add_argument("--warmup", type=count, default=2, help="untimed steps before timing (2)")
    ap.add_argument("--models", type=lambda t: [positive_int(v) for v in t.split(",")],
                    default=[1], help="comma list of group sizes: N same-shape models "
                                      "trained at once (default: 1)")
    ap.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    ap.add_argument("--device", default="cpu",
                    help="cpu (default) or cuda[:N]: cuDNN's RNN on an NVIDIA GPU")
    args = ap.parse_args()

    try:
        import torch
    except ImportError as e:
        print(f"bench_torch: cannot import torch ({e}) with {sys.executable}; "
              "install python3-torch (Debian) and run with /usr/bin/python3", file=sys.stderr)
        return 3

    torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            print("bench_torch: --device cuda: torch sees no CUDA device", file=sys.stderr)
            return 3
        name = torch.cuda.get_device_name(torch.device(args.device))
        device = (f"PyTorch {torch.__version__} {name} (CUDA {torch.version.cuda}, "
                  f"cuDNN {torch.backends.cudnn.version()})")
        print(f"# {device}")
    else:
        blas = set_blas_threads(args.threads)
        device = f"PyTorch {torch.__version__} CPU ({torch.get_num_threads()} threads)"
        print(f"# {device}, {blas}, intra-op threads {torch.get_num_threads()}, "
              f"inter-op threads {torch.get_num_interop_threads()}, "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")

    rows = []
    grouped = args.models != [1]
    print(f"{'shape':<10} {'prec':<5} {'models ' if grouped else ''}{'window-steps/s':>16} "
          f"{'GFLOP/s':>9} {'steps':>8} {'seconds':>8}")
    for name, dims in args.shapes:
        I, H, O, T, B = dims
        print(f"{name}: n_in {I}, n_hidden {H}, n_out {O}, seq-len {T}, batch {B}")
        for n_models in args.models:
            for prec in args.precision:
                if n_models == 1:
                    r = measure(torch, dims, prec, args.seconds, args.warmup, args.device)
                else:
                    r = measure_group(torch, dims, prec, args.seconds, args.warmup, n_models,
                                      args.device)
                models = f"{n_models:>6} " if grouped else ""
                print(f"{'':<10} {prec:<5} {models}{r['window_steps_per_second']:>16.4g} "
                      f"{r['gflops']:>9.3g} {r['steps']:>8} {r['seconds']:>8.3f}", flush=True)
                rows.append([name, I, H, O, T, B, device, prec,
                             f"{r['window_steps_per_second']:.6g}", f"{r['gflops']:.6g}",
                             n_models])

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["shape", "n_in", "n_hidden", "n_out", "seq_len", "batch", "device",
                        "precision", "window_steps_per_second", "gflops", "models"])
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
