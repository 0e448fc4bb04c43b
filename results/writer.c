/* The experiment file writer: everything is created up front, then SWMR appends with two
 * flushed phases per trial (docs/RESULTS-FORMAT.md, /work/shared/notes-hdf5.md). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <larch/strategy.h>

#include "h5util.h"
#include "results.h"
#include "schema.h"

/* A run's datasets are open only while the run is being written (see open_run). */
typedef struct writer_run {
    hid_t trials, arch, train_loss, val_curve, run_state, checkpoint, checkpoint_size,
        checkpoint_trials;
    uint64_t n_trials;            /* rows of `trials` written */
    uint64_t checkpoint_capacity; /* current extent of `checkpoint` */
    char name[RESULTS_NAME_SIZE];
} writer_run;

struct results_writer {
    hid_t file;
    hid_t trial_type;     /* memory layout of results_trial */
    hid_t run_state_type; /* memory enum */
    uint32_t n_decisions;
    uint8_t n_choices[LARCH_MAX_DECISIONS];
    uint32_t max_epochs;
    uint32_t curve_width; /* max(max_epochs, 1): a dataset dimension cannot be 0 wide */
    uint32_t n_runs;
    writer_run *runs;
    float *curve_row; /* scratch row, curve_width floats */
    /* Scratch of append_block, grown to the largest block so far. */
    size_t block_capacity;
    results_trial *block_rows;
    uint8_t *block_arch;
    float *block_loss, *block_val;
    char *path;
};

/* Closes the run's datasets (those open); returns nonzero if a close failed. */
static int close_run(writer_run *r)
{
    int failed = 0;
    h5u_close_id(&r->trials, H5Dclose, &failed);
    h5u_close_id(&r->arch, H5Dclose, &failed);
    h5u_close_id(&r->train_loss, H5Dclose, &failed);
    h5u_close_id(&r->val_curve, H5Dclose, &failed);
    h5u_close_id(&r->run_state, H5Dclose, &failed);
    h5u_close_id(&r->checkpoint, H5Dclose, &failed);
    h5u_close_id(&r->checkpoint_size, H5Dclose, &failed);
    h5u_close_id(&r->checkpoint_trials, H5Dclose, &failed);
    return failed;
}

/* Closes every handle of w (a results_writer) and frees it; returns nonzero if a close failed. */
static int destroy(void *obj)
{
    results_writer *w = obj;
    int failed = 0;
    for (uint32_t i = 0; w->runs && i < w->n_runs; i++)
        if (close_run(&w->runs[i]))
            failed = 1;
    h5u_close_id(&w->trial_type, H5Tclose, &failed);
    h5u_close_id(&w->run_state_type, H5Tclose, &failed);
    h5u_close_id(&w->file, H5Fclose, &failed);
    free(w->runs);
    free(w->curve_row);
    free(w->block_rows);
    free(w->block_arch);
    free(w->block_loss);
    free(w->block_val);
    free(w->path);
    free(w);
    return failed;
}

/* ---- creation helpers: each returns 0 or -1 with HDF5's error stack describing why ---- */

/* A scalar dataset holding value; returns the open dataset (kept for later overwrites). */
static hid_t create_scalar(hid_t group, const char *name, hid_t file_type, hid_t mem_type,
                           const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return H5I_INVALID_HID;
    hid_t ds = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(space);
    if (ds >= 0 && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value) < 0) {
        H5Dclose(ds);
        return H5I_INVALID_HID;
    }
    return ds;
}

/* An empty extendible dataset of rank 1 (width 0) or 2 ([0 x width]), chunked by chunk_rows,
 * with the given fill value for rows extended but not yet written. */
static hid_t create_extendible(hid_t group, const char *name, hid_t file_type, hsize_t width,
                               hsize_t chunk_rows, hid_t fill_type, const void *fill)
{
    hsize_t dims[2] = {0, width}, maxdims[2] = {H5S_UNLIMITED, width};
    hsize_t chunk[2] = {chunk_rows, width};
    return h5u_create_filled(group, name, file_type, width ? 2 : 1, dims, maxdims, chunk, fill_type,
                             fill);
}

