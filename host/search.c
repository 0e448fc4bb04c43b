#include "search.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/nn.h>
#include <larch/rng.h>
#include <larch/strategy.h>

#include "../results/results.h"
#include "cache.h"
#include "evaluate.h"
#include "progress.h"
#include "resume.h"

static const char *const trial_status_names[] = {"OK", "DIVERGED", "FAILED", "TIMEOUT"};

/* A replay writes its trials in blocks of at most this many trials or this much wall time: a
 * flush per trial (~60 us) would cap it far below 10^5 trials a second. */
#define BLOCK_TRIALS 1024
#define BLOCK_SECONDS 0.5
/* A run bounded by seconds alone ends after this many free trials in a row (repeats of
 * architectures it evaluated before cost nothing, so the budget could never bind). */
#define FREE_STREAK_LIMIT 10000
/* Seconds between redraws of the live line during a replay. */
#define REPLAY_PROGRESS_INTERVAL 0.2

/* Everything one run needs while it executes. */
typedef struct run {
    uint32_t index;
    const host_plugin *plugin;
    const larch_strategy_vtable *vt;
    host_params *params;
    void *self;
    results_run_info info;
    double best_score;
    char best_arch[LARCH_ARCH_STRING_SIZE];
    uint64_t trials;
    double charged_seconds;    /* the run's budget spent so far */
    uint64_t free_streak;      /* trials in a row charged 0 */
    host_arch_counts proposed; /* how often the run proposed each architecture */
} run;

/* Trials of a replay not written yet; curves point into the table. */
typedef struct block {
    size_t n;
    double started_s; /* finished_s of its first trial */
    results_trial rows[BLOCK_TRIALS];
    larch_arch archs[BLOCK_TRIALS];
    const float *train_loss[BLOCK_TRIALS], *val_curve[BLOCK_TRIALS];
} block;

typedef struct experiment {
    host_config *cfg;
    const host_run_options *opts;
    larch_space space;
    const larch_opset_vtable *opset;
    host_evaluator evaluator;
    int replay;   /* evaluator.type = "table" */
    block *block; /* replays only */
    host_cache cache;
    trainer_outcome outcome; /* the latest training's (train mode) */
    results_writer *writer;
    host_progress progress;
    double started_s;
} experiment;

static const host_plugin *find_plugin(const host_registry *reg, uint32_t kind, const char *id,
                                      const char *what, larch_error *err)
{
    const host_plugin *p = host_registry_find(reg, kind, id);
    if (p)
        return p;
    char known[512] = "";
    for (size_t i = 0; i < reg->n_plugins; i++) {
        if (reg->plugins[i].kind != kind)
            continue;
        size_t len = strlen(known);
        snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", reg->plugins[i].id);
    }
    larch_error_set(err, LARCH_ENOTFOUND,
                    "no %s plugin with id '%s' was found (available: %s); see `larch plugins`",
                    what, id, known[0] ? known : "none");
    return NULL;
}

/* Creates the strategy instance of r with its parameters; checks that every parameter the
 * config gives was read, so a typo is an error and not a silently ignored setting. */
static int create_strategy(experiment *x, run *r, uint64_t seed, larch_error *err)
{
    r->params = host_params_new(x->cfg, "strategies", r->info.strategy, x->opts->log_level);
    if (!r->params)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory creating plugin parameters");
    int rc = r->vt->create(host_params_host(r->params), &x->space, seed, &r->self, err);
    if (rc != LARCH_OK) {
        r->self = NULL;
        return larch_error_prefix(err, "strategy '%s' (%s): ", r->info.strategy, r->plugin->path);
    }
    return host_params_check_unused(r->params, err);
}

static void destroy_strategy(run *r)
{
    if (r->self)
        r->vt->destroy(r->self);
    r->self = NULL;
    host_params_free(r->params);
    r->params = NULL;
}

/* Everything that can be wrong with the experiment's definition is found here, before the data
 * is loaded or anything is trained. */
