/* `larch report`: reads every run of an experiment file, derives per-run curves and final bests,
 * aggregates them per strategy and prints one of four formats. docs/REPORT.md defines every
 * number printed here. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <larch/strategy.h>

#include "../results/results.h"
#include "../results/table.h"
#include "stats.h"

#define DEFAULT_REFERENCE "random"

typedef struct run_data {
    const results_run_info *info;
    results_run_state state;
    size_t n_trials, failed;
    double *best;    /* best-so-far score after each trial; NaN before the first OK trial */
    double *seconds; /* cumulative charged seconds when each trial ended */
    int has_best;
    results_trial best_trial; /* the run's best-by-score OK trial, when has_best */
    /* The table's mean val and test accuracy over its seeds of best_trial's architecture (its
     * "true" accuracies); NaN unless the replayed table was read. */
    double mean_val, mean_test;
    double auc_trials, auc_seconds;
    size_t reach; /* index of the first trial whose best-so-far reaches the target; n_trials if
                     never */
} run_data;

typedef struct summary {
    double mean, sd, median;
} summary;

typedef struct strategy_row {
    char id[RESULTS_NAME_SIZE];
    uint32_t runs, finished, started, with_best, reached;
    uint64_t trials, failed;
    summary score, val, test, true_test, regret_val, regret_test; /* over the runs with a best */
    double trials_to_target, seconds_to_target; /* means over the runs that reached */
    summary auc_trials, auc_seconds;            /* over the started runs */
    double *final_scores;                       /* with_best values, for the U test */
    double *final_regrets;                      /* the same runs' val regrets (replays) */
    host_stats_mwu mwu, mwu_regret;             /* the U tests of both against the reference */
    int is_reference;
} strategy_row;

typedef struct report {
    const char *path;
    results_file *file;
    const larch_space *space;
    uint32_t n_runs;
    run_data *runs;
    uint32_t n_strategies;
    strategy_row *strategies;
    const strategy_row *reference;
    uint64_t n_trials;
    double table_best_val, table_best_test; /* NaN unless replayed */
    char *table_path;                       /* the replayed table; NULL if the file has none */
    uint32_t table_seeds;                   /* its training seeds, when read */
    /* 1 when regret and true test come from the table's means; else (replays) why not. */
    int table_means;
    char table_problem[2 * LARCH_ERROR_MESSAGE_SIZE];
    double target;
    int target_is_default;
    size_t horizon_trials;  /* the longest run, in trials */
    double horizon_seconds; /* the most charged seconds of any run */
    const run_data *best_run;
    double *scratch; /* n_runs doubles */
} report;

void host_report_options_init(host_report_options *opts)
{
    opts->format = HOST_REPORT_TEXT;
    opts->reference = NULL;
    opts->target = NAN;
    opts->warnings = stderr;
}

int host_report_format_parse(const char *name, host_report_format *out, larch_error *err)
{
    static const struct {
        const char *name;
        host_report_format format;
    } formats[] = {{"text", HOST_REPORT_TEXT},
                   {"csv", HOST_REPORT_CSV},
                   {"json", HOST_REPORT_JSON},
                   {"markdown", HOST_REPORT_MARKDOWN},
                   {"md", HOST_REPORT_MARKDOWN}};
    for (size_t i = 0; name && i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(name, formats[i].name)) {
            *out = formats[i].format;
            return LARCH_OK;
        }
    return larch_error_set(err, LARCH_EINVAL,
                           "unknown report format '%s' (expected text, csv, json or markdown)",
                           name ? name : "(null)");
}

int host_report_target_parse(const char *text, double *out, larch_error *err)
{
    char *end = NULL;
    double v = text ? strtod(text, &end) : NAN;
    if (!text || end == text || *end || !isfinite(v))
        return larch_error_set(err, LARCH_EINVAL,
                               "report: --target '%s' is not a finite number (a score, e.g. 0.9)",
                               text ? text : "(null)");
    *out = v;
    return LARCH_OK;
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

/* ---- reading ---- */

/* Reads one run's trials and derives its best-so-far curve, charged seconds and best trial. */
static int load_run(report *rep, uint32_t r, larch_error *err)
{
    run_data *run = &rep->runs[r];
    run->info = results_file_run(rep->file, r);
    results_trial *rows = NULL;
    size_t n = 0;
    int rc = results_file_read_trials(rep->file, r, &rows, &n, err);
    if (rc == LARCH_OK)
        rc = results_file_read_run_state(rep->file, r, &run->state, err);
    if (rc != LARCH_OK) {
        free(rows);
        return rc;
    }
    run->n_trials = n;
    if (n && (!(run->best = malloc(n * sizeof *run->best)) ||
              !(run->seconds = malloc(n * sizeof *run->seconds)))) {
        free(rows);
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory for %zu trials of run %s",
                               rep->path, n, run->info->name);
    }
    /* Files from before the charged_seconds column read it as 0: then it is rebuilt as the
     * running sum of cost_seconds, which is what the column holds. */
    int has_charged = 0;
    for (size_t i = 0; i < n && !has_charged; i++)
        has_charged = rows[i].charged_seconds != 0;
    double charged = 0;
    const results_trial *best = NULL;
    for (size_t i = 0; i < n; i++) {
        int ok = rows[i].status == LARCH_TRIAL_OK && !isnan(rows[i].score);
        run->failed += !ok;
        if (ok && (!best || rows[i].score > best->score))
            best = &rows[i];
        run->best[i] = ok ? rows[i].score : NAN;
        /* Every trial, failed or cached, counts with what it was charged. */
        charged += rows[i].cost_seconds;
        run->seconds[i] = has_charged ? rows[i].charged_seconds : charged;
    }
    host_stats_best_so_far(run->best, n, run->best);
    run->mean_val = run->mean_test = NAN;
    if (best) {
        run->has_best = 1;
        run->best_trial = *best;
    }
    rep->n_trials += n;
    free(rows);
    return LARCH_OK;
}

