#!/usr/bin/python3
"""Tests tools/larch_results.py on a file written by the C writer (tests/results_sample.c).

Usage: test_larch_results.py RESULTS_SAMPLE_BINARY TOOLS_DIR
"""

import math
import os
import subprocess
import sys
import tempfile
import traceback

import h5py
import numpy as np
import pandas as pd

N_RUNS, N_TRIALS, MAX_EPOCHS = 2, 5, 4  # as in results_sample.c
RUN_NAMES = ["random-s0", "evolution-s0"]


def check_load(path, lr):
    df = lr.load(path)
    assert len(df) == N_RUNS * N_TRIALS, len(df)
    for col in ["run_name", "trial", "run", "status", "cached", "score", "val_accuracy",
                "test_accuracy", "params", "flops", "latency_ms", "train_seconds",
                "cost_seconds", "started_s", "finished_s", "n_epochs", "arch", "train_loss",
                "val_accuracy_curve", "strategy", "plugin", "strategy_version", "seed", "seed_index",
                "charged_seconds", "evaluator"]:
        assert col in df.columns, col
    assert list(df["run_name"].unique()) == RUN_NAMES
    assert df["trial"].dtype == np.uint64 and df["params"].dtype == np.uint64
    assert df["score"].dtype == np.float64
    assert all(isinstance(s, str) for s in df["status"])
    assert set(df["status"]) == {"OK", "DIVERGED"}
    assert all(isinstance(a, str) and len(a) == 6 for a in df["arch"])
    assert df.loc[0, "arch"] == "012340" and df.loc[N_TRIALS, "arch"] == "123401"
    diverged = df[df["status"] == "DIVERGED"]
    assert len(diverged) == N_RUNS and diverged["score"].isna().all()
    assert list(df["strategy"].unique()) == ["random", "evolution"]
    assert list(df["plugin"].unique()) == ["random", "genetic"]
    assert list(df["strategy_version"].unique()) == ["1.0.0", "1.1.0"]
    assert list(df["seed"].unique()) == [1234, 1235]
    assert (df["seed_index"] == 0).all()
    assert (df["evaluator"] == "train").all()
    for _, run in df.groupby("run_name"):
        assert np.allclose(run["charged_seconds"], np.cumsum(run["cost_seconds"]))
    for _, row in df.iterrows():
        n = int(row["n_epochs"])
        assert n == 1 + int(row["trial"]) % MAX_EPOCHS
        assert len(row["train_loss"]) == n and len(row["val_accuracy_curve"]) == n
        assert math.isclose(row["train_loss"][0], 2.0)
        assert not any(math.isnan(v) for v in row["val_accuracy_curve"])


def check_runs_and_space(path, lr):
    r = lr.runs(path)
    assert list(r["run_name"]) == RUN_NAMES
    assert list(r["run_state"]) == ["FINISHED", "FINISHED"]
    assert list(r["n_trials"]) == [N_TRIALS, N_TRIALS]
    assert list(r["abi_version"]) == ["1.0", "1.0"]
    assert list(r["checkpoint_bytes"]) == [len("state after 5")] * 2
    sp = lr.space(path)
    assert sp["name"] == "sample-cell" and sp["n_decisions"] == 6
    assert list(sp["decisions"]["n_choices"]) == [5] * 6
    assert sp["decisions"]["label"][2] == "edge 2"
    assert sp["op_names"] == ["none", "skip", "conv1x1", "conv3x3", "avgpool3x3"]
    info = lr.experiment(path)
    assert info["schema_version"] == 1 and info["seed"] == 42
    assert info["config"].startswith("experiment:")
    assert "random-s0" in lr.summary(path)


def check_plain_h5py(path, lr):
    with h5py.File(path, "r") as f:
        df = pd.DataFrame(f["runs/random-s0/trials"][()])
        assert len(df) == N_TRIALS and list(df["trial"]) == list(range(N_TRIALS))
        assert f["runs/random-s0/arch"].shape == (N_TRIALS, 6)
        assert f["runs/random-s0/train_loss"].shape == (N_TRIALS, MAX_EPOCHS)
        assert np.isnan(f["runs/random-s0/train_loss"][0, 1:]).all()
        ckpt = f["runs/random-s0/checkpoint"][: f["runs/random-s0/checkpoint_size"][()]]
        assert ckpt.tobytes() == b"state after 5"


def check_unwritten_row_dropped(path, lr):
    """A row extended but never written (writer killed in between) is not a trial."""
    with h5py.File(path, "r+") as f:
        ds = f["runs/evolution-s0/trials"]
        ds.resize((N_TRIALS + 1,))
    df = lr.load(path)
    assert len(df) == N_RUNS * N_TRIALS


def check_newer_schema_refused(path, lr):
    with h5py.File(path, "r+") as f:
        f.attrs.modify("schema_version", np.int32(99))
    try:
        lr.load(path)
    except ValueError as e:
        assert "99" in str(e), e
    else:
        raise AssertionError("a newer schema version was accepted")


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sample, tools = argv[1], argv[2]
    sys.path.insert(0, tools)
    import larch_results as lr

    checks = [check_load, check_runs_and_space, check_plain_h5py, check_unwritten_row_dropped,
              check_newer_schema_refused]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for check in checks:
            path = os.path.join(tmp, check.__name__ + ".h5")
            try:
                subprocess.run([sample, path], check=True)
                check(path, lr)
                passed += 1
                print(f"ok   {check.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL {check.__name__}")
                traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
