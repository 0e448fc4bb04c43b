/* The search loop: an experiment is strategies x seeds; each run asks and tells until its
 * trial budget is spent or its strategy says DONE. Only this loop writes the results file. */
#ifndef HOST_SEARCH_H
#define HOST_SEARCH_H

#include <signal.h>

#include <larch/status.h>

#include "config.h"
#include "loader.h"

typedef struct host_run_options {
    const char *output_path;
    /* Continue the experiment in output_path (written by this config): finished runs are kept,
     * an interrupted run continues from its strategy's checkpoint, the rest run. */
    int resume;
    int quiet;     /* no per-trial progress */
    int log_level; /* larch_log_level for plugin messages */
    /* Set asynchronously (SIGINT/SIGTERM): the current trial finishes, the run is marked
     * ABORTED and the file is closed cleanly. May be NULL. */
    volatile sig_atomic_t *stop;
} host_run_options;

/* Runs the experiment cfg describes with the plugins of reg and writes opts->output_path.
 * Problems with the experiment's definition (an unknown strategy or op set, a plugin parameter
 * of the wrong type or unknown) are found before any training and return LARCH_ENOTFOUND /
 * LARCH_ETYPE / LARCH_ERANGE / LARCH_EINVAL. A strategy that fails mid-run aborts that run only
 * (recorded as ABORTED with its message); the others go on and LARCH_EPLUGIN is returned at the
 * end. An error writing the results file stops everything (LARCH_EIO). */
int host_run_experiment(host_config *cfg, const host_registry *reg, const host_run_options *opts,
                        larch_error *err);

#endif