/* An optional numeric root attribute: NaN when absent. */
static int read_optional(report *rep, const char *name, double *out, larch_error *err)
{
    larch_error local = {0};
    int rc = results_file_root_double(rep->file, name, out, &local);
    if (rc == LARCH_ENOTFOUND) {
        *out = NAN;
        return LARCH_OK;
    }
    if (rc != LARCH_OK && err)
        *err = local;
    return rc;
}

static int replayed(const report *rep)
{
    return !isnan(rep->table_best_val) || !isnan(rep->table_best_test);
}

/* Looks up each run's final best in the replayed table t: its mean accuracies over the seeds.
 * 0, or -1 with why in rep->table_problem. */
static int lookup_means(report *rep, const table_file *t)
{
    uint32_t best;
    double best_val = NAN, best_test = NAN;
    larch_error e = {0};
    if (table_best(t, &best, &best_val, &best_test, &e) != LARCH_OK) {
        snprintf(rep->table_problem, sizeof rep->table_problem, "%s", e.message);
        return -1;
    }
    /* Stored exactly as computed: any difference means the table is not the one replayed. */
    if (best_val != rep->table_best_val || best_test != rep->table_best_test) {
        snprintf(rep->table_problem, sizeof rep->table_problem,
                 "%.200s is not the table replayed: its best mean accuracies are val %.6f, test "
                 "%.6f, the experiment recorded %.6f, %.6f",
                 rep->table_path, best_val, best_test, rep->table_best_val, rep->table_best_test);
        return -1;
    }
    for (uint32_t r = 0; r < rep->n_runs; r++) {
        run_data *run = &rep->runs[r];
        if (!run->has_best)
            continue;
        larch_arch arch;
        uint32_t unique;
        if (larch_arch_from_string(rep->space, run->best_trial.arch, &arch, &e) != LARCH_OK ||
            table_lookup(t, &arch, &unique, &e) != LARCH_OK) {
            snprintf(rep->table_problem, sizeof rep->table_problem, "%.200s: run %s, arch %s: %s",
                     rep->table_path, run->info->name, run->best_trial.arch, e.message);
            return -1;
        }
        if (table_mean(t, unique, &run->mean_val, &run->mean_test) == 0) {
            snprintf(rep->table_problem, sizeof rep->table_problem,
                     "%.200s: arch %s (run %s) has no trained seed", rep->table_path,
                     run->best_trial.arch, run->info->name);
            return -1;
        }
    }
    rep->table_seeds = table_n_seeds(t);
    return 0;
}

/* Replays: reads the table the file names and takes each run's final best's means from it.
 * When that fails the report goes on with the observed accuracies, with a warning. */
static void read_table_means(report *rep, FILE *warnings)
{
    if (!replayed(rep))
        return;
    larch_error e = {0};
    int rc = results_file_root_string(rep->file, RESULTS_ATTR_TABLE_PATH, &rep->table_path, &e);
    table_file *t = NULL;
    if (rc == LARCH_ENOTFOUND)
        snprintf(rep->table_problem, sizeof rep->table_problem,
                 "the file has no root attribute %s naming the table it replayed",
                 RESULTS_ATTR_TABLE_PATH);
    else if (rc != LARCH_OK)
        snprintf(rep->table_problem, sizeof rep->table_problem, "%s", e.message);
    else if (table_open(rep->table_path, &t, &e) != LARCH_OK)
        snprintf(rep->table_problem, sizeof rep->table_problem, "%s", e.message);
    else
        rep->table_means = lookup_means(rep, t) == 0;
    table_close(t);
    if (!rep->table_means) {
        for (uint32_t r = 0; r < rep->n_runs; r++)
            rep->runs[r].mean_val = rep->runs[r].mean_test = NAN;
        if (warnings)
            fprintf(warnings,
                    "warning: %s: regret uses the observed accuracies (one drawn seed), not the "
                    "table's means: %s\n",
                    rep->path, rep->table_problem);
    }
}

static strategy_row *strategy_for(report *rep, const char *id)
{
    for (uint32_t i = 0; i < rep->n_strategies; i++)
        if (!strcmp(rep->strategies[i].id, id))
            return &rep->strategies[i];
    strategy_row *s = &rep->strategies[rep->n_strategies++];
    snprintf(s->id, sizeof s->id, "%s", id);
    return s;
}

