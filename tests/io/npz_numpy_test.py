"""npz_numpy_test.py CLRNN DATA: a model trained and saved by clrnn, seen from numpy.

1. `clrnn export` writes an .npz that np.load reads: exactly the keys
   layer<l>.<W_i|W_h|W_o|b_o|b_i>, float64, shaped as in docs/model.md.
2. The .clrnn file, read here from docs/checkpoint-format.md alone (struct
   and zlib.crc32, no clrnn code), has the same parameters, bit for bit.
3. A forward pass written in numpy from docs/model.md with those arrays and the
   file's scaler statistics gives `clrnn predict`'s predictions.
Exits non-zero on any failure.
"""
import csv
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

TENSORS = ("W_i", "W_h", "W_o", "b_o", "b_i")


def read_clrnn(path):
    """The model file, as docs/checkpoint-format.md describes it."""
    b = open(path, "rb").read()
    assert b[:8] == b"\x89CLRNN\r\n", "magic"
    version = struct.unpack_from("<I", b, 8)[0]
    assert version in (1, 2, 3, 4), "version"
    assert struct.unpack_from("<Q", b, 12)[0] == len(b), "file size"
    assert zlib.crc32(b[:-4]) == struct.unpack_from("<I", b, len(b) - 4)[0], "CRC32"
    pos = 20

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, b, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def names():
        nonlocal pos
        out = []
        for _ in range(take("I")[0]):
            (n,) = take("I")
            out.append(b[pos:pos + n].decode())
            pos += n
        return out

    m = {}
    m["layers"] = [take("3I") for _ in range(take("I")[0])]
    m["precision"], m["seq_len"], m["loss_steps"] = take("3I")
    m["features"], m["targets"] = names(), names()
    F, K = len(m["features"]), len(m["targets"])
    if version >= 2:  # a statistic an input and an output
        F, K = m["layers"][0][0], m["layers"][-1][2]
    m["feature_mean"], m["feature_std"] = np.array(take(f"{F}d")), np.array(take(f"{F}d"))
    m["target_mean"], m["target_std"] = np.array(take(f"{K}d")), np.array(take(f"{K}d"))
    m["optimizer"] = take("I")[0]
    m["lr"], m["momentum"], m["beta1"], m["beta2"], m["eps"], m["wd"], m["clip"] = take("7d")
    m["step"], m["epoch"] = take("2Q")
    (m["seed"],) = take("I")
    if version >= 2:  # the forecast framing and the data settings
        (m["date_features"],) = take("I")
        m["horizons"] = list(take(f"{take('I')[0]}I"))
        m["difference"], m["season"], has_data = take("3I")
        if has_data:
            for key in ("data_path", "data_path_absolute", "date_column"):
                (n,) = take("I")
                m[key] = b[pos:pos + n].decode()
                pos += n
            m["train_fraction"], m["val_fraction"] = take("2d")
            m["missing"], m["scaler_fit"], m["scale_targets"] = take("3I")
            m["data_rows"], m["train_rows"], m["val_rows"] = take("3Q")
            if version >= 3:  # the series column, split by series, per-series scale
                (n,) = take("I")
                m["series_column"] = b[pos:pos + n].decode()
                pos += n
                m["split_by_series"], m["scale_per_series"] = take("2I")
    if version >= 4:  # carried hidden state
        (m["stateful"],) = take("I")
    (P,) = take("Q")
    m["params"], m["state_m"], m["state_v"] = (np.frombuffer(b, "<f8", P, pos + i * 8 * P)
                                               for i in range(3))
    assert pos + 3 * 8 * P + 4 == len(b), "fields do not end at the CRC"
    return m


def split_params(flat, layers):
    """The flat buffer cut into docs/model.md's tensors, layer after layer."""
    out, at = {}, 0
    for l, (I, H, O) in enumerate(layers):
        for name, shape in zip(TENSORS, ((I, H), (H, H), (H, O), (O,), (H,))):
            n = int(np.prod(shape))
            out[f"layer{l}.{name}"] = flat[at:at + n].reshape(shape)
            at += n
    assert at == len(flat)
    return out


def forward(w, n_layers, x):
    """docs/model.md: z_t = x_t W_i + h_{t-1} W_h + b_i, h_t = tanh(z_t), y_t = h_t W_o + b_o."""
    for l in range(n_layers):
        W_i, W_h, W_o, b_o, b_i = (w[f"layer{l}.{t}"] for t in TENSORS)
        h, ys = np.zeros(W_h.shape[0]), []
        for x_t in x:
            h = np.tanh(x_t @ W_i + h @ W_h + b_i)
            ys.append(h @ W_o + b_o)
        x = np.array(ys)
    return x


def main(clrnn, data):
    d = tempfile.mkdtemp()
    model, npz, preds = (os.path.join(d, n) for n in ("m.clrnn", "w.npz", "p.csv"))
    run = lambda *args: subprocess.run([clrnn, *args], check=True, stdout=subprocess.DEVNULL)
    run("train", "--data", data, "--features", "a,b", "--target", "y", "--seq-len", "5",
        "--layers", "2:6:3,3:4:1", "--epochs", "2", "--batch", "8", "--device", "cpu",
        "--quiet", "--save", model)
    run("export", "--model", model, "--out", npz)
    run("predict", "--model", model, "--data", data, "--out", preds)

    m = read_clrnn(model)
    assert m["layers"] == [(2, 6, 3), (3, 4, 1)] and m["epoch"] == 2 and m["step"] > 0
    print(f"model file read from the documented format: layers {m['layers']}, "
          f"features {m['features']}, step {m['step']}, CRC OK")
    expected = split_params(m["params"], m["layers"])
    with np.load(npz) as w:
        settings = {"feature_mean", "feature_std", "target_mean", "target_std", "features",
                    "targets", "horizons", "seq_len", "difference", "date_features", "season",
                    "loss_steps", "format_version", "data_path", "data_path_absolute"}
        assert sorted(w.files) == sorted(set(expected) | settings), f"keys {w.files}"
        for k in ("feature_mean", "feature_std", "target_mean", "target_std"):
            assert np.array_equal(w[k], m[k]), f"{k} differs from the model file's"
        assert list(w["features"]) == m["features"] and int(w["seq_len"]) == m["seq_len"]
        arrays = {k: w[k] for k in expected}
    for k, want in expected.items():
        got = arrays[k]
        assert got.dtype == np.float64 and got.shape == want.shape, f"{k}: {got.dtype} {got.shape}"
        assert got.flags.c_contiguous and np.array_equal(got, want), f"{k}: values differ"
    print(f"np.load: {len(arrays)} arrays, float64, the shapes of docs/model.md, equal to the model file's bits OK")

    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[c]) for c in m["features"]] for r in rows])
    x = (x - m["feature_mean"]) / m["feature_std"]
    T = m["seq_len"]
    ours = np.array([forward(arrays, 2, x[s:s + T])[-1, 0] for s in range(len(x) - T + 1)])
    ours = ours * m["target_std"][0] + m["target_mean"][0]
    with open(preds, newline="") as f:
        theirs = np.array([float(r["y_pred"]) for r in csv.DictReader(f)])
    diff = np.max(np.abs(ours - theirs))
    assert len(ours) == len(theirs) and diff < 1e-8, f"max difference {diff}"
    print(f"numpy forward pass with the exported arrays == clrnn predict on {len(ours)} windows "
          f"(max difference {diff:.2e}, predict prints 10 digits) OK")
    for f in (model, npz, preds):
        os.remove(f)
    os.rmdir(d)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
