/* Private to results/: the names and HDF5 types of the experiment file, shared by the writer
 * and the reader so that nothing is spelled twice. docs/RESULTS-FORMAT.md describes the same
 * layout for people; tools/larch_results.py spells the names once more for Python. */
#ifndef RESULTS_SCHEMA_H
#define RESULTS_SCHEMA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "h5util.h"
#include "results.h"

/* Root attributes. */
#define SCHEMA_ATTR_VERSION "schema_version"
#define SCHEMA_ATTR_LARCH_VERSION "larch_version"
#define SCHEMA_ATTR_CREATED "created"
#define SCHEMA_ATTR_OBJECTIVE "objective"
#define SCHEMA_ATTR_SEED "seed"
#define SCHEMA_ATTR_CONFIG_PATH "config_path"
#define SCHEMA_ATTR_MAX_EPOCHS "max_epochs"
#define SCHEMA_ATTR_N_RUNS "n_runs"
/* Replays only: the table and its best architecture (mean over its seeds); public in results.h. */
#define SCHEMA_ATTR_TABLE_PATH RESULTS_ATTR_TABLE_PATH
#define SCHEMA_ATTR_TABLE_BEST_VAL RESULTS_ATTR_TABLE_BEST_VAL
#define SCHEMA_ATTR_TABLE_BEST_TEST RESULTS_ATTR_TABLE_BEST_TEST

#define SCHEMA_CONFIG "config"

#define SCHEMA_SPACE "space"
#define SCHEMA_ATTR_SPACE_NAME "name"
#define SCHEMA_ATTR_N_DECISIONS "n_decisions"
#define SCHEMA_DECISION_LABEL "decision_label"
#define SCHEMA_DECISION_KIND "decision_kind"
#define SCHEMA_N_CHOICES "n_choices"
#define SCHEMA_OP_NAMES "op_names"

#define SCHEMA_RUNS "runs"
#define SCHEMA_ATTR_STRATEGY "strategy"
#define SCHEMA_ATTR_STRATEGY_VERSION "strategy_version"
#define SCHEMA_ATTR_PLUGIN "plugin"
#define SCHEMA_ATTR_ABI_VERSION "abi_version"
/* SCHEMA_ATTR_SEED is shared with the root. */
#define SCHEMA_ATTR_SEED_INDEX "seed_index"
#define SCHEMA_ATTR_RUN_INDEX "run_index"
#define SCHEMA_ATTR_EVALUATOR "evaluator"

#define SCHEMA_TRIALS "trials"
#define SCHEMA_ARCH "arch"
#define SCHEMA_TRAIN_LOSS "train_loss"
#define SCHEMA_VAL_CURVE "val_accuracy_curve"
#define SCHEMA_RUN_STATE "run_state"
#define SCHEMA_CHECKPOINT "checkpoint"
#define SCHEMA_CHECKPOINT_SIZE "checkpoint_size"
/* The trials the checkpoint's strategy had been told (absent in files before `--resume`). */
#define SCHEMA_CHECKPOINT_TRIALS "checkpoint_trials"

/* Rows per chunk of the appended datasets: ~20 KiB of trials, small enough that a live file
 * does not grow in big steps. */
#define SCHEMA_CHUNK_ROWS 128
#define SCHEMA_CHECKPOINT_CHUNK 4096

/* Fill values: what a reader sees in a row that was extended but never written (a kill -9
 * between the two). No real trial has this id and no choice is this large. */
#define SCHEMA_FILL_TRIAL UINT64_MAX
#define SCHEMA_FILL_CHOICE 255

/* Longest path a results_* error message quotes, so the HDF5 detail still fits after it. */
#define SCHEMA_PATH_QUOTE 200

static const char *const schema_status_names[] = {"OK", "DIVERGED", "FAILED", "TIMEOUT"};
static const char *const schema_run_state_names[] = {"PENDING", "RUNNING", "FINISHED", "ABORTED"};

/* An HDF5 enum on uint8 with the given names for 0, 1, 2, ...; H5I_INVALID_HID on error. */
static inline hid_t schema_enum_type(const char *const *names, unsigned n)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_UINT8);
    if (t < 0)
        return H5I_INVALID_HID;
    for (unsigned i = 0; i < n; i++) {
        uint8_t value = (uint8_t)i;
        if (H5Tenum_insert(t, names[i], &value) < 0) {
            H5Tclose(t);
            return H5I_INVALID_HID;
        }
    }
    return t;
}