static int write_root(results_writer *w, const results_experiment_info *info)
{
    char created[32];
    h5u_now_iso(created);
    hid_t root = w->file;
    if (h5u_write_i32_attr(root, SCHEMA_ATTR_VERSION, RESULTS_SCHEMA_VERSION) < 0 ||
        h5u_write_string_attr(root, SCHEMA_ATTR_LARCH_VERSION, info->larch_version) < 0 ||
        h5u_write_string_attr(root, SCHEMA_ATTR_CREATED, created) < 0 ||
        h5u_write_string_attr(root, SCHEMA_ATTR_OBJECTIVE, info->objective) < 0 ||
        h5u_write_u64_attr(root, SCHEMA_ATTR_SEED, info->seed) < 0 ||
        h5u_write_string_attr(root, SCHEMA_ATTR_CONFIG_PATH, info->config_path) < 0 ||
        h5u_write_u32_attr(root, SCHEMA_ATTR_MAX_EPOCHS, info->max_epochs) < 0 ||
        h5u_write_u32_attr(root, SCHEMA_ATTR_N_RUNS, info->n_runs) < 0)
        return -1;
    if (info->table_path &&
        (h5u_write_string_attr(root, SCHEMA_ATTR_TABLE_PATH, info->table_path) < 0 ||
         h5u_write_f64_attr(root, SCHEMA_ATTR_TABLE_BEST_VAL, info->table_best_val_accuracy) < 0 ||
         h5u_write_f64_attr(root, SCHEMA_ATTR_TABLE_BEST_TEST, info->table_best_test_accuracy) < 0))
        return -1;
    return h5u_write_text(root, SCHEMA_CONFIG, info->config_text);
}

/* Creates /runs/<name> with its attributes and datasets; the datasets stay open in r. */
static int create_run(results_writer *w, hid_t runs, writer_run *r, const results_run_info *info,
                      uint32_t index, hid_t trial_file_type, hid_t run_state_file_type)
{
    hid_t group = H5Gcreate2(runs, info->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0)
        return -1;
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", info->abi_major, info->abi_minor);
    int rc = -1;
    if (h5u_write_string_attr(group, SCHEMA_ATTR_STRATEGY, info->strategy) < 0 ||
        h5u_write_string_attr(group, SCHEMA_ATTR_STRATEGY_VERSION, info->strategy_version) < 0 ||
        h5u_write_string_attr(group, SCHEMA_ATTR_PLUGIN,
                              info->plugin[0] ? info->plugin : info->strategy) < 0 ||
        h5u_write_string_attr(group, SCHEMA_ATTR_ABI_VERSION, abi) < 0 ||
        h5u_write_u64_attr(group, SCHEMA_ATTR_SEED, info->seed) < 0 ||
        h5u_write_u32_attr(group, SCHEMA_ATTR_SEED_INDEX, info->seed_index) < 0 ||
        h5u_write_u32_attr(group, SCHEMA_ATTR_RUN_INDEX, index) < 0 ||
        h5u_write_string_attr(group, SCHEMA_ATTR_EVALUATOR,
                              info->evaluator[0] ? info->evaluator : "train") < 0)
        goto out;

    results_trial fill_row;
    memset(&fill_row, 0, sizeof fill_row);
    fill_row.trial = SCHEMA_FILL_TRIAL;
    fill_row.run = index;
    uint8_t fill_choice = SCHEMA_FILL_CHOICE;
    float fill_nan = NAN;
    uint8_t zero_u8 = 0;
    uint64_t zero_u64 = 0;
    uint8_t pending = RESULTS_RUN_PENDING;

    r->trials = create_extendible(group, SCHEMA_TRIALS, trial_file_type, 0, SCHEMA_CHUNK_ROWS,
                                  w->trial_type, &fill_row);
    if (r->trials < 0)
        goto out;
    r->arch = create_extendible(group, SCHEMA_ARCH, H5T_STD_U8LE, w->n_decisions, SCHEMA_CHUNK_ROWS,
                                H5T_NATIVE_UINT8, &fill_choice);
    if (r->arch < 0)
        goto out;
    r->train_loss = create_extendible(group, SCHEMA_TRAIN_LOSS, H5T_IEEE_F32LE, w->curve_width,
                                      SCHEMA_CHUNK_ROWS, H5T_NATIVE_FLOAT, &fill_nan);
    if (r->train_loss < 0)
        goto out;
    r->val_curve = create_extendible(group, SCHEMA_VAL_CURVE, H5T_IEEE_F32LE, w->curve_width,
                                     SCHEMA_CHUNK_ROWS, H5T_NATIVE_FLOAT, &fill_nan);
    if (r->val_curve < 0)
        goto out;
    r->run_state =
        create_scalar(group, SCHEMA_RUN_STATE, run_state_file_type, w->run_state_type, &pending);
    if (r->run_state < 0)
        goto out;
    r->checkpoint = create_extendible(group, SCHEMA_CHECKPOINT, H5T_STD_U8LE, 0,
                                      SCHEMA_CHECKPOINT_CHUNK, H5T_NATIVE_UINT8, &zero_u8);
    if (r->checkpoint < 0)
        goto out;
    r->checkpoint_size =
        create_scalar(group, SCHEMA_CHECKPOINT_SIZE, H5T_STD_U64LE, H5T_NATIVE_UINT64, &zero_u64);
    if (r->checkpoint_size < 0)
        goto out;
    r->checkpoint_trials =
        create_scalar(group, SCHEMA_CHECKPOINT_TRIALS, H5T_STD_U64LE, H5T_NATIVE_UINT64, &zero_u64);
    if (r->checkpoint_trials < 0)
        goto out;
    rc = 0;
out:
    if (H5Gclose(group) < 0)
        rc = -1;
    return rc;
}

