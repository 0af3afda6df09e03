"""clrnn_model_test.py CLRNN DATA FIXTURES: scripts/clrnn_model.py against clrnn.

1. A model trained and saved by clrnn (format version 4, two layers): the
   script's forward pass on the table gives `clrnn predict`'s predictions to
   1e-9 relative (predict prints 10 significant digits), on the same rows.
2. Without --data: the script finds the recorded data file, as clrnn does.
3. A table without the target column: the same predictions, empty truth.
4. The version 1 fixture made by an earlier clrnn: the script reads it and
   predicts what that clrnn's predict wrote.
5. `clrnn export` carries the scaler and settings the script reads from the
   model file.
6. Where clrnn has the forecast framing (`train --horizon`): a model of two
   horizons, differenced, with date features, to 1e-9 relative too.
7. A stateful model (`train --stateful`): clrnn's predictions, warmed up in
   windows of seq_len with the state carried, are the script's single
   forward pass over the whole table, to 1e-9 relative.
Exits non-zero on any failure.
"""
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import clrnn_model  # noqa: E402

RTOL = 1e-9


def read_predict_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    cell = lambda s: float(s) if s else np.nan
    if rows[0][1:2] == ["target"]:  # one line an output: parsed by compare
        return rows[0], None, None
    return rows[0], [r[0] for r in rows[1:]], np.array([[cell(c) for c in r[1:]] for r in rows[1:]])


def compare(what, m, data, predict_csv):
    header, names, theirs = read_predict_csv(predict_csv)
    rows, labels, truth, pred = m.predict_csv(data)
    if header[1:] == ["target", "horizon", "truth", "prediction"]:  # one line an output
        with open(predict_csv, newline="") as f:
            lines = list(csv.reader(f))[1:]
        names = [l[0] for l in lines][::pred.shape[1]]
        want = [(m.targets[k], str(h)) for k, h in m.outputs()] * len(pred)
        assert [(l[1], l[2]) for l in lines] == want, f"{what}: outputs out of order"
        cell = lambda s: float(s) if s else np.nan
        theirs = np.array([[cell(l[3]), cell(l[4])] for l in lines]).reshape(len(pred), -1)
    assert len(names) == len(pred), f"{what}: {len(pred)} windows, predict wrote {len(names)}"
    ours_names = [labels[r] if labels else str(r) for r in rows[:, 0]]
    assert ours_names == names, f"{what}: the predicted rows differ"
    want_truth, want_pred = theirs[:, 0::2], theirs[:, 1::2]
    assert np.array_equal(np.isnan(truth), np.isnan(want_truth)), f"{what}: missing truth differs"
    ok = ~np.isnan(truth)
    assert np.allclose(truth[ok], want_truth[ok], rtol=1e-9, atol=0), f"{what}: truth differs"
    rel = np.max(np.abs(pred - want_pred) / np.maximum(np.abs(want_pred), 1e-300))
    assert rel <= RTOL, f"{what}: predictions differ by {rel:.3g} relative (limit {RTOL})"
    print(f"{what}: {len(pred)} windows, largest relative difference {rel:.2e} (limit {RTOL}) OK")


def main(clrnn, data, fixtures):
    d = tempfile.mkdtemp()
    model, preds, npz = (os.path.join(d, n) for n in ("m.clrnn", "p.csv", "w.npz"))
    run = lambda *args: subprocess.run([clrnn, *args], check=True, stdout=subprocess.DEVNULL)
    run("train", "--data", data, "--features", "a,b", "--target", "y", "--seq-len", "6",
        "--layers", "2:5:3,3:4:1", "--epochs", "3", "--batch", "8", "--device", "cpu",
        "--quiet", "--save", model)
    m = clrnn_model.load(model)
    assert m.version == 4 and not m.stateful and m.series_column is None and m.layers == [(2, 5, 3), (3, 4, 1)] and m.seq_len == 6
    assert m.features == ["a", "b"] and m.targets == ["y"] and m.horizons == [0]
    assert os.path.samefile(m.data_path_absolute, data) and m.train_fraction == 0.7
    print(f"model file version {m.version}: data {m.data_path}, split {m.train_fraction}/"
          f"{m.val_fraction}, rows {m.data_rows} (train to {m.train_rows}) OK")

    run("predict", "--model", model, "--out", preds)  # the recorded data
    compare("version 4, the recorded data", m, clrnn_model.data_file(m, model), preds)

    no_target = os.path.join(d, "no_target.csv")
    with open(data, newline="") as f, open(no_target, "w", newline="") as g:
        w = csv.writer(g)
        for r in csv.reader(f):
            w.writerow(r[:3])  # label, a, b: no y
    run("predict", "--model", model, "--data", no_target, "--out", preds)
    compare("a table without the target column", m, no_target, preds)

    v1 = clrnn_model.load(os.path.join(fixtures, "model_v1.clrnn"))
    assert v1.version == 1 and v1.data_path is None
    compare("version 1 fixture", v1, data, os.path.join(fixtures, "model_v1_predict.csv"))

    run("export", "--model", model, "--out", npz)
    with np.load(npz) as w:
        for k in ("feature_mean", "feature_std", "target_mean", "target_std"):
            assert np.array_equal(w[k], getattr(m, k)), k
        assert list(w["features"]) == m.features and list(w["targets"]) == m.targets
        assert int(w["seq_len"]) == m.seq_len and list(w["horizons"]) == m.horizons
        assert int(w["difference"]) == m.difference and str(w["data_path"]) == m.data_path
        for k, v in m.weights.items():
            assert np.array_equal(w[k], v), k
    print("export: the scaler, columns, window, horizons and data path equal the model file's OK")

    usage = subprocess.run([clrnn, "train", "--help"], capture_output=True, text=True).stdout
    if "--horizon" not in usage:
        print("(skipped: this clrnn has no --horizon, --difference or --date-features)")
    else:
        framed = os.path.join(d, "framed.clrnn")
        run("train", "--data", data, "--features", "a,b", "--target", "y", "--seq-len", "5",
            "--horizon", "1,3", "--difference", "--date-features", "doy,dow,month",
            "--hidden", "6", "--epochs", "3", "--batch", "8", "--device", "cpu", "--quiet",
            "--save", framed)
        f = clrnn_model.load(framed)
        assert f.horizons == [1, 3] and f.difference == 1 and f.date_features == 1 | 2 | 4
        run("predict", "--model", framed, "--out", preds)
        compare("horizons 1 and 3, differenced, date features", f, data, preds)
    if "--stateful" in usage:
        carried = os.path.join(d, "stateful.clrnn")
        run("train", "--data", data, "--features", "a,b", "--target", "y", "--seq-len", "4",
            "--layers", "2:5:3,3:4:1", "--stateful", "--epochs", "3", "--batch", "2",
            "--device", "cpu", "--quiet", "--save", carried)
        s = clrnn_model.load(carried)
        assert s.version == 4 and s.stateful == 1
        run("predict", "--model", carried, "--out", preds)
        compare("stateful: one pass over the table", s, data, preds)
        print("stateful: clrnn predict == one forward pass over the whole table OK")
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    os.rmdir(d)


if __name__ == "__main__":
    main(*sys.argv[1:4])
