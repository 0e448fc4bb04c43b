/* The built-in strategy plugins (random, grid) and the nb201 op set, loaded as the host loads
 * them: dlopen the built .so, look up the entry, call through the vtables with a mock host. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

#include "landscape.h"

/* ---- loading ---- */

static const larch_plugin *load_plugin(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LARCH_TEST_PLUGIN_DIR, file);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(handle, "dlopen %s: %s", path, dlerror());
    larch_plugin_entry_fn entry;
    /* POSIX's blessed way to turn a dlsym result into a function pointer. */
    *(void **)&entry = dlsym(handle, LARCH_ENTRY_SYMBOL);
    cr_assert_not_null(entry, "%s has no %s", path, LARCH_ENTRY_SYMBOL);
    const larch_plugin *p = entry();
    cr_assert_not_null(p);
    cr_assert_eq(p->abi.magic, LARCH_PLUGIN_MAGIC);
    cr_assert_eq(p->abi.abi_major, LARCH_ABI_MAJOR);
    cr_assert_eq(p->abi.struct_size, sizeof(larch_plugin));
    cr_assert_eq(p->abi.build_key, LARCH_BUILD_KEY);
    return p;
}

static const larch_strategy_vtable *load_strategy(const char *file, const char *id)
{
    const larch_plugin *p = load_plugin(file);
    cr_assert_eq(p->kind, LARCH_PLUGIN_STRATEGY);
    cr_assert_str_eq(p->id, id);
    cr_assert_null(p->opset);
    const larch_strategy_vtable *vt = p->strategy;
    cr_assert_not_null(vt);
    cr_assert_eq(vt->struct_size, sizeof *vt);
    cr_assert(vt->create && vt->ask && vt->tell && vt->save && vt->load && vt->destroy);
    return vt;
}

/* ---- the mock host of landscape.h, with parameters a test adds ---- */

static lx_param params[8];
static size_t n_params;
static lx_host mock;

static const larch_host *host(void)
{
    return lx_host_init(&mock, params, n_params);
}

static void set_bool(const char *key, int value)
{
    params[n_params++] = (lx_param){key, LX_BOOL, value, 0, NULL};
}

static const uint32_t small_choices[] = {2, 3, 4};
static const uint32_t nb201_choices[] = {5, 5, 5, 5, 5, 5};

static void *create(const larch_strategy_vtable *vt, const larch_space *space, uint64_t seed)
{
    void *self = NULL;
    larch_error err = {0};
    int rc = vt->create(host(), space, seed, &self, &err);
    cr_assert_eq(rc, LARCH_OK, "create: %s", err.message);
    cr_assert_not_null(self);
    return self;
}

/* Asks until DONE; asserts every arch comes exactly once and DONE follows all of them. Writes
 * the order of indices into order (if not NULL). */
static void expect_each_once(const larch_strategy_vtable *vt, void *self, const larch_space *space,
                             uint64_t *order)
{
    uint64_t total = (uint64_t)larch_space_size(space);
    uint8_t *seen = calloc(total, 1);
    cr_assert_not_null(seen);
    larch_error err = {0};
    larch_result result = {sizeof result, LARCH_TRIAL_OK, 0.5, 0.5, 10, 100, 1.0, 2.0};
    for (uint64_t i = 0; i < total; i++) {
        larch_arch arch;
        int rc = vt->ask(self, &arch, &err);
        cr_assert_eq(rc, LARCH_ASK_OK, "ask %llu of %llu: %d %s", (unsigned long long)i,
                     (unsigned long long)total, rc, err.message);
        cr_assert_eq(larch_arch_validate(space, &arch, &err), LARCH_OK, "%s", err.message);
        uint64_t index = 0;
        cr_assert_eq(larch_arch_to_index(space, &arch, &index), LARCH_OK);
        cr_assert_eq(seen[index], 0, "arch %llu proposed twice", (unsigned long long)index);
        seen[index] = 1;
        if (order != NULL)
            order[i] = index;
        cr_assert_eq(vt->tell(self, &arch, &result, &err), LARCH_OK, "%s", err.message);
    }
    larch_arch arch;
    cr_assert_eq(vt->ask(self, &arch, &err), LARCH_ASK_DONE);
    cr_assert_eq(vt->ask(self, &arch, &err), LARCH_ASK_DONE, "DONE is final");
    free(seen);
}

