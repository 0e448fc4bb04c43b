/* Typed, range-checked reads of a plugin's parameters (its config group `strategies.<id>`),
 * over the host's getters. Each getter: a missing key yields `def`; a value of the wrong type is
 * the host's error (LARCH_ETYPE, naming the config file and line); a value outside the range
 * (the default included) is LARCH_ERANGE with the message
 * "strategies.<id>.<key>: expected <range>, got <value>". A host whose struct lacks the getter
 * (or has it NULL) yields `def`, as for a missing key. *out is written only on LARCH_OK; `id`
 * and `key` are only read during the call. */
#ifndef LARCH_PARAMS_H
#define LARCH_PARAMS_H

#include <stdint.h>

#include "host.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds of larch_param_float: which ends of [lo, hi] are excluded. */
enum {
    LARCH_RANGE_CLOSED = 0,  /* [lo, hi] */
    LARCH_RANGE_OPEN_LO = 1, /* (lo, hi] */
    LARCH_RANGE_OPEN_HI = 2, /* [lo, hi) */
    LARCH_RANGE_OPEN = 3     /* (lo, hi) */
};

/* An integer in lo..hi ("expected 1..256, got 0"; with hi = INT64_MAX "expected >= 1"). */
int larch_param_int(const larch_host *host, const char *id, const char *key, int64_t def,
                    int64_t lo, int64_t hi, int64_t *out, larch_error *err);

/* larch_param_int into a uint32_t; lo and hi must lie in 0..UINT32_MAX. */
int larch_param_u32(const larch_host *host, const char *id, const char *key, uint32_t def,
                    uint32_t lo, uint32_t hi, uint32_t *out, larch_error *err);

/* A number in [lo, hi] with the ends `bounds` excludes ("expected a number in (0, 1], got 1.5");
 * NaN is always refused, an infinity unless it is a closed bound (lo = 0, hi = INFINITY with
 * LARCH_RANGE_OPEN_HI asks for a finite non-negative number). */
int larch_param_float(const larch_host *host, const char *id, const char *key, double def,
                      double lo, double hi, int bounds, double *out, larch_error *err);

/* A bool, 0 or 1 in *out. The host reports a value of another type; there is no range. */
int larch_param_bool(const larch_host *host, const char *key, int def, int *out, larch_error *err);

/* A string that must be one of names[0..n_names); *out is its index. The default is
 * names[def_index]. Another string is LARCH_EINVAL: "strategies.<id>.<key>: expected \"a\" or
 * \"b\", got \"c\"" (three or more names: "\"a\", \"b\" or \"c\""). */
int larch_param_choice(const larch_host *host, const char *id, const char *key,
                       const char *const *names, int n_names, int def_index, int *out,
                       larch_error *err);

#ifdef __cplusplus
}
#endif
#endif