/* ---- statistics ---- */

static summary summarise(double *x, size_t n)
{
    summary s = {host_stats_mean(x, n), host_stats_sd(x, n), NAN};
    s.median = host_stats_median(x, n); /* sorts x: last */
    return s;
}

/* The default target: the median final best score over every run that has one. */
static double median_final_best(report *rep)
{
    size_t n = 0;
    for (uint32_t r = 0; r < rep->n_runs; r++)
        if (rep->runs[r].has_best)
            rep->scratch[n++] = rep->runs[r].best_trial.score;
    return host_stats_median(rep->scratch, n);
}

/* Per-run curve measures against the experiment-wide horizons and the target. */
static void measure_runs(report *rep)
{
    for (uint32_t r = 0; r < rep->n_runs; r++) {
        const run_data *run = &rep->runs[r];
        if (run->n_trials > rep->horizon_trials)
            rep->horizon_trials = run->n_trials;
        if (run->n_trials && run->seconds[run->n_trials - 1] > rep->horizon_seconds)
            rep->horizon_seconds = run->seconds[run->n_trials - 1];
    }
    for (uint32_t r = 0; r < rep->n_runs; r++) {
        run_data *run = &rep->runs[r];
        run->auc_trials = host_stats_auc_trials(run->best, run->n_trials, rep->horizon_trials);
        run->auc_seconds =
            host_stats_auc_seconds(run->best, run->seconds, run->n_trials, rep->horizon_seconds);
        run->reach = host_stats_first_reach(run->best, run->n_trials, rep->target);
    }
}

/* Collects the values `pick` returns for the strategy's runs that pass `keep` into scratch
 * and summarises them. */
typedef double (*run_value)(const report *rep, const run_data *run);

static int has_best(const run_data *run)
{
    return run->has_best;
}

static int started(const run_data *run)
{
    return run->n_trials > 0;
}

static int reached(const run_data *run)
{
    return run->reach < run->n_trials;
}

static size_t collect(report *rep, const strategy_row *s, int (*keep)(const run_data *),
                      run_value pick)
{
    size_t n = 0;
    for (uint32_t r = 0; r < rep->n_runs; r++) {
        const run_data *run = &rep->runs[r];
        if (!strcmp(run->info->strategy, s->id) && keep(run))
            rep->scratch[n++] = pick(rep, run);
    }
    return n;
}

static double pick_score(const report *rep, const run_data *run)
{
    (void)rep;
    return run->best_trial.score;
}

static double pick_val(const report *rep, const run_data *run)
{
    (void)rep;
    return run->best_trial.val_accuracy;
}

static double pick_test(const report *rep, const run_data *run)
{
    (void)rep;
    return run->best_trial.test_accuracy;
}

static double pick_true_test(const report *rep, const run_data *run)
{
    (void)rep;
    return run->mean_test;
}

static double pick_regret_val(const report *rep, const run_data *run)
{
    return rep->table_best_val - (rep->table_means ? run->mean_val : run->best_trial.val_accuracy);
}

static double pick_regret_test(const report *rep, const run_data *run)
{
    return rep->table_best_test -
           (rep->table_means ? run->mean_test : run->best_trial.test_accuracy);
}

static double pick_auc_trials(const report *rep, const run_data *run)
{
    (void)rep;
    return run->auc_trials;
}

static double pick_auc_seconds(const report *rep, const run_data *run)
{
    (void)rep;
    return run->auc_seconds;
}

static double pick_reach_trials(const report *rep, const run_data *run)
{
    (void)rep;
    return (double)(run->reach + 1);
}

static double pick_reach_seconds(const report *rep, const run_data *run)
{
    (void)rep;
    return run->seconds[run->reach];
}

static summary summarise_runs(report *rep, const strategy_row *s, int (*keep)(const run_data *),
                              run_value pick)
{
    return summarise(rep->scratch, collect(rep, s, keep, pick));
}

static void aggregate(report *rep)
{
    for (uint32_t r = 0; r < rep->n_runs; r++) {
        const run_data *run = &rep->runs[r];
        strategy_row *s = strategy_for(rep, run->info->strategy);
        s->runs++;
        s->finished += run->state == RESULTS_RUN_FINISHED;
        s->started += started(run);
        s->with_best += has_best(run);
        s->reached += reached(run);
        s->trials += run->n_trials;
        s->failed += run->failed;
        if (run->has_best &&
            (!rep->best_run || run->best_trial.score > rep->best_run->best_trial.score))
            rep->best_run = run;
    }
    for (uint32_t i = 0; i < rep->n_strategies; i++) {
        strategy_row *s = &rep->strategies[i];
        s->score = summarise_runs(rep, s, has_best, pick_score);
        s->val = summarise_runs(rep, s, has_best, pick_val);
        s->test = summarise_runs(rep, s, has_best, pick_test);
        s->true_test = summarise_runs(rep, s, has_best, pick_true_test);
        s->regret_val = summarise_runs(rep, s, has_best, pick_regret_val);
        s->regret_test = summarise_runs(rep, s, has_best, pick_regret_test);
        s->auc_trials = summarise_runs(rep, s, started, pick_auc_trials);
        s->auc_seconds = summarise_runs(rep, s, started, pick_auc_seconds);
        s->trials_to_target = summarise_runs(rep, s, reached, pick_reach_trials).mean;
        s->seconds_to_target = summarise_runs(rep, s, reached, pick_reach_seconds).mean;
    }
}

