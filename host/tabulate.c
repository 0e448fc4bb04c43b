/* `larch tabulate`: the coordinator. It canonicalises the space, starts the workers, writes
 * the table (the only writer) and shows progress; the workers train. */
#include "tabulate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <larch/abi.h>
#include <larch/rng.h>
#include <larch/strategy.h>

#include "../results/table.h"
#include "../trainer/canonical.h"
#include "worker.h"

/* Seconds between plain progress lines when stderr is not a terminal. */
#define PLAIN_INTERVAL_S 10.0

static const char *const status_names[] = {"OK", "DIVERGED", "FAILED", "TIMEOUT"};

typedef struct progress {
    int live, quiet;
    double started_s, last_line_s;
    uint64_t rows, done_at_start, trained;
} progress;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "1h02m", "3m05s", "12s". */
static void format_duration(double s, char *out, size_t size)
{
    if (!isfinite(s) || s < 0) {
        snprintf(out, size, "?");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, size, "%luh%02lum", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, size, "%lum%02lus", t / 60, t % 60);
    else
        snprintf(out, size, "%lus", t);
}

static void progress_line(progress *p, int force)
{
    if (p->quiet)
        return;
    double t = mono_s(), elapsed = t - p->started_s;
    if (!p->live && !force && t - p->last_line_s < PLAIN_INTERVAL_S)
        return;
    p->last_line_s = t;
    uint64_t done = p->done_at_start + p->trained;
    double rate = elapsed > 0 ? p->trained / elapsed : 0;
    char el[32], eta[32];
    format_duration(elapsed, el, sizeof el);
    format_duration(rate > 0 ? (double)(p->rows - done) / rate : NAN, eta, sizeof eta);
    fprintf(stderr, "%stabulate: %llu/%llu rows (%.1f%%)  %.2f rows/s  elapsed %s  ETA %s%s",
            p->live ? "\r\033[K" : "", (unsigned long long)done, (unsigned long long)p->rows,
            p->rows ? 100.0 * done / p->rows : 100.0, rate, el, eta, p->live ? "" : "\n");
    fflush(stderr);
}