/* ---- argument checks (before touching the file) ---- */

static int terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static int check_info(const char *path, const results_experiment_info *info, larch_error *err)
{
    int rc = h5u_check_space(path, info->space, err);
    if (rc != LARCH_OK)
        return rc;
    if (info->n_runs == 0 || !info->runs)
        return larch_error_set(err, LARCH_EINVAL, "%s: no runs given", path);
    for (uint32_t i = 0; i < info->n_runs; i++) {
        const results_run_info *r = &info->runs[i];
        if (!terminated(r->name, sizeof r->name) || !terminated(r->strategy, sizeof r->strategy) ||
            !terminated(r->strategy_version, sizeof r->strategy_version) ||
            !terminated(r->plugin, sizeof r->plugin) ||
            !terminated(r->evaluator, sizeof r->evaluator))
            return larch_error_set(err, LARCH_EINVAL, "%s: run %u: a name is not NUL-terminated",
                                   path, i);
        if (!r->name[0] || strchr(r->name, '/') || !strcmp(r->name, "."))
            return larch_error_set(err, LARCH_EINVAL,
                                   "%s: run %u: name '%s' is not a valid group name (non-empty, "
                                   "no '/')",
                                   path, i, r->name);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(r->name, info->runs[j].name))
                return larch_error_set(err, LARCH_EINVAL, "%s: runs %u and %u are both named '%s'",
                                       path, j, i, r->name);
    }
    return LARCH_OK;
}

/* A writer for info with nothing open yet (the file and the memory types are the caller's to
 * set up); NULL with err set after a bad argument or out of memory. */
