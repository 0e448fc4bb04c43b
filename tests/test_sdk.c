/* The SDK's own helpers: errors, logging, RNG, spaces and archs, the save/load buffer. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <larch/larch.h>

#include "landscape.h"

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

Test(space, size)
{
    const uint32_t small[] = {2, 3, 4};
    larch_space s = lx_space_of(3, small);
    cr_assert_eq(larch_space_size(&s), 24.0);
    const uint32_t nb[] = {5, 5, 5, 5, 5, 5};
    s = lx_space_of(6, nb);
    cr_assert_eq(larch_space_size(&s), 15625.0);
    uint32_t many[40];
    for (int i = 0; i < 40; i++)
        many[i] = 36;
    s = lx_space_of(40, many);
    cr_assert_float_eq(larch_space_size(&s), pow(36.0, 40.0), pow(36.0, 40.0) * 1e-12);
}

Test(space, string_round_trip)
{
    uint32_t choices[12];
    for (int i = 0; i < 12; i++)
        choices[i] = 36;
    larch_space s = lx_space_of(12, choices);
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
    larch_space s = lx_space_of(4, choices);
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
    larch_space s = lx_space_of(3, choices);
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
    larch_space s = lx_space_of(3, choices);
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
    larch_space s = lx_space_of(20, choices);
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

Test(buf, arch_round_trip_and_refusals)
{
    const uint32_t choices[] = {2, 3, 4};
    larch_space s = lx_space_of(3, choices);
    larch_arch a = {3, {1, 2, 3}}, unset = {0};
    larch_buf buf;
    larch_buf_init(&buf, NULL);
    larch_buf_put_arch(&buf, &s, &a);
    larch_buf_put_arch(&buf, &s, &unset); /* n = 0 still writes 3 bytes: the layout is fixed */
    larch_arch bad = {3, {1, 3, 0}};
    larch_buf_put_arch(&buf, &s, &bad);
    void *bytes = NULL;
    size_t size = 0;
    larch_error err = {0};
    cr_assert_eq(larch_buf_finish(&buf, &bytes, &size, &err), LARCH_OK);
    cr_assert_eq(size, 9);

    larch_reader r;
    larch_reader_init(&r, bytes, size);
    larch_arch b;
    memset(&b, 0xff, sizeof b);
    cr_assert_eq(larch_reader_get_arch(&r, &s, &b, &err), LARCH_OK);
    cr_assert(larch_arch_equal(&a, &b));
    cr_assert_eq(b.choice[3], 0, "bytes past n are zeroed");
    cr_assert_eq(larch_reader_get_arch(&r, &s, &b, &err), LARCH_OK);
    cr_assert_eq(b.n, 3);
    cr_assert_eq(b.choice[0] | b.choice[1] | b.choice[2], 0);
    cr_assert_eq(larch_reader_expect_end(&r, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "3 trailing bytes"), "%s", err.message);
    cr_assert_eq(larch_reader_get_arch(&r, &s, &b, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "out of the space") && strstr(err.message, "decision 1"), "%s",
              err.message);
    cr_assert_eq(larch_reader_expect_end(&r, NULL), LARCH_OK);
    cr_assert_eq(larch_reader_get_arch(&r, &s, &b, NULL), LARCH_EFORMAT, "truncated, no err");
    free(bytes);
}

Test(buf, all_zero_rng_is_refused)
{
    larch_rng rng = {{0, 0, 0, 0}}, back;
    larch_buf buf;
    larch_buf_init(&buf, NULL);
    larch_buf_put_rng(&buf, &rng);
    larch_rng_seed(&rng, 5);
    larch_buf_put_rng(&buf, &rng);
    void *bytes = NULL;
    size_t size = 0;
    cr_assert_eq(larch_buf_finish(&buf, &bytes, &size, NULL), LARCH_OK);
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    larch_error err = {0};
    cr_assert_eq(larch_reader_get_rng(&r, &back, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "all zero"), "%s", err.message);
    cr_assert_eq(larch_reader_get_rng(&r, &back, &err), LARCH_OK);
    cr_assert_eq(memcmp(&back, &rng, sizeof rng), 0);
    free(bytes);
}

/* ---- host services ---- */

