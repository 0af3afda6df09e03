#!/usr/bin/env bash
# clrnn bench next to PyTorch: runs `clrnn bench --csv` and, where
# /usr/bin/python3 can import torch, scripts/bench_torch.py on the same shapes
# and seconds, then prints one table of window-steps per second per shape and
# precision: the CPU reference, each OpenCL device and PyTorch side by side,
# with the ratios OpenCL/PyTorch and OpenCL/CPU reference. Where Debian's
# libdnnl-dev is installed (oneapi/dnnl/dnnl.h), it also builds and runs
# scripts/bench_onednn.c (oneDNN's vanilla RNN + inner product, fp32, its
# gradients checked first) and adds oneDNN and OpenCL/oneDNN columns; each
# OpenCL column's share of the device's measured peak comes with it.
#
# usage: scripts/bench.sh [clrnn bench options] [--csv FILE]
#   Options go to `clrnn bench` as they are (--shapes, --devices, --precision,
#   --seconds, --warmup, --no-profile); --shapes, --precision, --seconds and
#   --warmup also go to bench_torch.py. --csv FILE writes the merged table.
#   --models LIST (e.g. 1,8,64) goes to both: N same-shape models trained at
#   once (clrnn's groups, PyTorch's stacked weights and batched products);
#   the table gains a models column, rates are aggregate (models x windows x
#   steps a second) and each device's column its ratio to its own N = 1.
#   --rounds K runs the three benchmarks K times, one after another in each
#   round, and keeps each figure's fastest run (a device's share of its peak:
#   its fastest GFLOP/s over its fastest measured peak). On a machine shared
#   with other work, whose speed moves with its neighbours', the fastest of
#   interleaved runs compares the programs at the same quiet moments, where
#   one run each compares them at different ones. Default 1.
# environment:
#   CLRNN          the clrnn binary (default: build/clrnn in the repo root)
#   TORCH_PYTHON   the python that has torch (default: /usr/bin/python3)
#   TORCH_THREADS  bench_torch.py --threads (default: its own, all cores)
#   OMP_WAIT_POLICY reaches PyTorch's OpenMP pool (default here: PASSIVE, so
#                  that its idle threads sleep instead of spinning: on a
#                  machine shared with other work, spinning threads cost
#                  PyTorch 10-80x and would flatter clrnn's ratios)
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
clrnn=${CLRNN:-$root/build/clrnn}
torch_python=${TORCH_PYTHON:-/usr/bin/python3}
command_line="$0${*:+ $*}"

die() { echo "bench.sh: $*" >&2; exit 1; }

