/* Statistics behind `larch report` (docs/REPORT.md): summaries of a sample, best-so-far curves
 * and their areas, and the two-sided Mann-Whitney U test. Pure functions: no allocation, no
 * I/O; NaN marks an undefined value, in inputs and in results. */
#ifndef HOST_STATS_H
#define HOST_STATS_H

#include <stddef.h>

/* Mean of x[0..n-1]; NaN when n is 0. */
double host_stats_mean(const double *x, size_t n);

/* Sample standard deviation (denominator n - 1); NaN when n < 2. */
double host_stats_sd(const double *x, size_t n);

/* Median of x[0..n-1] (mean of the middle two when n is even); sorts x in place. NaN when n is
 * 0. x must not hold NaN. */
double host_stats_median(double *x, size_t n);

/* best[i] = the largest score[j], j <= i, that is not NaN (a trial that was not OK has a NaN
 * score); NaN until the first such score. best may alias score. */
void host_stats_best_so_far(const double *score, size_t n, double *best);

/* Index of the first best[i] >= target, or n when the curve never reaches it. */
size_t host_stats_first_reach(const double *best, size_t n, double target);

/* Area under a best-so-far curve against trials, in score units: the mean of best[0..horizon-1]
 * where entries at and after n carry best[n-1] forward (a run that ended early keeps its best)
 * and undefined (NaN) entries count as 0 (no model yet). NaN when horizon is 0. */
double host_stats_auc_trials(const double *best, size_t n, size_t horizon);

/* Area under a best-so-far curve against charged seconds, in score units: (1 / t_end) times the
 * integral over [0, t_end] of the step function that is best[i] from seconds[i] (the cumulative
 * charged seconds when trial i ended, non-decreasing) on, 0 before the first defined value, and
 * best[n-1] after the run ended. NaN when t_end <= 0. */
double host_stats_auc_seconds(const double *best, const double *seconds, size_t n, double t_end);

/* Two-sided Mann-Whitney U test of samples x and y (no NaN). */
typedef struct host_stats_mwu {
    double u;  /* U of x: pairs (x_i, y_j) with x_i > y_j, plus half the pairs with x_i == y_j */
    double p;  /* two-sided p-value in [0, 1]; NaN when a sample is empty */
    int exact; /* 1: exact null distribution (both samples <= HOST_STATS_MWU_EXACT_MAX, no ties);
                  0: normal approximation with tie and continuity corrections */
} host_stats_mwu;

#define HOST_STATS_MWU_EXACT_MAX 20

/* Computes the test as scipy.stats.mannwhitneyu(x, y, alternative="two-sided") does with
 * method "exact" or "asymptotic" (use_continuity=True), choosing as documented above. */
host_stats_mwu host_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny);

#endif
