/* `larch tabulate` and the table file: rows equal direct trainer runs with the same seeds,
 * equivalent architectures share a row, a killed tabulate resumes without training anything
 * twice, a crashing worker is retried and then recorded FAILED; and the table reader and writer
 * on their own. Tiny synthetic IDX data keeps every training at a few milliseconds. */
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <larch/larch.h>

#include "../results/table.h"
#include "../trainer/canonical.h"
#include "config.h"
#include "test_util.h"

enum { NONE, SKIP, CONV1, CONV3, POOL };

static char tmp_dir[256];

static void make_tmp(void)
{
    tu_make_dir(tmp_dir, sizeof tmp_dir, "tabulate");
}

static void remove_tmp(void)
{
    tu_remove_dir(tmp_dir);
}

TestSuite(tabulate, .init = make_tmp, .fini = remove_tmp, .timeout = 120);

static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmp_dir, name);
}

static void put_u32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    cr_assert_eq(fwrite(b, 1, 4, f), 4);
}

/* n 12x12 images: a bright square whose place says the class, over deterministic noise. */
static void write_idx(const char *images, const char *labels, uint32_t n, uint32_t seed)
{
    FILE *fi = fopen(images, "wb"), *fl = fopen(labels, "wb");
    cr_assert(fi && fl);
    put_u32(fi, 0x803);
    put_u32(fi, n);
    put_u32(fi, 12);
    put_u32(fi, 12);
    put_u32(fl, 0x801);
    put_u32(fl, n);
    uint32_t state = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t label = (uint8_t)(i % 10), px[144];
        for (int k = 0; k < 144; k++) {
            state = state * 1664525u + 1013904223u;
            px[k] = (uint8_t)(state >> 26);
        }
        int r0 = (label % 4) * 3, c0 = (label / 4) * 4;
        for (int r = r0; r < r0 + 3; r++)
            for (int c = c0; c < c0 + 3; c++)
                px[r * 12 + c] = 200;
        cr_assert_eq(fwrite(px, 1, 144, fi), 144);
        cr_assert_eq(fwrite(&label, 1, 1, fl), 1);
    }
    fclose(fi);
    fclose(fl);
}