Test(host, alloc_and_free)
{
    larch_host host = test_host();
    allocs = frees = 0;
    double *x = larch_alloc(&host, 10, sizeof *x);
    cr_assert_not_null(x);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(x[i], 0.0, "zeroed");
    void *empty = larch_alloc(&host, 0, 8);
    cr_assert_not_null(empty, "a zero-size request is not a failure");
    cr_assert_null(larch_alloc(&host, SIZE_MAX / 2, 4), "overflow");
    cr_assert_eq(allocs, 2);
    larch_free(&host, x);
    larch_free(&host, empty);
    larch_free(&host, NULL);
    cr_assert_eq(frees, 2);
    /* No host, or one without alloc: calloc and free. */
    void *p = larch_alloc(NULL, 3, 3);
    cr_assert_not_null(p);
    larch_free(NULL, p);
    host.alloc = NULL;
    p = larch_alloc(&host, 1, 1);
    larch_free(&host, p);
    cr_assert_eq(allocs, 2);
    cr_assert_eq(frees, 2);
}

Test(host, has_reads_struct_size)
{
    larch_host host = test_host();
    cr_assert(LARCH_HOST_HAS(&host, alloc));
    cr_assert_not(LARCH_HOST_HAS(&host, log), "NULL");
    host.struct_size = offsetof(larch_host, alloc);
    cr_assert_not(LARCH_HOST_HAS(&host, alloc), "not covered by struct_size");
    cr_assert_not(LARCH_HOST_HAS((const larch_host *)NULL, alloc));
}

/* ---- parameters ---- */

/* Creates the mock host of landscape.h with one parameter. */
static const larch_host *one_param(lx_host *h, lx_param p)
{
    static lx_param stored;
    stored = p;
    return lx_host_init(h, &stored, 1);
}

Test(params, int_range_and_message)
{
    lx_host h;
    const larch_host *host = one_param(&h, (lx_param){"chains", LX_INT, 300, 0, NULL});
    larch_error err = {0};
    int64_t v = -7;
    cr_assert_eq(larch_param_int(host, "energy", "chains", 4, 1, 256, &v, &err), LARCH_ERANGE);
    cr_assert_str_eq(err.message, "strategies.energy.chains: expected 1..256, got 300");
    cr_assert_eq(v, -7, "*out untouched on error");
    cr_assert_eq(larch_param_int(host, "energy", "chains", 4, 1, 300, &v, &err), LARCH_OK);
    cr_assert_eq(v, 300);
    cr_assert_eq(larch_param_int(host, "energy", "other", 4, 1, 300, &v, &err), LARCH_OK);
    cr_assert_eq(v, 4, "a missing key yields the default");
    cr_assert_eq(larch_param_int(host, "energy", "other", 0, 1, 300, &v, &err), LARCH_ERANGE,
                 "the default is range-checked too");
    host = one_param(&h, (lx_param){"restart", LX_INT, -1, 0, NULL});
    cr_assert_eq(larch_param_int(host, "hc", "restart", 0, 0, INT64_MAX, &v, &err), LARCH_ERANGE);
    cr_assert_str_eq(err.message, "strategies.hc.restart: expected >= 0, got -1");
    uint32_t u = 9;
    cr_assert_eq(larch_param_u32(host, "hc", "restart", 0, 0, 10, &u, &err), LARCH_ERANGE);
    cr_assert_eq(u, 9);
    cr_assert_eq(larch_param_u32(host, "hc", "x", 10, 0, 10, &u, &err), LARCH_OK);
    cr_assert_eq(u, 10);
    /* A value of another type is the host's error, passed on. */
    host = one_param(&h, (lx_param){"chains", LX_STRING, 0, 0, "four"});
    cr_assert_eq(larch_param_int(host, "energy", "chains", 4, 1, 256, &v, &err), LARCH_ETYPE);
    cr_assert(strstr(err.message, "expected an integer"), "%s", err.message);
}