static int prepare(experiment *x, const host_registry *reg, run **runs_out, uint32_t *n_runs_out,
                   larch_error *err)
{
    host_config *cfg = x->cfg;
    const host_plugin *opset = find_plugin(reg, LARCH_PLUGIN_OPSET, cfg->opset, "op-set", err);
    if (!opset)
        return err->status;
    x->opset = opset->desc->opset;
    int rc = trainer_cell_space(&cfg->cell, x->opset, &x->space, err);
    if (rc != LARCH_OK)
        return rc;

    uint32_t n_runs = cfg->n_strategies * cfg->seeds;
    run *runs = calloc(n_runs, sizeof *runs);
    if (!runs)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory for %u runs", n_runs);
    for (uint32_t s = 0; s < cfg->n_strategies; s++) {
        for (uint32_t t = 0; t < s; t++)
            if (!strcmp(cfg->strategies[s], cfg->strategies[t])) {
                free(runs);
                return larch_error_set(err, LARCH_EINVAL,
                                       "%s: experiment.strategies lists '%s' twice", cfg->path,
                                       cfg->strategies[s]);
            }
        const char *name = cfg->strategies[s];
        const host_plugin *p =
            find_plugin(reg, LARCH_PLUGIN_STRATEGY, cfg->strategy_plugins[s], "strategy", err);
        if (!p) {
            free(runs);
            if (strcmp(name, cfg->strategy_plugins[s]))
                larch_error_prefix(err, "%s: strategies.%s.plugin: ", cfg->path, name);
            return err->status;
        }
        run probe = {.plugin = p, .vt = p->desc->strategy};
        snprintf(probe.info.strategy, sizeof probe.info.strategy, "%s", name);
        rc = create_strategy(x, &probe, 0, err);
        destroy_strategy(&probe);
        if (rc != LARCH_OK) {
            free(runs);
            return rc;
        }
        for (uint32_t k = 0; k < cfg->seeds; k++) {
            run *r = &runs[s * cfg->seeds + k];
            r->index = s * cfg->seeds + k;
            r->plugin = p;
            r->vt = p->desc->strategy;
            r->best_score = -INFINITY;
            results_run_info *info = &r->info;
            snprintf(info->name, sizeof info->name, "%.48s-s%u", name, k);
            snprintf(info->strategy, sizeof info->strategy, "%s", name);
            snprintf(info->plugin, sizeof info->plugin, "%s", p->id);
            snprintf(info->strategy_version, sizeof info->strategy_version, "%s", p->version);
            info->abi_major = p->abi_major;
            info->abi_minor = p->abi_minor;
            /* The same seed index gives every strategy the same seed: paired comparisons. */
            info->seed = larch_seed_derive(cfg->seed, k);
            info->seed_index = k;
            snprintf(info->evaluator, sizeof info->evaluator, "%s",
                     cfg->evaluator_table ? "table" : "train");
        }
    }
    *runs_out = runs;
    *n_runs_out = n_runs;
    return LARCH_OK;
}

/* Creates the results file; when resuming (prior), writes a fresh copy of what the file held
 * beside it and puts it in its place (rename: the file is whole at every moment). */
static int open_results(experiment *x, run *runs, uint32_t n_runs, const host_prior *prior,
                        larch_error *err)
{
    results_run_info *infos = calloc(n_runs, sizeof *infos);
    if (!infos)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n_runs; i++)
        infos[i] = runs[i].info;
    char objective[128];
    if (x->cfg->objective == HOST_OBJECTIVE_ACCURACY_FLOPS)
        snprintf(objective, sizeof objective, "val_accuracy * (flops / %g) ^ %g",
                 x->cfg->flops_target, x->cfg->flops_exponent);
    else
        snprintf(objective, sizeof objective, "val_accuracy");
    results_experiment_info info = {.config_text = x->cfg->text,
                                    .config_path = x->cfg->path,
                                    .larch_version = LARCH_VERSION,
                                    .objective = objective,
                                    .seed = x->cfg->seed,
                                    .space = &x->space,
                                    .max_epochs = x->cfg->recipe.epochs,
                                    .n_runs = n_runs,
                                    .runs = infos};
    /* Absolute, so `larch report` finds the table from any directory. */
    char table_path[PATH_MAX];
    if (x->replay) {
        info.max_epochs = table_max_epochs(x->evaluator.table);
        info.table_path =
            realpath(x->cfg->table_path, table_path) ? table_path : x->cfg->table_path;
        info.table_best_val_accuracy = x->evaluator.best_val_accuracy;
        info.table_best_test_accuracy = x->evaluator.best_test_accuracy;
    }
    const char *path = x->opts->output_path;
    char fresh[PATH_MAX];
    if (prior && snprintf(fresh, sizeof fresh, "%s.resuming", path) >= (int)sizeof fresh) {
        free(infos);
        return larch_error_set(err, LARCH_ERANGE, "%s: path too long", path);
    }
    int rc = results_writer_create(prior ? fresh : path, &info, &x->writer, err);
    free(infos);
    if (rc != LARCH_OK || !prior)
        return rc;
    rc = host_prior_write(prior, x->writer, err);
    if (rc == LARCH_OK && rename(fresh, path) != 0)
        rc = larch_error_set(err, LARCH_EIO, "cannot replace %s by %s: %s", path, fresh,
                             strerror(errno));
    if (rc != LARCH_OK) {
        larch_error close_err = {0};
        results_writer_close(x->writer, &close_err);
        x->writer = NULL;
        remove(fresh);
    }
    return rc;
}