/* Data in <tmp>/data and a config <tmp>/<name>.cfg over it. */
static void write_config(const char *name, uint32_t epochs, uint32_t train_size)
{
    char dir[512], a[600], b[600];
    tmp_path(dir, sizeof dir, "data");
    if (access(dir, F_OK) != 0) {
        cr_assert_eq(mkdir(dir, 0755), 0);
        snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
        snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
        write_idx(a, b, 600, 1);
        snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
        snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
        write_idx(a, b, 100, 2);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s.cfg", tmp_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "experiment = { name = \"%s\"; seed = 11; };\n"
            "space = { type = \"cell\"; opset = \"nb201\"; nodes = 3; channels = 2; "
            "cells_per_stage = 1; };\n"
            "data = { format = \"idx\"; dir = \"%s\"; train_size = %u; val_size = 64; "
            "test_size = 64; };\n"
            "train = { epochs = %u; batch = 16; lr = 0.05; };\n"
            "tabulate = { seeds = 2; workers = 2; };\n",
            name, dir, train_size, epochs);
    fclose(f);
}

/* Runs larch with args (a shell fragment) in tmp_dir, output in <tmp>/out.txt; exit status. */
static int larch(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > out.txt 2>&1", tmp_dir, LARCH_TEST_BIN, args);
    int status = system(cmd);
    cr_assert(WIFEXITED(status), "larch did not exit normally");
    return WEXITSTATUS(status);
}

static const char *output(void)
{
    static char text[65536];
    char path[512];
    tmp_path(path, sizeof path, "out.txt");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static table_file *open_table(const char *name)
{
    char path[512];
    tmp_path(path, sizeof path, name);
    table_file *t = NULL;
    larch_error err = {0};
    cr_assert_eq(table_open(path, &t, &err), LARCH_OK, "%s", err.message);
    return t;
}

static uint64_t row_seed(uint64_t experiment_seed, const larch_arch *rep, uint32_t s)
{
    return larch_seed_derive(larch_seed_derive(experiment_seed, larch_arch_hash(rep)), s);
}

Test(tabulate, rows_match_direct_trainer_runs)
{
    write_config("t", 2, 160);
    cr_assert_eq(larch("tabulate t.cfg -o t.h5 --workers 2 --quiet"), 0, "%s", output());
    cr_assert(strstr(output(), "trained 120 rows this session"), "%s", output());
    table_file *t = open_table("t.h5");
    cr_assert_eq(table_space_size(t), 125);
    cr_assert_eq(table_n_unique(t), 60);
    cr_assert_eq(table_n_seeds(t), 2);
    cr_assert_eq(table_n_done(t), 120);
    cr_assert_eq(table_max_epochs(t), 2);
    cr_assert(strstr(table_config_text(t), "nodes = 3"), "%s", table_config_text(t));
    cr_assert(strstr(table_recipe(t), "train.epochs = 2\n"), "%s", table_recipe(t));
    cr_assert(table_larch_version(t)[0]);
    cr_assert_eq(table_created(t)[strlen(table_created(t)) - 1], 'Z');

    /* The same config, data and op set, trained here directly with the row's seed. */
    char cfg_path[512];
    tmp_path(cfg_path, sizeof cfg_path, "t.cfg");
    host_config cfg;
    larch_error err = {0};
    cr_assert_eq(host_config_load(&cfg, cfg_path, NULL, 0, &err), LARCH_OK, "%s", err.message);
    const larch_opset_vtable *opset = tu_nb201();
    uint32_t *to_class = NULL, n_classes = 0;
    uint64_t *rep = NULL, n_archs = 0;
    cr_assert_eq(
        trainer_cell_classes(&cfg.cell, opset, &to_class, &rep, &n_classes, &n_archs, &err),
        LARCH_OK);
    const larch_space *space = table_space(t);
    for (uint64_t i = 0; i < n_archs; i++) {
        larch_arch a;
        uint32_t u;
        cr_assert_eq(larch_arch_from_index(space, i, &a), LARCH_OK);
        cr_assert_eq(table_lookup(t, &a, &u, NULL), LARCH_OK);
        cr_assert_eq(u, to_class[i]);
    }
    trainer_data data;
    cr_assert_eq(trainer_data_load(&data, &cfg.data, &err), LARCH_OK, "%s", err.message);
    trainer_input_shape input = {.c = data.train.c,
                                 .h = data.train.h,
                                 .w = data.train.w,
                                 .classes = data.train.classes,
                                 .max_batch = cfg.recipe.batch};
    larch_nn_set_threads(1);
    trainer_outcome *out = malloc(sizeof *out);
    cr_assert_not_null(out);
    for (uint32_t u = 0; u < table_n_unique(t); u++) {
        const larch_arch *a = table_unique_arch(t, u);
        larch_arch expect;
        cr_assert_eq(larch_arch_from_index(space, rep[u], &expect), LARCH_OK);
        cr_assert(larch_arch_equal(a, &expect), "unique %u is not its class's first arch", u);
        for (uint32_t s = 0; s < 2; s++) {
            const float *loss, *curve;
            const table_result *r = table_get(t, u, s, &loss, &curve);
            cr_assert_not_null(r);
            cr_assert_eq(r->done, 1);
            cr_assert_eq(r->session, 0);
            uint64_t seed = row_seed(cfg.seed, a, s);
            cr_assert_eq(r->train_seed, seed);
            trainer_network *net = NULL;
            cr_assert_eq(trainer_network_new_cell(&cfg.cell, opset, a, &input, seed, &net, &err),
                         LARCH_OK, "%s", err.message);
            cr_assert_eq(trainer_train(net, &cfg.recipe, &data, seed, out, &err), LARCH_OK);
            trainer_network_free(net);
            cr_assert_eq(r->status, (uint8_t)out->status);
            cr_assert_eq(r->val_accuracy, out->val_accuracy, "unique %u seed %u: %g vs %g", u, s,
                         r->val_accuracy, out->val_accuracy);
            cr_assert_eq(r->test_accuracy, out->test_accuracy);
            cr_assert_eq(r->n_epochs, out->epochs_run);
            for (uint32_t e = 0; e < 2; e++) {
                cr_assert_eq(loss[e], out->train_loss[e]);
                cr_assert_eq(curve[e], out->val_accuracy_curve[e]);
            }
            cr_assert_eq(table_params(t, u), out->params);
            cr_assert_eq(table_flops(t, u), out->flops);
            cr_assert_gt(r->train_seconds, 0);
            cr_assert_gt(r->latency_ms, 0);
        }
    }
    free(out);

    /* Equivalent architectures share one entry whose representative is the first of them. */
    larch_arch cut = {.n = 3, .choice = {NONE, CONV3, NONE}};
    larch_arch dead_in = {.n = 3, .choice = {NONE, CONV3, CONV1}};
    larch_arch dead_out = {.n = 3, .choice = {POOL, CONV3, NONE}};
    uint32_t u0, u1, u2;
    cr_assert_eq(table_lookup(t, &cut, &u0, NULL), LARCH_OK);
    cr_assert_eq(table_lookup(t, &dead_in, &u1, NULL), LARCH_OK);
    cr_assert_eq(table_lookup(t, &dead_out, &u2, NULL), LARCH_OK);
    cr_assert(u0 == u1 && u1 == u2);
    cr_assert(larch_arch_equal(table_unique_arch(t, u0), &cut));

    uint32_t best;
    double best_val, best_test;
    cr_assert_eq(table_best(t, &best, &best_val, &best_test, &err), LARCH_OK);
    for (uint32_t u = 0; u < table_n_unique(t); u++) {
        double v;
        cr_assert_eq(table_mean(t, u, &v, NULL), 2);
        cr_assert_leq(v, best_val);
    }
    trainer_data_release(&data);
    free(to_class);
    free(rep);
    host_config_release(&cfg);
    table_close(t);
}

/* Starts `larch tabulate NAME.cfg -o NAME.h5 EXTRA` in the background; returns its pid. */
static pid_t start_tabulate(const char *name, const char *extra)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' tabulate %s.cfg -o %s.h5 %s > bg.txt 2>&1",
             tmp_dir, LARCH_TEST_BIN, name, name, extra);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Polls the live table until at least `rows` rows are done; fails if the run ends first. */
static void wait_rows(pid_t pid, const char *file, uint64_t rows)
{
    char path[512];
    tmp_path(path, sizeof path, file);
    for (int i = 0; i < 3000; i++) {
        int status;
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "tabulate ended before %llu rows were done",
                     (unsigned long long)rows);
        table_file *t = NULL;
        larch_error err = {0};
        if (access(path, F_OK) == 0 && table_open(path, &t, &err) == LARCH_OK) {
            uint64_t done = table_n_done(t);
            table_close(t);
            if (done >= rows)
                return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("no progress in 30 s");
}

Test(tabulate, resume_after_kill_trains_nothing_twice)
{
    write_config("r", 3, 320);
    pid_t pid = start_tabulate("r", "--workers 2 --quiet");
    wait_rows(pid, "r.h5", 16);
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    table_file *t = open_table("r.h5");
    const uint32_t rows = table_n_unique(t) * table_n_seeds(t);
    uint64_t before = table_n_done(t);
    cr_assert(before >= 16 && before < rows, "%llu of %u rows", (unsigned long long)before, rows);
    table_result *was = calloc(rows, sizeof *was);
    cr_assert_not_null(was);
    for (uint32_t i = 0; i < rows; i++)
        was[i] = *table_get(t, i / 2, i % 2, NULL, NULL);
    table_close(t);

    cr_assert_eq(larch("tabulate r.cfg -o r.h5 --resume --quiet"), 0, "%s", output());
    char expect[128];
    snprintf(expect, sizeof expect, "trained %llu rows this session",
             (unsigned long long)(rows - before));
    cr_assert(strstr(output(), expect), "expected '%s' in:\n%s", expect, output());

    t = open_table("r.h5");
    cr_assert_eq(table_n_done(t), rows);
    uint64_t second = 0;
    for (uint32_t i = 0; i < rows; i++) {
        const table_result *r = table_get(t, i / 2, i % 2, NULL, NULL);
        cr_assert_eq(r->done, 1);
        if (was[i].done) {
            /* Not retrained: the very row the first session wrote. */
            cr_assert_eq(r->session, 0);
            cr_assert_eq(r->trained_at, was[i].trained_at);
            cr_assert_eq(r->val_accuracy, was[i].val_accuracy);
        } else {
            cr_assert_eq(r->session, 1);
            second++;
        }
    }
    cr_assert_eq(second, rows - before);
    free(was);
    table_close(t);

    /* Complete: a further resume trains nothing. */
    cr_assert_eq(larch("tabulate r.cfg -o r.h5 --resume --quiet"), 0, "%s", output());
    cr_assert(strstr(output(), "trained 0 rows this session"), "%s", output());
}

Test(tabulate, interrupt_closes_the_file_and_resume_completes)
{
    write_config("i", 3, 320);
    pid_t pid = start_tabulate("i", "--workers 2 --quiet");
    wait_rows(pid, "i.h5", 8);
    kill(pid, SIGINT);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status 0x%x", status);
    table_file *t = open_table("i.h5");
    uint64_t before = table_n_done(t);
    cr_assert_lt(before, 120);
    table_close(t);
    /* Closed cleanly: a plain (non-SWMR) reader opens it without h5clear. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "h5dump -H '%s/i.h5' > /dev/null 2>&1", tmp_dir);
    if (system("command -v h5dump > /dev/null 2>&1") == 0)
        cr_assert_eq(system(cmd), 0);
    cr_assert_eq(larch("tabulate i.cfg -o i.h5 --resume --quiet"), 0, "%s", output());
    t = open_table("i.h5");
    cr_assert_eq(table_n_done(t), 120);
    table_close(t);
}

Test(tabulate, crashing_worker_is_retried_then_failed)
{
    write_config("c", 1, 160);
    /* Job 5 = unique 2, seed 1: its worker kills itself, twice. */
    cr_assert_eq(setenv("LARCH_TEST_CRASH_JOB", "5", 1), 0);
    cr_assert_eq(larch("tabulate c.cfg -o c.h5 --workers 2 --quiet"), 0, "%s", output());
    cr_assert(strstr(output(), "retrying it on a fresh worker"), "%s", output());
    cr_assert(strstr(output(), "died on this job twice"), "%s", output());
    table_file *t = open_table("c.h5");
    cr_assert_eq(table_n_done(t), 120);
    for (uint32_t u = 0; u < table_n_unique(t); u++)
        for (uint32_t s = 0; s < 2; s++) {
            const table_result *r = table_get(t, u, s, NULL, NULL);
            cr_assert_eq(r->status, u == 2 && s == 1 ? LARCH_TRIAL_FAILED : LARCH_TRIAL_OK,
                         "unique %u seed %u", u, s);
        }
    table_close(t);
}

Test(tabulate, refuses_what_it_cannot_do)
{
    write_config("u", 1, 160);
    cr_assert_eq(larch("tabulate u.cfg -o u.h5 --resume"), 2);
    cr_assert(strstr(output(), "nothing to resume"), "%s", output());
    cr_assert_eq(larch("tabulate u.cfg"), 2);
    cr_assert_eq(larch("tabulate u.cfg -o u.h5 --workers 0"), 2);
    cr_assert_eq(larch("tabulate u.cfg -o u.h5 --quiet --set tabulate.seeds=1"), 0, "%s", output());
    cr_assert_eq(larch("tabulate u.cfg -o u.h5"), 2);
    cr_assert(strstr(output(), "already exists"), "%s", output());
    cr_assert_eq(larch("tabulate u.cfg -o u.h5 --resume"), 2);
    cr_assert(strstr(output(), "tabulate.seeds = 1"), "%s", output());
    cr_assert_eq(larch("tabulate u.cfg -o u.h5 --resume --set tabulate.seeds=1 --set "
                       "train.lr=0.2"),
                 2);
    cr_assert(strstr(output(), "train.lr"), "%s", output());
    cr_assert_eq(larch("tabulate u.cfg -o u.h5 --force --quiet --set tabulate.seeds=1"), 0);
    cr_assert_eq(larch("tabulate u.cfg -o x.h5 --set space.type=nasnet"), 2);
}

/* ---- the table file on its own ---- */

/* A fake space of 2 decisions x 3 choices = 9 archs in 4 classes: class = min(a0, 1) * 2 + (a1
 * > 0), so the representatives are 0 (0,0), 1 (0,1), 3 (1,0), 4 (1,1). */
typedef struct fake {
    larch_space space;
    larch_arch unique[4];
    uint32_t to_unique[9];
    uint64_t params[4], flops[4];
    table_info info;
} fake;

static void make_fake(fake *f, const char *recipe)
{
    memset(f, 0, sizeof *f);
    f->space.struct_size = sizeof f->space;
    f->space.n_decisions = 2;
    snprintf(f->space.name, sizeof f->space.name, "fake");
    for (int d = 0; d < 2; d++) {
        f->space.decisions[d].kind = LARCH_DECISION_OP;
        f->space.decisions[d].n_choices = 3;
        snprintf(f->space.decisions[d].label, LARCH_LABEL_SIZE, "d%d", d);
    }
    f->space.n_ops = 3;
    for (int o = 0; o < 3; o++)
        snprintf(f->space.op_names[o], LARCH_LABEL_SIZE, "op%d", o);
    for (uint32_t i = 0; i < 9; i++)
        f->to_unique[i] = (i / 3 > 0 ? 2 : 0) + (i % 3 > 0);
    const uint64_t reps[4] = {0, 1, 3, 4};
    for (int u = 0; u < 4; u++) {
        cr_assert_eq(larch_arch_from_index(&f->space, reps[u], &f->unique[u]), LARCH_OK);
        f->params[u] = 100 + u;
        f->flops[u] = 1000 + u;
    }
    f->info = (table_info){.space = &f->space,
                           .n_seeds = 3,
                           .max_epochs = 4,
                           .seed = 5,
                           .config_text = "a = 1;",
                           .config_path = "fake.cfg",
                           .larch_version = "9.9.9",
                           .recipe = recipe,
                           .n_unique = 4,
                           .unique = f->unique,
                           .arch_to_unique = f->to_unique,
                           .params = f->params,
                           .flops = f->flops};
}

static void put_row(table_writer *w, uint32_t u, uint32_t s, uint32_t epochs)
{
    table_result r = {.status = LARCH_TRIAL_OK,
                      .n_epochs = epochs,
                      .train_seed = 77,
                      .val_accuracy = 0.1 * u + 0.01 * s,
                      .test_accuracy = 0.05 * u,
                      .latency_ms = 0.5,
                      .train_seconds = 2};
    float loss[4] = {4, 3, 2, 1}, curve[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    larch_error err = {0};
    cr_assert_eq(table_writer_put(w, u, s, &r, loss, curve, &err), LARCH_OK, "%s", err.message);
}

Test(tabulate, table_round_trip)
{
    fake f;
    make_fake(&f, "x = 1\ny = 2\n");
    char path[512];
    tmp_path(path, sizeof path, "f.h5");
    table_writer *w = NULL;
    larch_error err = {0};
    cr_assert_eq(table_writer_create(path, &f.info, &w, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(table_writer_session(w), 0);
    put_row(w, 3, 2, 2);
    put_row(w, 1, 0, 4);
    cr_assert(table_writer_done(w, 3, 2) && !table_writer_done(w, 3, 1));
    cr_assert_eq(table_writer_n_done(w), 2);
    table_result bad = {.n_epochs = 5};
    cr_assert_eq(table_writer_put(w, 0, 0, &bad, NULL, NULL, &err), LARCH_ERANGE);
    cr_assert_eq(table_writer_put(w, 4, 0, &bad, NULL, NULL, &err), LARCH_ERANGE);
    cr_assert_eq(table_writer_close(w, &err), LARCH_OK);

    table_file *t = NULL;
    cr_assert_eq(table_open(path, &t, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(table_n_done(t), 2);
    cr_assert_str_eq(table_larch_version(t), "9.9.9");
    cr_assert_str_eq(table_config_text(t), "a = 1;");
    cr_assert_str_eq(table_recipe(t), "x = 1\ny = 2\n");
    cr_assert_eq(table_seed(t), 5);
    cr_assert_str_eq(table_space(t)->op_names[2], "op2");
    const float *loss, *curve;
    const table_result *r = table_get(t, 3, 2, &loss, &curve);
    cr_assert(r->done && r->n_epochs == 2 && r->train_seed == 77);
    cr_assert_float_eq(r->val_accuracy, 0.32, 1e-12);
    cr_assert_gt(r->trained_at, 1.6e9);
    cr_assert(loss[0] == 4 && loss[1] == 3 && isnan(loss[2]) && isnan(loss[3]));
    cr_assert(curve[1] == 0.2f && isnan(curve[2]));
    r = table_get(t, 0, 0, NULL, NULL);
    cr_assert_eq(r->done, 0);
    cr_assert_null(table_get(t, 0, 3, NULL, NULL));
    cr_assert_eq(table_params(t, 2), 102);
    cr_assert_eq(table_flops(t, 3), 1003);
    larch_arch a = {.n = 2, .choice = {2, 1}};
    uint32_t u;
    cr_assert_eq(table_lookup(t, &a, &u, &err), LARCH_OK);
    cr_assert_eq(u, 3);
    a.choice[1] = 3;
    cr_assert_eq(table_lookup(t, &a, &u, &err), LARCH_ERANGE);
    a.n = 3;
    cr_assert_eq(table_lookup(t, &a, &u, NULL), LARCH_EINVAL);
    uint32_t best;
    double v, test;
    cr_assert_eq(table_best(t, &best, &v, &test, &err), LARCH_OK);
    cr_assert_eq(best, 3);
    cr_assert_float_eq(v, 0.32, 1e-12);
    cr_assert_eq(table_mean(t, 0, &v, NULL), 0);
    cr_assert(isnan(v));

    /* Replays need lookups to be cheap: a million in well under a second. */
    clock_t start = clock();
    uint64_t sum = 0;
    for (uint32_t i = 0; i < 1000000; i++) {
        larch_arch q = {.n = 2, .choice = {(uint8_t)(i % 3), (uint8_t)(i / 3 % 3)}};
        table_lookup(t, &q, &u, NULL);
        sum += table_get(t, u, i % 3, NULL, NULL)->done;
    }
    cr_assert_lt((double)(clock() - start) / CLOCKS_PER_SEC, 1.0);
    cr_assert_gt(sum, 0);
    table_close(t);

    /* Resume: the next session, done rows kept, another recipe refused. */
    cr_assert_eq(table_writer_resume(path, &f.info, &w, &err), LARCH_OK, "%s", err.message);
    cr_assert_eq(table_writer_session(w), 1);
    cr_assert_eq(table_writer_n_done(w), 2);
    put_row(w, 0, 0, 1);
    cr_assert_eq(table_writer_close(w, &err), LARCH_OK);
    cr_assert_eq(table_open(path, &t, &err), LARCH_OK);
    cr_assert_eq(table_get(t, 0, 0, NULL, NULL)->session, 1);
    cr_assert_eq(table_get(t, 1, 0, NULL, NULL)->session, 0);
    table_close(t);
    fake g;
    make_fake(&g, "x = 1\ny = 3\n");
    cr_assert_eq(table_writer_resume(path, &g.info, &w, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "'y = 2'") && strstr(err.message, "'y = 3'"), "%s", err.message);
    make_fake(&g, "x = 1\ny = 2\n");
    g.info.n_seeds = 2;
    cr_assert_eq(table_writer_resume(path, &g.info, &w, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "seeds"), "%s", err.message);
}

Test(tabulate, table_reader_refuses_other_files)
{
    char path[512];
    table_file *t = NULL;
    larch_error err = {0};
    tmp_path(path, sizeof path, "missing.h5");
    cr_assert_eq(table_open(path, &t, &err), LARCH_EIO);
    cr_assert(strstr(err.message, "missing.h5"), "%s", err.message);
    tmp_path(path, sizeof path, "text.h5");
    FILE *f = fopen(path, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    cr_assert_eq(table_open(path, &t, &err), LARCH_EFORMAT);
    tmp_path(path, sizeof path, "plain.h5");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(file, 0);
    H5Fclose(file);
    cr_assert_eq(table_open(path, &t, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "not a larch table"), "%s", err.message);
    cr_assert_null(t);
}

Test(tabulate, killed_writer_leaves_a_readable_resumable_file)
{
    fake f;
    make_fake(&f, "r\n");
    char path[512];
    tmp_path(path, sizeof path, "k.h5");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        table_writer *w = NULL;
        larch_error err = {0};
        if (table_writer_create(path, &f.info, &w, &err) != LARCH_OK)
            _exit(3);
        table_result r = {.n_epochs = 1, .val_accuracy = 0.5};
        /* Writes rows until killed, rewriting the same 12 over and over. */
        for (uint32_t i = 0;; i++) {
            table_writer_put(w, (i % 12) / 3, i % 3, &r, NULL, NULL, &err);
            if (i == 5)
                raise(SIGKILL);
        }
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status), "writer exited %d", WEXITSTATUS(status));
    table_file *t = NULL;
    larch_error err = {0};
    cr_assert_eq(table_open(path, &t, &err), LARCH_OK, "%s", err.message);
    cr_assert_geq(table_n_done(t), 5);
    table_close(t);
    /* The killed writer left the "open for write" flags: resume clears them. */
    table_writer *w = NULL;
    cr_assert_eq(table_writer_resume(path, &f.info, &w, &err), LARCH_OK, "%s", err.message);
    for (uint32_t u = 0; u < 4; u++)
        for (uint32_t s = 0; s < 3; s++)
            if (!table_writer_done(w, u, s))
                put_row(w, u, s, 1);
    cr_assert_eq(table_writer_close(w, &err), LARCH_OK);
    cr_assert_eq(table_open(path, &t, &err), LARCH_OK);
    cr_assert_eq(table_n_done(t), 12);
    table_close(t);
}