static results_writer *writer_new(const char *path, const results_experiment_info *info,
                                  const char *fn, larch_error *err)
{
    if (!path || !info) {
        larch_error_set(err, LARCH_EINVAL, "%s: NULL argument", fn);
        return NULL;
    }
    if (check_info(path, info, err) != LARCH_OK)
        return NULL;
    results_writer *w = calloc(1, sizeof *w);
    if (!w) {
        larch_error_set(err, LARCH_ENOMEM, "%s: out of memory for the writer", path);
        return NULL;
    }
    w->file = w->trial_type = w->run_state_type = H5I_INVALID_HID;
    w->n_decisions = info->space->n_decisions;
    for (uint32_t d = 0; d < w->n_decisions; d++)
        w->n_choices[d] = (uint8_t)info->space->decisions[d].n_choices;
    w->max_epochs = info->max_epochs;
    w->curve_width = info->max_epochs ? info->max_epochs : 1;
    w->path = strdup(path);
    w->curve_row = malloc(w->curve_width * sizeof *w->curve_row);
    w->runs = calloc(info->n_runs, sizeof *w->runs);
    if (!w->path || !w->curve_row || !w->runs) {
        destroy(w);
        larch_error_set(err, LARCH_ENOMEM, "%s: out of memory for the writer", path);
        return NULL;
    }
    w->n_runs = info->n_runs;
    for (uint32_t i = 0; i < w->n_runs; i++) {
        writer_run *r = &w->runs[i];
        r->trials = r->arch = r->train_loss = r->val_curve = H5I_INVALID_HID;
        r->run_state = r->checkpoint = r->checkpoint_size = r->checkpoint_trials = H5I_INVALID_HID;
        memcpy(r->name, info->runs[i].name, sizeof r->name);
    }
    return w;
}

/* The file-access properties of a writer: the latest format (SWMR needs it) and evict on close
 * (see open_run). */
static hid_t writer_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && (H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0 ||
                      H5Pset_evict_on_close(fapl, 1) < 0)) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