static int save_checkpoint(experiment *x, run *r, larch_error *err)
{
    void *bytes = NULL;
    size_t size = 0;
    larch_error plugin_err = {0};
    if (r->vt->save(r->self, &bytes, &size, &plugin_err) != LARCH_OK) {
        /* A strategy that cannot checkpoint loses only resumability: warn, keep searching. */
        host_progress_note(&x->progress, "warning: %s: checkpoint failed: %s", r->info.name,
                           plugin_err.message);
        return LARCH_OK;
    }
    int rc = results_writer_save_checkpoint(x->writer, r->index, bytes, size, r->trials, err);
    free(bytes); /* allocated by the host's alloc (calloc) on the plugin's behalf */
    return rc;
}

/* Evaluates arch into m and sets row->cached and row->cost_seconds. An architecture that cannot
 * be evaluated is a FAILED trial, not an error; only running out of memory for the count of
 * proposals is (LARCH_ENOMEM: a replay could no longer be reproduced).
 *
 * What a run is charged: training mode answers a repeat from the experiment's cache (cached = 1)
 * but still charges the recorded train_seconds unless this same run evaluated the architecture
 * before, so a run is not cheaper for coming after others. A replay draws again on every
 * proposal (the draw depends on how often the run proposed it) and charges every draw. */
static int evaluate(experiment *x, run *r, const larch_arch *arch, host_metrics *m,
                    results_trial *row, larch_error *err)
{
    uint64_t hash = larch_arch_hash(arch);
    uint64_t before = 0;
    if (host_arch_counts_add(&r->proposed, arch, hash, &before) != LARCH_OK)
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory counting proposals",
                               r->info.name);
    larch_error eval_err = {0};
    char text[LARCH_ARCH_STRING_SIZE];
    if (x->replay) {
        row->cached = 0;
        if (host_evaluate_replay(&x->evaluator, arch, hash, r->info.seed, before, m, &eval_err) !=
            LARCH_OK)
            goto failed;
        row->cost_seconds = m->train_seconds;
        return LARCH_OK;
    }
    const trainer_outcome *hit = host_cache_find(&x->cache, arch);
    if (hit) {
        host_metrics_of_outcome(hit, m);
        row->cached = 1;
        row->cost_seconds = before ? 0 : hit->train_seconds;
        return LARCH_OK;
    }
    row->cached = 0;
    memset(&x->outcome, 0, sizeof x->outcome);
    if (host_evaluate(&x->evaluator, arch, &x->outcome, &eval_err) != LARCH_OK)
        goto failed;
    if (host_cache_insert(&x->cache, arch, &x->outcome) != LARCH_OK)
        host_progress_note(&x->progress, "warning: evaluation cache full (out of memory)");
    host_metrics_of_outcome(&x->outcome, m);
    row->cost_seconds = m->train_seconds;
    return LARCH_OK;
failed:
    host_progress_note(&x->progress, "warning: %s: arch %s failed: %s", r->info.name,
                       larch_arch_to_string(arch, text), eval_err.message);
    memset(m, 0, sizeof *m);
    m->status = LARCH_TRIAL_FAILED;
    row->cost_seconds = 0;
    return LARCH_OK;
}

/* Writes the replay's pending trials (two flushed phases for the whole block), then the
 * strategy's checkpoint, which has seen every one of them. */
static int flush_block(experiment *x, run *r, int checkpoint, larch_error *err)
{
    block *b = x->block;
    if (!b || !b->n)
        return LARCH_OK;
    int rc = results_writer_append_block(x->writer, r->index, b->rows, b->archs, b->n,
                                         b->train_loss, b->val_curve, err);
    b->n = 0;
    if (rc == LARCH_OK && checkpoint)
        rc = save_checkpoint(x, r, err);
    return rc;
}

