#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <larch/strategy.h>

#include "../results/results.h"

typedef struct strategy_summary {
    char id[RESULTS_NAME_SIZE];
    uint32_t runs, finished_runs;
    uint64_t trials, failed;
    double best_sum, best_sq; /* of each run's best score */
    double test_sum, test_sq; /* of the test accuracy of each run's best */
    uint32_t runs_with_best;
} strategy_summary;

static double sample_sd(double sum, double sq, uint32_t n)
{
    if (n < 2)
        return 0;
    double mean = sum / n;
    double var = (sq - n * mean * mean) / (n - 1);
    return var > 0 ? sqrt(var) : 0;
}

void host_arch_describe(const larch_space *space, const larch_arch *arch, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    unsigned prev_node = 0;
    int cell = !strcmp(space->name, "cell");
    for (uint32_t d = 0; d < arch->n && d < space->n_decisions && len < size; d++) {
        const larch_decision *dec = &space->decisions[d];
        const char *choice = dec->kind == LARCH_DECISION_OP && arch->choice[d] < space->n_ops
                                 ? space->op_names[arch->choice[d]]
                                 : NULL;
        unsigned to, from;
        if (cell && choice && sscanf(dec->label, "edge %u<-%u", &to, &from) == 2) {
            const char *sep = d == 0 ? "|" : to != prev_node ? "|+|" : "|";
            len += (size_t)snprintf(out + len, size - len, "%s%s~%u", sep, choice, from);
            prev_node = to;
        } else if (choice) {
            len += (size_t)snprintf(out + len, size - len, "%s%s=%s", d ? " " : "", dec->label,
                                    choice);
        } else {
            len += (size_t)snprintf(out + len, size - len, "%s%s=%u", d ? " " : "", dec->label,
                                    arch->choice[d]);
        }
    }
    if (cell && len && len < size)
        snprintf(out + len, size - len, "|");
}

static strategy_summary *summary_for(strategy_summary *all, uint32_t *n, const char *id)
{
    for (uint32_t i = 0; i < *n; i++)
        if (!strcmp(all[i].id, id))
            return &all[i];
    strategy_summary *s = &all[(*n)++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    return s;
}

int host_report(const char *path, FILE *out, larch_error *err)
{
    results_file *f = NULL;
    int rc = results_file_open(path, &f, err);
    if (rc != LARCH_OK)
        return rc;
    uint32_t n_runs = results_file_n_runs(f);
    const larch_space *space = results_file_space(f);
    strategy_summary *sums = calloc(n_runs ? n_runs : 1, sizeof *sums);
    if (!sums) {
        results_file_close(f);
        return larch_error_set(err, LARCH_ENOMEM, "out of memory");
    }
    uint32_t n_sums = 0;
    results_trial best_overall;
    memset(&best_overall, 0, sizeof best_overall);
    best_overall.score = -INFINITY;
    char best_run[RESULTS_NAME_SIZE] = "";
    uint64_t total_trials = 0;

    for (uint32_t r = 0; r < n_runs && rc == LARCH_OK; r++) {
        const results_run_info *info = results_file_run(f, r);
        results_trial *rows = NULL;
        size_t n_rows = 0;
        rc = results_file_read_trials(f, r, &rows, &n_rows, err);
        if (rc != LARCH_OK)
            break;
        results_run_state state = RESULTS_RUN_PENDING;
        results_file_read_run_state(f, r, &state, err);
        strategy_summary *s = summary_for(sums, &n_sums, info->strategy);
        s->runs++;
        s->finished_runs += state == RESULTS_RUN_FINISHED;
        s->trials += n_rows;
        total_trials += n_rows;
        const results_trial *best = NULL;
        for (size_t i = 0; i < n_rows; i++) {
            if (rows[i].status != LARCH_TRIAL_OK) {
                s->failed++;
                continue;
            }
            if (!best || rows[i].score > best->score)
                best = &rows[i];
        }
        if (best) {
            s->runs_with_best++;
            s->best_sum += best->score;
            s->best_sq += best->score * best->score;
            s->test_sum += best->test_accuracy;
            s->test_sq += best->test_accuracy * best->test_accuracy;
            if (best->score > best_overall.score) {
                best_overall = *best;
                snprintf(best_run, sizeof best_run, "%s", info->name);
            }
        }
        free(rows);
    }
    if (rc != LARCH_OK) {
        free(sums);
        results_file_close(f);
        return rc;
    }

    fprintf(out, "%s: %u runs, %llu trials, space '%s' (%u decisions, %.0f architectures)\n\n",
            path, n_runs, (unsigned long long)total_trials, space->name, space->n_decisions,
            larch_space_size(space));
    fprintf(out, "%-16s %5s %7s %7s  %-22s %-22s\n", "strategy", "runs", "trials", "failed",
            "best score (mean+-sd)", "test acc. of best (%)");
    for (uint32_t i = 0; i < n_sums; i++) {
        const strategy_summary *s = &sums[i];
        uint32_t n = s->runs_with_best;
        char best[32] = "-", test[32] = "-";
        if (n) {
            snprintf(best, sizeof best, "%.4f +- %.4f", s->best_sum / n,
                     sample_sd(s->best_sum, s->best_sq, n));
            snprintf(test, sizeof test, "%.2f +- %.2f", 100 * s->test_sum / n,
                     100 * sample_sd(s->test_sum, s->test_sq, n));
        }
        fprintf(out, "%-16s %5u %7llu %7llu  %-22s %-22s", s->id, s->runs,
                (unsigned long long)s->trials, (unsigned long long)s->failed, best, test);
        if (s->finished_runs < s->runs)
            fprintf(out, "  (%u of %u runs unfinished)", s->runs - s->finished_runs, s->runs);
        fputc('\n', out);
    }
    if (best_run[0]) {
        larch_arch arch;
        char human[1024];
        larch_error arch_err = {0};
        if (larch_arch_from_string(space, best_overall.arch, &arch, &arch_err) == LARCH_OK)
            host_arch_describe(space, &arch, human, sizeof human);
        else
            snprintf(human, sizeof human, "?");
        fprintf(out,
                "\nbest architecture: %s (run %s, trial %llu)\n  %s\n  score %.4f, val %.2f%%, "
                "test %.2f%%, %llu params, %.2f MFLOPs, latency %.3f ms\n",
                best_overall.arch, best_run, (unsigned long long)best_overall.trial, human,
                best_overall.score, 100 * best_overall.val_accuracy,
                100 * best_overall.test_accuracy, (unsigned long long)best_overall.params,
                (double)best_overall.flops / 1e6, best_overall.latency_ms);
    }
    free(sums);
    results_file_close(f);
    return LARCH_OK;
}
