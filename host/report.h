/* `larch report FILE`: per-strategy summary of an experiment file. */
#ifndef HOST_REPORT_H
#define HOST_REPORT_H

#include <stdio.h>

#include <larch/space.h>
#include <larch/status.h>

/* Prints the report of the experiment file at path to out. Returns LARCH_OK, or the reader's
 * error (missing file, not an experiment file, newer schema) with a message naming the path. */
int host_report(const char *path, FILE *out, larch_error *err);

/* Writes a human form of arch into out: for a cell space NAS-Bench-201's notation
 * "|op~0|+|op~0|op~1|+..."; otherwise "label=choice" pairs. */
void host_arch_describe(const larch_space *space, const larch_arch *arch, char *out, size_t size);

#endif