int results_writer_create(const char *path, const results_experiment_info *info,
                          results_writer **out, larch_error *err)
{
    if (!out)
        return larch_error_set(err, LARCH_EINVAL, "results_writer_create: NULL argument");
    results_writer *w = writer_new(path, info, "results_writer_create", err);
    if (!w)
        return err->status;
    int rc = LARCH_OK;
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    const char *what = NULL;
    hid_t fapl = writer_fapl();
    hid_t trial_file_type = schema_trial_type(1);
    hid_t run_state_file_type = schema_run_state_type();
    hid_t runs = H5I_INVALID_HID;
    w->trial_type = schema_trial_type(0);
    w->run_state_type = schema_run_state_type();
    if (fapl < 0 || trial_file_type < 0 || run_state_file_type < 0 || w->trial_type < 0 ||
        w->run_state_type < 0) {
        what = "cannot set up HDF5 types and properties";
        goto out;
    }
    errno = 0;
    w->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (w->file < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        /* HDF5 locks the files it opens: a reader (h5py, larch report) still has it open. */
        rc = larch_error_set(err, LARCH_EIO,
                             "%.*s: cannot create the file: another process has it open "
                             "(HDF5 locks open files); close it there or write another file",
                             SCHEMA_PATH_QUOTE, path);
        goto out;
    }
    if (w->file < 0) {
        what = "cannot create the file";
        goto out;
    }
    if (write_root(w, info) < 0) {
        what = "cannot write the root attributes and /config";
        goto out;
    }
    if (h5u_write_space(w->file, info->space) < 0) {
        what = "cannot write /space";
        goto out;
    }
    runs = H5Gcreate2(w->file, SCHEMA_RUNS, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (runs < 0) {
        what = "cannot create /runs";
        goto out;
    }
    for (uint32_t i = 0; i < w->n_runs; i++)
        if (create_run(w, runs, &w->runs[i], &info->runs[i], i, trial_file_type,
                       run_state_file_type) < 0 ||
            close_run(&w->runs[i])) {
            rc = schema_fail(err, LARCH_EIO, path, "cannot create /runs/%s", info->runs[i].name);
            goto out;
        }
    H5Gclose(runs);
    runs = H5I_INVALID_HID;
    /* Everything exists now: objects created after this point would be unsupported. */
    if (H5Fstart_swmr_write(w->file) < 0) {
        what = "cannot start SWMR writing";
        goto out;
    }
out:
    if (what)
        rc = schema_fail(err, LARCH_EIO, path, "%s", what);
    if (runs >= 0)
        H5Gclose(runs);
    if (trial_file_type >= 0)
        H5Tclose(trial_file_type);
    if (run_state_file_type >= 0)
        H5Tclose(run_state_file_type);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (rc != LARCH_OK)
        destroy(w);
    else
        *out = w;
    schema_quiet_end(&quiet);
    return rc;
}

/* ---- appending ---- */

/* Extends ds to `row`+`n` rows (never shrinks it: a failed append may have left it longer) and
 * writes n rows of `width` elements from row `row` (width 0: a 1-D dataset). */
static int write_rows(hid_t ds, uint64_t row, hsize_t n, hsize_t width, hid_t mem_type,
                      const void *data)
{
    hsize_t dims[2];
    if (h5u_dataset_dims(ds, width ? 2 : 1, dims) < 0)
        return -1;
    if (dims[0] < row + n) {
        dims[0] = row + n;
        if (H5Dset_extent(ds, dims) < 0)
            return -1;
    }
    return h5u_write_rows(ds, row, n, width, mem_type, data);
}

static int write_row(hid_t ds, uint64_t row, hsize_t width, hid_t mem_type, const void *data)
{
    return write_rows(ds, row, 1, width, mem_type, data);
}

/* out (curve_width floats) := the n values, NaN after them. */
static void pad_curve(const results_writer *w, float *out, const float *values, uint32_t n)
{
    for (uint32_t e = 0; e < w->curve_width; e++)
        out[e] = values && e < n ? values[e] : NAN;
}

static int write_curve(results_writer *w, hid_t ds, uint64_t row, const float *values, uint32_t n)
{
    pad_curve(w, w->curve_row, values, n);
    return write_row(ds, row, w->curve_width, H5T_NATIVE_FLOAT, w->curve_row);
}

/* Opens the run's datasets unless open. A metadata flush takes time in proportion to the entries
 * of HDF5's metadata cache (HDF5 1.10 scans them all), and an open dataset keeps its entries
 * there: with every run's datasets open, a replay of hundreds of short runs spent most of its
 * time flushing. So a run is opened on first use and closed when it ends
 * (results_writer_set_run_state), and the file evicts what a close releases. */
static int open_run(const results_writer *w, writer_run *r)
{
    if (r->trials >= 0)
        return 0;
    hid_t group = H5Gopen2(w->file, SCHEMA_RUNS, H5P_DEFAULT);
    hid_t run = group < 0 ? H5I_INVALID_HID : H5Gopen2(group, r->name, H5P_DEFAULT);
    int rc = run < 0 ? -1 : 0;
    struct {
        hid_t *id;
        const char *name;
    } sets[] = {{&r->trials, SCHEMA_TRIALS},
                {&r->arch, SCHEMA_ARCH},
                {&r->train_loss, SCHEMA_TRAIN_LOSS},
                {&r->val_curve, SCHEMA_VAL_CURVE},
                {&r->run_state, SCHEMA_RUN_STATE},
                {&r->checkpoint, SCHEMA_CHECKPOINT},
                {&r->checkpoint_size, SCHEMA_CHECKPOINT_SIZE},
                {&r->checkpoint_trials, SCHEMA_CHECKPOINT_TRIALS}};
    for (size_t i = 0; rc == 0 && i < sizeof sets / sizeof sets[0]; i++)
        if ((*sets[i].id = H5Dopen2(run, sets[i].name, H5P_DEFAULT)) < 0)
            rc = -1;
    if (run >= 0)
        H5Gclose(run);
    if (group >= 0)
        H5Gclose(group);
    if (rc < 0)
        close_run(r);
    return rc;
}

/* Checks run and opens its datasets. */
static int check_run(results_writer *w, uint32_t run, const char *fn, larch_error *err)
{
    if (!w)
        return larch_error_set(err, LARCH_EINVAL, "%s: NULL writer", fn);
    if (run >= w->n_runs)
        return larch_error_set(err, LARCH_ERANGE, "%s: %s: run %u does not exist (%u runs)",
                               w->path, fn, run, w->n_runs);
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    int rc = LARCH_OK;
    if (open_run(w, &w->runs[run]) < 0)
        rc = schema_fail(err, LARCH_EIO, w->path, "cannot open the datasets of /%s/%s", SCHEMA_RUNS,
                         w->runs[run].name);
    schema_quiet_end(&quiet);
    return rc;
}

/* Flushes one dataset: its chunks, then its metadata (extent, chunk index), which is all a SWMR
 * reader needs to see what was written. H5Fflush would do the same for every open dataset of the
 * file, a cost that grows with the number of runs (thousands of datasets in a large replay). */
static int flush_dataset(hid_t ds)
{
    return H5Dflush(ds) < 0 ? -1 : 0;
}

/* Phase 1 of an append: the rows a trials row refers to. */
static int flush_referenced(const writer_run *r)
{
    return flush_dataset(r->arch) < 0 || flush_dataset(r->train_loss) < 0 ||
                   flush_dataset(r->val_curve) < 0
               ? -1
               : 0;
}

/* The checks of one row that is to become trial `expected` of run `run` (valid). */
static int check_row(const results_writer *w, uint32_t run, const results_trial *row,
                     const larch_arch *arch, uint64_t expected, larch_error *err)
{
    const writer_run *r = &w->runs[run];
    if (row->run != run || row->trial != expected)
        return larch_error_set(err, LARCH_EINVAL,
                               "%s: append to run %u (%s): row says run %u trial %llu, expected "
                               "run %u trial %llu",
                               w->path, run, r->name, row->run, (unsigned long long)row->trial, run,
                               (unsigned long long)expected);
    if (arch->n != w->n_decisions)
        return larch_error_set(err, LARCH_EINVAL,
                               "%s: append to run %s: arch has %u decisions, the space %u", w->path,
                               r->name, arch->n, w->n_decisions);
    for (uint32_t d = 0; d < arch->n; d++)
        if (arch->choice[d] >= w->n_choices[d])
            return larch_error_set(err, LARCH_ERANGE,
                                   "%s: append to run %s: choice %u of decision %u is out of "
                                   "range (%u choices)",
                                   w->path, r->name, arch->choice[d], d, w->n_choices[d]);
    if (row->n_epochs > w->max_epochs)
        return larch_error_set(
            err, LARCH_ERANGE, "%s: append to run %s: trial %llu has %u epochs, max_epochs is %u",
            w->path, r->name, (unsigned long long)row->trial, row->n_epochs, w->max_epochs);
    if (row->status > LARCH_TRIAL_TIMEOUT)
        return larch_error_set(err, LARCH_EINVAL, "%s: append to run %s: unknown status %u",
                               w->path, r->name, row->status);
    return LARCH_OK;
}

int results_writer_append(results_writer *w, uint32_t run, const results_trial *row,
                          const larch_arch *arch, const float *train_loss, const float *val_curve,
                          larch_error *err)
{
    int rc = check_run(w, run, "append", err);
    if (rc != LARCH_OK)
        return rc;
    writer_run *r = &w->runs[run];
    if (!row || !arch)
        return larch_error_set(err, LARCH_EINVAL, "%s: append: NULL row or arch", w->path);
    rc = check_row(w, run, row, arch, r->n_trials, err);
    if (rc != LARCH_OK)
        return rc;
    results_trial copy = *row;
    larch_arch_to_string(arch, copy.arch);

    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    const char *what = NULL;
    /* Phase 1: the rows a trials row refers to, flushed before the trials row exists. */
    if (write_row(r->arch, row->trial, w->n_decisions, H5T_NATIVE_UINT8, arch->choice) < 0)
        what = SCHEMA_ARCH;
    else if (write_curve(w, r->train_loss, row->trial, train_loss, row->n_epochs) < 0)
        what = SCHEMA_TRAIN_LOSS;
    else if (write_curve(w, r->val_curve, row->trial, val_curve, row->n_epochs) < 0)
        what = SCHEMA_VAL_CURVE;
    else if (flush_referenced(r) < 0)
        what = "flush";
    /* Phase 2: the trials row itself. */
    else if (write_row(r->trials, row->trial, 0, w->trial_type, &copy) < 0)
        what = SCHEMA_TRIALS;
    else if (flush_dataset(r->trials) < 0)
        what = "flush";
    if (what)
        rc = schema_fail(err, LARCH_EIO, w->path, "cannot append trial %llu to /runs/%s/%s",
                         (unsigned long long)row->trial, r->name, what);
    else
        r->n_trials++;
    schema_quiet_end(&quiet);
    return rc;
}

/* Grows the append_block scratch to n rows; 0 or -1 (out of memory: the old scratch stays). */
static int reserve_block(results_writer *w, size_t n)
{
    if (n <= w->block_capacity)
        return 0;
    size_t curves = w->curve_width * sizeof(float);
    if (n > SIZE_MAX / (sizeof(results_trial) + LARCH_MAX_DECISIONS + 2 * curves))
        return -1;
    results_trial *rows = malloc(n * sizeof *rows);
    uint8_t *arch = malloc(n * LARCH_MAX_DECISIONS);
    float *loss = malloc(n * curves), *val = malloc(n * curves);
    if (!rows || !arch || !loss || !val) {
        free(rows);
        free(arch);
        free(loss);
        free(val);
        return -1;
    }
    free(w->block_rows);
    free(w->block_arch);
    free(w->block_loss);
    free(w->block_val);
    w->block_rows = rows;
    w->block_arch = arch;
    w->block_loss = loss;
    w->block_val = val;
    w->block_capacity = n;
    return 0;
}

int results_writer_append_block(results_writer *w, uint32_t run, const results_trial *rows,
                                const larch_arch *archs, size_t n, const float *const *train_loss,
                                const float *const *val_curve, larch_error *err)
{
    int rc = check_run(w, run, "append_block", err);
    if (rc != LARCH_OK || n == 0)
        return rc;
    writer_run *r = &w->runs[run];
    if (!rows || !archs)
        return larch_error_set(err, LARCH_EINVAL, "%s: append_block: NULL rows or archs", w->path);
    for (size_t i = 0; i < n; i++) {
        rc = check_row(w, run, &rows[i], &archs[i], r->n_trials + i, err);
        if (rc != LARCH_OK)
            return rc;
    }
    if (reserve_block(w, n) < 0)
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory for a block of %zu trials",
                               w->path, n);
    uint32_t width = w->curve_width;
    for (size_t i = 0; i < n; i++) {
        w->block_rows[i] = rows[i];
        larch_arch_to_string(&archs[i], w->block_rows[i].arch);
        memcpy(w->block_arch + i * w->n_decisions, archs[i].choice, w->n_decisions);
        pad_curve(w, w->block_loss + i * width, train_loss ? train_loss[i] : NULL,
                  rows[i].n_epochs);
        pad_curve(w, w->block_val + i * width, val_curve ? val_curve[i] : NULL, rows[i].n_epochs);
    }

    uint64_t first = r->n_trials;
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    const char *what = NULL;
    /* The same two phases as a single append: no trials row before its arch and curves. */
    if (write_rows(r->arch, first, n, w->n_decisions, H5T_NATIVE_UINT8, w->block_arch) < 0)
        what = SCHEMA_ARCH;
    else if (write_rows(r->train_loss, first, n, width, H5T_NATIVE_FLOAT, w->block_loss) < 0)
        what = SCHEMA_TRAIN_LOSS;
    else if (write_rows(r->val_curve, first, n, width, H5T_NATIVE_FLOAT, w->block_val) < 0)
        what = SCHEMA_VAL_CURVE;
    else if (flush_referenced(r) < 0)
        what = "flush";
    else if (write_rows(r->trials, first, n, 0, w->trial_type, w->block_rows) < 0)
        what = SCHEMA_TRIALS;
    else if (flush_dataset(r->trials) < 0)
        what = "flush";
    if (what)
        rc = schema_fail(err, LARCH_EIO, w->path, "cannot append trials %llu..%llu to /runs/%s/%s",
                         (unsigned long long)first, (unsigned long long)(first + n - 1), r->name,
                         what);
    else
        r->n_trials += n;
    schema_quiet_end(&quiet);
    return rc;
}

