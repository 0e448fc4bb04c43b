/* The SDK's own helpers: errors, logging, RNG, spaces and archs, the save/load buffer. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

/* ---- errors and logging ---- */

Test(error, set_fills_status_and_message)
{
    larch_error err = {0};
    int rc = larch_error_set(&err, LARCH_ERANGE, "value %d for key %s", 7, "lr");
    cr_assert_eq(rc, LARCH_ERANGE);
    cr_assert_eq(err.status, LARCH_ERANGE);
    cr_assert_str_eq(err.message, "value 7 for key lr");
    cr_assert_eq(larch_error_set(NULL, LARCH_EIO, "ignored"), LARCH_EIO);
}

Test(error, set_truncates_long_messages)
{
    larch_error err;
    char big[2 * LARCH_ERROR_MESSAGE_SIZE];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    larch_error_set(&err, LARCH_EINVAL, "%s", big);
    cr_assert_eq(strlen(err.message), LARCH_ERROR_MESSAGE_SIZE - 1);
}

Test(error, prefix_prepends_context)
{
    larch_error err;
    larch_error_set(&err, LARCH_EFORMAT, "bad magic");
    int rc = larch_error_prefix(&err, "%s:%d: ", "run.cfg", 12);
    cr_assert_eq(rc, LARCH_EFORMAT);
    cr_assert_eq(err.status, LARCH_EFORMAT);
    cr_assert_str_eq(err.message, "run.cfg:12: bad magic");
}

Test(error, prefix_keeps_the_buffer_terminated)
{
    larch_error err;
    char big[LARCH_ERROR_MESSAGE_SIZE];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    larch_error_set(&err, LARCH_EIO, "%s", big);
    larch_error_prefix(&err, "%s: ", "file");
    cr_assert_eq(strlen(err.message), LARCH_ERROR_MESSAGE_SIZE - 1);
    cr_assert(strncmp(err.message, "file: yyy", 9) == 0);
}

Test(error, status_names)
{
    cr_assert_str_eq(larch_status_name(LARCH_OK), "OK");
    cr_assert_str_eq(larch_status_name(LARCH_EINVAL), "EINVAL");
    cr_assert_str_eq(larch_status_name(LARCH_EFORMAT), "EFORMAT");
    cr_assert_str_eq(larch_status_name(LARCH_EINTERNAL), "EINTERNAL");
    cr_assert_str_eq(larch_status_name(12345), "unknown");
}

static char logged[2048];
static int logged_level = -1;

static void capture_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    logged_level = level;
    snprintf(logged, sizeof logged, "%s", message);
}

Test(error, log_formats_through_the_host)
{
    larch_host host = {0};
    host.struct_size = sizeof host;
    host.log = capture_log;
    larch_log(&host, LARCH_LOG_WARN, "%d archs left", 3);
    cr_assert_eq(logged_level, LARCH_LOG_WARN);
    cr_assert_str_eq(logged, "3 archs left");

    char big[4096];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    larch_log(&host, LARCH_LOG_INFO, "%s", big);
    cr_assert_eq(strlen(logged), 1023);

    /* No log function, or a host too old to have one: nothing happens. */
    larch_log(NULL, LARCH_LOG_INFO, "x");
    host.struct_size = 8;
    logged_level = -1;
    larch_log(&host, LARCH_LOG_INFO, "x");
    cr_assert_eq(logged_level, -1);
}

/* ---- RNG ---- */

Test(rng, matches_reference_stream)
{
    /* From an independent Python implementation of splitmix64 seeding + xoshiro256**. */
    larch_rng rng;
    larch_rng_seed(&rng, 0);
    cr_assert_eq(larch_rng_next(&rng), UINT64_C(0x99ec5f36cb75f2b4));
    cr_assert_eq(larch_rng_next(&rng), UINT64_C(0xbf6e1f784956452a));
    cr_assert_eq(larch_rng_next(&rng), UINT64_C(0x1a5f849d4933e6e0));
    larch_rng_seed(&rng, 42);
    cr_assert_eq(larch_rng_next(&rng), UINT64_C(0x15780b2e0c2ec716));
    cr_assert_eq(larch_rng_next(&rng), UINT64_C(0x6104d9866d113a7e));
}