/* ---- grid ---- */

Test(grid, enumerates_in_mixed_radix_order)
{
    const larch_strategy_vtable *vt = load_strategy("grid.so", "grid");
    larch_space space = lx_space_of(3, small_choices);
    void *self = create(vt, &space, 1);
    uint64_t order[24];
    expect_each_once(vt, self, &space, order);
    for (uint64_t i = 0; i < 24; i++)
        cr_assert_eq(order[i], i);
    vt->destroy(self);
    vt->destroy(NULL);
}

Test(grid, enumerates_the_nb201_space)
{
    const larch_strategy_vtable *vt = load_strategy("grid.so", "grid");
    larch_space space = lx_space_of(6, nb201_choices);
    void *self = create(vt, &space, 1);
    expect_each_once(vt, self, &space, NULL);
    vt->destroy(self);
}

Test(grid, single_arch_space)
{
    const larch_strategy_vtable *vt = load_strategy("grid.so", "grid");
    const uint32_t ones[] = {1, 1};
    larch_space space = lx_space_of(2, ones);
    set_bool("shuffle", 1);
    void *self = create(vt, &space, 1);
    expect_each_once(vt, self, &space, NULL);
    vt->destroy(self);
}

static int count_in_place(const uint64_t *order, uint64_t n)
{
    int same = 0;
    for (uint64_t i = 0; i < n; i++)
        same += order[i] == i;
    return same;
}

Test(grid, shuffle_visits_each_once_in_a_seeded_order)
{
    const larch_strategy_vtable *vt = load_strategy("grid.so", "grid");
    set_bool("shuffle", 1);

    larch_space small = lx_space_of(3, small_choices);
    uint64_t order_small[24];
    void *self = create(vt, &small, 7);
    expect_each_once(vt, self, &small, order_small);
    vt->destroy(self);
    cr_assert_lt(count_in_place(order_small, 24), 12, "the order is shuffled");

    larch_space space = lx_space_of(6, nb201_choices);
    static uint64_t a[15625], b[15625], c[15625];
    self = create(vt, &space, 7);
    expect_each_once(vt, self, &space, a);
    vt->destroy(self);
    self = create(vt, &space, 7);
    expect_each_once(vt, self, &space, b);
    vt->destroy(self);
    self = create(vt, &space, 8);
    expect_each_once(vt, self, &space, c);
    vt->destroy(self);
    cr_assert_arr_eq(a, b, sizeof a, "same seed, same order");
    cr_assert_lt(count_in_place(a, 15625), 100);
    int same = 0;
    for (int i = 0; i < 15625; i++)
        same += a[i] == c[i];
    cr_assert_lt(same, 100, "another seed, another order");
}

/* ---- random ---- */

Test(random, marginals_are_uniform)
{
    const larch_strategy_vtable *vt = load_strategy("random.so", "random");
    set_bool("no_repeat", 0);
    const uint32_t choices[] = {2, 3, 5, 7};
    larch_space space = lx_space_of(4, choices);
    void *self = create(vt, &space, 3);
    long counts[4][7] = {{0}};
    const int n = 20000;
    larch_error err = {0};
    for (int i = 0; i < n; i++) {
        larch_arch arch;
        cr_assert_eq(vt->ask(self, &arch, &err), LARCH_ASK_OK, "%s", err.message);
        cr_assert_eq(larch_arch_validate(&space, &arch, &err), LARCH_OK, "%s", err.message);
        for (int d = 0; d < 4; d++)
            counts[d][arch.choice[d]]++;
    }
    /* 99.9% quantiles of chi-square with 1, 2, 4, 6 degrees of freedom. */
    const double limit[4] = {10.83, 13.82, 18.47, 22.46};
    for (int d = 0; d < 4; d++) {
        double expected = (double)n / choices[d], chi2 = 0;
        for (uint32_t c = 0; c < choices[d]; c++)
            chi2 += (counts[d][c] - expected) * (counts[d][c] - expected) / expected;
        cr_assert_lt(chi2, limit[d], "decision %d: chi-square %.2f", d, chi2);
    }
    vt->destroy(self);
}

