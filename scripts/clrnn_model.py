#!/usr/bin/python3
"""clrnn_model.py: a clrnn model file (.clrnn) in numpy, without clrnn.

Reads the file as docs/checkpoint-format.md describes it (format versions 1
to 4): the layers and their weights, the scaler statistics, the feature and
target columns, seq_len, horizons, differencing, and where recorded the data
file and its settings; runs the forward pass of docs/model.md on the
windows of a CSV table, as `clrnn predict` does.

As a module:

    import clrnn_model
    m = clrnn_model.load("model.clrnn")
    m.features, m.targets, m.seq_len, m.horizons, m.feature_mean, m.weights["layer0.W_i"]
    rows, labels, truth, pred = m.predict_csv("data.csv")   # every full window
    y = m.forward(windows)   # (N, T, F) scaled inputs -> (N, T, O) scaled outputs

From the command line (the CSV that `clrnn predict` writes, for one horizon):

    /usr/bin/python3 scripts/clrnn_model.py model.clrnn [--data data.csv] [--out preds.csv]

Only numpy and the standard library are needed. Date features (the sine
and cosine of the day of year, weekday, month and hour) are computed from
the ISO dates of the row labels as clrnn computes them (host/data/data.c).
"""
import argparse
import csv
import datetime
import math
import os
import struct
import sys
import zlib

import numpy as np

TENSORS = ("W_i", "W_h", "W_o", "b_o", "b_i")
MAGIC = b"\x89CLRNN\r\n"
MISSING = ("ffill", "drop", "error")
DATE_NAMES = ("date", "time", "timestamp", "datetime")
DATE_BITS = ("doy", "dow", "month", "hour")  # CLRNN_DATE_* bit i