Test(rng, deterministic_and_seed_sensitive)
{
    larch_rng a, b, c;
    larch_rng_seed(&a, 1234);
    larch_rng_seed(&b, 1234);
    larch_rng_seed(&c, 1235);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = larch_rng_next(&a);
        cr_assert_eq(x, larch_rng_next(&b));
        differ += x != larch_rng_next(&c);
    }
    cr_assert_gt(differ, 990);
}

Test(rng, copy_restores_the_stream)
{
    larch_rng rng;
    larch_rng_seed(&rng, 99);
    for (int i = 0; i < 37; i++)
        larch_rng_next(&rng);
    larch_rng saved = rng;
    uint64_t first[64];
    double normals[8];
    for (int i = 0; i < 64; i++)
        first[i] = larch_rng_next(&rng);
    for (int i = 0; i < 8; i++)
        normals[i] = larch_rng_normal(&rng);
    rng = saved;
    for (int i = 0; i < 64; i++)
        cr_assert_eq(larch_rng_next(&rng), first[i]);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(larch_rng_normal(&rng), normals[i]);
}

Test(rng, seed_derive)
{
    cr_assert_eq(larch_seed_derive(5, 3), larch_seed_derive(5, 3));
    cr_assert_neq(larch_seed_derive(5, 3), larch_seed_derive(5, 4));
    cr_assert_neq(larch_seed_derive(5, 3), larch_seed_derive(6, 3));
    cr_assert_neq(larch_seed_derive(5, 3), larch_seed_derive(3, 5));
    cr_assert_neq(larch_seed_derive(0, 0), 0);
}

/* Chi-square of `samples` draws of below(n) against the uniform distribution. */
static double chi_square_below(uint64_t seed, uint64_t n, int samples)
{
    larch_rng rng;
    larch_rng_seed(&rng, seed);
    long *counts = calloc(n, sizeof *counts);
    cr_assert_not_null(counts);
    for (int i = 0; i < samples; i++) {
        uint64_t v = larch_rng_below(&rng, n);
        cr_assert_lt(v, n);
        counts[v]++;
    }
    double expected = (double)samples / (double)n, chi2 = 0;
    for (uint64_t v = 0; v < n; v++)
        chi2 += (counts[v] - expected) * (counts[v] - expected) / expected;
    free(counts);
    return chi2;
}

Test(rng, below_is_uniform)
{
    /* 99.9% quantiles of chi-square with n - 1 degrees of freedom. */
    cr_assert_lt(chi_square_below(1, 2, 100000), 10.83);
    cr_assert_lt(chi_square_below(2, 3, 100000), 13.82);
    cr_assert_lt(chi_square_below(3, 7, 100000), 22.46);
    cr_assert_lt(chi_square_below(4, 10, 100000), 27.88);
    /* df 999: mean 999, sd 44.7; allow four sd. */
    cr_assert_lt(chi_square_below(5, 1000, 200000), 1178.0);
}

Test(rng, below_has_no_modulo_bias)
{
    /* 2^64 mod n = 2^62 for n = 3 * 2^62: plain modulo would put half the mass in the first
     * third. */
    const uint64_t third = UINT64_C(1) << 62, n = 3 * third;
    larch_rng rng;
    larch_rng_seed(&rng, 7);
    long counts[3] = {0, 0, 0};
    for (int i = 0; i < 30000; i++) {
        uint64_t v = larch_rng_below(&rng, n);
        cr_assert_lt(v, n);
        counts[v / third]++;
    }
    for (int k = 0; k < 3; k++)
        cr_assert(counts[k] > 9500 && counts[k] < 10500, "third %d got %ld of 30000", k, counts[k]);
}

Test(rng, below_edge_cases)
{
    larch_rng rng;
    larch_rng_seed(&rng, 3);
    cr_assert_eq(larch_rng_below(&rng, 0), 0);
    cr_assert_eq(larch_rng_below(&rng, 1), 0);
    for (int i = 0; i < 100; i++)
        larch_rng_below(&rng, UINT64_MAX);
}

