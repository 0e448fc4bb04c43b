#!/usr/bin/python3
"""Read a larch experiment file (HDF5, docs/RESULTS-FORMAT.md) into pandas.

    import larch_results as lr
    df = lr.load("demo.h5")        # one row per trial of every run
    lr.runs("demo.h5")             # one row per run, with its run_state
    lr.space("demo.h5")            # the search space as a dict

Works on a live file while `larch run` is still writing it (SWMR), and on a file whose writer
was killed. Command line: `python3 tools/larch_results.py FILE` prints a short summary.
Needs h5py, numpy and pandas (Debian: python3-h5py python3-numpy python3-pandas).
"""

import sys

import h5py
import numpy as np
import pandas as pd

SCHEMA_VERSION = 1  # the newest schema this module reads (RESULTS_SCHEMA_VERSION in C)
RUN_COLUMNS = ["run_name", "strategy", "plugin", "strategy_version", "seed", "seed_index",
               "evaluator"]


def _open(path):
    """Opens read-only; SWMR so that a file still being written can be read."""
    try:
        f = h5py.File(path, "r", libver="latest", swmr=True)
    except OSError:
        f = h5py.File(path, "r")  # e.g. a file repacked into an older format
    version = int(f.attrs.get("schema_version", 0))
    if not 1 <= version <= SCHEMA_VERSION:
        f.close()
        raise ValueError(f"{path}: schema version {version} is not one this module reads "
                         f"(1..{SCHEMA_VERSION})")
    return f


def _str(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _enum_names(dtype):
    """{value: name} of an HDF5 enum dtype as h5py reports it."""
    mapping = h5py.check_enum_dtype(dtype)
    return {v: k for k, v in mapping.items()}


def _run_groups(f):
    """The run groups in run_index order."""
    groups = list(f["runs"].values())
    return sorted(groups, key=lambda g: int(g.attrs["run_index"]))


def _run_meta(group):
    return {
        "run_name": group.name.rsplit("/", 1)[-1],
        "strategy": _str(group.attrs["strategy"]),
        # the plugin the strategy runs ("rl-table" runs "rl"); older files: the strategy itself
        "plugin": _str(group.attrs.get("plugin", group.attrs["strategy"])),
        "strategy_version": _str(group.attrs["strategy_version"]),
        "seed": int(group.attrs["seed"]),
        "seed_index": int(group.attrs["seed_index"]),
        # "train" or "table" (a replay); files from before replays have no attribute
        "evaluator": _str(group.attrs.get("evaluator", "train")),
    }


def _trials(group):
    """The run's trials as a DataFrame, with curves; drops rows never written (see the doc)."""
    table = group["trials"][()]
    # A row extended but not written by a killed writer reads as the fill value.
    wrong = np.flatnonzero(table["trial"] != np.arange(len(table), dtype=table["trial"].dtype))
    valid = int(wrong[0]) if len(wrong) else len(table)
    table = table[:valid]
    df = pd.DataFrame(table)
    status_names = _enum_names(group["trials"].dtype["status"])
    df["status"] = pd.Series(table["status"]).map(
        lambda s: status_names.get(int(s), str(int(s)))).astype(object)
    df["arch"] = [_str(a) for a in table["arch"]]
    n_epochs = table["n_epochs"]
    for name in ("train_loss", "val_accuracy_curve"):
        curves = group[name][:valid]
        df[name] = [curves[i, : n_epochs[i]].tolist() for i in range(valid)]
    return df


def load(path):
    """One row per trial of every run: the trials columns (arch as str, status as its enum name;
    cost_seconds is what the trial was charged, charged_seconds the run's running total), the
    run's metadata (run_name, strategy, plugin, strategy_version, seed, seed_index, evaluator)
    and the per-epoch curves train_loss / val_accuracy_curve as lists trimmed to n_epochs."""
    with _open(path) as f:
        frames = []
        for group in _run_groups(f):
            df = _trials(group)
            for key, value in _run_meta(group).items():
                df[key] = value
            frames.append(df)
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    first = ["run_name", "trial"]
    return df[first + [c for c in df.columns if c not in first]]


def runs(path):
    """One row per run: metadata, abi_version, run_index, run_state, the trials written so far
    and the size of the latest checkpoint in bytes."""
    with _open(path) as f:
        rows = []
        for group in _run_groups(f):
            state = group["run_state"]
            row = _run_meta(group)
            row["abi_version"] = _str(group.attrs["abi_version"])
            row["run_index"] = int(group.attrs["run_index"])
            row["run_state"] = _enum_names(state.dtype).get(int(state[()]), "?")
            row["n_trials"] = len(group["trials"])
            row["checkpoint_bytes"] = int(group["checkpoint_size"][()])
            rows.append(row)
    return pd.DataFrame(rows)


def space(path):
    """The search space: name, and per decision its label, kind (1 op, 2 input, 3 combine,
    4 other) and number of choices; op_names for OP decisions."""
    with _open(path) as f:
        g = f["space"]
        return {
            "name": _str(g.attrs["name"]),
            "n_decisions": int(g.attrs["n_decisions"]),
            "decisions": pd.DataFrame({
                "label": [_str(s) for s in g["decision_label"][()]],
                "kind": g["decision_kind"][()].astype(int),
                "n_choices": g["n_choices"][()].astype(int),
            }),
            "op_names": [_str(s) for s in g["op_names"][()]],
        }


def experiment(path):
    """The root attributes and the config text as a dict. A replay (evaluator "table") also has
    table_path, table_best_val_accuracy and table_best_test_accuracy: the table's best
    architecture by mean validation accuracy over its seeds, and its mean test accuracy."""
    with _open(path) as f:
        info = {k: (_str(v) if isinstance(v, (bytes, str)) else v.item())
                for k, v in f.attrs.items()}
        info["config"] = _str(f["config"][()])
    return info


def summary(path):
    """A few lines for people: the experiment, each run and its best trial."""
    info = experiment(path)
    sp = space(path)
    df = load(path)
    lines = [f"{path}: larch {info['larch_version']}, schema {info['schema_version']}, "
             f"created {info['created']}, config {info['config_path']}",
             f"objective: {info['objective']}; space '{sp['name']}' with "
             f"{sp['n_decisions']} decisions"]
    if "table_path" in info:
        lines.append(f"replay of {info['table_path']}: best val "
                     f"{info['table_best_val_accuracy']:.4f} (its test "
                     f"{info['table_best_test_accuracy']:.4f})")
    for _, run in runs(path).iterrows():
        trials = df[df["run_name"] == run["run_name"]]
        ok = trials[trials["status"] == "OK"]
        best = (f"best score {ok['score'].max():.4f} (arch {ok.loc[ok['score'].idxmax(), 'arch']})"
                if len(ok) else "no OK trial")
        lines.append(f"  {run['run_name']:<24} {run['run_state']:<9} {run['n_trials']:>5} trials, "
                     f"{len(trials) - len(ok)} not OK, {best}")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} FILE", file=sys.stderr)
        return 2
    try:
        print(summary(argv[1]))
    except (OSError, KeyError, ValueError) as e:
        print(f"{argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