/* Records one evaluated trial: at once with a flush (training), or into the block (replay). */
static int record(experiment *x, run *r, const results_trial *row, const larch_arch *arch,
                  const host_metrics *m, larch_error *err)
{
    if (!x->replay)
        return results_writer_append(x->writer, r->index, row, arch, m->train_loss, m->val_curve,
                                     err);
    block *b = x->block;
    if (!b->n)
        b->started_s = row->finished_s;
    b->rows[b->n] = *row;
    b->archs[b->n] = *arch;
    b->train_loss[b->n] = m->train_loss;
    b->val_curve[b->n] = m->val_curve;
    b->n++;
    return LARCH_OK;
}

/* What a strategy is told of a recorded trial. */
static larch_result result_of_row(const results_trial *row)
{
    return (larch_result){.struct_size = sizeof(larch_result),
                          .status = row->status,
                          .score = row->status == LARCH_TRIAL_OK ? row->score : -INFINITY,
                          .val_accuracy = row->val_accuracy,
                          .params = row->params,
                          .flops = row->flops,
                          .latency_ms = row->latency_ms,
                          .cost_seconds = row->cost_seconds};
}

/* The run's state after its recorded trials: the strategy's from its checkpoint, then told
 * again the trials recorded after it (it must propose each of them again: strategies are
 * deterministic), and the host's (proposal counts, charged seconds, best). Without a usable
 * checkpoint every recorded trial is told again from a fresh strategy. A strategy that strays
 * from the record is a plugin error (LARCH_EPLUGIN in plugin_err); running out of memory sets
 * *fatal (err). */
static int restore_run(experiment *x, run *r, const host_prior_run *p, larch_error *plugin_err,
                       int *fatal, larch_error *err)
{
    uint64_t from = 0;
    if (p->checkpoint_size && p->checkpoint_trials <= p->n) {
        larch_error load_err = {0};
        if (r->vt->load(r->self, p->checkpoint, p->checkpoint_size, &load_err) == LARCH_OK)
            from = p->checkpoint_trials;
        else
            host_progress_note(&x->progress,
                               "warning: %s: checkpoint refused (%s); telling its %zu trials "
                               "again instead",
                               r->info.name, load_err.message, p->n);
    }
    host_progress_note(&x->progress,
                       "%s: resuming after %zu trials (strategy checkpoint after %llu)",
                       r->info.name, p->n, (unsigned long long)from);
    for (size_t i = 0; i < p->n; i++) {
        const results_trial *row = &p->rows[i];
        uint64_t before = 0;
        if (host_arch_counts_add(&r->proposed, &p->archs[i], larch_arch_hash(&p->archs[i]),
                                 &before) != LARCH_OK) {
            *fatal = 1;
            return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory counting proposals",
                                   r->info.name);
        }
        r->charged_seconds = row->charged_seconds;
        r->free_streak = row->cost_seconds > 0 ? 0 : r->free_streak + 1;
        r->trials = i + 1;
        if (row->status == LARCH_TRIAL_OK && row->score > r->best_score) {
            r->best_score = row->score;
            memcpy(r->best_arch, row->arch, sizeof row->arch);
        }
        if (i < from)
            continue;
        larch_arch arch;
        memset(&arch, 0, sizeof arch);
        int asked = r->vt->ask(r->self, &arch, plugin_err);
        char text[LARCH_ARCH_STRING_SIZE];
        if (asked != LARCH_ASK_OK || !larch_arch_equal(&arch, &p->archs[i]))
            return larch_error_set(
                plugin_err, LARCH_EPLUGIN,
                "resume: told the trials before trial %zu again, the strategy "
                "proposed %s, not the recorded %s (is it deterministic?)",
                i, asked == LARCH_ASK_OK ? larch_arch_to_string(&arch, text) : "nothing",
                row->arch);
        larch_result result = result_of_row(row);
        int rc = r->vt->tell(r->self, &arch, &result, plugin_err);
        if (rc != LARCH_OK)
            return rc;
    }
    return LARCH_OK;
}

static int budget_left(const experiment *x, const run *r, uint64_t t)
{
    const host_config *cfg = x->cfg;
    if (cfg->trials && t >= cfg->trials)
        return 0;
    /* Checked before each trial: the trial that crosses the budget is kept. */
    if (cfg->budget_seconds > 0 && r->charged_seconds >= cfg->budget_seconds)
        return 0;
    return 1;
}