Test(random, repeats_are_allowed_without_no_repeat)
{
    const larch_strategy_vtable *vt = load_strategy("random.so", "random");
    set_bool("no_repeat", 0);
    larch_space space = lx_space_of(3, small_choices);
    void *self = create(vt, &space, 3);
    larch_error err = {0};
    for (int i = 0; i < 200; i++) {
        larch_arch arch;
        cr_assert_eq(vt->ask(self, &arch, &err), LARCH_ASK_OK, "never DONE: %s", err.message);
    }
    vt->destroy(self);
}

Test(random, no_repeat_proposes_each_arch_once)
{
    const larch_strategy_vtable *vt = load_strategy("random.so", "random");
    /* no_repeat is the default. */
    larch_space small = lx_space_of(3, small_choices);
    void *self = create(vt, &small, 5);
    uint64_t order[24];
    expect_each_once(vt, self, &small, order);
    vt->destroy(self);
    cr_assert_lt(count_in_place(order, 24), 12);

    larch_space space = lx_space_of(6, nb201_choices);
    self = create(vt, &space, 5);
    expect_each_once(vt, self, &space, NULL);
    vt->destroy(self);
}

Test(random, wrong_parameter_type_fails_create)
{
    const larch_strategy_vtable *vt = load_strategy("random.so", "random");
    params[n_params++] = (lx_param){"no_repeat", LX_STRING, 0, 0, "yes"};
    larch_space space = lx_space_of(3, small_choices);
    void *self = NULL;
    larch_error err = {0};
    cr_assert_eq(vt->create(host(), &space, 1, &self, &err), LARCH_ETYPE);
    cr_assert(strstr(err.message, "no_repeat"), "%s", err.message);
    cr_assert_null(self);
}