static void note(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(progress *p, const char *fmt, ...)
{
    if (p->live && !p->quiet)
        fputs("\r\033[K", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (p->live && !p->quiet)
        progress_line(p, 1);
}

/* Every setting that determines a row's numbers, one "key = value" line each: stored in the
 * table and compared on --resume. Returns a malloc'd string or NULL when out of memory. */
static char *recipe_text(const host_config *cfg, const host_plugin *opset, const larch_space *space)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return NULL;
    const trainer_recipe *r = &cfg->recipe;
    const trainer_data_config *d = &cfg->data;
    fprintf(f, "space.type = %s\n", cfg->space);
    fprintf(f, "space.opset = %s %s\n", opset->id, opset->version);
    fprintf(f, "space.ops =");
    for (uint32_t o = 0; o < space->n_ops; o++)
        fprintf(f, " %s", space->op_names[o]);
    fprintf(f, "\nspace.nodes = %u\nspace.channels = %u\nspace.cells_per_stage = %u\n",
            cfg->cell.nodes, cfg->cell.channels, cfg->cell.cells_per_stage);
    fprintf(f, "data.format = %s\ndata.dir = %s\n",
            d->format == TRAINER_DATA_CIFAR10 ? "cifar10" : "idx", d->dir);
    fprintf(f, "data.train_size = %u\ndata.val_size = %u\ndata.test_size = %u\n", d->train_size,
            d->val_size, d->test_size);
    fprintf(f, "data.split_seed = %llu\n", (unsigned long long)d->split_seed);
    fprintf(f, "train.epochs = %u\ntrain.batch = %u\ntrain.lr = %.17g\ntrain.lr_min = %.17g\n",
            r->epochs, r->batch, r->lr, r->lr_min);
    fprintf(f, "train.momentum = %.17g\ntrain.nesterov = %s\ntrain.weight_decay = %.17g\n",
            r->momentum, r->nesterov ? "true" : "false", r->weight_decay);
    fprintf(f, "train.schedule = %s\ntrain.threads = 1\n", r->cosine ? "cosine" : "constant");
    fprintf(f, "experiment.seed = %llu\ntabulate.seeds = %u\n", (unsigned long long)cfg->seed,
            cfg->tabulate_seeds);
    fprintf(f, "canonical = NATS-Bench unique string (trainer/canonical.h)\n");
    fprintf(f, "train_seed = seed_derive(seed_derive(experiment.seed, arch_hash(representative)), "
               "seed index)\n");
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The training seed of a row: every table row can be reproduced by a direct trainer run. */
static uint64_t train_seed(uint64_t experiment_seed, const larch_arch *representative,
                           uint32_t seed_index)
{
    return larch_seed_derive(larch_seed_derive(experiment_seed, larch_arch_hash(representative)),
                             seed_index);
}

/* The space, its classes and the representatives: what a table_info needs besides costs. */
typedef struct plan {
    larch_space space;
    uint32_t *arch_to_unique;
    uint64_t space_size;
    uint32_t n_unique;
    larch_arch *unique;
    uint64_t *params, *flops;
    char *recipe;
} plan;

static void plan_release(plan *pl)
{
    free(pl->arch_to_unique);
    free(pl->unique);
    free(pl->params);
    free(pl->flops);
    free(pl->recipe);
    memset(pl, 0, sizeof *pl);
}

static int make_plan(const host_config *cfg, const host_plugin *opset, plan *pl, larch_error *err)
{
    memset(pl, 0, sizeof *pl);
    if (strcmp(cfg->space, "cell"))
        return larch_error_set(err, LARCH_EINVAL,
                               "%s: tabulate handles the cell space only, not space.type '%s'",
                               cfg->path, cfg->space);
    const larch_opset_vtable *vt = opset->desc->opset;
    int rc = trainer_cell_space(&cfg->cell, vt, &pl->space, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "%s: ", cfg->path);
    uint64_t *rep = NULL;
    rc = trainer_cell_classes(&cfg->cell, vt, &pl->arch_to_unique, &rep, &pl->n_unique,
                              &pl->space_size, err);
    if (rc != LARCH_OK)
        return larch_error_prefix(err, "%s: ", cfg->path);
    pl->unique = calloc(pl->n_unique, sizeof *pl->unique);
    pl->params = calloc(pl->n_unique, sizeof *pl->params);
    pl->flops = calloc(pl->n_unique, sizeof *pl->flops);
    pl->recipe = recipe_text(cfg, opset, &pl->space);
    if (!pl->unique || !pl->params || !pl->flops || !pl->recipe) {
        free(rep);
        plan_release(pl);
        return larch_error_set(err, LARCH_ENOMEM, "out of memory planning %u architectures",
                               pl->n_unique);
    }
    for (uint32_t u = 0; u < pl->n_unique; u++)
        larch_arch_from_index(&pl->space, rep[u], &pl->unique[u]);
    free(rep);
    return LARCH_OK;
}

/* Params and FLOPs of every representative (built with a batch of 1: only the counts are
 * wanted). A network that cannot be built counts 0; its training fails and says why. */
static void compute_costs(const host_config *cfg, const larch_opset_vtable *opset, plan *pl,
                          const trainer_input_shape *input)
{
    trainer_input_shape one = *input;
    one.max_batch = 1;
    for (uint32_t u = 0; u < pl->n_unique; u++) {
        trainer_network *net = NULL;
        larch_error ignored = {0};
        if (trainer_network_new_cell(&cfg->cell, opset, &pl->unique[u], &one, 0, &net, &ignored) ==
            LARCH_OK) {
            pl->params[u] = trainer_network_params(net);
            pl->flops[u] = trainer_network_flops(net);
            trainer_network_free(net);
        }
    }
}

/* Checks a table to resume before any worker starts: it must exist, be a table, and have this
 * config's recipe. *done_rows: rows done already. */
static int precheck_resume(const char *path, const plan *pl, const host_config *cfg,
                           uint64_t *done_rows, progress *pr, larch_error *err)
{
    if (access(path, F_OK) != 0)
        return larch_error_set(err, LARCH_EINVAL,
                               "%s does not exist: nothing to resume (run without --resume)", path);
    table_file *t = NULL;
    int rc = table_open(path, &t, err);
    if (rc != LARCH_OK)
        return rc;
    if (strcmp(table_recipe(t), pl->recipe) || table_n_seeds(t) != cfg->tabulate_seeds) {
        const char *a = table_recipe(t), *b = pl->recipe;
        /* Quote the first line that differs: that is what the user changed. */
        while (*a && *a == *b) {
            const char *na = strchr(a, '\n');
            if (!na || strncmp(a, b, (size_t)(na - a) + 1))
                break;
            b += na - a + 1;
            a = na + 1;
        }
        int la = (int)(strchr(a, '\n') ? strchr(a, '\n') - a : (long)strlen(a));
        int lb = (int)(strchr(b, '\n') ? strchr(b, '\n') - b : (long)strlen(b));
        rc = larch_error_set(err, LARCH_EINVAL,
                             "%s was made with another config: the table has '%.*s', %s gives "
                             "'%.*s' (resume with the config the table was made from, or write a "
                             "new table)",
                             path, la > 150 ? 150 : la, a, cfg->path, lb > 150 ? 150 : lb, b);
    } else if (strcmp(table_larch_version(t), LARCH_VERSION)) {
        note(pr, "warning: %s was started by larch %s, this is larch %s; rows may differ", path,
             table_larch_version(t), LARCH_VERSION);
    }
    *done_rows = table_n_done(t);
    table_close(t);
    return rc;
}

typedef struct coordinator {
    host_config *cfg;
    const host_tabulate_options *opts;
    const larch_opset_vtable *opset;
    plan pl;
    table_writer *writer;
    host_pool *pool;
    progress pr;
    host_tabulate_summary sum;
} coordinator;

static int start_pool(coordinator *c, uint32_t n_workers, trainer_input_shape *input,
                      larch_error *err)
{
    const host_tabulate_options *o = c->opts;
    size_t n_args = 1 + 2 * o->n_overrides + (o->plugin_path ? 2 : 0);
    const char **args = calloc(n_args, sizeof *args);
    if (!args)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory");
    size_t k = 0;
    args[k++] = o->config_path;
    for (size_t i = 0; i < o->n_overrides; i++) {
        args[k++] = "--set";
        args[k++] = o->overrides[i];
    }
    if (o->plugin_path) {
        args[k++] = "--plugin-path";
        args[k++] = o->plugin_path;
    }
    host_pool_options po = {.exe = o->exe,
                            .args = args,
                            .n_args = k,
                            .n_workers = n_workers,
                            .config_hash = host_worker_config_hash(c->cfg->text)};
    int rc = host_pool_new(&po, &c->pool, input, err);
    free(args);
    return rc;
}

static int record(coordinator *c, const host_job_result *res, larch_error *err)
{
    uint32_t n_seeds = c->cfg->tabulate_seeds;
    uint32_t u = (uint32_t)(res->id / n_seeds), s = (uint32_t)(res->id % n_seeds);
    const trainer_outcome *o = &res->outcome;
    uint32_t status =
        (uint32_t)o->status <= LARCH_TRIAL_TIMEOUT ? (uint32_t)o->status : LARCH_TRIAL_FAILED;
    table_result r = {.status = (uint8_t)status,
                      .n_epochs = o->epochs_run <= c->cfg->recipe.epochs ? o->epochs_run : 0,
                      .train_seed = train_seed(c->cfg->seed, &c->pl.unique[u], s),
                      .val_accuracy = o->val_accuracy,
                      .test_accuracy = o->test_accuracy,
                      .latency_ms = o->latency_ms,
                      .train_seconds = o->train_seconds};
    if (status != LARCH_TRIAL_OK) {
        char arch[LARCH_ARCH_STRING_SIZE];
        note(&c->pr, "warning: unique %u seed %u (arch %s): %s%s%s", u, s,
             larch_arch_to_string(&c->pl.unique[u], arch), status_names[status],
             res->message[0] ? ": " : "", res->message);
        c->sum.failed++;
    }
    int rc = table_writer_put(c->writer, u, s, &r, o->train_loss, o->val_accuracy_curve, err);
    if (rc == LARCH_OK) {
        c->sum.trained++;
        c->pr.trained++;
    }
    return rc;
}

/* Dispatches the missing rows, seed-major (a half-built table already holds every architecture
 * for the first seeds), and writes the results as they come. */
static int run_jobs(coordinator *c, larch_error *err)
{
    const uint32_t n_seeds = c->cfg->tabulate_seeds, n_unique = c->pl.n_unique;
    const uint64_t rows = (uint64_t)n_unique * n_seeds;
    uint64_t next = 0; /* position in seed-major order */
    int stopping = 0;
    host_job_result *res = malloc(sizeof *res);
    if (!res)
        return larch_error_set(err, LARCH_ENOMEM, "out of memory");
    int rc = LARCH_OK;
    for (;;) {
        if (!stopping && c->opts->stop && *c->opts->stop) {
            stopping = 1;
            if (host_pool_in_flight(c->pool))
                note(&c->pr,
                     "interrupted: finishing the %u trainings in flight (interrupt again to "
                     "abandon them; --resume redoes them)",
                     host_pool_in_flight(c->pool));
        }
        while (!stopping && next < rows && host_pool_idle(c->pool)) {
            uint32_t s = (uint32_t)(next / n_unique), u = (uint32_t)(next % n_unique);
            next++;
            if (table_writer_done(c->writer, u, s))
                continue;
            host_job job = {.id = (uint64_t)u * n_seeds + s,
                            .seed = train_seed(c->cfg->seed, &c->pl.unique[u], s),
                            .arch = c->pl.unique[u]};
            rc = host_pool_submit(c->pool, &job, err);
            if (rc != LARCH_OK)
                goto out;
        }
        if (host_pool_in_flight(c->pool) == 0)
            break;
        int got = host_pool_wait(c->pool, res, 1000, err);
        if (got < 0) {
            rc = got;
            goto out;
        }
        if (got == 1 && (rc = record(c, res, err)) != LARCH_OK)
            goto out;
        progress_line(&c->pr, 0);
    }
out:
    free(res);
    return rc;
}

int host_tabulate(host_config *cfg, const host_registry *reg, const host_tabulate_options *opts,
                  host_tabulate_summary *summary, larch_error *err)
{
    if (!cfg || !reg || !opts || !opts->output_path || !opts->config_path)
        return larch_error_set(err, LARCH_EINVAL, "host_tabulate: NULL argument");
    coordinator c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.opts = opts;
    c.pr.quiet = opts->quiet;
    c.pr.live = !opts->quiet && isatty(STDERR_FILENO);
    const host_plugin *op = host_registry_find(reg, LARCH_PLUGIN_OPSET, cfg->opset);
    if (!op)
        return larch_error_set(err, LARCH_ENOTFOUND,
                               "%s: no op-set plugin with id '%s' was found; see `larch plugins`",
                               cfg->path, cfg->opset);
    c.opset = op->desc->opset;
    int rc = make_plan(cfg, op, &c.pl, err);
    if (rc != LARCH_OK)
        return rc;
    const uint64_t rows = (uint64_t)c.pl.n_unique * cfg->tabulate_seeds;
    c.sum.rows = rows;
    c.sum.n_unique = c.pl.n_unique;
    c.sum.space_size = c.pl.space_size;
    uint64_t done = 0;
    if (opts->resume &&
        (rc = precheck_resume(opts->output_path, &c.pl, cfg, &done, &c.pr, err)) != LARCH_OK)
        goto out;
    c.sum.done = done;
    if (!opts->quiet)
        note(&c.pr,
             "tabulate: %llu architectures, %u unique after canonicalisation, x %u seeds = %llu "
             "rows",
             (unsigned long long)c.pl.space_size, c.pl.n_unique, cfg->tabulate_seeds,
             (unsigned long long)rows);
    if (opts->resume && done == rows) {
        if (!opts->quiet)
            note(&c.pr, "tabulate: %s is complete; nothing to train", opts->output_path);
        goto out;
    }

    uint32_t n_workers = opts->workers ? opts->workers : cfg->tabulate_workers;
    if (n_workers < 1)
        n_workers = 1;
    if (n_workers > rows - done)
        n_workers = (uint32_t)(rows - done);
    if (!opts->quiet)
        note(&c.pr, "tabulate: starting %u workers (loading %s)", n_workers, cfg->data.dir);
    trainer_input_shape input;
    rc = start_pool(&c, n_workers, &input, err);
    if (rc != LARCH_OK)
        goto out;
    compute_costs(cfg, c.opset, &c.pl, &input);
    table_info info = {.space = &c.pl.space,
                       .n_seeds = cfg->tabulate_seeds,
                       .max_epochs = cfg->recipe.epochs,
                       .seed = cfg->seed,
                       .config_text = cfg->text,
                       .config_path = cfg->path,
                       .larch_version = LARCH_VERSION,
                       .recipe = c.pl.recipe,
                       .n_unique = c.pl.n_unique,
                       .unique = c.pl.unique,
                       .arch_to_unique = c.pl.arch_to_unique,
                       .params = c.pl.params,
                       .flops = c.pl.flops};
    rc = opts->resume ? table_writer_resume(opts->output_path, &info, &c.writer, err)
                      : table_writer_create(opts->output_path, &info, &c.writer, err);
    if (rc != LARCH_OK)
        goto out;
    c.sum.session = table_writer_session(c.writer);
    c.pr.rows = rows;
    c.pr.done_at_start = table_writer_n_done(c.writer);
    c.pr.started_s = c.pr.last_line_s = mono_s();
    progress_line(&c.pr, 1);
    rc = run_jobs(&c, err);
    progress_line(&c.pr, 1);
    if (c.pr.live)
        fputc('\n', stderr);
    c.sum.done = table_writer_n_done(c.writer);
out:
    /* Workers first: nothing is in flight unless an error stopped the loop. */
    host_pool_free(c.pool, rc != LARCH_OK);
    if (c.writer) {
        larch_error close_err = {0};
        if (table_writer_close(c.writer, &close_err) != LARCH_OK && rc == LARCH_OK) {
            *err = close_err;
            rc = close_err.status;
        }
    }
    if (summary)
        *summary = c.sum;
    plan_release(&c.pl);
    return rc;
}
