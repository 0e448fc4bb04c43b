/* The experiment file reader: metadata is read once at open, appended data on every call so a
 * live (SWMR) file can be followed (docs/RESULTS-FORMAT.md). */
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "h5util.h"
#include "results.h"
#include "schema.h"

struct results_file {
    hid_t file;
    hid_t trial_type;     /* memory layout of results_trial */
    hid_t run_state_type; /* memory enum */
    int swmr;             /* opened with SWMR_READ: datasets are refreshed before reading */
    uint32_t schema_version;
    uint32_t max_epochs;
    uint32_t n_runs;
    larch_space space;
    results_run_info *runs;
    char *config_text;
    char *path;
};

/* ---- open ---- */

static int read_root(results_file *f, larch_error *err)
{
    const char *path = f->path;
    if (H5Aexists(f->file, SCHEMA_ATTR_VERSION) <= 0)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%.*s: not a larch experiment file (no /%s attribute)",
                               SCHEMA_PATH_QUOTE, path, SCHEMA_ATTR_VERSION);
    int32_t version = 0;
    if (h5u_read_attr(f->file, SCHEMA_ATTR_VERSION, H5T_NATIVE_INT32, &version) < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s", SCHEMA_ATTR_VERSION);
    if (version > RESULTS_SCHEMA_VERSION)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%.*s: schema version %d is newer than this build of larch reads "
                               "(%d); use a newer larch",
                               SCHEMA_PATH_QUOTE, path, (int)version, RESULTS_SCHEMA_VERSION);
    if (version < 1)
        return larch_error_set(err, LARCH_EFORMAT, "%.*s: invalid schema version %d",
                               SCHEMA_PATH_QUOTE, path, (int)version);
    f->schema_version = (uint32_t)version;
    if (h5u_read_attr(f->file, SCHEMA_ATTR_MAX_EPOCHS, H5T_NATIVE_UINT32, &f->max_epochs) < 0 ||
        h5u_read_attr(f->file, SCHEMA_ATTR_N_RUNS, H5T_NATIVE_UINT32, &f->n_runs) < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read the root attributes");

    size_t size = 0;
    switch (h5u_read_text(f->file, SCHEMA_CONFIG, &f->config_text, &size)) {
    case 0:
        return LARCH_OK;
    case H5U_EOPEN:
        return schema_fail(err, LARCH_EFORMAT, path, "cannot open /%s", SCHEMA_CONFIG);
    case H5U_ESHAPE:
        return larch_error_set(err, LARCH_EFORMAT, "%.*s: /%s is not a fixed-length string",
                               SCHEMA_PATH_QUOTE, path, SCHEMA_CONFIG);
    case H5U_ENOMEM:
        return larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory for %zu bytes of config",
                               SCHEMA_PATH_QUOTE, path, size);
    default:
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s", SCHEMA_CONFIG);
    }
}

static int read_space(results_file *f, larch_error *err)
{
    const larch_space *sp = &f->space;
    uint32_t bad = 0;
    switch (h5u_read_space(f->file, &f->space, &bad)) {
    case 0:
        return LARCH_OK;
    case H5U_EOPEN:
        return schema_fail(err, LARCH_EFORMAT, f->path, "cannot open /%s", SCHEMA_SPACE);
    case H5U_ERANGE:
        if (bad == UINT32_MAX)
            return larch_error_set(err, LARCH_EFORMAT, "%.*s: /%s has %u decisions, expected 1..%d",
                                   SCHEMA_PATH_QUOTE, f->path, SCHEMA_SPACE, sp->n_decisions,
                                   LARCH_MAX_DECISIONS);
        return larch_error_set(err, LARCH_EFORMAT,
                               "%.*s: /%s: decision %u has %u choices, expected 1..%d",
                               SCHEMA_PATH_QUOTE, f->path, SCHEMA_SPACE, bad,
                               sp->decisions[bad].n_choices, LARCH_MAX_CHOICES);
    case H5U_ESHAPE:
        return schema_fail(err, LARCH_EFORMAT, f->path,
                           "cannot read /%s (expected %u decisions and at most %d ops)",
                           SCHEMA_SPACE, sp->n_decisions, LARCH_MAX_OPS);
    default:
        return schema_fail(err, LARCH_EFORMAT, f->path, "cannot read the attributes of /%s",
                           SCHEMA_SPACE);
    }
}