Test(params, float_bounds)
{
    lx_host h;
    larch_error err = {0};
    double v = -1;
    const larch_host *host = one_param(&h, (lx_param){"x", LX_FLOAT, 0, 1.0, NULL});
    cr_assert_eq(larch_param_float(host, "s", "x", 0.5, 0, 1, LARCH_RANGE_CLOSED, &v, &err),
                 LARCH_OK);
    cr_assert_eq(v, 1.0);
    cr_assert_eq(larch_param_float(host, "s", "x", 0.5, 0, 1, LARCH_RANGE_OPEN_LO, &v, &err),
                 LARCH_OK);
    cr_assert_eq(larch_param_float(host, "s", "x", 0.5, 0, 1, LARCH_RANGE_OPEN_HI, &v, &err),
                 LARCH_ERANGE);
    cr_assert_str_eq(err.message, "strategies.s.x: expected a number in [0, 1), got 1");
    cr_assert_eq(larch_param_float(host, "s", "x", 0.5, 1, 2, LARCH_RANGE_OPEN, &v, &err),
                 LARCH_ERANGE);
    cr_assert_str_eq(err.message, "strategies.s.x: expected a number in (1, 2), got 1");
    cr_assert_eq(larch_param_float(host, "s", "x", 0.5, 1, 2, LARCH_RANGE_CLOSED, &v, &err),
                 LARCH_OK);

    host = one_param(&h, (lx_param){"x", LX_FLOAT, 0, NAN, NULL});
    cr_assert_eq(
        larch_param_float(host, "s", "x", 0.5, -INFINITY, INFINITY, LARCH_RANGE_CLOSED, &v, &err),
        LARCH_ERANGE, "NaN is always refused");
    host = one_param(&h, (lx_param){"x", LX_FLOAT, 0, INFINITY, NULL});
    cr_assert_eq(larch_param_float(host, "s", "x", 0, 0, INFINITY, LARCH_RANGE_CLOSED, &v, &err),
                 LARCH_OK, "a closed infinite bound admits infinity");
    cr_assert_eq(larch_param_float(host, "s", "x", 0, 0, INFINITY, LARCH_RANGE_OPEN_HI, &v, &err),
                 LARCH_ERANGE);
    cr_assert_str_eq(err.message, "strategies.s.x: expected a number in [0, inf), got inf");
    /* An integer is a number. */
    host = one_param(&h, (lx_param){"x", LX_INT, 3, 0, NULL});
    cr_assert_eq(larch_param_float(host, "s", "x", 0, 0, 5, LARCH_RANGE_CLOSED, &v, &err),
                 LARCH_OK);
    cr_assert_eq(v, 3.0);
}

Test(params, bool_and_choice)
{
    lx_host h;
    larch_error err = {0};
    const larch_host *host = one_param(&h, (lx_param){"on", LX_BOOL, 7, 0, NULL});
    int b = -1;
    cr_assert_eq(larch_param_bool(host, "on", 0, &b, &err), LARCH_OK);
    cr_assert_eq(b, 1, "normalised to 0 or 1");
    cr_assert_eq(larch_param_bool(host, "off", 0, &b, &err), LARCH_OK);
    cr_assert_eq(b, 0);

    static const char *const two[] = {"lstm", "table"};
    static const char *const three[] = {"a", "b", "c"};
    int i = -1;
    cr_assert_eq(larch_param_choice(host, "rl", "policy", two, 2, 1, &i, &err), LARCH_OK);
    cr_assert_eq(i, 1, "the default");
    host = one_param(&h, (lx_param){"policy", LX_STRING, 0, 0, "lstm"});
    cr_assert_eq(larch_param_choice(host, "rl", "policy", two, 2, 1, &i, &err), LARCH_OK);
    cr_assert_eq(i, 0);
    host = one_param(&h, (lx_param){"policy", LX_STRING, 0, 0, "gru"});
    cr_assert_eq(larch_param_choice(host, "rl", "policy", two, 2, 0, &i, &err), LARCH_EINVAL);
    cr_assert_str_eq(err.message,
                     "strategies.rl.policy: expected \"lstm\" or \"table\", got \"gru\"");
    cr_assert_eq(larch_param_choice(host, "x", "policy", three, 3, 0, &i, &err), LARCH_EINVAL);
    cr_assert_str_eq(err.message,
                     "strategies.x.policy: expected \"a\", \"b\" or \"c\", got \"gru\"");
    cr_assert_eq(i, 0, "*out untouched on error");
}