def parse_time(label):
    """Seconds since 1970-01-01 UTC of YYYY-MM, YYYY-MM-DD or
    YYYY-MM-DD[T ]HH:MM[:SS][Z]; None for anything else."""
    s = label.strip()
    if s.endswith("Z"):
        s = s[:-1]
    for fmt in ("%Y-%m", "%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S"):
        try:
            t = datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
        if len(s) != len(t.strftime(fmt)):  # strptime takes "2020-1-5"; clrnn does not
            return None
        return (t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()
    return None


def date_cycles(seconds):
    """The share of each cycle (year, week, month, day) that has passed."""
    days = math.floor(seconds / 86400.0)
    part = (seconds - days * 86400.0) / 86400.0
    d = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    leap = d.year % 4 == 0 and (d.year % 100 != 0 or d.year % 400 == 0)
    in_month = ((datetime.date(d.year + d.month // 12, d.month % 12 + 1, 1) - d.replace(day=1)).days)
    return ((d.timetuple().tm_yday - 1 + part) / (366.0 if leap else 365.0),
            (((days + 3) % 7) + part) / 7.0,  # 1970-01-01 was a Thursday
            ((d.month - 1) + (d.day - 1 + part) / in_month) / 12.0,
            part)


class FormatError(ValueError):
    """The file is not a clrnn model file this script reads."""


class Model:
    """A model file's fields; see load()."""

    def forward(self, x):
        """Scaled inputs x (N, T, I) -> the last layer's outputs (N, T, O), docs/model.md:
        z_t = x_t W_i + h_{t-1} W_h + b_i, h_t = tanh(z_t), y_t = h_t W_o + b_o."""
        x = np.asarray(x, dtype=np.float64)
        for l in range(len(self.layers)):
            W_i, W_h, W_o, b_o, b_i = (self.weights[f"layer{l}.{t}"] for t in TENSORS)
            n, T, _ = x.shape
            h = np.zeros((n, W_h.shape[0]))
            y = np.empty((n, T, W_o.shape[1]))
            for t in range(T):
                h = np.tanh(x[:, t] @ W_i + h @ W_h + b_i)
                y[:, t] = h @ W_o + b_o
            x = y
        return x

    def read_csv(self, path):
        """The table as the model reads it: (labels or None, x (R, F) in the
        data's units, missing cells filled or rows dropped by the model's
        policy, target columns (R, K) with NaN where a cell is missing or the
        column absent)."""
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
        header, body = rows[0], rows[1:]
        label_col = None
        if self.date_column is not None:
            label_col = header.index(self.date_column)
        elif header and (header[0] == "" or header[0].strip().lower() in DATE_NAMES):
            label_col = 0

        def column(name, optional=False):
            if name not in header:
                if optional:
                    return np.full(len(body), np.nan)
                raise ValueError(f"{path}: no column named '{name}'")
            j = header.index(name)
            return np.array([float(r[j]) if r[j].strip() else np.nan for r in body])

        x = np.stack([column(n) for n in self.features], axis=1)
        y = np.stack([column(n, optional=True) for n in self.targets], axis=1)
        present = [n in header for n in self.targets]
        labels = [r[label_col] for r in body] if label_col is not None else None
        if self.date_features:
            times = [parse_time(l) for l in labels or []]
            if not labels or None in times:
                raise ValueError(f"{path}: date features need a first column of ISO dates")
            cycles = np.array([date_cycles(t) for t in times])
            extra = []
            for i in range(len(DATE_BITS)):
                if self.date_features >> i & 1:
                    extra += [np.sin(2 * math.pi * cycles[:, i]), np.cos(2 * math.pi * cycles[:, i])]
            x = np.concatenate([x, np.stack(extra, axis=1)], axis=1)
        used = np.concatenate([x, y[:, present]], axis=1)
        empty = np.isnan(used).any(axis=1)
        policy = MISSING[self.missing]
        if policy == "error" and empty.any():
            raise ValueError(f"{path}: an empty cell in a used column (row {np.argmax(empty)})")
        if policy == "drop":
            keep = ~empty
            x, y = x[keep], y[keep]
            labels = [l for l, k in zip(labels, keep) if k] if labels else None
        else:  # ffill: each empty cell takes the value above it
            for j in range(x.shape[1]):
                for r in range(1, len(x)):
                    if np.isnan(x[r, j]):
                        x[r, j] = x[r - 1, j]
        return labels, x, y

    def outputs(self):
        """(target column index, horizon) of each output, in output order."""
        return [(k, h) for h in self.horizons for k in range(len(self.targets))]

    def predict_csv(self, path):
        """Predictions for every full window of the table, as `clrnn
        predict`: (rows (N, O) the row each output predicts, labels or None,
        truth (N, O) NaN where unknown, predictions (N, O) in the targets'
        units, levels for a differenced model)."""
        labels, x, y = self.read_csv(path)
        T, R = self.seq_len, len(x)
        xs = (x - self.feature_mean) / self.feature_std
        # a window for every row its farthest horizon predicts inside the table
        starts = np.arange(R - T - max(self.horizons) + 1)
        if self.stateful:  # warmed up over every row before: one window of the whole table
            out = self.forward(xs[None])[0][starts + T - 1] * self.target_std + self.target_mean
        else:
            windows = np.stack([xs[s:s + T] for s in starts])
            out = self.forward(windows)[:, -1, :] * self.target_std + self.target_mean
        last = starts + T - 1
        rows = np.empty(out.shape, dtype=np.int64)
        truth = np.full(out.shape, np.nan)
        for o, (k, h) in enumerate(self.outputs()):
            rows[:, o] = last + h
            inside = rows[:, o] < R
            truth[inside, o] = y[rows[inside, o], k]
            if self.difference:  # from the column at p - max(h, 1), carried forward
                out[:, o] += np.array([last_known(y[:, k], r + h - max(h, 1)) for r in last])
        return rows, labels, truth, out


def last_known(column, row):
    """The last value of column at or before row that is not NaN (NaN before row 0)."""
    for r in range(row, -1, -1):
        if not math.isnan(column[r]):
            return column[r]
    return math.nan


def load(path):
    """Reads a .clrnn file (format version 1 to 4) into a Model."""
    b = open(path, "rb").read()
    if b[:8] != MAGIC:
        raise FormatError(f"{path}: not a clrnn model file")
    version = struct.unpack_from("<I", b, 8)[0]
    if version not in (1, 2, 3, 4):
        raise FormatError(f"{path}: model format version {version}; this script reads 1 to 4")
    if struct.unpack_from("<Q", b, 12)[0] != len(b):
        raise FormatError(f"{path}: truncated or appended to")
    if zlib.crc32(b[:-4]) != struct.unpack_from("<I", b, len(b) - 4)[0]:
        raise FormatError(f"{path}: corrupted (CRC32 mismatch)")
    pos = 20

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, b, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def text():
        nonlocal pos
        (n,) = take("I")
        s = b[pos:pos + n].decode("utf-8")
        pos += n
        return s

    def array(n):
        return np.array(take(f"{n}d"), dtype=np.float64)

    m = Model()
    m.version = version
    m.layers = [take("3I") for _ in range(take("I")[0])]
    m.precision, m.seq_len, m.loss_steps = take("3I")
    m.features = [text() for _ in range(take("I")[0])]
    m.targets = [text() for _ in range(take("I")[0])]
    n_in = len(m.features) if version == 1 else m.layers[0][0]
    n_out = len(m.targets) if version == 1 else m.layers[-1][2]
    m.feature_mean, m.feature_std = array(n_in), array(n_in)
    m.target_mean, m.target_std = array(n_out), array(n_out)
    m.optimizer = take("I")[0]
    m.lr, m.momentum, m.beta1, m.beta2, m.eps, m.weight_decay, m.clip_norm = take("7d")
    m.step, m.epoch = take("2Q")
    (m.seed,) = take("I")
    m.date_features, m.horizons, m.difference, m.season = 0, [0], 0, 0
    m.data_path = m.data_path_absolute = m.date_column = None
    m.train_fraction, m.val_fraction, m.missing, m.scaler_fit, m.scale_targets = 0.7, 0.15, 0, 0, 1
    m.data_rows = m.train_rows = m.val_rows = None
    m.series_column, m.split_by_series, m.scale_per_series = None, 0, 0
    if version >= 2:
        (m.date_features,) = take("I")
        m.horizons = list(take(f"{take('I')[0]}I"))
        m.difference, m.season, has_data = take("3I")
        if has_data:
            m.data_path, m.data_path_absolute = text(), text()
            m.date_column = text() or None
            m.train_fraction, m.val_fraction = take("2d")
            m.missing, m.scaler_fit, m.scale_targets = take("3I")
            m.data_rows, m.train_rows, m.val_rows = take("3Q")
            if version >= 3:
                m.series_column = text() or None
                m.split_by_series, m.scale_per_series = take("2I")
    m.stateful = take("I")[0] if version >= 4 else 0
    (P,) = take("Q")
    flat = [np.frombuffer(b, "<f8", P, pos + i * 8 * P).copy() for i in range(3)]
    m.params, m.state_m, m.state_v = flat
    if pos + 3 * 8 * P + 4 != len(b):
        raise FormatError(f"{path}: the fields do not end at the CRC")
    m.weights, at = {}, 0
    for l, (I, H, O) in enumerate(m.layers):
        for name, shape in zip(TENSORS, ((I, H), (H, H), (H, O), (O,), (H,))):
            n = int(np.prod(shape))
            m.weights[f"layer{l}.{name}"] = m.params[at:at + n].reshape(shape)
            at += n
    if at != P:
        raise FormatError(f"{path}: the parameter count does not match the layers")
    return m


def data_file(m, model_path):
    """Where the model's recorded data file is now (as clrnn looks for it)."""
    for p in (m.data_path_absolute, m.data_path,
              os.path.join(os.path.dirname(model_path), m.data_path or "")):
        if p and os.access(p, os.R_OK):
            return p
    raise FileNotFoundError(f"the data '{m.data_path}' that {model_path} was trained on is not "
                            "found; give --data")


def main(argv):
    ap = argparse.ArgumentParser(description="a clrnn model's predictions, in numpy")
    ap.add_argument("model")
    ap.add_argument("--data", help="CSV table (default: the one the model was trained on)")
    ap.add_argument("--out", help="CSV to write (default: standard output)")
    a = ap.parse_args(argv)
    m = load(a.model)
    if a.data is None and m.data_path is None:
        ap.error("the model file does not record its data (format version 1): give --data")
    rows, labels, truth, pred = m.predict_csv(a.data or data_file(m, a.model))
    if len(m.horizons) > 1:
        ap.error("several horizons: use the module's predict_csv")
    out = open(a.out, "w", newline="") if a.out else sys.stdout
    fmt = lambda v: "" if math.isnan(v) else f"{v:.17g}"
    h = m.horizons[0]
    names = [t if h == 0 else f"{t}+{h}" for t in m.targets]
    out.write(("date" if labels else "row") + "".join(f",{n},{n}_pred" for n in names) + "\n")
    for i in range(len(pred)):
        r = rows[i, 0]
        name = labels[r] if labels and r < len(labels) else str(r)
        out.write(name + "".join(f",{fmt(truth[i, k])},{fmt(pred[i, k])}"
                                 for k in range(pred.shape[1])) + "\n")
    if a.out:
        out.close()


if __name__ == "__main__":
    main(sys.argv[1:])