clrnn_args=() torch_args=() merged_csv= rounds=1
while (($#)); do
    arg=$1
    shift
    case $arg in
        -h | --help)
            sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
            exit 0 ;;
        --csv) (($#)) || die "--csv needs a value"; merged_csv=$1; shift; continue ;;
        --csv=*) merged_csv=${arg#--csv=}; continue ;;
        --rounds) (($#)) || die "--rounds needs a value"; rounds=$1; shift
            [[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds '$rounds': expected a count of 1 or more"
            continue ;;
        --rounds=*) rounds=${arg#--rounds=}
            [[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds '$rounds': expected a count of 1 or more"
            continue ;;
        --shapes | --precision | --seconds | --warmup | --models)
            (($#)) || die "$arg needs a value"
            clrnn_args+=("$arg" "$1"); torch_args+=("$arg" "$1"); shift; continue ;;
        --shapes=* | --precision=* | --seconds=* | --warmup=* | --models=*)
            torch_args+=("$arg") ;;
        --devices)
            (($#)) || die "$arg needs a value"
            clrnn_args+=("$arg" "$1"); shift; continue ;;
    esac
    clrnn_args+=("$arg")
done
if [[ -n ${TORCH_THREADS:-} ]]; then
    torch_args+=(--threads "$TORCH_THREADS")
fi

[[ -x $clrnn ]] || die "no clrnn binary at '$clrnn' (build it, or set CLRNN)"

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

have_torch=
torch_note=
if [[ -x $torch_python ]] && "$torch_python" -c 'import torch' >/dev/null 2>&1; then
    have_torch=1
else
    torch_note="not available: $torch_python cannot import torch (apt-get install python3-torch); no PyTorch column"
fi
have_onednn=
onednn_note="not available: no oneapi/dnnl/dnnl.h (apt-get install libdnnl-dev); no oneDNN column"
onednn_args=()
if [[ -f /usr/include/oneapi/dnnl/dnnl.h ]]; then
    have_onednn=1
    for ((i = 0; i < ${#torch_args[@]}; i++)); do
        case ${torch_args[i]} in
            --shapes | --seconds | --warmup) onednn_args+=("${torch_args[i]}" "${torch_args[i + 1]}"); i=$((i + 1)) ;;
            --shapes=* | --seconds=* | --warmup=*) onednn_args+=("${torch_args[i]%%=*}" "${torch_args[i]#*=}") ;;
        esac
    done
    echo "bench.sh: building scripts/bench_onednn.c ..." >&2
    ${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -o "$tmp/bench_onednn" \
        "$root/scripts/bench_onednn.c" -ldnnl -lm || die "building bench_onednn.c failed"
fi

clrnn_csvs= torch_csvs= onednn_csvs=
for ((round = 1; round <= rounds; round++)); do
    [[ $rounds == 1 ]] && of= || of=" (round $round of $rounds)"
    echo "bench.sh: running $clrnn bench ${clrnn_args[*]}$of ..." >&2
    if ! "$clrnn" bench "${clrnn_args[@]}" --csv "$tmp/clrnn.$round.csv" >"$tmp/clrnn.log" 2>&1; then
        cat "$tmp/clrnn.log" >&2
        die "clrnn bench failed"
    fi
    clrnn_csvs+=${clrnn_csvs:+,}$tmp/clrnn.$round.csv
    if [[ -n $have_torch ]]; then
        echo "bench.sh: running bench_torch.py ${torch_args[*]}$of ..." >&2
        if ! "$torch_python" "$root/scripts/bench_torch.py" "${torch_args[@]}" \
                --csv "$tmp/torch.$round.csv" >"$tmp/torch.log" 2>&1; then
            cat "$tmp/torch.log" >&2
            die "bench_torch.py failed"
        fi
        torch_csvs+=${torch_csvs:+,}$tmp/torch.$round.csv
        torch_note=$(grep -m1 '^# ' "$tmp/torch.log" | sed 's/^# //' || true)
    fi
    if [[ -n $have_onednn ]]; then
        echo "bench.sh: running bench_onednn ${onednn_args[*]}$of ..." >&2
        if ! "$tmp/bench_onednn" "${onednn_args[@]}" --csv "$tmp/onednn.$round.csv" >"$tmp/onednn.log" 2>&1; then
            cat "$tmp/onednn.log" >&2
            die "bench_onednn failed (its gradient check, or oneDNN)"
        fi
        onednn_csvs+=${onednn_csvs:+,}$tmp/onednn.$round.csv
        onednn_note=$(grep -m1 '^# ' "$tmp/onednn.log" | sed 's/^# //' || true)
    fi
done

cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
[[ -n $cpu_model ]] || cpu_model=unknown

BENCH_NPROC=$(nproc) BENCH_CPU=$cpu_model BENCH_DATE=$(date '+%Y-%m-%d %H:%M:%S %Z') \
BENCH_COMMAND=$command_line BENCH_CLRNN=$clrnn BENCH_TORCH_NOTE=$torch_note \
BENCH_ONEDNN_NOTE=$onednn_note BENCH_ROUNDS=$rounds \
python3 - "$clrnn_csvs" "$torch_csvs" "$merged_csv" "$onednn_csvs" <<'PY'
import csv, math, os, sys

clrnn_csv, torch_csv, out_csv, onednn_csv = sys.argv[1:5]
env = os.environ

def read(paths):
    """The rows of the rounds' CSVs (paths comma-separated), each key's
    fastest; for a device, its share of the peak: its fastest GFLOP/s over
    its fastest measured peak."""
    best, order, top = {}, [], {}
    for path in paths.split(","):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                k = tuple(r.get(c, "") for c in ("shape", "n_in", "n_hidden", "n_out", "seq_len",
                                                  "batch", "models", "device", "precision"))
                for col in ("gflops", "peak_gflops"):
                    try:
                        v = float(r.get(col, "nan"))
                    except ValueError:
                        v = math.nan
                    if v == v and not top.get((k, col), 0) >= v:
                        top[k, col] = v
                if k not in best:
                    order.append(k)
                    best[k] = r
                elif float(r["window_steps_per_second"]) > float(best[k]["window_steps_per_second"]):
                    best[k] = r
    rows = []
    for k in order:
        r = dict(best[k])
        if "share_of_peak" in r and (k, "gflops") in top and (k, "peak_gflops") in top:
            r["share_of_peak"] = str(top[k, "gflops"] / top[k, "peak_gflops"])
        rows.append(r)
    return rows

def key(r):
    return (r["shape"], r["n_in"], r["n_hidden"], r["n_out"], r["seq_len"], r["batch"],
            r.get("models") or "1")

def rate(r):
    return float(r["window_steps_per_second"]) if r else math.nan

def fmt(v):
    return "-" if v != v else f"{v:.4g}"

def ratio(a, b):
    return "-" if a != a or b != b or b == 0 else f"{a / b:.2f}x"

shapes, cpu, ocl, devices, torch, precs = [], {}, {}, [], {}, []
def see(k, p):
    if k not in shapes:
        shapes.append(k)
    if p and p not in precs:
        precs.append(p)

for r in read(clrnn_csv):
    k = key(r)
    if r["device"] == "CPU reference":
        cpu[k] = r
        see(k, None)
    else:
        if r["device"] not in devices:
            devices.append(r["device"])
        ocl[k, r["device"], r["precision"]] = r
        see(k, r["precision"])
torch_version = None
if torch_csv:
    for r in read(torch_csv):
        torch[key(r), r["precision"]] = r
        torch_version = r["device"]
        see(key(r), r["precision"])
onednn = {}
if onednn_csv:
    for r in read(onednn_csv):
        onednn[key(r), r["precision"]] = r
        see(key(r), r["precision"])
precs.sort()  # fp32 before fp64
if not precs:
    precs = ["fp64"]

labels = ["OpenCL"] if len(devices) == 1 else [f"OpenCL[{i + 1}]" for i in range(len(devices))]
print(f"machine:  {env['BENCH_NPROC']} cores (nproc), {env['BENCH_CPU']}")
print(f"date:     {env['BENCH_DATE']}")
print(f"command:  {env['BENCH_COMMAND']}")
print(f"clrnn:    {env['BENCH_CLRNN']}")
for label, d in zip(labels, devices):
    print(f"{label}:{' ' * max(1, 9 - len(label))}{d}")
print(f"PyTorch:  {env['BENCH_TORCH_NOTE'] or torch_version}")
print(f"oneDNN:   {env['BENCH_ONEDNN_NOTE']}")
if env["BENCH_ROUNDS"] != "1":
    print(f"rounds:   {env['BENCH_ROUNDS']}, interleaved; each figure its fastest round, a share of "
          "peak the fastest GFLOP/s over the fastest peak")
print("window-steps per second; 'CPU ref' is clrnn's CPU reference, which runs fp64 only "
      "(the same figure in both precision rows)")
print()

have_torch = bool(torch_csv)
have_onednn = bool(onednn_csv)
grouped = any(k[6] != "1" for k in shapes)
def at_one(k):
    return k[:6] + ("1",)
head = ["shape", "prec"] + (["models"] if grouped else []) + ["CPU ref"] + labels + (["PyTorch"] if have_torch else []) + \
    (["oneDNN"] if have_onednn else [])
for label in labels:
    if have_torch:
        head.append(f"{label}/PyTorch")
    if have_onednn:
        head.append(f"{label}/oneDNN")
    head.append(f"{label}/CPU")
    head.append(f"{label} of peak")
    if grouped:
        head.append(f"{label}/N=1")
if have_torch:
    head.append("PyTorch/CPU")
    if grouped:
        head.append("PyTorch/N=1")
table, merged = [], []
for k in shapes:
    for p in precs:
        c = rate(cpu.get(k))
        o = [rate(ocl.get((k, d, p))) for d in devices]
        t = rate(torch.get((k, p)))
        dn = rate(onednn.get((k, p)))
        if all(v != v for v in o) and t != t and dn != dn and not (p == "fp64" and c == c):
            continue
        row = [k[0], p] + ([k[6]] if grouped else []) + [fmt(c)] + [fmt(v) for v in o] + ([fmt(t)] if have_torch else []) + \
            ([fmt(dn)] if have_onednn else [])
        for d, v in zip(devices, o):
            if have_torch:
                row.append(ratio(v, t))
            if have_onednn:
                row.append(ratio(v, dn))
            row.append(ratio(v, c))
            share = ocl.get((k, d, p), {}).get("share_of_peak", "")
            try:
                share = float(share)
            except ValueError:
                share = math.nan
            row.append("-" if share != share else f"{100 * share:.1f}%")
            if grouped:
                row.append(ratio(v, rate(ocl.get((at_one(k), d, p)))))
        if have_torch:
            row.append(ratio(t, c))
            if grouped:
                row.append(ratio(t, rate(torch.get((at_one(k), p)))))
        table.append(row)
        base = dict(zip(["shape", "n_in", "n_hidden", "n_out", "seq_len", "batch", "models"], k))
        for d, v in zip(devices, o):
            merged.append({**base, "precision": p, "cpu_reference": c, "device": d, "opencl": v,
                           "pytorch": t})
        if not devices:
            merged.append({**base, "precision": p, "cpu_reference": c, "device": "", "opencl": math.nan,
                           "pytorch": t})

widths = [max(len(r[i]) for r in [head] + table) for i in range(len(head))]
def line(cells):
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
print(line(head))
print("  ".join("-" * w for w in widths))
for r in table:
    print(line(r))

if out_csv:
    cols = ["shape", "n_in", "n_hidden", "n_out", "seq_len", "batch", "precision", "device",
            "cpu_reference", "opencl", "pytorch", "opencl_vs_pytorch", "opencl_vs_cpu"]
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols + ["pytorch_device", "models"])
        for m in merged:
            o, t, c = m["opencl"], m["pytorch"], m["cpu_reference"]
            vals = [m[x] for x in cols[:8]] + [f"{c:.6g}", f"{o:.6g}", f"{t:.6g}",
                    f"{o / t:.4g}" if t == t and t else "nan", f"{o / c:.4g}" if c == c and c else "nan"]
            w.writerow(vals + [torch_version or "", m["models"]])
PY