/* A host too old (or too sparse) to lend a getter yields the defaults, as a missing key does. */
Test(params, host_without_getters_yields_defaults)
{
    larch_host host = test_host();
    larch_error err = {0};
    int64_t v = 0;
    double f = 0;
    int b = 0, c = -1;
    static const char *const names[] = {"x", "y"};
    cr_assert_eq(larch_param_int(&host, "s", "k", 5, 0, 9, &v, &err), LARCH_OK);
    cr_assert_eq(larch_param_float(&host, "s", "k", 0.5, 0, 1, 0, &f, &err), LARCH_OK);
    cr_assert_eq(larch_param_bool(&host, "k", 1, &b, &err), LARCH_OK);
    cr_assert_eq(larch_param_choice(&host, "s", "k", names, 2, 1, &c, &err), LARCH_OK);
    cr_assert(v == 5 && f == 0.5 && b == 1 && c == 1);
    cr_assert_eq(larch_param_int(NULL, "s", "k", 5, 0, 9, &v, &err), LARCH_OK);
}

/* ---- spaces: validation, copy, count, index ---- */

Test(space, validate_names_the_problem)
{
    const uint32_t bad[] = {3, 0, 2};
    larch_space s = lx_space_of(3, bad);
    larch_error err = {0};
    cr_assert_eq(larch_space_validate(&s, &err), LARCH_EINVAL);
    cr_assert_str_eq(err.message, "decision 1 has 0 choices, expected 1..36");
    s.decisions[1].n_choices = 37;
    cr_assert_eq(larch_space_validate(&s, &err), LARCH_EINVAL);
    s.decisions[1].n_choices = 2;
    cr_assert_eq(larch_space_validate(&s, &err), LARCH_OK);
    s.n_decisions = 0;
    cr_assert_eq(larch_space_validate(&s, &err), LARCH_EINVAL);
    cr_assert_str_eq(err.message, "space has 0 decisions, expected 1..64");
    s.n_decisions = 3;
    s.struct_size = 8;
    cr_assert_eq(larch_space_validate(&s, &err), LARCH_EINVAL);
    cr_assert(strstr(err.message, "struct_size 8"), "%s", err.message);
    cr_assert_eq(larch_space_validate(NULL, NULL), LARCH_EINVAL);
}

Test(space, copy_reads_only_what_struct_size_covers)
{
    const uint32_t choices[] = {2, 3};
    larch_space src = lx_space_of(2, choices), dst;
    memset(&dst, 0x5a, sizeof dst);
    larch_space_copy(&dst, &src);
    cr_assert_eq(memcmp(&dst, &src, sizeof src), 0);
    /* An older host's space ends before n_ops: the rest is zeroed, not read. */
    src.struct_size = offsetof(larch_space, n_ops);
    memset(&dst, 0x5a, sizeof dst);
    larch_space_copy(&dst, &src);
    cr_assert_eq(dst.struct_size, sizeof dst);
    cr_assert_eq(dst.n_decisions, 2);
    cr_assert_eq(dst.decisions[1].n_choices, 3);
    cr_assert_eq(dst.n_ops, 0);
    cr_assert_eq(dst.op_names[0][0], 0);
}

Test(space, count_is_exact_below_2_64)
{
    const uint32_t small[] = {2, 3, 4};
    larch_space s = lx_space_of(3, small);
    uint64_t n = 99;
    cr_assert_eq(larch_space_count(&s, &n), LARCH_OK);
    cr_assert_eq(n, 24);
    uint32_t c16[16];
    for (int i = 0; i < 16; i++)
        c16[i] = 16;
    s = lx_space_of(16, c16); /* 2^64: one too many */
    cr_assert_eq(larch_space_count(&s, &n), LARCH_ERANGE);
    cr_assert_eq(n, 0);
    s.decisions[15].n_choices = 15; /* 15 * 2^60 fits */
    cr_assert_eq(larch_space_count(&s, &n), LARCH_OK);
    cr_assert_eq(n, UINT64_C(15) << 60);
    s.decisions[3].n_choices = 0;
    cr_assert_eq(larch_space_count(&s, &n), LARCH_EINVAL);
}

