#!/usr/bin/python3
"""Draw the comparison plots of a larch experiment file (docs/REPORT.md defines each curve).

    /usr/bin/python3 tools/larch_plot.py FILE --out DIR

Writes PNGs into DIR (created if missing):

    best_vs_trials.png     best-so-far score against trials: mean and +-1 sd band per strategy
    best_vs_seconds.png    the same against cumulative charged training seconds
    final_accuracy.png     each run's final best: validation and test accuracy per strategy
    accuracy_vs_flops.png  validation accuracy against FLOPs of every OK trial, Pareto front
    comparison.png         the four in one figure

Works on finished, live and killed-writer files (it reads through tools/larch_results.py).
Needs h5py, numpy, pandas and matplotlib (Debian: python3-h5py python3-pandas
python3-matplotlib); draws with the Agg backend, so no display is needed.
"""

import argparse
import os
import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import larch_results as lr  # noqa: E402

PLOTS = ["best_vs_trials", "best_vs_seconds", "final_accuracy", "accuracy_vs_flops"]


def charged_seconds(trials):
    """Cumulative charged seconds when each trial ended: the `charged_seconds` column where the
    file has it, else the running sum of `cost_seconds` (older files)."""
    if "charged_seconds" in trials.columns:
        return trials["charged_seconds"].to_numpy(dtype=float)
    return np.cumsum(trials["cost_seconds"].to_numpy(dtype=float))


def best_so_far(trials):
    """Running max of the score over OK trials; NaN before the first OK trial."""
    score = np.where(trials["status"] == "OK", trials["score"].to_numpy(dtype=float), np.nan)
    return np.fmax.accumulate(score) if len(score) else score


def collect(df, run_table):
    """{strategy: [run dicts]} in run order; each run has its curves and its final best row."""
    out = {}
    # One pass over the trials: selecting each run's rows by comparison would be runs x trials.
    by_run = dict(tuple(df.groupby("run_name", sort=False))) if len(df) else {}
    for _, run in run_table.iterrows():
        trials = by_run.get(run["run_name"])
        trials = trials.sort_values("trial") if trials is not None else df.iloc[0:0]
        entry = {"name": run["run_name"], "best": np.array([]), "seconds": np.array([]),
                 "final": None}
        if len(trials):
            entry["best"] = best_so_far(trials)
            entry["seconds"] = charged_seconds(trials)
            ok = trials[trials["status"] == "OK"]
            if len(ok):
                entry["final"] = ok.loc[ok["score"].idxmax()]
        out.setdefault(run["strategy"], []).append(entry)
    return out


def colors_for(strategies):
    cycle = plt.get_cmap("tab10")
    return {s: cycle(i % 10) for i, s in enumerate(strategies)}


def mean_band(ax, x, rows, color, label):
    """Mean line and +-1 sd band over runs (rows), ignoring undefined (NaN) entries."""
    rows = np.asarray(rows, dtype=float)
    with warnings.catch_warnings():  # a column with no defined value is NaN, on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(rows, axis=0)
        sd = np.nanstd(rows, axis=0, ddof=1) if len(rows) > 1 else np.zeros_like(mean)
    sd = np.nan_to_num(sd)
    n = len(rows)
    ax.plot(x, mean, color=color, label=f"{label} ({n} run{'s' if n != 1 else ''})")
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, linewidth=0)
    return mean - sd, mean + sd


def zoom_past_start(ax, bands, fraction=0.1):
    """Sets the y range to the bands past the first `fraction` of the x range: the steep start
    of best-so-far curves would otherwise squeeze the differences at the end into a line."""
    start = [len(lo) and int(len(lo) * fraction) for lo, _ in bands]
    lows = [np.nanmin(lo[k:]) for (lo, _), k in zip(bands, start) if np.isfinite(lo[k:]).any()]
    highs = [np.nanmax(hi[k:]) for (_, hi), k in zip(bands, start) if np.isfinite(hi[k:]).any()]
    if lows and highs and max(highs) > min(lows):
        margin = 0.05 * (max(highs) - min(lows))
        ax.set_ylim(min(lows) - margin, max(highs) + margin)
        return True
    return False


def no_data(ax, what):
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes)


def label_best_so_far(ax, bands, x_label, score_label):
    """Zooms a best-so-far panel (zoom_past_start) and labels it, saying when it zoomed."""
    zoomed = zoom_past_start(ax, bands)
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"best-so-far {score_label}")
    x_name = "trials" if x_label == "trials" else "charged seconds"
    ax.set_title(f"best so far vs {x_name}" + (" (y: past the first 10%)" if zoomed else ""))


def plot_vs_trials(ax, runs, colors, score_label):
    horizon = max((len(r["best"]) for rs in runs.values() for r in rs), default=0)
    if horizon == 0:
        no_data(ax, "trials")
    x = np.arange(1, horizon + 1)
    bands = []
    for strategy, rs in runs.items():
        rows = []
        for r in rs:
            if len(r["best"]) == 0:
                continue
            # A run that ended early keeps its best for the remaining trials.
            rows.append(np.concatenate([r["best"],
                                        np.full(horizon - len(r["best"]), r["best"][-1])]))
        if rows:
            bands.append(mean_band(ax, x, rows, colors[strategy], strategy))
    label_best_so_far(ax, bands, "trials", score_label)