/* The runs' values of pick (over the runs with a best) in a new array; NULL when out of memory. */
static double *collect_copy(report *rep, const strategy_row *s, run_value pick)
{
    double *values = malloc((s->runs ? s->runs : 1) * sizeof *values);
    if (values)
        memcpy(values, rep->scratch, collect(rep, s, has_best, pick) * sizeof *values);
    return values;
}

/* Chooses the reference strategy and tests every other one against it. */
static int compare_to_reference(report *rep, const char *wanted, larch_error *err)
{
    const char *id = wanted ? wanted : DEFAULT_REFERENCE;
    strategy_row *ref = NULL;
    for (uint32_t i = 0; i < rep->n_strategies && !ref; i++)
        if (!strcmp(rep->strategies[i].id, id))
            ref = &rep->strategies[i];
    if (!ref && wanted) {
        char known[512] = "";
        size_t len = 0;
        for (uint32_t i = 0; i < rep->n_strategies && len < sizeof known; i++)
            len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                                    rep->strategies[i].id);
        return larch_error_set(err, LARCH_ENOTFOUND,
                               "%s: no strategy '%s' to compare against (the file has: %s)",
                               rep->path, wanted, rep->n_strategies ? known : "no runs");
    }
    if (!ref && rep->n_strategies)
        ref = &rep->strategies[0];
    rep->reference = ref;
    if (!ref)
        return LARCH_OK;
    ref->is_reference = 1;
    for (uint32_t i = 0; i < rep->n_strategies; i++) {
        strategy_row *s = &rep->strategies[i];
        if (!(s->final_scores = collect_copy(rep, s, pick_score)) ||
            !(s->final_regrets = collect_copy(rep, s, pick_regret_val)))
            return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory", rep->path);
    }
    const host_stats_mwu none = {.u = NAN, .p = NAN, .exact = 0};
    for (uint32_t i = 0; i < rep->n_strategies; i++) {
        strategy_row *s = &rep->strategies[i];
        s->mwu = s->mwu_regret = none;
        if (s->is_reference)
            continue;
        s->mwu = host_stats_mann_whitney(s->final_scores, s->with_best, ref->final_scores,
                                         ref->with_best);
        if (replayed(rep))
            s->mwu_regret = host_stats_mann_whitney(s->final_regrets, s->with_best,
                                                    ref->final_regrets, ref->with_best);
    }
    return LARCH_OK;
}

/* ---- output helpers ---- */

#define CELL_SIZE (RESULTS_NAME_SIZE + 16) /* holds a strategy id */

/* A table of strings rendered as aligned text or a markdown pipe table; row 0 is the header. */
typedef struct cell_table {
    size_t rows, cols;
    char *cells;
} cell_table;

static int table_init(cell_table *t, size_t rows, size_t cols)
{
    t->rows = rows;
    t->cols = cols;
    t->cells = calloc(rows * cols, CELL_SIZE);
    return t->cells ? LARCH_OK : LARCH_ENOMEM;
}

static char *cell(cell_table *t, size_t row, size_t col)
{
    return t->cells + (row * t->cols + col) * CELL_SIZE;
}

static void table_print(cell_table *t, FILE *out, int markdown)
{
    size_t width[32] = {0};
    for (size_t c = 0; c < t->cols && c < 32; c++)
        for (size_t r = 0; r < t->rows; r++)
            if (strlen(cell(t, r, c)) > width[c])
                width[c] = strlen(cell(t, r, c));
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            int w = (int)width[c];
            if (markdown)
                fprintf(out, "| %s ", cell(t, r, c));
            else if (c == 0)
                fprintf(out, "%-*s", w, cell(t, r, c));
            else
                fprintf(out, "  %*s", w, cell(t, r, c));
        }
        fputs(markdown ? "|\n" : "\n", out);
        if (markdown && r == 0) {
            for (size_t c = 0; c < t->cols; c++)
                fputs(c == 0 ? "|---" : "|---:", out);
            fputs("|\n", out);
        }
    }
}

static void format_number(char *out, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(out, CELL_SIZE, "-");
    else
        snprintf(out, CELL_SIZE, fmt, v);
}

/* "mean +- sd" with a scale (100 for percent); the sd is left out when undefined. */
static void format_mean_sd(char *out, const summary *s, double scale, int decimals)
{
    if (isnan(s->mean))
        snprintf(out, CELL_SIZE, "-");
    else if (isnan(s->sd))
        snprintf(out, CELL_SIZE, "%.*f", decimals, scale * s->mean);
    else
        snprintf(out, CELL_SIZE, "%.*f +- %.*f", decimals, scale * s->mean, decimals,
                 scale * s->sd);
}

/* Whether any run's best score differs from its validation accuracy (a cost-aware objective):
 * only then does the score get its own column. */