Test(rng, uniform_range_and_mean)
{
    larch_rng rng;
    larch_rng_seed(&rng, 11);
    double sum = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u = larch_rng_uniform(&rng);
        cr_assert(u >= 0.0 && u < 1.0);
        sum += u;
    }
    /* Standard error of the mean is 0.29 / sqrt(n) ~ 0.0009. */
    cr_assert_float_eq(sum / n, 0.5, 0.005);
}

Test(rng, normal_moments)
{
    larch_rng rng;
    larch_rng_seed(&rng, 12);
    const int n = 200000;
    double sum = 0, sum2 = 0, sum4 = 0;
    for (int i = 0; i < n; i++) {
        double x = larch_rng_normal(&rng);
        cr_assert(isfinite(x));
        sum += x;
        sum2 += x * x;
        sum4 += x * x * x * x;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    cr_assert_float_eq(mean, 0.0, 0.01);
    cr_assert_float_eq(var, 1.0, 0.02);
    cr_assert_float_eq(sum4 / n, 3.0, 0.1); /* kurtosis of a normal */
}

/* ---- spaces and archs ---- */

static larch_space make_space(uint32_t n, const uint32_t *choices)
{
    larch_space space;
    memset(&space, 0, sizeof space);
    space.struct_size = sizeof space;
    space.n_decisions = n;
    snprintf(space.name, sizeof space.name, "test");
    for (uint32_t d = 0; d < n; d++) {
        space.decisions[d].kind = LARCH_DECISION_OP;
        space.decisions[d].n_choices = choices[d];
        snprintf(space.decisions[d].label, sizeof space.decisions[d].label, "edge %u", d);
    }
    return space;
}

Test(space, size)
{
    const uint32_t small[] = {2, 3, 4};
    larch_space s = make_space(3, small);
    cr_assert_eq(larch_space_size(&s), 24.0);
    const uint32_t nb[] = {5, 5, 5, 5, 5, 5};
    s = make_space(6, nb);
    cr_assert_eq(larch_space_size(&s), 15625.0);
    uint32_t many[40];
    for (int i = 0; i < 40; i++)
        many[i] = 36;
    s = make_space(40, many);
    cr_assert_float_eq(larch_space_size(&s), pow(36.0, 40.0), pow(36.0, 40.0) * 1e-12);
}

Test(space, string_round_trip)
{
    uint32_t choices[12];
    for (int i = 0; i < 12; i++)
        choices[i] = 36;
    larch_space s = make_space(12, choices);
    larch_arch a = {12, {0, 1, 9, 10, 35, 17, 3, 0, 22, 34, 5, 11}};
    char text[LARCH_ARCH_STRING_SIZE];
    cr_assert_eq(larch_arch_to_string(&a, text), text);
    cr_assert_str_eq(text, "019azh30my5b");

    larch_arch b;
    larch_error err = {0};
    cr_assert_eq(larch_arch_from_string(&s, text, &b, &err), LARCH_OK, "%s", err.message);
    cr_assert(larch_arch_equal(&a, &b));
    cr_assert_eq(larch_arch_from_string(&s, "019AZH30MY5B", &b, &err), LARCH_OK);
    cr_assert(larch_arch_equal(&a, &b));
}

Test(space, from_string_errors)
{
    const uint32_t choices[] = {5, 5, 5, 5};
    larch_space s = make_space(4, choices);
    larch_arch a;
    larch_error err = {0};

    cr_assert_eq(larch_arch_from_string(&s, "01!3", &a, &err), LARCH_EINVAL);
    cr_assert_eq(err.status, LARCH_EINVAL);
    cr_assert(strstr(err.message, "'!'") && strstr(err.message, "position 2"), "%s", err.message);

    cr_assert_eq(larch_arch_from_string(&s, "012", &a, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "length 3") && strstr(err.message, "expected 4"), "%s",
              err.message);
    cr_assert_eq(larch_arch_from_string(&s, "", &a, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "length 0"), "%s", err.message);

    char longer[200];
    memset(longer, '0', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    cr_assert_eq(larch_arch_from_string(&s, longer, &a, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "longer than 64"), "%s", err.message);

    cr_assert_eq(larch_arch_from_string(&s, "0150", &a, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "choice 5") && strstr(err.message, "position 2") &&
                  strstr(err.message, "edge 2") && strstr(err.message, "0..4"),
              "%s", err.message);

    cr_assert_eq(larch_arch_from_string(NULL, "0000", &a, &err), LARCH_EINVAL);
    cr_assert_eq(larch_arch_from_string(&s, NULL, &a, &err), LARCH_EINVAL);
}

Test(space, validate)
{
    const uint32_t choices[] = {2, 3, 4};
    larch_space s = make_space(3, choices);
    larch_error err = {0};
    larch_arch a = {3, {1, 2, 3}};
    cr_assert_eq(larch_arch_validate(&s, &a, &err), LARCH_OK);
    a.choice[1] = 3;
    cr_assert_eq(larch_arch_validate(&s, &a, &err), LARCH_ERANGE);
    cr_assert(strstr(err.message, "decision 1") && strstr(err.message, "choice 3") &&
                  strstr(err.message, "0..2"),
              "%s", err.message);
    a.choice[1] = 0;
    a.n = 2;
    cr_assert_eq(larch_arch_validate(&s, &a, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "2 decisions"), "%s", err.message);
}

Test(space, from_index_covers_every_arch_once)
{
    const uint32_t choices[] = {2, 3, 4};
    larch_space s = make_space(3, choices);
    int seen[24] = {0};
    larch_arch a, prev = {0};
    for (uint64_t i = 0; i < 24; i++) {
        cr_assert_eq(larch_arch_from_index(&s, i, &a), LARCH_OK);
        cr_assert_eq(a.n, 3);
        cr_assert_eq(larch_arch_validate(&s, &a, NULL), LARCH_OK);
        int code = a.choice[0] * 12 + a.choice[1] * 4 + a.choice[2];
        cr_assert_eq((uint64_t)code, i, "mixed radix: decision 0 varies slowest");
        seen[code]++;
        if (i > 0)
            cr_assert_not(larch_arch_equal(&a, &prev));
        prev = a;
    }
    for (int i = 0; i < 24; i++)
        cr_assert_eq(seen[i], 1);
    cr_assert_eq(larch_arch_from_index(&s, 24, &a), LARCH_ERANGE);
    cr_assert_eq(larch_arch_from_index(&s, UINT64_MAX, &a), LARCH_ERANGE);
}

Test(space, from_index_on_a_space_past_2_64)
{
    uint32_t choices[20];
    for (int i = 0; i < 20; i++)
        choices[i] = 36;
    larch_space s = make_space(20, choices);
    larch_arch a;
    cr_assert_eq(larch_arch_from_index(&s, UINT64_MAX, &a), LARCH_OK);
    char text[LARCH_ARCH_STRING_SIZE];
    /* 2^64 - 1 in base 36 is "3w5e11264sgsf", left-padded to 20 digits. */
    cr_assert_str_eq(larch_arch_to_string(&a, text), "00000003w5e11264sgsf");
}

Test(space, hash_and_equal)
{
    larch_arch a = {4, {1, 2, 3, 4}}, b = {4, {1, 2, 3, 4}}, c = {4, {1, 2, 4, 3}};
    /* Bytes past n do not matter. */
    b.choice[10] = 9;
    cr_assert(larch_arch_equal(&a, &b));
    cr_assert_eq(larch_arch_hash(&a), larch_arch_hash(&b));
    cr_assert_not(larch_arch_equal(&a, &c));
    cr_assert_neq(larch_arch_hash(&a), larch_arch_hash(&c));
    larch_arch d = {3, {1, 2, 3}};
    cr_assert_not(larch_arch_equal(&a, &d));
    /* FNV-1a of the bytes 01 02 03 04. */
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (int i = 1; i <= 4; i++)
        h = (h ^ (uint64_t)i) * UINT64_C(0x100000001b3);
    cr_assert_eq(larch_arch_hash(&a), h);
}

/* ---- save buffer and reader ---- */

static int allocs, frees, fail_after = -1;

static void *test_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (fail_after >= 0 && allocs >= fail_after)
        return NULL;
    allocs++;
    return calloc(1, size);
}

static void test_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr != NULL)
        frees++;
    free(ptr);
}