static inline hid_t schema_status_type(void)
{
    return schema_enum_type(schema_status_names, 4);
}

static inline hid_t schema_run_state_type(void)
{
    return schema_enum_type(schema_run_state_names, 4);
}

/* A fixed-length NUL-terminated UTF-8 string type of `size` bytes; H5I_INVALID_HID on error. */
static inline hid_t schema_string_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* The members of the trials table, in file order; offsets are those of results_trial. */
static const h5u_field schema_trial_fields[] = {
    {"trial", offsetof(results_trial, trial), H5U_U64},
    {"run", offsetof(results_trial, run), H5U_U32},
    {"status", offsetof(results_trial, status), H5U_STATUS},
    {"cached", offsetof(results_trial, cached), H5U_U8},
    {"score", offsetof(results_trial, score), H5U_F64},
    {"val_accuracy", offsetof(results_trial, val_accuracy), H5U_F64},
    {"test_accuracy", offsetof(results_trial, test_accuracy), H5U_F64},
    {"params", offsetof(results_trial, params), H5U_U64},
    {"flops", offsetof(results_trial, flops), H5U_U64},
    {"latency_ms", offsetof(results_trial, latency_ms), H5U_F64},
    {"train_seconds", offsetof(results_trial, train_seconds), H5U_F64},
    {"cost_seconds", offsetof(results_trial, cost_seconds), H5U_F64},
    {"started_s", offsetof(results_trial, started_s), H5U_F64},
    {"finished_s", offsetof(results_trial, finished_s), H5U_F64},
    {"n_epochs", offsetof(results_trial, n_epochs), H5U_U32},
    {"arch", offsetof(results_trial, arch), H5U_ARCH},
    {"charged_seconds", offsetof(results_trial, charged_seconds), H5U_F64},
};
#define SCHEMA_N_TRIAL_FIELDS (sizeof schema_trial_fields / sizeof schema_trial_fields[0])

/* The trials compound type: for_file gives the packed little-endian file layout, otherwise the
 * layout of results_trial in memory. H5I_INVALID_HID on error. */
static inline hid_t schema_trial_type(int for_file)
{
    return h5u_compound_type(schema_trial_fields, SCHEMA_N_TRIAL_FIELDS, sizeof(results_trial),
                             for_file);
}

/* HDF5 prints its error stack to stderr by default. Inside results_* calls the printing is
 * replaced by a recorder of the innermost message of the last failed API call, which
 * schema_fail quotes: the stack itself is cleared by the next API call (a cleanup H5Xclose). */
typedef struct schema_quiet {
    H5E_auto2_t func;
    void *data;
} schema_quiet;

static _Thread_local char schema_last_detail[160];

static inline herr_t schema_innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)data;
    if (n != 0 || !e->desc)
        return 0;
    /* File errors embed the system's message; it says all a person needs. */
    const char *sys = strstr(e->desc, "error message = '");
    const char *end = sys ? strchr(sys + 17, '\'') : NULL;
    if (end)
        snprintf(schema_last_detail, sizeof schema_last_detail, "%.*s", (int)(end - sys - 17),
                 sys + 17);
    else
        snprintf(schema_last_detail, sizeof schema_last_detail, "%s", e->desc);
    return 0;
}

static inline herr_t schema_record(hid_t stack, void *data)
{
    (void)data;
    schema_last_detail[0] = '\0';
    H5Ewalk2(stack, H5E_WALK_UPWARD, schema_innermost, NULL);
    return 0;
}

static inline void schema_quiet_begin(schema_quiet *q)
{
    if (H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) < 0) {
        q->func = NULL;
        q->data = NULL;
    }
    schema_last_detail[0] = '\0';
    H5Eset_auto2(H5E_DEFAULT, schema_record, NULL);
}

static inline void schema_quiet_end(const schema_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/* Sets err to "<path>: <what> (<HDF5's innermost message>)"; returns status. The message is
 * that of the last HDF5 call that failed since schema_quiet_begin, if any. */
static inline int schema_fail(larch_error *err, int status, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int schema_fail(larch_error *err, int status, const char *path, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *detail = schema_last_detail;
    return larch_error_set(err, status, "%.*s: %s%s%s%s", SCHEMA_PATH_QUOTE, path, what,
                           detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
}

#endif