/* One run, continuing after the trials of prior when given (--resume); returns LARCH_OK,
 * LARCH_EPLUGIN (the strategy failed: run ABORTED) or a fatal error (writing results, out of
 * memory). */
static int execute_run(experiment *x, run *r, uint32_t n_runs, const host_prior_run *prior,
                       larch_error *err)
{
    int rc = results_writer_set_run_state(x->writer, r->index, RESULTS_RUN_RUNNING, err);
    if (rc != LARCH_OK)
        return rc;
    larch_error plugin_err = {0};
    results_run_state end_state = RESULTS_RUN_FINISHED;
    const host_config *cfg = x->cfg;
    rc = create_strategy(x, r, r->info.seed, &plugin_err);
    if (rc == LARCH_OK && prior) {
        int fatal = 0;
        rc = restore_run(x, r, prior, &plugin_err, &fatal, err);
        if (fatal)
            return rc;
    }
    for (uint64_t t = r->trials; rc == LARCH_OK && budget_left(x, r, t); t++) {
        if (x->opts->stop && *x->opts->stop) {
            end_state = RESULTS_RUN_ABORTED;
            host_progress_note(&x->progress, "%s: interrupted after %llu trials", r->info.name,
                               (unsigned long long)t);
            break;
        }
        if (!cfg->trials && r->free_streak >= FREE_STREAK_LIMIT) {
            host_progress_note(&x->progress,
                               "%s: ends after %d trials in a row that cost nothing (repeats); "
                               "budget.seconds cannot bind",
                               r->info.name, FREE_STREAK_LIMIT);
            break;
        }
        larch_arch arch;
        memset(&arch, 0, sizeof arch);
        int asked = r->vt->ask(r->self, &arch, &plugin_err);
        if (asked == LARCH_ASK_DONE)
            break;
        if (asked == LARCH_ASK_WAIT) {
            rc = larch_error_set(&plugin_err, LARCH_EPLUGIN,
                                 "ask() returned WAIT with no proposal outstanding");
            break;
        }
        if (asked != LARCH_ASK_OK) {
            rc = asked < 0 ? asked : LARCH_EPLUGIN;
            if (asked >= 0)
                larch_error_set(&plugin_err, rc, "ask() returned unknown code %d", asked);
            break;
        }
        rc = larch_arch_validate(&x->space, &arch, &plugin_err);
        if (rc != LARCH_OK) {
            larch_error_prefix(&plugin_err, "ask() proposed an invalid architecture: ");
            break;
        }

        double trial_start = host_now_s();
        results_trial row;
        memset(&row, 0, sizeof row);
        host_metrics m;
        int fatal = evaluate(x, r, &arch, &m, &row, err);
        if (fatal != LARCH_OK)
            return fatal;
        double trial_end = host_now_s();

        r->charged_seconds += row.cost_seconds;
        r->free_streak = row.cost_seconds > 0 ? 0 : r->free_streak + 1;
        row.trial = t;
        row.run = r->index;
        row.status = (uint8_t)m.status;
        row.score = host_score_metrics(cfg, &m);
        row.val_accuracy = m.val_accuracy;
        row.test_accuracy = m.test_accuracy;
        row.params = m.params;
        row.flops = m.flops;
        row.latency_ms = m.latency_ms;
        row.train_seconds = m.train_seconds;
        row.charged_seconds = r->charged_seconds;
        row.started_s = trial_start - x->started_s;
        row.finished_s = trial_end - x->started_s;
        row.n_epochs = m.n_epochs;
        larch_arch_to_string(&arch, row.arch);
        fatal = record(x, r, &row, &arch, &m, err);
        if (fatal != LARCH_OK)
            return fatal;
        r->trials = t + 1;
        if (row.status == LARCH_TRIAL_OK && row.score > r->best_score) {
            r->best_score = row.score;
            memcpy(r->best_arch, row.arch, sizeof row.arch);
        }

        larch_result result = result_of_row(&row);
        rc = r->vt->tell(r->self, &arch, &result, &plugin_err);
        if (rc != LARCH_OK)
            break;
        if (!x->replay)
            fatal = save_checkpoint(x, r, err);
        else if (x->block->n == BLOCK_TRIALS ||
                 row.finished_s - x->block->started_s >= BLOCK_SECONDS)
            fatal = flush_block(x, r, 1, err);
        if (fatal != LARCH_OK)
            return fatal;

        host_progress_trial t_info = {.run = r->info.name,
                                      .run_index = r->index,
                                      .n_runs = n_runs,
                                      .trial = t,
                                      .run_trials = cfg->trials,
                                      .arch = row.arch,
                                      .status = trial_status_names[row.status & 3],
                                      .cached = row.cached,
                                      .score = row.score,
                                      .val_accuracy = row.val_accuracy,
                                      .best_score = r->best_score,
                                      .seconds = trial_end - trial_start,
                                      .charged_seconds = r->charged_seconds,
                                      .budget_seconds = cfg->budget_seconds};
        host_progress_trial_done(&x->progress, &t_info);
    }
    /* A replay's last block; its checkpoint only if the strategy is still sound. */
    int flushed = flush_block(x, r, rc == LARCH_OK, err);
    destroy_strategy(r);
    host_arch_counts_release(&r->proposed);
    if (flushed != LARCH_OK)
        return flushed;
    if (rc != LARCH_OK) {
        end_state = RESULTS_RUN_ABORTED;
        host_progress_note(&x->progress, "error: %s: strategy '%s' failed after %llu trials: %s",
                           r->info.name, r->plugin->id, (unsigned long long)r->trials,
                           plugin_err.message);
    } else {
        host_progress_note(&x->progress,
                           "%s: %llu trials, %.1f s charged, best score %.4f (arch %s)",
                           r->info.name, (unsigned long long)r->trials, r->charged_seconds,
                           r->best_score, r->best_arch[0] ? r->best_arch : "-");
    }
    int state_rc = results_writer_set_run_state(x->writer, r->index, end_state, err);
    if (state_rc != LARCH_OK)
        return state_rc;
    return rc == LARCH_OK ? LARCH_OK : LARCH_EPLUGIN;
}