/* Reads the attributes of /runs/<name> into its run_index slot of f->runs. */
static int read_run(results_file *f, hid_t runs, const char *name, larch_error *err)
{
    hid_t group = H5Gopen2(runs, name, H5P_DEFAULT);
    if (group < 0)
        return schema_fail(err, LARCH_EFORMAT, f->path, "cannot open /%s/%s", SCHEMA_RUNS, name);
    results_run_info info;
    memset(&info, 0, sizeof info);
    char abi[32];
    uint32_t index = 0;
    int rc = LARCH_OK;
    if (h5u_read_attr(group, SCHEMA_ATTR_RUN_INDEX, H5T_NATIVE_UINT32, &index) < 0 ||
        h5u_read_string_attr_to(group, SCHEMA_ATTR_STRATEGY, info.strategy, sizeof info.strategy) <
            0 ||
        h5u_read_string_attr_to(group, SCHEMA_ATTR_STRATEGY_VERSION, info.strategy_version,
                                sizeof info.strategy_version) < 0 ||
        h5u_read_string_attr_to(group, SCHEMA_ATTR_ABI_VERSION, abi, sizeof abi) < 0 ||
        h5u_read_attr(group, SCHEMA_ATTR_SEED, H5T_NATIVE_UINT64, &info.seed) < 0 ||
        h5u_read_attr(group, SCHEMA_ATTR_SEED_INDEX, H5T_NATIVE_UINT32, &info.seed_index) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read the attributes of /%s/%s",
                         SCHEMA_RUNS, name);
    /* `evaluator` came with replays; a file without it was trained. */
    else if (H5Aexists(group, SCHEMA_ATTR_EVALUATOR) > 0
                 ? h5u_read_string_attr_to(group, SCHEMA_ATTR_EVALUATOR, info.evaluator,
                                           sizeof info.evaluator) < 0
                 : (snprintf(info.evaluator, sizeof info.evaluator, "train"), 0))
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read /%s/%s/%s", SCHEMA_RUNS, name,
                         SCHEMA_ATTR_EVALUATOR);
    /* `plugin` came with strategy variants; before, the strategy was the plugin id. */
    else if (H5Aexists(group, SCHEMA_ATTR_PLUGIN) > 0
                 ? h5u_read_string_attr_to(group, SCHEMA_ATTR_PLUGIN, info.plugin,
                                           sizeof info.plugin) < 0
                 : (snprintf(info.plugin, sizeof info.plugin, "%s", info.strategy), 0))
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read /%s/%s/%s", SCHEMA_RUNS, name,
                         SCHEMA_ATTR_PLUGIN);
    else if (sscanf(abi, "%u.%u", &info.abi_major, &info.abi_minor) != 2)
        rc = larch_error_set(err, LARCH_EFORMAT, "%.*s: /%s/%s: %s '%s' is not MAJOR.MINOR",
                             SCHEMA_PATH_QUOTE, f->path, SCHEMA_RUNS, name, SCHEMA_ATTR_ABI_VERSION,
                             abi);
    else if (index >= f->n_runs || f->runs[index].name[0])
        rc = larch_error_set(
            err, LARCH_EFORMAT, "%.*s: /%s/%s: %s %u is out of range or repeated (%u runs)",
            SCHEMA_PATH_QUOTE, f->path, SCHEMA_RUNS, name, SCHEMA_ATTR_RUN_INDEX, index, f->n_runs);
    H5Gclose(group);
    if (rc != LARCH_OK)
        return rc;
    snprintf(info.name, sizeof info.name, "%s", name);
    f->runs[index] = info;
    return LARCH_OK;
}