Test(space, to_index_inverts_from_index)
{
    const uint32_t choices[] = {2, 3, 4};
    larch_space s = lx_space_of(3, choices);
    for (uint64_t i = 0; i < 24; i++) {
        larch_arch a;
        uint64_t back = 99;
        cr_assert_eq(larch_arch_from_index(&s, i, &a), LARCH_OK);
        cr_assert_eq(larch_arch_to_index(&s, &a, &back), LARCH_OK);
        cr_assert_eq(back, i);
    }
    larch_arch bad = {3, {1, 3, 0}};
    uint64_t index = 7;
    cr_assert_eq(larch_arch_to_index(&s, &bad, &index), LARCH_EINVAL);
    cr_assert_eq(index, 7);
    uint32_t many[20];
    for (int i = 0; i < 20; i++)
        many[i] = 36;
    s = lx_space_of(20, many);
    larch_arch a;
    cr_assert_eq(larch_arch_from_index(&s, UINT64_MAX, &a), LARCH_OK);
    cr_assert_eq(larch_arch_to_index(&s, &a, &index), LARCH_OK);
    cr_assert_eq(index, UINT64_MAX);
    a.choice[19]++; /* 2^64 */
    cr_assert_eq(larch_arch_to_index(&s, &a, &index), LARCH_ERANGE);
}

/* ---- spaces: sampling and mutation ---- */

Test(space, random_arch_draws_one_below_per_decision)
{
    const uint32_t choices[] = {2, 1, 5, 36};
    larch_space s = lx_space_of(4, choices);
    larch_rng a, b;
    larch_rng_seed(&a, 3);
    larch_rng_seed(&b, 3);
    for (int k = 0; k < 100; k++) {
        larch_arch arch;
        larch_arch_random(&s, &a, &arch);
        cr_assert_eq(arch.n, 4);
        for (uint32_t d = 0; d < 4; d++)
            cr_assert_eq(arch.choice[d], larch_rng_below(&b, choices[d]), "draw %d decision %u", k,
                         d);
    }
}

Test(space, change_decision_picks_another_choice_uniformly)
{
    const uint32_t choices[] = {4, 1};
    larch_space s = lx_space_of(2, choices);
    larch_rng rng, copy;
    larch_rng_seed(&rng, 8);
    int counts[4] = {0};
    for (int k = 0; k < 3000; k++) {
        larch_arch a = {2, {1, 0}};
        larch_arch_change_decision(&s, 0, &rng, &a);
        cr_assert_neq(a.choice[0], 1);
        counts[a.choice[0]]++;
    }
    for (int c = 0; c < 4; c++)
        if (c != 1)
            cr_assert(abs(counts[c] - 1000) < 150, "choice %d: %d of 3000", c, counts[c]);
    /* A decision with one choice is left alone and draws nothing. */
    copy = rng;
    larch_arch a = {2, {1, 0}};
    larch_arch_change_decision(&s, 1, &rng, &a);
    cr_assert_eq(a.choice[1], 0);
    cr_assert_eq(memcmp(&rng, &copy, sizeof rng), 0);
}

Test(space, mutate_changes_one_decision_with_a_choice)
{
    const uint32_t choices[] = {1, 3, 1, 2, 5};
    larch_space s = lx_space_of(5, choices);
    larch_rng rng, ref;
    larch_rng_seed(&rng, 4);
    larch_rng_seed(&ref, 4);
    int hits[5] = {0};
    for (int k = 0; k < 3000; k++) {
        larch_arch a = {5, {0, 1, 0, 1, 2}}, b = a;
        larch_arch_mutate(&s, &rng, &a);
        /* The same draws by hand: a decision among the mutable ones, then a shift of 1..n-1. */
        static const uint32_t mutable_d[] = {1, 3, 4};
        uint32_t d = mutable_d[larch_rng_below(&ref, 3)];
        uint32_t n = choices[d];
        b.choice[d] = (uint8_t)((b.choice[d] + 1 + larch_rng_below(&ref, n - 1)) % n);
        cr_assert(larch_arch_equal(&a, &b), "mutation %d", k);
        int changed = 0;
        for (int i = 0; i < 5; i++)
            if (a.choice[i] != (uint8_t[]){0, 1, 0, 1, 2}[i]) {
                changed++;
                hits[i]++;
            }
        cr_assert_eq(changed, 1);
    }
    cr_assert_eq(hits[0] + hits[2], 0);
    cr_assert(hits[1] > 800 && hits[3] > 800 && hits[4] > 800);

    const uint32_t ones[] = {1, 1};
    larch_space fixed = lx_space_of(2, ones);
    larch_arch a = {2, {0, 0}};
    larch_rng before = rng;
    larch_arch_mutate(&fixed, &rng, &a);
    cr_assert_eq(memcmp(&rng, &before, sizeof rng), 0, "nothing to mutate: no draw");
}