/* Puts the evaluated trials of a run read from the file into the evaluation cache, as the
 * uninterrupted experiment had them when the next run started (training only). */
static int fill_cache(experiment *x, const host_prior_run *p, uint32_t width, larch_error *err)
{
    for (size_t i = 0; i < p->n; i++) {
        const results_trial *row = &p->rows[i];
        if ((row->status != LARCH_TRIAL_OK && row->status != LARCH_TRIAL_DIVERGED) ||
            host_cache_find(&x->cache, &p->archs[i]))
            continue;
        trainer_outcome o;
        memset(&o, 0, sizeof o);
        o.status = row->status;
        o.val_accuracy = row->val_accuracy;
        o.test_accuracy = row->test_accuracy;
        o.epochs_run = row->n_epochs < TRAINER_MAX_EPOCHS ? row->n_epochs : TRAINER_MAX_EPOCHS;
        for (uint32_t e = 0; e < o.epochs_run && e < width; e++) {
            o.train_loss[e] = p->train_loss[i * width + e];
            o.val_accuracy_curve[e] = p->val_curve[i * width + e];
        }
        o.params = row->params;
        o.flops = row->flops;
        o.latency_ms = row->latency_ms;
        o.train_seconds = row->train_seconds;
        if (host_cache_insert(&x->cache, &p->archs[i], &o) != LARCH_OK)
            return larch_error_set(err, LARCH_ENOMEM, "out of memory for the evaluation cache");
    }
    return LARCH_OK;
}

/* "20 trials", "3600 s of training" or "20 trials or 3600 s of training, whichever first". */
static void describe_budget(const host_config *cfg, char *buf, size_t size)
{
    if (cfg->trials && cfg->budget_seconds > 0)
        snprintf(buf, size, "%u trials or %g s of training each, whichever first", cfg->trials,
                 cfg->budget_seconds);
    else if (cfg->trials)
        snprintf(buf, size, "%u trials each", cfg->trials);
    else
        snprintf(buf, size, "%g s of training each", cfg->budget_seconds);
}

