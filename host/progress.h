/* Progress of a long experiment: a live status line on a terminal, plain log lines otherwise. */
#ifndef HOST_PROGRESS_H
#define HOST_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct host_progress {
    FILE *out;
    int live;         /* 1: redraw one line with \r (a TTY); 0: a line per trial */
    int quiet;        /* 1: print nothing but warnings */
    double started_s; /* monotonic clock at start */
    uint64_t total_trials;
    uint64_t done_trials;
    double evaluated_s; /* time spent in trials so far, for the ETA */
    /* Replays run ~10^5 trials a second: with interval_s > 0 the live line is redrawn at most
     * that often and no per-trial lines are printed (0: every trial, the default). */
    double interval_s;
    double last_s;
} host_progress;

/* out is usually stderr; live is decided by isatty(out) unless quiet. total_trials 0: unknown
 * (the ETA then comes from the fraction of each run's budget spent). */
void host_progress_init(host_progress *p, FILE *out, uint64_t total_trials, int quiet);

typedef struct host_progress_trial {
    const char *run; /* run name */
    uint32_t run_index, n_runs;
    uint64_t trial, run_trials; /* 0-based trial index, the run's budget (0: none) */
    const char *arch;
    const char *status; /* "OK", "DIVERGED", ... */
    int cached;
    double score, val_accuracy, best_score;
    double seconds;                         /* wall time of this trial */
    double charged_seconds, budget_seconds; /* the run's, so far; its budget (0: none) */
} host_progress_trial;

void host_progress_trial_done(host_progress *p, const host_progress_trial *t);
/* A message that must not be overwritten by the live line (warnings, run summaries). */
void host_progress_note(host_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends the live line. */
void host_progress_finish(host_progress *p);

/* Monotonic seconds. */
double host_now_s(void);

#endif