static int read_runs(results_file *f, larch_error *err)
{
    hid_t runs = H5Gopen2(f->file, SCHEMA_RUNS, H5P_DEFAULT);
    if (runs < 0)
        return schema_fail(err, LARCH_EFORMAT, f->path, "cannot open /%s", SCHEMA_RUNS);
    H5G_info_t gi;
    int rc = LARCH_OK;
    if (H5Gget_info(runs, &gi) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot list /%s", SCHEMA_RUNS);
    else if (gi.nlinks != f->n_runs)
        rc = larch_error_set(err, LARCH_EFORMAT, "%.*s: /%s holds %llu runs, /%s says %u",
                             SCHEMA_PATH_QUOTE, f->path, SCHEMA_RUNS, (unsigned long long)gi.nlinks,
                             SCHEMA_ATTR_N_RUNS, f->n_runs);
    else if (f->n_runs && !(f->runs = calloc(f->n_runs, sizeof *f->runs)))
        rc = larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory for %u runs",
                             SCHEMA_PATH_QUOTE, f->path, f->n_runs);
    for (hsize_t i = 0; rc == LARCH_OK && i < f->n_runs; i++) {
        char name[RESULTS_NAME_SIZE];
        ssize_t len = H5Lget_name_by_idx(runs, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                         sizeof name, H5P_DEFAULT);
        if (len < 0 || (size_t)len >= sizeof name)
            rc = schema_fail(err, LARCH_EFORMAT, f->path,
                             "cannot read the name of run %llu (or longer than %d bytes)",
                             (unsigned long long)i, RESULTS_NAME_SIZE - 1);
        else
            rc = read_run(f, runs, name, err);
    }
    H5Gclose(runs);
    return rc;
}

int results_file_open(const char *path, results_file **out, larch_error *err)
{
    if (!path || !out)
        return larch_error_set(err, LARCH_EINVAL, "results_file_open: NULL argument");
    results_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory", SCHEMA_PATH_QUOTE, path);
    }
    f->file = f->trial_type = f->run_state_type = H5I_INVALID_HID;
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    int rc = LARCH_OK;
    f->file = h5u_open_read(path, &f->swmr, &rc, err);
    if (rc == LARCH_OK)
        rc = read_root(f, err);
    if (rc == LARCH_OK)
        rc = read_space(f, err);
    if (rc == LARCH_OK)
        rc = read_runs(f, err);
    if (rc == LARCH_OK) {
        f->trial_type = schema_trial_type(0);
        f->run_state_type = schema_run_state_type();
        if (f->trial_type < 0 || f->run_state_type < 0)
            rc = schema_fail(err, LARCH_EIO, path, "cannot create the HDF5 memory types");
    }
    if (rc == LARCH_OK)
        *out = f;
    else
        results_file_close(f);
    schema_quiet_end(&quiet);
    return rc;
}

void results_file_close(results_file *f)
{
    if (!f)
        return;
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    if (f->trial_type >= 0)
        H5Tclose(f->trial_type);
    if (f->run_state_type >= 0)
        H5Tclose(f->run_state_type);
    if (f->file >= 0)
        H5Fclose(f->file);
    schema_quiet_end(&quiet);
    free(f->runs);
    free(f->config_text);
    free(f->path);
    free(f);
}

uint32_t results_file_n_runs(const results_file *f)
{
    return f ? f->n_runs : 0;
}

const results_run_info *results_file_run(const results_file *f, uint32_t run)
{
    return f && run < f->n_runs ? &f->runs[run] : NULL;
}

const larch_space *results_file_space(const results_file *f)
{
    return f ? &f->space : NULL;
}

const char *results_file_config_text(const results_file *f)
{
    return f ? f->config_text : NULL;
}

uint32_t results_file_schema_version(const results_file *f)
{
    return f ? f->schema_version : 0;
}

uint32_t results_file_max_epochs(const results_file *f)
{
    return f ? f->max_epochs : 0;
}

/* ---- appended data ---- */

/* Opens /runs/<run>/<name>, refreshed to the writer's latest flush on a live file; checks f and
 * run first. Returns the dataset or H5I_INVALID_HID with err set. */
static hid_t open_run_dataset(results_file *f, uint32_t run, const char *name, larch_error *err)
{
    if (!f) {
        larch_error_set(err, LARCH_EINVAL, "results_file: NULL file");
        return H5I_INVALID_HID;
    }
    if (run >= f->n_runs) {
        larch_error_set(err, LARCH_ERANGE, "%.*s: run %u does not exist (%u runs)",
                        SCHEMA_PATH_QUOTE, f->path, run, f->n_runs);
        return H5I_INVALID_HID;
    }
    char where[2 * RESULTS_NAME_SIZE + 16];
    snprintf(where, sizeof where, "%s/%s/%s", SCHEMA_RUNS, f->runs[run].name, name);
    hid_t ds = H5Dopen2(f->file, where, H5P_DEFAULT);
    if (ds >= 0 && f->swmr && H5Drefresh(ds) < 0) {
        H5Dclose(ds);
        ds = H5I_INVALID_HID;
    }
    if (ds < 0)
        schema_fail(err, LARCH_EFORMAT, f->path, "cannot open /%s", where);
    return ds;
}