Test(random, bad_space_and_arguments)
{
    const larch_strategy_vtable *vt = load_strategy("random.so", "random");
    const uint32_t bad[] = {3, 0, 2};
    larch_space space = lx_space_of(3, bad);
    void *self = NULL;
    larch_error err = {0};
    cr_assert_eq(vt->create(host(), &space, 1, &self, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "decision 1"), "%s", err.message);
    cr_assert_eq(vt->create(NULL, &space, 1, &self, &err), LARCH_EINVAL);

    space = lx_space_of(3, small_choices);
    self = create(vt, &space, 1);
    larch_arch wrong = {3, {0, 3, 0}};
    larch_result result = {sizeof result, LARCH_TRIAL_OK, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(vt->tell(self, &wrong, &result, &err), LARCH_ERANGE);
    cr_assert_eq(vt->ask(self, NULL, &err), LARCH_EINVAL);
    vt->destroy(self);
}

/* ---- save / load ---- */

static void save(const larch_strategy_vtable *vt, void *self, void **bytes, size_t *size)
{
    larch_error err = {0};
    cr_assert_eq(vt->save(self, bytes, size, &err), LARCH_OK, "save: %s", err.message);
    cr_assert_not_null(*bytes);
    cr_assert_gt(*size, 0);
}

/* Asks k proposals, saves, loads into a fresh instance made with another seed, and checks the
 * next proposals (through DONE, if it comes) equal those of the uninterrupted instance. */
static void check_resume(const char *file, const char *id, const larch_space *space, int k,
                         int more)
{
    const larch_strategy_vtable *vt = load_strategy(file, id);
    void *a = create(vt, space, 11);
    larch_error err = {0};
    larch_arch arch, other;
    for (int i = 0; i < k; i++)
        cr_assert_eq(vt->ask(a, &arch, &err), LARCH_ASK_OK, "%s", err.message);
    void *bytes;
    size_t size;
    save(vt, a, &bytes, &size);

    void *b = create(vt, space, 12);
    cr_assert_eq(vt->load(b, bytes, size, &err), LARCH_OK, "load: %s", err.message);
    free(bytes);
    for (int i = 0; i < more; i++) {
        int ra = vt->ask(a, &arch, &err);
        int rb = vt->ask(b, &other, &err);
        cr_assert_eq(ra, rb, "ask %d after resume", i);
        if (ra == LARCH_ASK_DONE)
            break;
        cr_assert_eq(ra, LARCH_ASK_OK, "%s", err.message);
        cr_assert(larch_arch_equal(&arch, &other), "proposal %d after resume differs", i);
    }
    vt->destroy(a);
    vt->destroy(b);
}

Test(resume, grid)
{
    larch_space space = lx_space_of(6, nb201_choices);
    check_resume("grid.so", "grid", &space, 100, 200);
    larch_space small = lx_space_of(3, small_choices);
    check_resume("grid.so", "grid", &small, 20, 10);
    check_resume("grid.so", "grid", &small, 24, 2);
}

Test(resume, grid_shuffled)
{
    set_bool("shuffle", 1);
    larch_space space = lx_space_of(6, nb201_choices);
    check_resume("grid.so", "grid", &space, 100, 200);
    larch_space small = lx_space_of(3, small_choices);
    check_resume("grid.so", "grid", &small, 20, 10);
}

Test(resume, random_no_repeat)
{
    larch_space space = lx_space_of(6, nb201_choices);
    check_resume("random.so", "random", &space, 100, 200);
    /* Resumed near exhaustion, the remaining archs and DONE must match too. */
    larch_space small = lx_space_of(3, small_choices);
    check_resume("random.so", "random", &small, 20, 10);
    check_resume("random.so", "random", &small, 0, 30);
}

Test(resume, random_with_repeats)
{
    set_bool("no_repeat", 0);
    larch_space space = lx_space_of(6, nb201_choices);
    check_resume("random.so", "random", &space, 100, 200);
}

/* Every strict prefix of a real checkpoint, a corrupted magic, random bytes and a checkpoint
 * of the other strategy must be refused with an error, never a crash. */
static void check_garbage(const char *file, const char *id, const char *other_file,
                          const char *other_id)
{
    const larch_strategy_vtable *vt = load_strategy(file, id);
    const larch_strategy_vtable *ovt = load_strategy(other_file, other_id);
    larch_space space = lx_space_of(6, nb201_choices);
    void *a = create(vt, &space, 1);
    larch_error err = {0};
    larch_arch arch;
    for (int i = 0; i < 5; i++)
        cr_assert_eq(vt->ask(a, &arch, &err), LARCH_ASK_OK);
    void *bytes;
    size_t size;
    save(vt, a, &bytes, &size);

    void *b = create(vt, &space, 2);
    for (size_t len = 0; len < size; len++) {
        err.status = 0;
        int rc = vt->load(b, len == 0 ? NULL : bytes, len, &err);
        cr_assert_eq(rc, LARCH_EFORMAT, "prefix of %zu of %zu bytes: %d", len, size, rc);
        cr_assert_eq(err.status, LARCH_EFORMAT);
        cr_assert_gt(strlen(err.message), 0);
    }
    uint8_t *corrupt = malloc(size + 1);
    cr_assert_not_null(corrupt);
    memcpy(corrupt, bytes, size);
    corrupt[0] ^= 0xff;
    cr_assert_eq(vt->load(b, corrupt, size, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "magic"), "%s", err.message);
    memcpy(corrupt, bytes, size);
    corrupt[size] = 0;
    cr_assert_eq(vt->load(b, corrupt, size + 1, &err), LARCH_EFORMAT, "trailing byte");
    free(corrupt);

    larch_rng rng;
    larch_rng_seed(&rng, 5);
    uint8_t noise[4096];
    for (int trial = 0; trial < 50; trial++) {
        size_t len = larch_rng_below(&rng, sizeof noise);
        for (size_t i = 0; i < len; i++)
            noise[i] = (uint8_t)larch_rng_next(&rng);
        cr_assert_lt(vt->load(b, noise, len, &err), 0);
    }

    void *o = create(ovt, &space, 1);
    void *obytes;
    size_t osize;
    save(ovt, o, &obytes, &osize);
    cr_assert_eq(vt->load(b, obytes, osize, &err), LARCH_EFORMAT);
    free(obytes);
    ovt->destroy(o);

    /* A checkpoint of another space is refused too. */
    larch_space small = lx_space_of(3, small_choices);
    void *s = create(vt, &small, 1);
    cr_assert_eq(vt->load(s, bytes, size, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "decisions"), "%s", err.message);
    vt->destroy(s);

    /* After all the refusals b still works, and loading the real checkpoint resumes a. */
    cr_assert_eq(vt->load(b, bytes, size, &err), LARCH_OK, "%s", err.message);
    larch_arch x, y;
    cr_assert_eq(vt->ask(a, &x, &err), LARCH_ASK_OK);
    cr_assert_eq(vt->ask(b, &y, &err), LARCH_ASK_OK);
    cr_assert(larch_arch_equal(&x, &y));
    free(bytes);
    vt->destroy(a);
    vt->destroy(b);
}

Test(resume, random_refuses_garbage)
{
    check_garbage("random.so", "random", "grid.so", "grid");
}

Test(resume, grid_refuses_garbage)
{
    check_garbage("grid.so", "grid", "random.so", "random");
}

/* ---- the nb201 op set ---- */

enum { NONE, SKIP, CONV1, CONV3, POOL };

static const larch_opset_vtable *load_nb201(void)
{
    const larch_plugin *p = load_plugin("ops-nb201.so");
    cr_assert_eq(p->kind, LARCH_PLUGIN_OPSET);
    cr_assert_str_eq(p->id, "nb201");
    cr_assert_null(p->strategy);
    const larch_opset_vtable *vt = p->opset;
    cr_assert_not_null(vt);
    cr_assert_eq(vt->struct_size, sizeof *vt);
    cr_assert_not_null(vt->layer_new);
    return vt;
}

static larch_layer *build(const larch_opset_vtable *vt, uint32_t op, uint32_t c_in, uint32_t c_out,
                          uint32_t stride, uint32_t hw, uint32_t batch)
{
    larch_layer_shape shape = {c_in, c_out, stride, hw, hw, batch};
    larch_rng rng;
    larch_rng_seed(&rng, 100 + op);
    larch_layer *layer = NULL;
    larch_error err = {0};
    int rc = vt->layer_new(op, &shape, &rng, &layer, &err);
    cr_assert_eq(rc, LARCH_OK, "%s at %u->%u stride %u: %s", vt->ops[op].name, c_in, c_out, stride,
                 err.message);
    cr_assert_not_null(layer);
    cr_assert_eq(layer->struct_size, sizeof *layer);
    cr_assert_not_null(layer->ops);
    cr_assert(layer->ops->forward && layer->ops->backward && layer->ops->destroy);
    cr_assert_eq(memcmp(&layer->shape, &shape, sizeof shape), 0);
    cr_assert_eq(layer->h_out, (hw - 1) / stride + 1);
    cr_assert_eq(layer->w_out, (hw - 1) / stride + 1);
    for (uint32_t i = 0; i < layer->n_params; i++) {
        cr_assert(layer->params[i].value && layer->params[i].grad && layer->params[i].count);
    }
    return layer;
}

#define GUARD 16
#define SENTINEL 12345.0f

/* count floats plus a guard zone that must stay untouched. */
static float *guarded(size_t count)
{
    float *p = malloc((count + GUARD) * sizeof *p);
    cr_assert_not_null(p);
    for (size_t i = 0; i < count + GUARD; i++)
        p[i] = SENTINEL;
    return p;
}

static void check_guard_and_finite(const float *p, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        cr_assert(isfinite(p[i]) && p[i] != SENTINEL, "%s[%zu] = %g", what, i, p[i]);
    for (size_t i = count; i < count + GUARD; i++)
        cr_assert_eq(p[i], SENTINEL, "%s written past its end", what);
}

static void fill_normal(float *p, size_t count, uint64_t seed)
{
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    for (size_t i = 0; i < count; i++)
        p[i] = (float)larch_rng_normal(&rng);
}

/* Runs a training forward, a backward and an eval forward on n images; checks every output is
 * written, finite and in bounds. */
static void exercise(larch_layer *layer, uint32_t n)
{
    const larch_layer_shape *s = &layer->shape;
    size_t in = (size_t)n * s->c_in * s->h * s->w;
    size_t out = (size_t)n * s->c_out * layer->h_out * layer->w_out;
    float *x = guarded(in), *y = guarded(out), *dy = guarded(out), *dx = guarded(in);
    fill_normal(x, in, 1);
    fill_normal(dy, out, 2);
    layer->ops->forward(layer, x, y, n, 1);
    check_guard_and_finite(y, out, "y");
    layer->ops->backward(layer, x, dy, dx, n);
    check_guard_and_finite(dx, in, "dx");
    layer->ops->backward(layer, x, dy, NULL, n);
    for (size_t i = 0; i < out + GUARD; i++)
        y[i] = SENTINEL;
    layer->ops->forward(layer, x, y, n, 0);
    check_guard_and_finite(y, out, "eval y");
    free(x);
    free(y);
    free(dy);
    free(dx);
}

Test(nb201, ops_in_nas_bench_201_order)
{
    const larch_opset_vtable *vt = load_nb201();
    static const char *names[] = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                  "avg_pool_3x3"};
    cr_assert_eq(vt->n_ops, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(vt->ops[i].name, names[i]);
    cr_assert_eq(vt->ops[NONE].flags, LARCH_OP_ZERO);
    cr_assert_eq(vt->ops[SKIP].flags, LARCH_OP_IDENTITY);
    cr_assert_eq(vt->ops[CONV1].flags, LARCH_OP_PARAMETRIC);
    cr_assert_eq(vt->ops[CONV3].flags, LARCH_OP_PARAMETRIC);
    cr_assert_eq(vt->ops[POOL].flags & (LARCH_OP_ZERO | LARCH_OP_IDENTITY), 0);
}

Test(nb201, every_op_builds_and_runs_at_stride_1)
{
    const larch_opset_vtable *vt = load_nb201();
    const uint32_t expect_params[] = {0, 0, 3, 3, 0};
    const uint64_t expect_flops[] = {0, 0, 4 * 4 * 64, 4 * 4 * 9 * 64, 4 * 64 * 9};
    for (uint32_t op = 0; op < 5; op++) {
        larch_layer *layer = build(vt, op, 4, 4, 1, 8, 3);
        cr_assert_eq(layer->n_params, expect_params[op], "%s", vt->ops[op].name);
        cr_assert_eq(layer->flops, expect_flops[op], "%s: flops %llu", vt->ops[op].name,
                     (unsigned long long)layer->flops);
        exercise(layer, 3);
        exercise(layer, 1);
        layer->ops->destroy(layer);
    }
}

Test(nb201, reducing_ops_at_stride_2_double_the_width)
{
    const larch_opset_vtable *vt = load_nb201();
    for (uint32_t op = 0; op < 5; op++) {
        larch_layer *layer = build(vt, op, 4, 8, 2, 8, 2);
        cr_assert_eq(layer->h_out, 4);
        if (op != NONE)
            cr_assert_eq(layer->n_params, 3, "%s needs a conv to change width", vt->ops[op].name);
        exercise(layer, 2);
        layer->ops->destroy(layer);
    }
    /* Odd sizes round up, as a padded stride-2 conv does. */
    larch_layer *layer = build(vt, CONV3, 3, 6, 2, 7, 2);
    cr_assert_eq(layer->h_out, 4);
    exercise(layer, 2);
    layer->ops->destroy(layer);
    layer = build(vt, POOL, 3, 3, 2, 7, 2);
    cr_assert_eq(layer->h_out, 4);
    exercise(layer, 2);
    layer->ops->destroy(layer);
}

Test(nb201, skip_connect_at_stride_1_is_identity)
{
    const larch_opset_vtable *vt = load_nb201();
    larch_layer *layer = build(vt, SKIP, 4, 4, 1, 8, 2);
    cr_assert_eq(layer->n_params, 0);
    cr_assert_eq(layer->flops, 0);
    size_t count = 2 * 4 * 8 * 8;
    float *x = guarded(count), *y = guarded(count), *dy = guarded(count), *dx = guarded(count);
    fill_normal(x, count, 3);
    fill_normal(dy, count, 4);
    layer->ops->forward(layer, x, y, 2, 1);
    cr_assert_arr_eq(y, x, count * sizeof *x);
    layer->ops->backward(layer, x, dy, dx, 2);
    cr_assert_arr_eq(dx, dy, count * sizeof *x);
    check_guard_and_finite(y, count, "y");
    free(x);
    free(y);
    free(dy);
    free(dx);
    layer->ops->destroy(layer);
}

Test(nb201, none_outputs_zeros)
{
    const larch_opset_vtable *vt = load_nb201();
    larch_layer *layer = build(vt, NONE, 4, 8, 2, 8, 2);
    size_t in = 2 * 4 * 64, out = 2 * 8 * 16;
    float *x = guarded(in), *y = guarded(out), *dy = guarded(out), *dx = guarded(in);
    fill_normal(x, in, 5);
    fill_normal(dy, out, 6);
    layer->ops->forward(layer, x, y, 2, 1);
    layer->ops->backward(layer, x, dy, dx, 2);
    for (size_t i = 0; i < out; i++)
        cr_assert_eq(y[i], 0.0f);
    for (size_t i = 0; i < in; i++)
        cr_assert_eq(dx[i], 0.0f);
    cr_assert_eq(y[out], SENTINEL);
    cr_assert_eq(dx[in], SENTINEL);
    free(x);
    free(y);
    free(dy);
    free(dx);
    layer->ops->destroy(layer);
}

Test(nb201, avg_pool_matches_a_naive_pool)
{
    const larch_opset_vtable *vt = load_nb201();
    for (uint32_t stride = 1; stride <= 2; stride++) {
        const uint32_t c = 3, hw = 7, n = 2;
        larch_layer *layer = build(vt, POOL, c, c, stride, hw, n);
        uint32_t ho = layer->h_out;
        size_t in = (size_t)n * c * hw * hw, out = (size_t)n * c * ho * ho;
        float *x = guarded(in), *y = guarded(out);
        fill_normal(x, in, 7);
        layer->ops->forward(layer, x, y, n, 1);
        for (uint32_t img = 0; img < n * c; img++)
            for (uint32_t i = 0; i < ho; i++)
                for (uint32_t j = 0; j < ho; j++) {
                    double sum = 0;
                    int cells = 0;
                    for (int di = -1; di <= 1; di++)
                        for (int dj = -1; dj <= 1; dj++) {
                            int r = (int)(i * stride) + di, q = (int)(j * stride) + dj;
                            if (r < 0 || q < 0 || r >= (int)hw || q >= (int)hw)
                                continue;
                            sum += x[(size_t)img * hw * hw + (size_t)r * hw + q];
                            cells++;
                        }
                    float got = y[(size_t)img * ho * ho + i * ho + j];
                    cr_assert_float_eq(got, sum / cells, 1e-5, "stride %u (%u,%u)", stride, i, j);
                }
        free(x);
        free(y);
        layer->ops->destroy(layer);
    }
}

/* Sum of y * r, in double, after a training forward. */
static double probe_loss(larch_layer *layer, const float *x, float *y, const float *r, size_t out,
                         uint32_t n)
{
    layer->ops->forward(layer, x, y, n, 1);
    double loss = 0;
    for (size_t i = 0; i < out; i++)
        loss += (double)y[i] * r[i];
    return loss;
}

/* Central differences of sum(y * r) against backward's dx at inputs away from ReLU's kink. */
static void check_input_gradient(const larch_opset_vtable *vt, uint32_t op, uint32_t c_in,
                                 uint32_t c_out, uint32_t stride)
{
    const uint32_t hw = 5, n = 2;
    larch_layer *layer = build(vt, op, c_in, c_out, stride, hw, n);
    size_t in = (size_t)n * c_in * hw * hw;
    size_t out = (size_t)n * c_out * layer->h_out * layer->w_out;
    float *x = guarded(in), *y = guarded(out), *r = guarded(out), *dx = guarded(in);
    fill_normal(x, in, 8);
    fill_normal(r, out, 9);
    probe_loss(layer, x, y, r, out, n);
    layer->ops->backward(layer, x, r, dx, n);
    int checked = 0;
    for (size_t i = 0; i < in && checked < 12; i += 7) {
        if (fabsf(x[i]) < 0.1f)
            continue;
        const float eps = 1e-2f;
        float keep = x[i];
        x[i] = keep + eps;
        double plus = probe_loss(layer, x, y, r, out, n);
        x[i] = keep - eps;
        double minus = probe_loss(layer, x, y, r, out, n);
        x[i] = keep;
        double numeric = (plus - minus) / (2.0 * eps);
        cr_assert(fabs(numeric - dx[i]) < 2e-2 + 5e-2 * fabs(numeric),
                  "%s %u->%u stride %u: dx[%zu] = %g, finite difference %g", vt->ops[op].name, c_in,
                  c_out, stride, i, dx[i], numeric);
        checked++;
    }
    cr_assert_gt(checked, 5);
    free(x);
    free(y);
    free(r);
    free(dx);
    layer->ops->destroy(layer);
}

Test(nb201, input_gradients_match_finite_differences)
{
    const larch_opset_vtable *vt = load_nb201();
    check_input_gradient(vt, CONV3, 3, 3, 1);
    check_input_gradient(vt, CONV1, 3, 6, 2);
    check_input_gradient(vt, SKIP, 3, 6, 2);
    check_input_gradient(vt, POOL, 3, 3, 2);
    check_input_gradient(vt, POOL, 3, 6, 2);
}

Test(nb201, bad_arguments_are_errors)
{
    const larch_opset_vtable *vt = load_nb201();
    larch_rng rng;
    larch_rng_seed(&rng, 1);
    larch_layer *layer = NULL;
    larch_error err = {0};
    larch_layer_shape shape = {4, 4, 1, 8, 8, 2};
    cr_assert_eq(vt->layer_new(5, &shape, &rng, &layer, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "op 5"), "%s", err.message);
    shape.stride = 3;
    cr_assert_eq(vt->layer_new(CONV3, &shape, &rng, &layer, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "stride 3"), "%s", err.message);
    shape.stride = 1;
    shape.c_in = 0;
    cr_assert_eq(vt->layer_new(CONV3, &shape, &rng, &layer, &err), LARCH_EINVAL);
    shape.c_in = 4;
    cr_assert_eq(vt->layer_new(CONV3, NULL, &rng, &layer, &err), LARCH_EINVAL);
    cr_assert_eq(vt->layer_new(CONV3, &shape, &rng, NULL, &err), LARCH_EINVAL);
    cr_assert_null(layer, "*out untouched on error");
}