static larch_host test_host(void)
{
    larch_host host = {0};
    host.struct_size = sizeof host;
    host.abi_major = LARCH_ABI_MAJOR;
    host.abi_minor = LARCH_ABI_MINOR;
    host.alloc = test_alloc;
    host.free = test_free;
    return host;
}

Test(buf, round_trip)
{
    larch_host host = test_host();
    larch_buf buf;
    larch_buf_init(&buf, &host);
    uint32_t magic = 0x1234abcd;
    larch_buf_put(&buf, &magic, sizeof magic);
    double values[1000];
    for (int i = 0; i < 1000; i++)
        values[i] = i * 0.5;
    larch_buf_put(&buf, values, sizeof values); /* forces growth */
    larch_buf_put(&buf, "end", 4);

    void *bytes = NULL;
    size_t size = 0;
    larch_error err = {0};
    cr_assert_eq(larch_buf_finish(&buf, &bytes, &size, &err), LARCH_OK);
    cr_assert_eq(size, 4 + sizeof values + 4);
    cr_assert_eq(allocs - frees, 1, "only the handed-over buffer is live");

    larch_reader r;
    larch_reader_init(&r, bytes, size);
    uint32_t m2;
    double v2[1000];
    char tail[4];
    cr_assert_eq(larch_reader_get(&r, &m2, sizeof m2, &err), LARCH_OK);
    cr_assert_eq(m2, magic);
    cr_assert_eq(larch_reader_get(&r, v2, sizeof v2, &err), LARCH_OK);
    cr_assert_arr_eq(v2, values, sizeof values);
    cr_assert_eq(larch_reader_get(&r, tail, 4, &err), LARCH_OK);
    cr_assert_str_eq(tail, "end");
    cr_assert_eq(r.offset, size);
    host.free(host.ctx, bytes);
    cr_assert_eq(allocs, frees);
}