int results_writer_set_run_state(results_writer *w, uint32_t run, results_run_state state,
                                 larch_error *err)
{
    int rc = check_run(w, run, "set_run_state", err);
    if (rc != LARCH_OK)
        return rc;
    if ((unsigned)state > RESULTS_RUN_ABORTED)
        return larch_error_set(err, LARCH_EINVAL, "%s: run state %d is not one of 0..%d", w->path,
                               (int)state, RESULTS_RUN_ABORTED);
    uint8_t value = (uint8_t)state;
    writer_run *r = &w->runs[run];
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    if (H5Dwrite(r->run_state, w->run_state_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0 ||
        flush_dataset(r->run_state) < 0)
        rc = schema_fail(err, LARCH_EIO, w->path, "cannot write /runs/%s/%s", r->name,
                         SCHEMA_RUN_STATE);
    /* A run that ended is normally not written again (if it is, it is reopened). */
    else if ((state == RESULTS_RUN_FINISHED || state == RESULTS_RUN_ABORTED) && close_run(r))
        rc = schema_fail(err, LARCH_EIO, w->path, "cannot close the datasets of /%s/%s",
                         SCHEMA_RUNS, r->name);
    schema_quiet_end(&quiet);
    return rc;
}

static int write_u64_scalar(hid_t ds, uint64_t value)
{
    if (H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
        return -1;
    return flush_dataset(ds);
}

static int write_checkpoint_bytes(writer_run *r, const void *bytes, hsize_t size)
{
    if (r->checkpoint_capacity < size) {
        if (H5Dset_extent(r->checkpoint, &size) < 0)
            return -1;
        r->checkpoint_capacity = size;
    }
    if (h5u_write_rows(r->checkpoint, 0, size, 0, H5T_NATIVE_UINT8, bytes) < 0)
        return -1;
    return flush_dataset(r->checkpoint);
}

int results_writer_save_checkpoint(results_writer *w, uint32_t run, const void *bytes, size_t size,
                                   uint64_t trials, larch_error *err)
{
    int rc = check_run(w, run, "save_checkpoint", err);
    if (rc != LARCH_OK)
        return rc;
    if (size && !bytes)
        return larch_error_set(err, LARCH_EINVAL, "%s: checkpoint of %zu bytes with NULL data",
                               w->path, size);
    writer_run *r = &w->runs[run];
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    /* Size 0 first: the bytes (and their trial count) are overwritten in place, and a reader
     * must never take a mix of old and new for a checkpoint. */
    if (write_u64_scalar(r->checkpoint_size, 0) < 0 ||
        (size && write_checkpoint_bytes(r, bytes, size) < 0) ||
        write_u64_scalar(r->checkpoint_trials, trials) < 0 ||
        (size && write_u64_scalar(r->checkpoint_size, size) < 0))
        rc = schema_fail(err, LARCH_EIO, w->path,
                         "cannot save the checkpoint of /runs/%s (%zu bytes)", r->name, size);
    schema_quiet_end(&quiet);
    return rc;
}

int results_writer_close(results_writer *w, larch_error *err)
{
    return w ? h5u_close_writer(w->file, w->path, destroy, w, err) : LARCH_OK;
}
