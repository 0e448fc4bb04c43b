/* `larch report FILE`: per-strategy comparison of an experiment file (docs/REPORT.md). */
#ifndef HOST_REPORT_H
#define HOST_REPORT_H

#include <stdio.h>

#include <larch/space.h>
#include <larch/status.h>

typedef enum host_report_format {
    HOST_REPORT_TEXT = 0, /* aligned tables for people */
    HOST_REPORT_CSV,      /* a header line and one row per strategy */
    HOST_REPORT_JSON,     /* one object: experiment, target, per-strategy objects, best arch */
    HOST_REPORT_MARKDOWN  /* the text tables as pipe tables */
} host_report_format;

typedef struct host_report_options {
    host_report_format format;
    const char *reference; /* strategy the p-values compare against; NULL: "random" when the
                              file has it, else the first strategy */
    double target;         /* score that "trials to target" counts to; NaN: the median of the
                              runs' final best scores */
    FILE *warnings;        /* where a warning goes (a replayed table that cannot be read, so
                              regret falls back to observed accuracies); NULL: nowhere */
} host_report_options;

/* Sets the defaults: text, reference NULL, target NaN, warnings stderr. */
void host_report_options_init(host_report_options *opts);

/* Parses "text", "csv", "json" or "markdown" ("md"). LARCH_EINVAL naming name otherwise. */
int host_report_format_parse(const char *name, host_report_format *out, larch_error *err);

/* Parses a --target value: a finite number. LARCH_EINVAL naming text otherwise. */
int host_report_target_parse(const char *text, double *out, larch_error *err);

/* Prints the report of the experiment file at path to out; opts NULL means the defaults.
 * Returns LARCH_OK; the reader's error (missing file, not an experiment file, newer schema)
 * with a message naming the path; LARCH_ENOTFOUND when opts->reference is not a strategy of
 * the file; LARCH_EINVAL for a non-finite target; LARCH_ENOMEM; LARCH_EIO if writing to out
 * failed. On error, part of the report may have been written. A replay whose table cannot be
 * read is not an error: a warning goes to opts->warnings and the regret falls back to the
 * observed accuracies (docs/REPORT.md). */
int host_report(const char *path, const host_report_options *opts, FILE *out, larch_error *err);

/* Writes a human form of arch into out: for a cell space NAS-Bench-201's notation
 * "|op~0|+|op~0|op~1|+..."; otherwise "label=choice" pairs. */
void host_arch_describe(const larch_space *space, const larch_arch *arch, char *out, size_t size);

#endif
