/* `larch run --resume`: what an experiment file already holds is read through the reader (which
 * copes with a file whose writer was killed), written again into a fresh file that replaces it,
 * and the search loop (host/search.c) continues from there. Rewriting rather than reopening:
 * after a kill -9 the file's metadata can point past what reached the disk (SWMR readers cope,
 * a read-write open does not). */
#ifndef HOST_RESUME_H
#define HOST_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include <larch/space.h>
#include <larch/status.h>

#include "../results/results.h"
#include "config.h"

/* One run as the file left it. */
typedef struct host_prior_run {
    results_run_state state;
    size_t n;            /* trials */
    results_trial *rows; /* n rows, row i has trial i */
    larch_arch *archs;   /* n */
    float *train_loss;   /* n x width */
    float *val_curve;    /* n x width */
    void *checkpoint;    /* the latest strategy checkpoint (NULL: none) */
    size_t checkpoint_size;
    uint64_t checkpoint_trials; /* the results its strategy had been told */
} host_prior_run;

typedef struct host_prior {
    uint32_t n_runs;
    host_prior_run *runs;
    uint32_t width;   /* floats per curve row: the file's max_epochs (at least 1) */
    double elapsed_s; /* the latest finished_s of any trial read: where the clock continues */
} host_prior;

/* Reads every run of path, which must hold the experiment of cfg: the same effective config
 * text (else LARCH_EINVAL naming the first line that differs) and the runs of infos, by name
 * and order. The file is closed on return. Errors: those of results_file_open (LARCH_EIO,
 * LARCH_EFORMAT), LARCH_EINVAL, LARCH_ENOMEM. On error *out holds nothing (host_prior_release
 * is still safe). */
int host_prior_load(const char *path, const host_config *cfg, const results_run_info *infos,
                    uint32_t n_runs, host_prior *out, larch_error *err);

/* Writes prior into w, a fresh writer of the same experiment: every run's trials, its state and
 * its checkpoint. Errors: the writer's. */
int host_prior_write(const host_prior *prior, results_writer *w, larch_error *err);

void host_prior_release(host_prior *prior);

#endif