Test(rng, mix64_is_murmur3_fmix64)
{
    /* From an independent Python implementation of MurmurHash3's fmix64. */
    cr_assert_eq(larch_mix64(0), 0);
    cr_assert_eq(larch_mix64(1), UINT64_C(0xb456bcfc34c2cb2c));
    cr_assert_eq(larch_mix64(UINT64_C(0x0123456789abcdef)), UINT64_C(0x87cbfbfe89022cea));
}

/* ---- sets of architectures ---- */

Test(archset, exact_keys_are_indices)
{
    larch_host host = test_host();
    allocs = frees = 0;
    const uint32_t choices[] = {2, 3, 4};
    larch_space s = lx_space_of(3, choices);
    larch_archset set;
    larch_archset_init(&set, &host, &s, 0);
    cr_assert(set.exact);
    cr_assert_eq(set.total, 24);
    cr_assert_eq(allocs, 0, "init allocates nothing");
    for (uint64_t i = 0; i < 24; i++) {
        larch_arch a;
        larch_arch_from_index(&s, i, &a);
        cr_assert_eq(larch_archset_key(&set, &a), i);
        cr_assert_not(larch_archset_contains(&set, &a));
        cr_assert_not(larch_archset_full(&set));
        cr_assert_eq(larch_archset_add(&set, &a), 1);
        cr_assert_eq(larch_archset_add(&set, &a), 0, "already there");
        cr_assert(larch_archset_contains(&set, &a));
        cr_assert(larch_archset_has_key(&set, i));
    }
    cr_assert_eq(set.count, 24);
    cr_assert(larch_archset_full(&set));
    cr_assert_null(larch_archset_value(&set, &(larch_arch){3, {0, 0, 0}}), "no values kept");
    cr_assert_eq(larch_archset_put(&set, &(larch_arch){3, {0, 0, 0}}, 1.0), LARCH_EINVAL);
    larch_archset_release(&set);
    cr_assert_eq(allocs, frees);
    cr_assert_eq(set.count, 0);
    cr_assert_not(larch_archset_has_key(&set, 0), "released: empty and usable");
    larch_archset_release(&set);
}

Test(archset, hash_keys_past_2_64_and_growth)
{
    larch_host host = test_host();
    allocs = frees = 0;
    uint32_t many[40];
    for (int i = 0; i < 40; i++)
        many[i] = 36;
    larch_space s = lx_space_of(40, many);
    larch_archset set;
    larch_archset_init(&set, &host, &s, 1);
    cr_assert_not(set.exact);
    larch_rng rng;
    larch_rng_seed(&rng, 1);
    larch_arch archs[1000];
    for (int i = 0; i < 1000; i++) {
        larch_arch_random(&s, &rng, &archs[i]);
        cr_assert_eq(larch_archset_key(&set, &archs[i]), larch_arch_hash(&archs[i]));
        cr_assert_eq(larch_archset_add(&set, &archs[i]), 1);
        double *v = larch_archset_value(&set, &archs[i]);
        cr_assert(v && isnan(*v), "a new arch's value is NaN");
        if (i % 2 == 0)
            cr_assert_eq(larch_archset_put(&set, &archs[i], i * 0.5), LARCH_OK);
    }
    cr_assert_geq(set.capacity, 2000, "at most half full");
    cr_assert_not(larch_archset_full(&set), "never knowable with hash keys");
    for (int i = 0; i < 1000; i++) {
        double *v = larch_archset_value(&set, &archs[i]);
        cr_assert_not_null(v, "arch %d lost while growing", i);
        if (i % 2 == 0)
            cr_assert_eq(*v, i * 0.5);
        else
            cr_assert(isnan(*v));
    }
    larch_arch fresh;
    larch_arch_random(&s, &rng, &fresh);
    cr_assert_eq(larch_archset_put(&set, &fresh, 2.0), LARCH_OK, "put adds");
    cr_assert_eq(*larch_archset_value(&set, &fresh), 2.0);
    cr_assert_eq(set.count, 1001);
    larch_archset_release(&set);
    cr_assert_eq(allocs, frees);
}