/* Whether /runs/<run>/<name> exists (run checked by the caller's open_run_dataset). */
static int has_run_dataset(const results_file *f, uint32_t run, const char *name)
{
    char where[2 * RESULTS_NAME_SIZE + 16];
    snprintf(where, sizeof where, "%s/%s/%s", SCHEMA_RUNS, f->runs[run].name, name);
    return H5Lexists(f->file, where, H5P_DEFAULT) > 0;
}

int results_file_read_trials(results_file *f, uint32_t run, results_trial **rows, size_t *n_rows,
                             larch_error *err)
{
    if (!rows || !n_rows)
        return larch_error_set(err, LARCH_EINVAL, "results_file_read_trials: NULL argument");
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    int rc = LARCH_OK;
    results_trial *buf = NULL;
    hsize_t n = 0;
    hid_t ds = open_run_dataset(f, run, SCHEMA_TRIALS, err);
    if (ds < 0)
        rc = err ? err->status : LARCH_EFORMAT;
    else if (h5u_dataset_dims(ds, 1, &n) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "/%s/%s/%s is not 1-D", SCHEMA_RUNS,
                         f->runs[run].name, SCHEMA_TRIALS);
    else if (n && !(buf = calloc(n, sizeof *buf)))
        rc = larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory for %llu trials",
                             SCHEMA_PATH_QUOTE, f->path, (unsigned long long)n);
    else if (n && h5u_read_rows(ds, 0, n, 0, f->trial_type, buf) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read /%s/%s/%s", SCHEMA_RUNS,
                         f->runs[run].name, SCHEMA_TRIALS);
    if (ds >= 0)
        H5Dclose(ds);
    schema_quiet_end(&quiet);
    if (rc != LARCH_OK) {
        free(buf);
        return rc;
    }
    /* A row extended but never written reads as the fill value: the valid rows end there. */
    size_t valid = 0;
    while (valid < n && buf[valid].trial == valid)
        buf[valid++].arch[LARCH_ARCH_STRING_SIZE - 1] = '\0';
    if (valid == 0) {
        free(buf);
        buf = NULL;
    }
    *rows = buf;
    *n_rows = valid;
    return LARCH_OK;
}