static int score_differs(const report *rep)
{
    for (uint32_t r = 0; r < rep->n_runs; r++) {
        const run_data *run = &rep->runs[r];
        if (run->has_best && fabs(run->best_trial.score - run->best_trial.val_accuracy) > 1e-12)
            return 1;
    }
    return 0;
}

/* A U test's p-value cell: "(reference)", "-" when untested, "~" marks the normal approximation. */
static void format_p(char *dst, const strategy_row *s, const host_stats_mwu *mwu)
{
    if (s->is_reference)
        snprintf(dst, CELL_SIZE, "(reference)");
    else if (isnan(mwu->p))
        snprintf(dst, CELL_SIZE, "-");
    else
        snprintf(dst, CELL_SIZE, "%.3g%s", mwu->p, mwu->exact ? "" : " ~");
}

static int print_final_table(const report *rep, FILE *out, int markdown)
{
    int with_score = score_differs(rep), with_regret = replayed(rep);
    size_t cols = 8 + (size_t)with_score + 3 * (size_t)with_regret;
    cell_table t;
    if (table_init(&t, rep->n_strategies + 1, cols) != LARCH_OK)
        return LARCH_ENOMEM;
    char p_head[CELL_SIZE];
    snprintf(p_head, sizeof p_head, "p regret vs %.30s", rep->reference ? rep->reference->id : "-");
    const char *heads[] = {"strategy",
                           "runs",
                           "trials",
                           "failed",
                           "score (mean +- sd)",
                           "val % of best",
                           "median",
                           "test % of best",
                           "median",
                           "true test %",
                           "regret val % / test %",
                           p_head};
    for (size_t h = 0, c = 0; h < sizeof heads / sizeof heads[0]; h++)
        if ((h != 4 || with_score) && (h < 9 || with_regret))
            snprintf(cell(&t, 0, c++), CELL_SIZE, "%s", heads[h]);
    for (uint32_t i = 0; i < rep->n_strategies; i++) {
        const strategy_row *s = &rep->strategies[i];
        size_t r = i + 1, c = 0;
        snprintf(cell(&t, r, c++), CELL_SIZE, "%s", s->id);
        snprintf(cell(&t, r, c++), CELL_SIZE, "%u", s->runs);
        snprintf(cell(&t, r, c++), CELL_SIZE, "%llu", (unsigned long long)s->trials);
        snprintf(cell(&t, r, c++), CELL_SIZE, "%llu", (unsigned long long)s->failed);
        if (with_score)
            format_mean_sd(cell(&t, r, c++), &s->score, 1, 4);
        format_mean_sd(cell(&t, r, c++), &s->val, 100, 2);
        format_number(cell(&t, r, c++), "%.2f", 100 * s->val.median);
        format_mean_sd(cell(&t, r, c++), &s->test, 100, 2);
        format_number(cell(&t, r, c++), "%.2f", 100 * s->test.median);
        if (with_regret)
            format_mean_sd(cell(&t, r, c++), &s->true_test, 100, 2);
        if (with_regret && isnan(s->regret_val.mean) && isnan(s->regret_test.mean))
            snprintf(cell(&t, r, c++), CELL_SIZE, "-");
        else if (with_regret)
            snprintf(cell(&t, r, c++), CELL_SIZE, "%.2f / %.2f", 100 * s->regret_val.mean,
                     100 * s->regret_test.mean);
        if (with_regret)
            format_p(cell(&t, r, c++), s, &s->mwu_regret);
    }
    table_print(&t, out, markdown);
    free(t.cells);
    return LARCH_OK;
}

static int print_efficiency_table(const report *rep, FILE *out, int markdown)
{
    char p_head[CELL_SIZE];
    snprintf(p_head, sizeof p_head, "p vs %.30s", rep->reference ? rep->reference->id : "-");
    const char *heads[] = {
        "strategy", "reached", "trials to target", "seconds to target", "AUC trials", "AUC seconds",
        "U",        p_head};
    size_t cols = sizeof heads / sizeof heads[0];
    cell_table t;
    if (table_init(&t, rep->n_strategies + 1, cols) != LARCH_OK)
        return LARCH_ENOMEM;
    for (size_t c = 0; c < cols; c++)
        snprintf(cell(&t, 0, c), CELL_SIZE, "%s", heads[c]);
    for (uint32_t i = 0; i < rep->n_strategies; i++) {
        const strategy_row *s = &rep->strategies[i];
        size_t r = i + 1;
        snprintf(cell(&t, r, 0), CELL_SIZE, "%s", s->id);
        snprintf(cell(&t, r, 1), CELL_SIZE, "%u/%u", s->reached, s->runs);
        format_number(cell(&t, r, 2), "%.1f", s->trials_to_target);
        format_number(cell(&t, r, 3), "%.1f", s->seconds_to_target);
        format_number(cell(&t, r, 4), "%.4f", s->auc_trials.mean);
        format_number(cell(&t, r, 5), "%.4f", s->auc_seconds.mean);
        format_number(cell(&t, r, 6), "%.1f", s->mwu.u);
        format_p(cell(&t, r, 7), s, &s->mwu);
    }
    table_print(&t, out, markdown);
    free(t.cells);
    return LARCH_OK;
}