Test(archset, out_of_memory_leaves_the_set_as_it_was)
{
    larch_host host = test_host();
    allocs = frees = 0;
    const uint32_t choices[] = {10, 10, 10};
    larch_space s = lx_space_of(3, choices);
    larch_archset set;
    larch_archset_init(&set, &host, &s, 1);
    for (uint64_t i = 0; i < 32; i++) {
        larch_arch a;
        larch_arch_from_index(&s, i, &a);
        cr_assert_eq(larch_archset_add(&set, &a), 1);
    }
    fail_after = allocs; /* the 33rd key needs a larger table */
    larch_arch a;
    larch_arch_from_index(&s, 32, &a);
    cr_assert_eq(larch_archset_add(&set, &a), LARCH_ENOMEM);
    cr_assert_eq(larch_archset_put(&set, &a, 1.0), LARCH_ENOMEM);
    cr_assert_eq(set.count, 32);
    cr_assert_eq(set.capacity, 64);
    for (uint64_t i = 0; i < 32; i++)
        cr_assert(larch_archset_has_key(&set, i));
    fail_after = -1;
    larch_archset_release(&set);
    cr_assert_eq(allocs, frees);
}

/* Saves set (with a marker after it), returning the bytes. */
static void *save_set(const larch_archset *set, size_t *size)
{
    larch_buf buf;
    larch_buf_init(&buf, NULL);
    larch_archset_save(set, &buf);
    larch_buf_put_u32(&buf, 0xabcdef01u);
    void *bytes = NULL;
    cr_assert_eq(larch_buf_finish(&buf, &bytes, size, NULL), LARCH_OK);
    return bytes;
}

Test(archset, save_load_round_trip)
{
    const uint32_t choices[] = {5, 5, 5, 5};
    larch_space s = lx_space_of(4, choices);
    for (int with_values = 0; with_values < 2; with_values++) {
        larch_archset set, back;
        larch_archset_init(&set, NULL, &s, with_values);
        larch_rng rng;
        larch_rng_seed(&rng, 2);
        for (int i = 0; i < 200; i++) {
            larch_arch a;
            larch_arch_random(&s, &rng, &a);
            if (with_values)
                larch_archset_put(&set, &a, i % 3 ? i : NAN);
            else
                larch_archset_add(&set, &a);
        }
        size_t size, size2;
        void *bytes = save_set(&set, &size);
        cr_assert_eq(size, 8 + set.count * (with_values ? 16 : 8) + 4);

        larch_archset_init(&back, NULL, &s, with_values);
        larch_reader r;
        larch_reader_init(&r, bytes, size);
        larch_error err = {0};
        cr_assert_eq(larch_archset_load(&back, &r, set.count, &err), LARCH_OK, "%s", err.message);
        uint32_t marker;
        cr_assert_eq(larch_reader_get_u32(&r, &marker, &err), LARCH_OK);
        cr_assert_eq(marker, 0xabcdef01u, "load reads exactly what save wrote");
        cr_assert_eq(back.count, set.count);
        void *again = save_set(&back, &size2);
        cr_assert_eq(size2, size);
        cr_assert_eq(memcmp(bytes, again, size), 0, "save, load, save gives the same bytes");
        free(again);
        free(bytes);
        larch_archset_release(&set);
        larch_archset_release(&back);
    }
}

/* Loads bytes into a fresh set of s; returns the status and leaves the message in err. */
static int load_set(const larch_space *s, const void *bytes, size_t size, uint64_t max_count,
                    larch_error *err)
{
    larch_host host = test_host();
    larch_archset set;
    larch_archset_init(&set, &host, s, 0);
    larch_reader r;
    larch_reader_init(&r, bytes, size);
    int rc = larch_archset_load(&set, &r, max_count, err);
    if (rc != LARCH_OK)
        cr_assert_eq(set.count, 0, "a failed load leaves the set empty");
    larch_archset_release(&set);
    return rc;
}

