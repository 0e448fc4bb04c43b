/* `larch tabulate`: train every architecture of a (small) space once per training seed, in
 * worker processes, into a table file (results/table.h, docs/TABLE-FORMAT.md) that the table
 * evaluator replays. Architectures that compute the same function are trained once
 * (trainer/canonical.h). Resumable: an interrupted or killed tabulate continues with --resume
 * and trains only the rows that are missing. */
#ifndef HOST_TABULATE_H
#define HOST_TABULATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <larch/status.h>

#include "config.h"
#include "loader.h"

typedef struct host_tabulate_options {
    const char *output_path;
    /* How workers get the same config: the file and the --set overrides as given, plus the
     * command line's --plugin-path (may be NULL). Only read during the call. */
    const char *config_path;
    const char *const *overrides;
    size_t n_overrides;
    const char *plugin_path;
    uint32_t workers; /* 0: the config's tabulate.workers */
    int resume;       /* 1: continue output_path (it must exist); 0: create it (truncating) */
    int quiet;        /* no progress, only warnings and the summary */
    const char *exe;  /* the larch binary workers run; NULL = /proc/self/exe */
    /* Set asynchronously (SIGINT/SIGTERM): no new job is dispatched, the jobs in flight finish
     * and are written, the file is closed cleanly (resume later). May be NULL. */
    volatile sig_atomic_t *stop;
} host_tabulate_options;

typedef struct host_tabulate_summary {
    uint64_t rows;       /* n_unique * n_seeds */
    uint64_t done;       /* rows done now, all sessions */
    uint64_t trained;    /* rows written by this call */
    uint64_t failed;     /* of those, rows whose status is not OK */
    uint32_t n_unique;   /* equivalence classes of the space */
    uint64_t space_size; /* architectures of the space */
    uint32_t session;    /* this call's session number */
} host_tabulate_summary;

/* Tabulates the space cfg describes into opts->output_path; summary (may be NULL) is filled
 * whenever the table was opened. Errors found before training: LARCH_ENOTFOUND (unknown op set),
 * LARCH_EINVAL (a space tabulate cannot handle, a --resume whose file was made from another
 * recipe: the message quotes the differing line), LARCH_ERANGE (space too large), LARCH_EIO /
 * LARCH_EFORMAT (the file, the data, a worker that cannot start). A row whose training fails is
 * recorded FAILED and tabulating goes on. Returns LARCH_OK also when stopped by opts->stop
 * (summary->done < summary->rows then). */
int host_tabulate(host_config *cfg, const host_registry *reg, const host_tabulate_options *opts,
                  host_tabulate_summary *summary, larch_error *err);

#endif
