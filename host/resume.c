/* Reading what an experiment file already holds, for `larch run --resume` (resume.h). */
#include "resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/strategy.h>

/* "line N: 'A' (file) against 'B' (config)" for the first line where a and b differ. */
static void first_difference(const char *a, const char *b, char *out, size_t size)
{
    unsigned line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    snprintf(out, size, "line %u of the effective config: '%.*s' in the file, '%.*s' now", line,
             na > 80 ? 80 : na, la, nb > 80 ? 80 : nb, lb);
}

static int load_run(results_file *f, uint32_t run, uint32_t width, host_prior_run *p,
                    larch_error *err)
{
    int rc = results_file_read_run_state(f, run, &p->state, err);
    if (rc == LARCH_OK)
        rc = results_file_read_checkpoint(f, run, &p->checkpoint, &p->checkpoint_size,
                                          &p->checkpoint_trials, err);
    if (rc == LARCH_OK)
        rc = results_file_read_trials(f, run, &p->rows, &p->n, err);
    if (rc != LARCH_OK || p->n == 0)
        return rc;
    p->archs = malloc(p->n * sizeof *p->archs);
    p->train_loss = malloc(p->n * width * sizeof *p->train_loss);
    p->val_curve = malloc(p->n * width * sizeof *p->val_curve);
    if (!p->archs || !p->train_loss || !p->val_curve)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory for %zu trials", p->n);
    const larch_space *space = results_file_space(f);
    for (size_t i = 0; i < p->n && rc == LARCH_OK; i++)
        rc = larch_arch_from_string(space, p->rows[i].arch, &p->archs[i], err);
    if (rc == LARCH_OK)
        rc = results_file_read_curve_rows(f, run, 0, p->n, p->train_loss, p->val_curve, err);
    return rc;
}

int host_prior_load(const char *path, const host_config *cfg, const results_run_info *infos,
                    uint32_t n_runs, host_prior *out, larch_error *err)
{
    memset(out, 0, sizeof *out);
    results_file *f = NULL;
    int rc = results_file_open(path, &f, err);
    if (rc != LARCH_OK)
        return rc;
    const char *text = results_file_config_text(f);
    if (!text || strcmp(text, cfg->text)) {
        char where[256] = "no config stored";
        if (text)
            first_difference(text, cfg->text, where, sizeof where);
        rc = larch_error_set(err, LARCH_EINVAL,
                             "%s was written by another config (%s); resume with the config "
                             "and --set options it was started with",
                             path, where);
    } else if (results_file_n_runs(f) != n_runs) {
        rc = larch_error_set(err, LARCH_EINVAL, "%s holds %u runs, the config makes %u", path,
                             results_file_n_runs(f), n_runs);
    }
    out->width = results_file_curve_width(f);
    out->runs = rc == LARCH_OK ? calloc(n_runs ? n_runs : 1, sizeof *out->runs) : NULL;
    if (rc == LARCH_OK && !out->runs)
        rc = larch_error_set(err, LARCH_ENOMEM, "out of memory");
    if (rc == LARCH_OK)
        out->n_runs = n_runs;
    for (uint32_t i = 0; rc == LARCH_OK && i < n_runs; i++) {
        host_prior_run *p = &out->runs[i];
        if (strcmp(results_file_run(f, i)->name, infos[i].name)) {
            rc = larch_error_set(err, LARCH_EINVAL, "%s: run %u is %s, the config makes %s", path,
                                 i, results_file_run(f, i)->name, infos[i].name);
            break;
        }
        rc = load_run(f, i, out->width, p, err);
        for (size_t t = 0; rc == LARCH_OK && t < p->n; t++)
            if (p->rows[t].finished_s > out->elapsed_s)
                out->elapsed_s = p->rows[t].finished_s;
    }
    results_file_close(f);
    if (rc != LARCH_OK)
        host_prior_release(out);
    return rc;
}

void host_prior_release(host_prior *prior)
{
    for (uint32_t i = 0; prior->runs && i < prior->n_runs; i++) {
        host_prior_run *p = &prior->runs[i];
        free(p->rows);
        free(p->archs);
        free(p->train_loss);
        free(p->val_curve);
        free(p->checkpoint);
    }
    free(prior->runs);
    memset(prior, 0, sizeof *prior);
}

int host_prior_write(const host_prior *prior, results_writer *w, larch_error *err)
{
    enum { BLOCK = 4096 };
    const float *loss[BLOCK], *val[BLOCK];
    int rc = LARCH_OK;
    for (uint32_t i = 0; rc == LARCH_OK && i < prior->n_runs; i++) {
        const host_prior_run *p = &prior->runs[i];
        for (size_t at = 0; rc == LARCH_OK && at < p->n; at += BLOCK) {
            size_t n = p->n - at < BLOCK ? p->n - at : BLOCK;
            for (size_t k = 0; k < n; k++) {
                loss[k] = p->train_loss + (at + k) * prior->width;
                val[k] = p->val_curve + (at + k) * prior->width;
            }
            rc = results_writer_append_block(w, i, p->rows + at, p->archs + at, n, loss, val, err);
        }
        if (rc == LARCH_OK && p->checkpoint_size)
            rc = results_writer_save_checkpoint(w, i, p->checkpoint, p->checkpoint_size,
                                                p->checkpoint_trials, err);
        if (rc == LARCH_OK && p->state != RESULTS_RUN_PENDING)
            rc = results_writer_set_run_state(w, i, p->state, err);
    }
    return rc;
}