int results_file_read_run_state(results_file *f, uint32_t run, results_run_state *state,
                                larch_error *err)
{
    if (!state)
        return larch_error_set(err, LARCH_EINVAL, "results_file_read_run_state: NULL state");
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    uint8_t value = 0xff;
    int rc = LARCH_OK;
    hid_t ds = open_run_dataset(f, run, SCHEMA_RUN_STATE, err);
    if (ds < 0)
        rc = err ? err->status : LARCH_EFORMAT;
    else if (H5Dread(ds, f->run_state_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read /%s/%s/%s", SCHEMA_RUNS,
                         f->runs[run].name, SCHEMA_RUN_STATE);
    else if (value > RESULTS_RUN_ABORTED)
        rc = larch_error_set(err, LARCH_EFORMAT, "%.*s: /%s/%s/%s holds unknown state %u",
                             SCHEMA_PATH_QUOTE, f->path, SCHEMA_RUNS, f->runs[run].name,
                             SCHEMA_RUN_STATE, value);
    if (ds >= 0)
        H5Dclose(ds);
    schema_quiet_end(&quiet);
    if (rc == LARCH_OK)
        *state = (results_run_state)value;
    return rc;
}

int results_file_read_checkpoint(results_file *f, uint32_t run, void **bytes, size_t *size,
                                 uint64_t *trials, larch_error *err)
{
    if (!bytes || !size)
        return larch_error_set(err, LARCH_EINVAL, "results_file_read_checkpoint: NULL argument");
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    uint64_t valid = 0;
    hsize_t capacity = 0;
    uint8_t *buf = NULL;
    int rc = LARCH_OK;
    hid_t size_ds = open_run_dataset(f, run, SCHEMA_CHECKPOINT_SIZE, err);
    hid_t ds = size_ds < 0 ? H5I_INVALID_HID : open_run_dataset(f, run, SCHEMA_CHECKPOINT, err);
    if (ds < 0)
        rc = err ? err->status : LARCH_EFORMAT;
    else if (H5Dread(size_ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &valid) < 0 ||
             h5u_dataset_dims(ds, 1, &capacity) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read the checkpoint of /%s/%s",
                         SCHEMA_RUNS, f->runs[run].name);
    else if (valid > capacity)
        rc = larch_error_set(
            err, LARCH_EFORMAT, "%.*s: /%s/%s: %s is %llu bytes but %s holds only %llu",
            SCHEMA_PATH_QUOTE, f->path, SCHEMA_RUNS, f->runs[run].name, SCHEMA_CHECKPOINT_SIZE,
            (unsigned long long)valid, SCHEMA_CHECKPOINT, (unsigned long long)capacity);
    else if (valid && !(buf = malloc((size_t)valid)))
        rc = larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory for a %llu-byte checkpoint",
                             SCHEMA_PATH_QUOTE, f->path, (unsigned long long)valid);
    else if (valid && h5u_read_rows(ds, 0, valid, 0, H5T_NATIVE_UINT8, buf) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read /%s/%s/%s", SCHEMA_RUNS,
                         f->runs[run].name, SCHEMA_CHECKPOINT);
    uint64_t told = RESULTS_UNKNOWN_TRIALS;
    if (rc == LARCH_OK && trials && has_run_dataset(f, run, SCHEMA_CHECKPOINT_TRIALS)) {
        hid_t told_ds = open_run_dataset(f, run, SCHEMA_CHECKPOINT_TRIALS, err);
        if (told_ds < 0 ||
            H5Dread(told_ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &told) < 0)
            rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read /%s/%s/%s", SCHEMA_RUNS,
                             f->runs[run].name, SCHEMA_CHECKPOINT_TRIALS);
        if (told_ds >= 0)
            H5Dclose(told_ds);
    }
    if (ds >= 0)
        H5Dclose(ds);
    if (size_ds >= 0)
        H5Dclose(size_ds);
    schema_quiet_end(&quiet);
    if (rc != LARCH_OK) {
        free(buf);
        return rc;
    }
    if (trials)
        *trials = told;
    *bytes = buf;
    *size = (size_t)valid;
    return LARCH_OK;
}

/* Reads row `trial` of a [rows x width] dataset of the run into out. */
static int read_run_rows(results_file *f, uint32_t run, const char *name, uint64_t trial,
                         uint64_t n, hsize_t width, hid_t mem_type, void *out, larch_error *err)
{
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    hsize_t dims[2] = {0, 0};
    int rc = LARCH_OK;
    hid_t ds = open_run_dataset(f, run, name, err);
    if (ds < 0)
        rc = err ? err->status : LARCH_EFORMAT;
    else if (h5u_dataset_dims(ds, 2, dims) < 0 || dims[1] != width)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "/%s/%s/%s is not %llu wide", SCHEMA_RUNS,
                         f->runs[run].name, name, (unsigned long long)width);
    else if (trial + n > dims[0])
        rc = larch_error_set(err, LARCH_ERANGE, "%.*s: /%s/%s/%s has no row %llu (%llu rows)",
                             SCHEMA_PATH_QUOTE, f->path, SCHEMA_RUNS, f->runs[run].name, name,
                             (unsigned long long)(trial + n - 1), (unsigned long long)dims[0]);
    else if (n && h5u_read_rows(ds, trial, n, width, mem_type, out) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path, "cannot read row %llu of /%s/%s/%s",
                         (unsigned long long)trial, SCHEMA_RUNS, f->runs[run].name, name);
    if (ds >= 0)
        H5Dclose(ds);
    schema_quiet_end(&quiet);
    return rc;
}

int results_file_read_arch(results_file *f, uint32_t run, uint64_t trial, larch_arch *arch,
                           larch_error *err)
{
    if (!f || !arch)
        return larch_error_set(err, LARCH_EINVAL, "results_file_read_arch: NULL argument");
    larch_arch a;
    memset(&a, 0, sizeof a);
    a.n = f->space.n_decisions;
    int rc = read_run_rows(f, run, SCHEMA_ARCH, trial, 1, a.n, H5T_NATIVE_UINT8, a.choice, err);
    if (rc != LARCH_OK)
        return rc;
    for (uint32_t d = 0; d < a.n; d++)
        if (a.choice[d] >= f->space.decisions[d].n_choices)
            return larch_error_set(err, LARCH_EFORMAT,
                                   "%.*s: /%s/%s/%s row %llu: choice %u of decision %u is out of "
                                   "range (%u choices; %u means never written)",
                                   SCHEMA_PATH_QUOTE, f->path, SCHEMA_RUNS, f->runs[run].name,
                                   SCHEMA_ARCH, (unsigned long long)trial, a.choice[d], d,
                                   f->space.decisions[d].n_choices, SCHEMA_FILL_CHOICE);
    *arch = a;
    return LARCH_OK;
}

