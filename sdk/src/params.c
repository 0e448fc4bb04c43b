/* Range-checked parameter reads over the host's getters, with one message format for every
 * plugin: "strategies.<id>.<key>: expected <range>, got <value>". */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "larch/params.h"

int larch_param_int(const larch_host *host, const char *id, const char *key, int64_t def,
                    int64_t lo, int64_t hi, int64_t *out, larch_error *err)
{
    int64_t v = def;
    if (LARCH_HOST_HAS(host, get_int)) {
        int rc = host->get_int(host->ctx, key, def, &v, err);
        if (rc != LARCH_OK)
            return rc;
    }
    if (v < lo || v > hi) {
        if (hi == INT64_MAX)
            return larch_error_set(err, LARCH_ERANGE,
                                   "strategies.%s.%s: expected >= %lld, got %lld", id, key,
                                   (long long)lo, (long long)v);
        return larch_error_set(err, LARCH_ERANGE, "strategies.%s.%s: expected %lld..%lld, got %lld",
                               id, key, (long long)lo, (long long)hi, (long long)v);
    }
    *out = v;
    return LARCH_OK;
}

int larch_param_u32(const larch_host *host, const char *id, const char *key, uint32_t def,
                    uint32_t lo, uint32_t hi, uint32_t *out, larch_error *err)
{
    int64_t v = def;
    int rc = larch_param_int(host, id, key, def, lo, hi, &v, err);
    if (rc == LARCH_OK)
        *out = (uint32_t)v;
    return rc;
}

int larch_param_float(const larch_host *host, const char *id, const char *key, double def,
                      double lo, double hi, int bounds, double *out, larch_error *err)
{
    double v = def;
    if (LARCH_HOST_HAS(host, get_float)) {
        int rc = host->get_float(host->ctx, key, def, &v, err);
        if (rc != LARCH_OK)
            return rc;
    }
    int open_lo = (bounds & LARCH_RANGE_OPEN_LO) != 0,
        open_hi = (bounds & LARCH_RANGE_OPEN_HI) != 0;
    /* Written so that NaN fails every comparison and is refused. */
    if (!(open_lo ? v > lo : v >= lo) || !(open_hi ? v < hi : v <= hi))
        return larch_error_set(err, LARCH_ERANGE,
                               "strategies.%s.%s: expected a number in %c%g, %g%c, got %g", id, key,
                               open_lo ? '(' : '[', lo, hi, open_hi ? ')' : ']', v);
    *out = v;
    return LARCH_OK;
}

int larch_param_bool(const larch_host *host, const char *key, int def, int *out, larch_error *err)
{
    int v = def;
    if (LARCH_HOST_HAS(host, get_bool)) {
        int rc = host->get_bool(host->ctx, key, def, &v, err);
        if (rc != LARCH_OK)
            return rc;
    }
    *out = v != 0;
    return LARCH_OK;
}

int larch_param_choice(const larch_host *host, const char *id, const char *key,
                       const char *const *names, int n_names, int def_index, int *out,
                       larch_error *err)
{
    const char *v = names[def_index];
    if (LARCH_HOST_HAS(host, get_string)) {
        int rc = host->get_string(host->ctx, key, names[def_index], &v, err);
        if (rc != LARCH_OK)
            return rc;
    }
    for (int i = 0; i < n_names; i++)
        if (v != NULL && strcmp(v, names[i]) == 0) {
            *out = i;
            return LARCH_OK;
        }
    char expected[256];
    size_t used = 0;
    expected[0] = '\0';
    for (int i = 0; i < n_names && used < sizeof expected; i++) {
        const char *sep = i == 0 ? "" : i == n_names - 1 ? " or " : ", ";
        int n = snprintf(expected + used, sizeof expected - used, "%s\"%s\"", sep, names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return larch_error_set(err, LARCH_EINVAL, "strategies.%s.%s: expected %s, got \"%s\"", id, key,
                           expected, v != NULL ? v : "(null)");
}