def plot_vs_seconds(ax, runs, colors, score_label):
    t_end = max((r["seconds"][-1] for rs in runs.values() for r in rs if len(r["seconds"])),
                default=0.0)
    if not t_end > 0:
        no_data(ax, "charged seconds")
    grid = np.linspace(0, t_end, 400) if t_end > 0 else np.array([])
    bands = []
    for strategy, rs in runs.items():
        rows = []
        for r in rs:
            if len(r["best"]) == 0 or len(grid) == 0:
                continue
            # Step function: the best-so-far of the last trial that had ended by time t.
            idx = np.searchsorted(r["seconds"], grid, side="right") - 1
            rows.append(np.where(idx >= 0, r["best"][np.maximum(idx, 0)], np.nan))
        if rows:
            bands.append(mean_band(ax, grid, rows, colors[strategy], strategy))
    label_best_so_far(ax, bands, "charged training seconds", score_label)


def plot_final(ax, runs, colors):
    strategies = list(runs)
    rng = np.random.default_rng(0)  # fixed jitter: the same file draws the same picture
    drawn = False
    for i, strategy in enumerate(strategies):
        finals = [r["final"] for r in runs[strategy] if r["final"] is not None]
        if not finals:
            continue
        drawn = True
        for offset, column, hatch in ((-0.18, "val_accuracy", ""), (0.18, "test_accuracy", "//")):
            values = 100 * np.array([float(f[column]) for f in finals])
            box = ax.boxplot(values, positions=[i + offset], widths=0.3, patch_artist=True,
                             showfliers=False, medianprops={"color": "black"})
            box["boxes"][0].set(facecolor=colors[strategy], alpha=0.35, hatch=hatch)
            ax.scatter(i + offset + rng.uniform(-0.06, 0.06, len(values)), values, s=12,
                       color=colors[strategy], zorder=3)
    if not drawn:
        no_data(ax, "OK trials")
    ax.set_xticks(range(len(strategies)))
    ax.set_xticklabels(strategies)
    ax.set_xlim(-0.6, max(len(strategies) - 0.4, 0.6))
    ax.set_ylabel("accuracy of the run's best (%)")
    ax.set_title("final best per run: validation (plain) | test (hatched)")


def pareto_front(flops, acc):
    """Indices of the non-dominated points: no other point has fewer or equal FLOPs and higher
    accuracy. Sorted by FLOPs."""
    order = np.lexsort((-acc, flops))
    front, best = [], -np.inf
    for i in order:
        if acc[i] > best:
            front.append(i)
            best = acc[i]
    return np.array(front, dtype=int)


def plot_pareto(ax, df, colors):
    ok = df[df["status"] == "OK"] if len(df) else df
    if len(ok) == 0:
        no_data(ax, "OK trials")
        ax.set_title("accuracy vs FLOPs")
        return
    # A cached trial repeats an architecture: one point per architecture and strategy.
    ok = ok.drop_duplicates(subset=["strategy", "arch"])
    for strategy, group in ok.groupby("strategy", sort=False):
        ax.scatter(group["flops"] / 1e6, 100 * group["val_accuracy"], s=14, alpha=0.6,
                   color=colors[strategy], label=strategy)
    unique = ok.drop_duplicates(subset=["arch"])
    flops = unique["flops"].to_numpy(dtype=float) / 1e6
    acc = 100 * unique["val_accuracy"].to_numpy(dtype=float)
    front = pareto_front(flops, acc)
    ax.step(flops[front], acc[front], where="post", color="black", linewidth=1.2,
            label="Pareto front")
    ax.scatter(flops[front], acc[front], s=30, facecolors="none", edgecolors="black", zorder=3)
    if flops.min() > 0 and flops.max() / flops.min() > 10:
        ax.set_xscale("log")
    ax.set_xlabel("MFLOPs (multiply-adds per image)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("accuracy vs FLOPs")


def draw(path, out_dir, dpi=110):
    """Writes the PNGs of PLOTS and comparison.png into out_dir; returns their paths."""
    info = lr.experiment(path)
    df = lr.load(path)
    run_table = lr.runs(path)
    runs = collect(df, run_table)
    colors = colors_for(list(runs))
    score_label = f"score ({info.get('objective', 'score')})"
    drawers = {
        "best_vs_trials": lambda ax: plot_vs_trials(ax, runs, colors, score_label),
        "best_vs_seconds": lambda ax: plot_vs_seconds(ax, runs, colors, score_label),
        "final_accuracy": lambda ax: plot_final(ax, runs, colors),
        "accuracy_vs_flops": lambda ax: plot_pareto(ax, df, colors),
    }
    os.makedirs(out_dir, exist_ok=True)
    title = f"{os.path.basename(path)}: {len(run_table)} runs, {len(df)} trials"
    written = []
    for name in PLOTS:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        drawers[name](ax)
        finish(ax)
        fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        written.append(save(fig, os.path.join(out_dir, name + ".png"), dpi))
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4))
    for ax, name in zip(axes.flat, PLOTS):
        drawers[name](ax)
        finish(ax)
    fig.suptitle(title)
    fig.tight_layout()
    written.append(save(fig, os.path.join(out_dir, "comparison.png"), dpi))
    return written


def finish(ax):
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def save(fig, path, dpi):
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="experiment file written by `larch run`")
    parser.add_argument("--out", required=True, help="directory for the PNGs")
    parser.add_argument("--dpi", type=int, default=110, help="resolution (default 110)")
    args = parser.parse_args(argv[1:])
    try:
        for p in draw(args.file, args.out, args.dpi):
            print(p)
    except (OSError, KeyError, ValueError) as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