int results_file_read_curves(results_file *f, uint32_t run, uint64_t trial, float *train_loss,
                             float *val_curve, larch_error *err)
{
    if (!f)
        return larch_error_set(err, LARCH_EINVAL, "results_file_read_curves: NULL file");
    /* The datasets are one column wide when max_epochs is 0. */
    hsize_t width = f->max_epochs ? f->max_epochs : 1;
    float *row = malloc(width * sizeof *row);
    if (!row)
        return larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory", SCHEMA_PATH_QUOTE,
                               f->path);
    int rc = LARCH_OK;
    const char *names[2] = {SCHEMA_TRAIN_LOSS, SCHEMA_VAL_CURVE};
    float *outs[2] = {train_loss, val_curve};
    for (int i = 0; rc == LARCH_OK && i < 2; i++) {
        if (!outs[i])
            continue;
        rc = read_run_rows(f, run, names[i], trial, 1, width, H5T_NATIVE_FLOAT, row, err);
        if (rc == LARCH_OK && f->max_epochs)
            memcpy(outs[i], row, f->max_epochs * sizeof *row);
    }
    free(row);
    return rc;
}

uint32_t results_file_curve_width(const results_file *f)
{
    return f && f->max_epochs ? f->max_epochs : 1;
}

int results_file_read_curve_rows(results_file *f, uint32_t run, uint64_t first, uint64_t n,
                                 float *train_loss, float *val_curve, larch_error *err)
{
    if (!f || !train_loss || !val_curve)
        return larch_error_set(err, LARCH_EINVAL, "results_file_read_curve_rows: NULL argument");
    hsize_t width = results_file_curve_width(f);
    int rc = read_run_rows(f, run, SCHEMA_TRAIN_LOSS, first, n, width, H5T_NATIVE_FLOAT, train_loss,
                           err);
    if (rc == LARCH_OK)
        rc = read_run_rows(f, run, SCHEMA_VAL_CURVE, first, n, width, H5T_NATIVE_FLOAT, val_curve,
                           err);
    return rc;
}

int results_file_root_double(results_file *f, const char *name, double *out, larch_error *err)
{
    if (!f || !name || !out)
        return larch_error_set(err, LARCH_EINVAL, "results_file_root_double: NULL argument");
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    int rc = LARCH_OK;
    htri_t exists = H5Aexists(f->file, name);
    if (exists == 0)
        rc = larch_error_set(err, LARCH_ENOTFOUND, "%.*s: no root attribute '%s'",
                             SCHEMA_PATH_QUOTE, f->path, name);
    else if (exists < 0 || h5u_read_attr(f->file, name, H5T_NATIVE_DOUBLE, out) < 0)
        rc = schema_fail(err, LARCH_EFORMAT, f->path,
                         "cannot read the root attribute '%s' as a "
                         "number",
                         name);
    schema_quiet_end(&quiet);
    return rc;
}

int results_file_root_string(results_file *f, const char *name, char **out, larch_error *err)
{
    if (!f || !name || !out)
        return larch_error_set(err, LARCH_EINVAL, "results_file_root_string: NULL argument");
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    int rc = LARCH_OK;
    char *text = NULL;
    htri_t exists = H5Aexists(f->file, name);
    if (exists == 0)
        rc = larch_error_set(err, LARCH_ENOTFOUND, "%.*s: no root attribute '%s'",
                             SCHEMA_PATH_QUOTE, f->path, name);
    else if (exists < 0 || !(text = h5u_read_string_attr(f->file, name)))
        rc = schema_fail(err, LARCH_EFORMAT, f->path,
                         "cannot read the root attribute '%s' as a string", name);
    schema_quiet_end(&quiet);
    if (rc == LARCH_OK)
        *out = text;
    return rc;
}