static void describe_best(const report *rep, char *human, size_t size)
{
    larch_arch arch;
    larch_error arch_err = {0};
    if (larch_arch_from_string(rep->space, rep->best_run->best_trial.arch, &arch, &arch_err) ==
        LARCH_OK)
        host_arch_describe(rep->space, &arch, human, size);
    else
        snprintf(human, size, "?");
}

static void print_header(const report *rep, FILE *out, int markdown)
{
    const char *bullet = markdown ? "- " : "";
    if (markdown)
        fprintf(out, "# larch report: %s\n\n", rep->path);
    fprintf(out, "%s%s: %u runs, %llu trials, space '%s' (%u decisions, %.0f architectures)\n",
            bullet, markdown ? "experiment" : rep->path, rep->n_runs,
            (unsigned long long)rep->n_trials, rep->space->name, rep->space->n_decisions,
            larch_space_size(rep->space));
    if (!isnan(rep->target))
        fprintf(out, "%starget score %.4f (%s)\n", bullet, rep->target,
                rep->target_is_default ? "the median of the runs' final best scores" : "--target");
    if (rep->reference && rep->n_strategies > 1)
        fprintf(out,
                "%sp: two-sided Mann-Whitney U test of the final best scores%s against '%s'"
                " (~ normal approximation)\n",
                bullet, replayed(rep) ? " (and of the val regrets)" : "", rep->reference->id);
    if (replayed(rep)) {
        fprintf(out, "%stable best (replayed benchmark): val %.2f%%, test %.2f%%\n", bullet,
                100 * rep->table_best_val, 100 * rep->table_best_test);
        if (rep->table_means)
            fprintf(out,
                    "%strue test and regret: the table's means over its %u seeds of each run's "
                    "final best architecture (%s)\n",
                    bullet, rep->table_seeds, rep->table_path);
        else
            fprintf(out,
                    "%snote: regret from the observed accuracies (one drawn seed), not the "
                    "table's means; no true test: %s\n",
                    bullet, rep->table_problem);
    }
    fputc('\n', out);
}

static void print_best(const report *rep, FILE *out)
{
    if (!rep->best_run)
        return;
    const results_trial *b = &rep->best_run->best_trial;
    char human[1024];
    describe_best(rep, human, sizeof human);
    fprintf(out,
            "\nbest architecture: %s (run %s, trial %llu)\n  %s\n  score %.4f, val %.2f%%, "
            "test %.2f%%, %llu params, %.2f MFLOPs, latency %.3f ms\n",
            b->arch, rep->best_run->info->name, (unsigned long long)b->trial, human, b->score,
            100 * b->val_accuracy, 100 * b->test_accuracy, (unsigned long long)b->params,
            (double)b->flops / 1e6, b->latency_ms);
    if (rep->table_means)
        fprintf(out, "  true test %.2f%%, val %.2f%% (the table's means over its seeds)\n",
                100 * rep->best_run->mean_test, 100 * rep->best_run->mean_val);
}

static void print_unfinished(const report *rep, FILE *out)
{
    int any = 0;
    for (uint32_t i = 0; i < rep->n_strategies; i++) {
        const strategy_row *s = &rep->strategies[i];
        if (s->finished == s->runs)
            continue;
        if (!any++)
            fputc('\n', out);
        fprintf(out, "note: %s: %u of %u runs unfinished (running, aborted or not started)\n",
                s->id, s->runs - s->finished, s->runs);
    }
}

static int print_tables(const report *rep, FILE *out, int markdown)
{
    print_header(rep, out, markdown);
    if (markdown)
        fputs("## Final best (each run's best-by-score trial)\n\n", out);
    else
        fputs("final best (each run's best-by-score trial):\n", out);
    if (print_final_table(rep, out, markdown) != LARCH_OK)
        return LARCH_ENOMEM;
    if (markdown)
        fputs("\n## Search efficiency\n\n", out);
    else
        fputs("\nsearch efficiency (AUC: mean best-so-far score over trials / charged seconds):\n",
              out);
    if (print_efficiency_table(rep, out, markdown) != LARCH_OK)
        return LARCH_ENOMEM;
    if (markdown && rep->best_run)
        fputs("\n## Best architecture\n\n```", out);
    print_best(rep, out);
    if (markdown && rep->best_run)
        fputs("```\n", out);
    print_unfinished(rep, out);
    return LARCH_OK;
}

/* ---- machine formats: the same named fields for CSV and JSON ---- */

typedef struct field {
    const char *name;
    double value;
    int integer;
} field;

enum { MAX_FIELDS = 40 };