int host_run_experiment(host_config *cfg, const host_registry *reg, const host_run_options *opts,
                        larch_error *err)
{
    experiment x;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    x.opts = opts;
    host_cache_init(&x.cache);
    run *runs = NULL;
    uint32_t n_runs = 0;
    int rc = prepare(&x, reg, &runs, &n_runs, err);
    if (rc != LARCH_OK)
        return rc;

    x.replay = cfg->evaluator_table;
    host_prior prior = {0};
    if (opts->resume) {
        results_run_info *infos = calloc(n_runs, sizeof *infos);
        if (!infos) {
            rc = larch_error_set(err, LARCH_ENOMEM, "out of memory");
            goto out;
        }
        for (uint32_t i = 0; i < n_runs; i++)
            infos[i] = runs[i].info;
        rc = host_prior_load(opts->output_path, cfg, infos, n_runs, &prior, err);
        free(infos);
        if (rc != LARCH_OK)
            goto out;
    }
    host_progress_init(&x.progress, stderr, (uint64_t)n_runs * cfg->trials, opts->quiet);
    char budget[128];
    describe_budget(cfg, budget, sizeof budget);
    if (x.replay) {
        x.block = malloc(sizeof *x.block);
        if (!x.block) {
            rc = larch_error_set(err, LARCH_ENOMEM, "out of memory for the replay's trial block");
            goto out;
        }
        x.block->n = 0;
        x.progress.interval_s = REPLAY_PROGRESS_INTERVAL;
        rc = host_evaluator_init(&x.evaluator, cfg, x.opset, err);
        if (rc != LARCH_OK)
            goto out;
        host_progress_note(&x.progress,
                           "experiment '%s': %u strategies x %u seeds, %s, %.0f architectures in "
                           "the space; replaying %s (%u seeds per architecture, best mean val "
                           "%.4f) -> %s",
                           cfg->name, cfg->n_strategies, cfg->seeds, budget,
                           larch_space_size(&x.space), cfg->table_path, x.evaluator.n_seeds,
                           x.evaluator.best_val_accuracy, opts->output_path);
    } else {
        larch_nn_set_threads((int)cfg->threads);
        host_progress_note(&x.progress, "loading data from %s", cfg->data.dir);
        rc = host_evaluator_init(&x.evaluator, cfg, x.opset, err);
        if (rc != LARCH_OK)
            goto out;
        host_progress_note(&x.progress,
                           "experiment '%s': %u strategies x %u seeds, %s, %.0f architectures in "
                           "the space; train %u / val %u / test %u images -> %s",
                           cfg->name, cfg->n_strategies, cfg->seeds, budget,
                           larch_space_size(&x.space), x.evaluator.data.train.n,
                           x.evaluator.data.val.n, x.evaluator.data.test.n, opts->output_path);
    }
    rc = open_results(&x, runs, n_runs, opts->resume ? &prior : NULL, err);
    if (rc != LARCH_OK)
        goto out;

    /* A resumed experiment's clock goes on from its latest recorded trial. */
    x.started_s = host_now_s() - prior.elapsed_s;
    int failed_runs = 0;
    for (uint32_t i = 0; i < n_runs; i++) {
        const host_prior_run *before = prior.runs ? &prior.runs[i] : NULL;
        if (before && !x.replay && (rc = fill_cache(&x, before, prior.width, err)) != LARCH_OK)
            break;
        if (before && before->state == RESULTS_RUN_FINISHED)
            continue; /* kept as it is */
        rc = execute_run(&x, &runs[i], n_runs,
                         before && before->state != RESULTS_RUN_PENDING ? before : NULL, err);
        if (rc == LARCH_EPLUGIN) {
            failed_runs++;
            rc = LARCH_OK;
        }
        if (rc != LARCH_OK)
            break;
        if (opts->stop && *opts->stop) {
            /* Runs not started stay PENDING: the file says exactly what was done. */
            break;
        }
    }
    host_progress_finish(&x.progress);
    if (rc == LARCH_OK && failed_runs)
        rc = larch_error_set(err, LARCH_EPLUGIN, "%d of %u runs aborted (see the messages above)",
                             failed_runs, n_runs);
out:
    if (x.writer) {
        larch_error close_err = {0};
        if (results_writer_close(x.writer, &close_err) != LARCH_OK && rc == LARCH_OK) {
            *err = close_err;
            rc = close_err.status;
        }
    }
    host_evaluator_release(&x.evaluator);
    host_cache_release(&x.cache);
    host_prior_release(&prior);
    free(x.block);
    for (uint32_t i = 0; i < n_runs; i++) {
        destroy_strategy(&runs[i]);
        host_arch_counts_release(&runs[i].proposed);
    }
    free(runs);
    return rc;
}