Test(archset, load_refuses_inconsistent_checkpoints)
{
    const uint32_t choices[] = {2, 3, 4};
    larch_space s = lx_space_of(3, choices);
    larch_error err = {0};
    allocs = frees = 0;
    uint8_t bytes[8 * 6];
    uint64_t words[6] = {3, 5, 7, 23, 0, 0};
    for (int i = 0; i < 6; i++)
        for (int b = 0; b < 8; b++)
            bytes[8 * i + b] = (uint8_t)(words[i] >> (8 * b));
    cr_assert_eq(load_set(&s, bytes, 32, UINT64_MAX, &err), LARCH_OK, "%s", err.message);
    for (size_t n = 0; n < 32; n++)
        cr_assert_eq(load_set(&s, bytes, n, UINT64_MAX, &err), LARCH_EFORMAT, "cut at %zu", n);
    cr_assert_eq(load_set(&s, bytes, 32, 2, &err), LARCH_EFORMAT);
    cr_assert(strstr(err.message, "3 seen architectures is inconsistent (at most 2"), "%s",
              err.message);
    bytes[0] = 25; /* more than the space holds */
    cr_assert_eq(load_set(&s, bytes, sizeof bytes, UINT64_MAX, &err), LARCH_EFORMAT);
    bytes[0] = 5; /* more than the bytes left: refused before allocating */
    int before = allocs;
    cr_assert_eq(load_set(&s, bytes, 32, UINT64_MAX, &err), LARCH_EFORMAT);
    cr_assert_eq(allocs, before);
    bytes[0] = 3;
    bytes[24] = 24; /* key 24 is out of the space */
    cr_assert_eq(load_set(&s, bytes, 32, UINT64_MAX, &err), LARCH_EFORMAT);
    cr_assert_str_eq(err.message, "seen key 24 is out of range or repeated");
    bytes[24] = 5; /* repeated */
    cr_assert_eq(load_set(&s, bytes, 32, UINT64_MAX, &err), LARCH_EFORMAT);
    cr_assert_str_eq(err.message, "seen key 5 is out of range or repeated");
    cr_assert_eq(allocs, frees);

    /* Only into an empty set. */
    larch_archset set;
    larch_archset_init(&set, NULL, &s, 0);
    larch_archset_add(&set, &(larch_arch){3, {0, 0, 0}});
    larch_reader r;
    bytes[24] = 23;
    larch_reader_init(&r, bytes, 32);
    cr_assert_eq(larch_archset_load(&set, &r, UINT64_MAX, &err), LARCH_EINVAL);
    larch_archset_release(&set);
}

Test(archset, draw_avoids_the_set)
{
    const uint32_t choices[] = {2, 2, 2};
    larch_space s = lx_space_of(3, choices);
    larch_archset seen;
    larch_archset_init(&seen, NULL, &s, 0);
    larch_rng rng;
    larch_rng_seed(&rng, 6);
    /* Random draws: every one is new until the space is exhausted. */
    for (int i = 0; i < 8; i++) {
        larch_arch a;
        cr_assert_eq(larch_archset_draw(&seen, &s, NULL, &rng, &a), 1);
        cr_assert_eq(larch_archset_add(&seen, &a), 1, "draw %d repeats", i);
    }
    larch_arch a;
    cr_assert_eq(larch_archset_draw(&seen, &s, NULL, &rng, &a), 0, "nothing new is left");
    cr_assert_eq(larch_arch_validate(&s, &a, NULL), LARCH_OK);
    cr_assert_eq(larch_archset_draw(NULL, &s, NULL, &rng, &a), 1, "no set: anything is new");
    larch_archset_release(&seen);

    /* Mutations: with the parent's whole neighbourhood seen, the change grows until the only
     * unseen arch, three decisions away, is found. */
    larch_archset_init(&seen, NULL, &s, 0);
    for (uint64_t i = 0; i < 7; i++) {
        larch_arch b;
        larch_arch_from_index(&s, i, &b);
        larch_archset_add(&seen, &b);
    }
    larch_arch parent = {3, {0, 0, 0}}, child;
    cr_assert_eq(larch_archset_draw(&seen, &s, &parent, &rng, &child), 1);
    cr_assert(larch_arch_equal(&child, &(larch_arch){3, {1, 1, 1}}));
    larch_archset_release(&seen);
}