static size_t strategy_fields(const report *rep, const strategy_row *s, field *f)
{
    size_t n = 0;
#define INT(name_, v) f[n++] = (field){name_, (double)(v), 1}
#define NUM(name_, v)                                                                              \
    f[n++] = (field)                                                                               \
    {                                                                                              \
        name_, (v), 0                                                                              \
    }
    INT("is_reference", s->is_reference);
    INT("runs", s->runs);
    INT("finished_runs", s->finished);
    INT("runs_with_best", s->with_best);
    INT("trials", s->trials);
    INT("failed_trials", s->failed);
    NUM("score_mean", s->score.mean);
    NUM("score_sd", s->score.sd);
    NUM("score_median", s->score.median);
    NUM("val_accuracy_mean", s->val.mean);
    NUM("val_accuracy_sd", s->val.sd);
    NUM("val_accuracy_median", s->val.median);
    NUM("test_accuracy_mean", s->test.mean);
    NUM("test_accuracy_sd", s->test.sd);
    NUM("test_accuracy_median", s->test.median);
    NUM("true_test_accuracy_mean", s->true_test.mean);
    NUM("true_test_accuracy_sd", s->true_test.sd);
    NUM("true_test_accuracy_median", s->true_test.median);
    NUM("regret_val_mean", s->regret_val.mean);
    NUM("regret_val_sd", s->regret_val.sd);
    NUM("regret_test_mean", s->regret_test.mean);
    NUM("regret_test_sd", s->regret_test.sd);
    INT("regret_from_table", replayed(rep) ? rep->table_means : NAN);
    NUM("target_score", rep->target);
    INT("target_reached", s->reached);
    NUM("trials_to_target_mean", s->trials_to_target);
    NUM("seconds_to_target_mean", s->seconds_to_target);
    NUM("auc_trials_mean", s->auc_trials.mean);
    NUM("auc_trials_sd", s->auc_trials.sd);
    NUM("auc_seconds_mean", s->auc_seconds.mean);
    NUM("auc_seconds_sd", s->auc_seconds.sd);
    NUM("mwu_u", s->mwu.u);
    NUM("mwu_p", s->mwu.p);
    NUM("mwu_exact", s->is_reference || isnan(s->mwu.p) ? NAN : s->mwu.exact);
    NUM("mwu_regret_u", s->mwu_regret.u);
    NUM("mwu_regret_p", s->mwu_regret.p);
#undef INT
#undef NUM
    return n;
}

/* A number as CSV or JSON wants it: NaN is empty (CSV) or null (JSON). */
static void print_value(FILE *out, const field *f, int json)
{
    if (isnan(f->value))
        fputs(json ? "null" : "", out);
    else if (f->integer)
        fprintf(out, "%.0f", f->value);
    else
        fprintf(out, "%.15g", f->value);
}