Test(buf, truncated_read_is_eformat)
{
    const uint8_t bytes[6] = {1, 2, 3, 4, 5, 6};
    larch_reader r;
    larch_reader_init(&r, bytes, sizeof bytes);
    uint32_t a, b;
    larch_error err = {0};
    cr_assert_eq(larch_reader_get(&r, &a, sizeof a, &err), LARCH_OK);
    cr_assert_eq(larch_reader_get(&r, &b, sizeof b, &err), LARCH_EFORMAT);
    cr_assert_eq(err.status, LARCH_EFORMAT);
    cr_assert(strstr(err.message, "truncated"), "%s", err.message);
    cr_assert_eq(r.offset, 4, "a failed get consumes nothing");

    larch_reader_init(&r, NULL, 0);
    cr_assert_eq(larch_reader_get(&r, &a, sizeof a, &err), LARCH_EFORMAT);
}

Test(buf, allocation_failure_is_enomem)
{
    larch_host host = test_host();
    larch_buf buf;
    larch_buf_init(&buf, &host);
    char chunk[300] = {0};
    larch_buf_put(&buf, chunk, sizeof chunk); /* first allocation succeeds */
    fail_after = allocs;
    larch_buf_put(&buf, chunk, sizeof chunk); /* growth fails */
    cr_assert(buf.failed);
    larch_buf_put(&buf, chunk, 1); /* ignored */
    void *bytes = (void *)1;
    size_t size = 99;
    larch_error err = {0};
    cr_assert_eq(larch_buf_finish(&buf, &bytes, &size, &err), LARCH_ENOMEM);
    cr_assert_eq(err.status, LARCH_ENOMEM);
    cr_assert_eq(allocs, frees, "the partial buffer was freed");
}

Test(buf, empty_and_hostless)
{
    larch_buf buf;
    larch_buf_init(&buf, NULL);
    void *bytes = (void *)1;
    size_t size = 99;
    cr_assert_eq(larch_buf_finish(&buf, &bytes, &size, NULL), LARCH_OK);
    cr_assert_eq(size, 0);
    larch_buf_init(&buf, NULL);
    larch_buf_put(&buf, "abc", 3);
    cr_assert_eq(larch_buf_finish(&buf, &bytes, &size, NULL), LARCH_OK);
    cr_assert_eq(size, 3);
    cr_assert_eq(memcmp(bytes, "abc", 3), 0);
    free(bytes);
}
