#!/usr/bin/python3
"""Tests tools/larch_plot.py and the machine formats of `larch report` on real files.

The experiment file comes from `larch run` on a tiny config when Fashion-MNIST is installed
(Debian package dataset-fashion-mnist), and always from tests/results_sample.c. The report's
numbers are checked against an independent pandas computation of the same definitions
(docs/REPORT.md).

Usage: test_larch_plot.py LARCH_BINARY RESULTS_SAMPLE_BINARY SOURCE_DIR
"""

import csv
import io
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import pandas as pd

FASHION = "/usr/share/datasets/fashion-mnist"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMAGES = ["best_vs_trials.png", "best_vs_seconds.png", "final_accuracy.png",
          "accuracy_vs_flops.png", "comparison.png"]
TINY = ["experiment.name=tiny", "experiment.strategies=random,grid", "experiment.seeds=2",
        "budget.trials=3", "data.train_size=400", "data.val_size=200", "data.test_size=200",
        "space.channels=4", "train.threads=1", "train.batch=16"]


def make_files(larch, sample, source, tmp):
    """The experiment files to test on: the sample always, a real run when the data exists."""
    files = []
    path = os.path.join(tmp, "sample.h5")
    subprocess.run([sample, path], check=True)
    files.append(path)
    if os.path.isdir(FASHION):
        path = os.path.join(tmp, "tiny.h5")
        cmd = [larch, "run", os.path.join(source, "examples", "demo.cfg"), "-o", path, "--quiet"]
        for setting in TINY:
            cmd += ["--set", setting]
        subprocess.run(cmd, check=True)
        files.append(path)
    else:
        print(f"note: {FASHION} is missing; testing on the sample file only")
    return files


def check_images(path, tools, tmp):
    out = os.path.join(tmp, os.path.basename(path) + "-plots")
    subprocess.run([sys.executable, os.path.join(tools, "larch_plot.py"), path, "--out", out],
                   check=True, stdout=subprocess.DEVNULL)
    for name in IMAGES:
        image = os.path.join(out, name)
        assert os.path.isfile(image), image
        with open(image, "rb") as f:
            data = f.read()
        assert len(data) > 1000, (image, len(data))
        assert data[:8] == PNG_MAGIC, image
        # The IHDR chunk comes first: its width and height must be positive.
        assert data[12:16] == b"IHDR", image
        width, height = struct.unpack(">II", data[16:24])
        assert width > 100 and height > 100, (image, width, height)


def report(larch, path, fmt):
    done = subprocess.run([larch, "report", path, "--format", fmt], check=True,
                          capture_output=True, text=True)
    return done.stdout


def expected(path, lr):
    """Per strategy, from pandas: runs, mean final val/test accuracy of the best-by-score trial,
    mean AUC against trials; and the default target."""
    df = lr.load(path)
    finals, aucs = {}, {}
    horizon = df.groupby("run_name").size().max()
    for (strategy, run), trials in df.groupby(["strategy", "run_name"], sort=False):
        trials = trials.sort_values("trial")
        score = np.where(trials["status"] == "OK", trials["score"], np.nan)
        best = np.fmax.accumulate(score)
        padded = np.concatenate([best, np.full(horizon - len(best), best[-1])])
        aucs.setdefault(strategy, []).append(np.nan_to_num(padded, nan=0.0).mean())
        ok = trials[trials["status"] == "OK"]
        if len(ok):
            finals.setdefault(strategy, []).append(ok.loc[ok["score"].idxmax()])
    target = float(np.median([f["score"] for fs in finals.values() for f in fs]))
    out = {}
    for strategy, fs in finals.items():
        out[strategy] = {
            "runs": len(aucs[strategy]),
            "val_accuracy_mean": float(np.mean([f["val_accuracy"] for f in fs])),
            "test_accuracy_mean": float(np.mean([f["test_accuracy"] for f in fs])),
            "auc_trials_mean": float(np.mean(aucs[strategy])),
        }
    return out, target


def close(a, b):
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def check_report_formats(path, larch, lr):
    want, target = expected(path, lr)
    doc = json.loads(report(larch, path, "json"))
    assert set(doc["strategies"]) == set(want), (doc["strategies"].keys(), want.keys())
    assert close(doc["target"]["score"], target) and doc["target"]["source"] == "median"
    assert doc["reference"] == "random"
    assert doc["best"]["arch"] and doc["n_runs"] == len(lr.runs(path))
    for strategy, values in want.items():
        got = doc["strategies"][strategy]
        for key, value in values.items():
            assert close(got[key], value), (strategy, key, got[key], value)
    rows = list(csv.DictReader(io.StringIO(report(larch, path, "csv"))))
    assert [r["strategy"] for r in rows] == list(doc["strategies"]), rows
    for r in rows:
        assert close(r["val_accuracy_mean"], want[r["strategy"]]["val_accuracy_mean"])
        assert r["is_reference"] == ("1" if r["strategy"] == "random" else "0")
    text = report(larch, path, "text")
    assert "final best" in text and "best architecture" in text, text
    markdown = report(larch, path, "markdown")
    assert "| strategy |" in markdown, markdown


def check_helpers(lr, plot):
    """The plot tool's own pieces on fixed inputs."""
    flops = np.array([1, 2, 2, 3, 4, 0.5])
    acc = np.array([50, 60, 55, 58, 70, 40])
    # (3, 58) is dominated by (2, 60); (2, 55) by (2, 60).
    assert list(plot.pareto_front(flops, acc)) == [5, 0, 1, 4]
    trials = pd.DataFrame({"status": ["FAILED", "OK", "OK", "OK"],
                           "score": [np.nan, 0.5, 0.4, 0.7], "cost_seconds": [1.0, 2, 0, 3]})
    best = plot.best_so_far(trials)
    assert np.isnan(best[0]) and list(best[1:]) == [0.5, 0.5, 0.7]
    assert list(plot.charged_seconds(trials)) == [1, 3, 3, 6]
    trials["charged_seconds"] = [5.0, 6, 7, 8]
    assert list(plot.charged_seconds(trials)) == [5, 6, 7, 8], "the column wins when present"


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    larch, sample, source = argv[1], argv[2], argv[3]
    tools = os.path.join(source, "tools")
    sys.path.insert(0, tools)
    import larch_plot as plot
    import larch_results as lr

    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        checks = [("helpers", lambda: check_helpers(lr, plot))]
        try:
            files = make_files(larch, sample, source, tmp)
        except Exception:
            traceback.print_exc()
            print("FAIL making the experiment files")
            return 1
        for path in files:
            name = os.path.basename(path)
            checks.append((f"images {name}", lambda p=path: check_images(p, tools, tmp)))
            checks.append((f"report {name}", lambda p=path: check_report_formats(p, larch, lr)))
        for name, check in checks:
            try:
                check()
                passed += 1
                print(f"ok   {name}")
            except Exception:
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