static void print_csv_string(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void print_csv(const report *rep, FILE *out)
{
    field f[MAX_FIELDS];
    strategy_row none = {.id = ""};
    size_t n = strategy_fields(rep, &none, f);
    fputs("strategy", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, ",%s", f[i].name);
    fputc('\n', out);
    for (uint32_t s = 0; s < rep->n_strategies; s++) {
        print_csv_string(out, rep->strategies[s].id);
        n = strategy_fields(rep, &rep->strategies[s], f);
        for (size_t i = 0; i < n; i++) {
            fputc(',', out);
            print_value(out, &f[i], 0);
        }
        fputc('\n', out);
    }
}

static void print_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void print_json_number(FILE *out, const char *name, double v, int integer, const char *after)
{
    field f = {name, v, integer};
    fprintf(out, "\"%s\": ", name);
    print_value(out, &f, 1);
    fputs(after, out);
}

static void print_json(const report *rep, FILE *out)
{
    fputs("{\n  \"file\": ", out);
    print_json_string(out, rep->path);
    fprintf(out, ",\n  \"schema_version\": %u,\n", results_file_schema_version(rep->file));
    fprintf(out, "  \"n_runs\": %u,\n  \"n_trials\": %llu,\n", rep->n_runs,
            (unsigned long long)rep->n_trials);
    fputs("  \"space\": {\"name\": ", out);
    print_json_string(out, rep->space->name);
    fprintf(out, ", \"n_decisions\": %u, \"size\": %.0f},\n", rep->space->n_decisions,
            larch_space_size(rep->space));
    fputs("  \"target\": {", out);
    print_json_number(out, "score", rep->target, 0, ", ");
    fprintf(out, "\"source\": \"%s\"},\n", rep->target_is_default ? "median" : "option");
    fputs("  \"reference\": ", out);
    if (rep->reference)
        print_json_string(out, rep->reference->id);
    else
        fputs("null", out);
    fputs(",\n  ", out);
    print_json_number(out, "horizon_trials", (double)rep->horizon_trials, 1, ",\n  ");
    print_json_number(out, "horizon_seconds", rep->horizon_seconds, 0, ",\n");
    if (replayed(rep)) {
        fputs("  \"table_best\": {", out);
        print_json_number(out, "val_accuracy", rep->table_best_val, 0, ", ");
        print_json_number(out, "test_accuracy", rep->table_best_test, 0, ", ");
        fputs("\"path\": ", out);
        if (rep->table_path)
            print_json_string(out, rep->table_path);
        else
            fputs("null", out);
        fprintf(out, ", \"regret_source\": \"%s\", \"warning\": ",
                rep->table_means ? "table_means" : "observed");
        if (rep->table_means)
            fputs("null", out);
        else
            print_json_string(out, rep->table_problem);
        fputs("},\n", out);
    } else {
        fputs("  \"table_best\": null,\n", out);
    }
    fputs("  \"strategies\": {", out);
    for (uint32_t s = 0; s < rep->n_strategies; s++) {
        field f[MAX_FIELDS];
        size_t n = strategy_fields(rep, &rep->strategies[s], f);
        fputs(s ? ",\n    " : "\n    ", out);
        print_json_string(out, rep->strategies[s].id);
        fputs(": {", out);
        for (size_t i = 0; i < n; i++)
            print_json_number(out, f[i].name, f[i].value, f[i].integer, i + 1 < n ? ", " : "}");
    }
    fputs(rep->n_strategies ? "\n  },\n" : "},\n", out);
    fputs("  \"best\": ", out);
    if (!rep->best_run) {
        fputs("null\n}\n", out);
        return;
    }
    const results_trial *b = &rep->best_run->best_trial;
    char human[1024];
    describe_best(rep, human, sizeof human);
    fputs("{\"run\": ", out);
    print_json_string(out, rep->best_run->info->name);
    fputs(", \"strategy\": ", out);
    print_json_string(out, rep->best_run->info->strategy);
    fprintf(out, ", \"trial\": %llu, \"arch\": ", (unsigned long long)b->trial);
    print_json_string(out, b->arch);
    fputs(", \"description\": ", out);
    print_json_string(out, human);
    fputs(", ", out);
    print_json_number(out, "score", b->score, 0, ", ");
    print_json_number(out, "val_accuracy", b->val_accuracy, 0, ", ");
    print_json_number(out, "test_accuracy", b->test_accuracy, 0, ", ");
    print_json_number(out, "true_test_accuracy", rep->best_run->mean_test, 0, ", ");
    print_json_number(out, "params", (double)b->params, 1, ", ");
    print_json_number(out, "flops", (double)b->flops, 1, ", ");
    print_json_number(out, "latency_ms", b->latency_ms, 0, "}\n}\n");
}

/* ---- driver ---- */

static void report_release(report *rep)
{
    for (uint32_t r = 0; rep->runs && r < rep->n_runs; r++) {
        free(rep->runs[r].best);
        free(rep->runs[r].seconds);
    }
    for (uint32_t i = 0; rep->strategies && i < rep->n_strategies; i++) {
        free(rep->strategies[i].final_scores);
        free(rep->strategies[i].final_regrets);
    }
    free(rep->runs);
    free(rep->strategies);
    free(rep->scratch);
    free(rep->table_path);
    results_file_close(rep->file);
}

static int report_build(report *rep, const host_report_options *opts, larch_error *err)
{
    int rc = results_file_open(rep->path, &rep->file, err);
    if (rc != LARCH_OK)
        return rc;
    rep->space = results_file_space(rep->file);
    rep->n_runs = results_file_n_runs(rep->file);
    size_t slots = rep->n_runs ? rep->n_runs : 1;
    rep->runs = calloc(slots, sizeof *rep->runs);
    rep->strategies = calloc(slots, sizeof *rep->strategies);
    rep->scratch = calloc(slots, sizeof *rep->scratch);
    if (!rep->runs || !rep->strategies || !rep->scratch)
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory for %u runs", rep->path,
                               rep->n_runs);
    for (uint32_t r = 0; r < rep->n_runs && rc == LARCH_OK; r++)
        rc = load_run(rep, r, err);
    if (rc == LARCH_OK)
        rc = read_optional(rep, RESULTS_ATTR_TABLE_BEST_VAL, &rep->table_best_val, err);
    if (rc == LARCH_OK)
        rc = read_optional(rep, RESULTS_ATTR_TABLE_BEST_TEST, &rep->table_best_test, err);
    if (rc != LARCH_OK)
        return rc;
    read_table_means(rep, opts->warnings);
    rep->target_is_default = isnan(opts->target);
    rep->target = rep->target_is_default ? median_final_best(rep) : opts->target;
    measure_runs(rep);
    aggregate(rep);
    return compare_to_reference(rep, opts->reference, err);
}

int host_report(const char *path, const host_report_options *opts, FILE *out, larch_error *err)
{
    host_report_options defaults;
    host_report_options_init(&defaults);
    if (!opts)
        opts = &defaults;
    if (!path || !out)
        return larch_error_set(err, LARCH_EINVAL, "host_report: NULL argument");
    if (isinf(opts->target))
        return larch_error_set(err, LARCH_EINVAL, "report: the target must be a finite score");
    report rep;
    memset(&rep, 0, sizeof rep);
    rep.path = path;
    int rc = report_build(&rep, opts, err);
    if (rc == LARCH_OK) {
        switch (opts->format) {
        case HOST_REPORT_CSV:
            print_csv(&rep, out);
            break;
        case HOST_REPORT_JSON:
            print_json(&rep, out);
            break;
        case HOST_REPORT_MARKDOWN:
            rc = print_tables(&rep, out, 1);
            break;
        default:
            rc = print_tables(&rep, out, 0);
            break;
        }
        if (rc == LARCH_ENOMEM)
            larch_error_set(err, rc, "%s: out of memory while printing the report", path);
        else if (fflush(out) != 0 || ferror(out))
            rc = larch_error_set(err, LARCH_EIO, "%s: cannot write the report", path);
    }
    report_release(&rep);
    return rc;
}
