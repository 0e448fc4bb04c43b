/* The tabular benchmark file: a writer that creates every dataset up front and then writes
 * rows in place under SWMR, and a reader that loads everything into memory
 * (docs/TABLE-FORMAT.md). */
#include "table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <hdf5.h>
#include <larch/strategy.h>

#include "h5util.h"
#include "schema.h"

/* Names only tables have; the rest (config, space, curves, larch_version, ...) are schema.h's. */
#define TABLE_ATTR_KIND "kind"
#define TABLE_ATTR_VERSION "table_schema_version"
#define TABLE_ATTR_RECIPE "recipe"
#define TABLE_ATTR_N_SEEDS "n_seeds"
#define TABLE_ATTR_N_UNIQUE "n_unique"
#define TABLE_ATTR_SPACE_SIZE "space_size"
#define TABLE_ARCHS "archs"
#define TABLE_ARCH_TO_UNIQUE "arch_to_unique"
#define TABLE_PARAMS "params"
#define TABLE_FLOPS "flops"
#define TABLE_RESULTS "results"

/* A /results row in memory: row r = unique * n_seeds + seed. */
typedef struct table_row {
    uint32_t unique, seed;
    table_result r;
} table_row;

static const h5u_field row_fields[] = {
    {"unique", offsetof(table_row, unique), H5U_U32},
    {"seed", offsetof(table_row, seed), H5U_U32},
    {"done", offsetof(table_row, r.done), H5U_U8},
    {"status", offsetof(table_row, r.status), H5U_STATUS},
    {"n_epochs", offsetof(table_row, r.n_epochs), H5U_U32},
    {"session", offsetof(table_row, r.session), H5U_U32},
    {"train_seed", offsetof(table_row, r.train_seed), H5U_U64},
    {"val_accuracy", offsetof(table_row, r.val_accuracy), H5U_F64},
    {"test_accuracy", offsetof(table_row, r.test_accuracy), H5U_F64},
    {"latency_ms", offsetof(table_row, r.latency_ms), H5U_F64},
    {"train_seconds", offsetof(table_row, r.train_seconds), H5U_F64},
    {"trained_at", offsetof(table_row, r.trained_at), H5U_F64},
};

/* The /results compound: packed little-endian for the file, table_row's layout in memory.
 * H5I_INVALID_HID on error. */
static hid_t row_type(int for_file)
{
    return h5u_compound_type(row_fields, sizeof row_fields / sizeof row_fields[0],
                             sizeof(table_row), for_file);
}

static uint64_t space_size(const larch_space *space)
{
    uint64_t size = 1;
    for (uint32_t d = 0; d < space->n_decisions; d++) {
        size *= space->decisions[d].n_choices;
        if (size > TABLE_MAX_SPACE_SIZE)
            return UINT64_MAX;
    }
    return size;
}

/* Mixed-radix index of a valid arch (decision 0 slowest, as larch_arch_from_index). */
static uint64_t arch_index(const larch_space *space, const larch_arch *arch)
{
    uint64_t index = 0;
    for (uint32_t d = 0; d < space->n_decisions; d++)
        index = index * space->decisions[d].n_choices + arch->choice[d];
    return index;
}

static int check_info(const char *path, const table_info *info, larch_error *err)
{
    const larch_space *sp = info->space;
    int rc = h5u_check_space(path, sp, err);
    if (rc != LARCH_OK)
        return rc;
    uint64_t size = space_size(sp);
    if (size == UINT64_MAX)
        return larch_error_set(err, LARCH_ERANGE,
                               "%s: the space has more than %u architectures, too many to tabulate",
                               path, TABLE_MAX_SPACE_SIZE);
    if (info->n_seeds < 1)
        return larch_error_set(err, LARCH_EINVAL, "%s: n_seeds is 0, expected at least 1", path);
    if (info->max_epochs > 65536)
        return larch_error_set(err, LARCH_ERANGE, "%s: max_epochs %u is too large", path,
                               info->max_epochs);
    if (info->n_unique < 1 || info->n_unique > size)
        return larch_error_set(err, LARCH_EINVAL, "%s: %u unique architectures for a space of %llu",
                               path, info->n_unique, (unsigned long long)size);
    if (!info->unique || !info->arch_to_unique || !info->params || !info->flops)
        return larch_error_set(err, LARCH_EINVAL, "%s: table_info lacks an array", path);
    for (uint32_t u = 0; u < info->n_unique; u++) {
        rc = larch_arch_validate(sp, &info->unique[u], err);
        if (rc != LARCH_OK)
            return larch_error_prefix(err, "%s: unique architecture %u: ", path, u);
        if (info->arch_to_unique[arch_index(sp, &info->unique[u])] != u)
            return larch_error_set(err, LARCH_EINVAL,
                                   "%s: unique architecture %u does not map to itself", path, u);
    }
    for (uint64_t i = 0; i < size; i++)
        if (info->arch_to_unique[i] >= info->n_unique)
            return larch_error_set(err, LARCH_EINVAL,
                                   "%s: architecture %llu maps to %u, expected < %u", path,
                                   (unsigned long long)i, info->arch_to_unique[i], info->n_unique);
    return LARCH_OK;
}

/* ---- writer ---- */

struct table_writer {
    hid_t file, results, train_loss, val_curve;
    hid_t mem_row; /* table_row in memory */
    uint32_t n_unique, n_seeds, max_epochs, width;
    uint32_t session;
    uint8_t *done; /* per row */
    uint64_t n_done;
    float *curve_row; /* width floats */
    char *path;
};

/* Closes every handle of w (a table_writer) and frees it; returns nonzero if a close failed. */
static int writer_destroy(void *obj)
{
    table_writer *w = obj;
    int failed = 0;
    h5u_close_id(&w->results, H5Dclose, &failed);
    h5u_close_id(&w->train_loss, H5Dclose, &failed);
    h5u_close_id(&w->val_curve, H5Dclose, &failed);
    h5u_close_id(&w->mem_row, H5Tclose, &failed);
    h5u_close_id(&w->file, H5Fclose, &failed);
    free(w->done);
    free(w->curve_row);
    free(w->path);
    free(w);
    return failed;
}

static table_writer *writer_new(const char *path, const table_info *info)
{
    table_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->file = w->results = w->train_loss = w->val_curve = w->mem_row = H5I_INVALID_HID;
    w->n_unique = info->n_unique;
    w->n_seeds = info->n_seeds;
    w->max_epochs = info->max_epochs;
    w->width = info->max_epochs ? info->max_epochs : 1;
    w->path = strdup(path);
    w->curve_row = malloc(w->width * sizeof *w->curve_row);
    w->done = calloc((size_t)w->n_unique * w->n_seeds, 1);
    if (!w->path || !w->curve_row || !w->done) {
        writer_destroy(w);
        return NULL;
    }
    return w;
}

static int write_root(table_writer *w, const table_info *info, uint64_t size)
{
    char created[32];
    if (info->created)
        snprintf(created, sizeof created, "%s", info->created);
    else
        h5u_now_iso(created);
    hid_t f = w->file;
    if (h5u_write_string_attr(f, TABLE_ATTR_KIND, TABLE_KIND) < 0 ||
        h5u_write_i32_attr(f, TABLE_ATTR_VERSION, TABLE_SCHEMA_VERSION) < 0 ||
        h5u_write_string_attr(f, SCHEMA_ATTR_LARCH_VERSION, info->larch_version) < 0 ||
        h5u_write_string_attr(f, SCHEMA_ATTR_CREATED, created) < 0 ||
        h5u_write_string_attr(f, SCHEMA_ATTR_CONFIG_PATH, info->config_path) < 0 ||
        h5u_write_string_attr(f, TABLE_ATTR_RECIPE, info->recipe) < 0 ||
        h5u_write_u64_attr(f, SCHEMA_ATTR_SEED, info->seed) < 0 ||
        h5u_write_u32_attr(f, TABLE_ATTR_N_SEEDS, info->n_seeds) < 0 ||
        h5u_write_u32_attr(f, SCHEMA_ATTR_MAX_EPOCHS, info->max_epochs) < 0 ||
        h5u_write_u32_attr(f, TABLE_ATTR_N_UNIQUE, info->n_unique) < 0 ||
        h5u_write_u64_attr(f, TABLE_ATTR_SPACE_SIZE, size) < 0 ||
        h5u_write_text(f, SCHEMA_CONFIG, info->config_text) < 0)
        return -1;
    return 0;
}

static int write_canonical(table_writer *w, const table_info *info, uint64_t size)
{
    uint32_t n_dec = info->space->n_decisions;
    uint8_t *archs = malloc((size_t)info->n_unique * n_dec);
    if (!archs)
        return -1;
    for (uint32_t u = 0; u < info->n_unique; u++)
        memcpy(archs + (size_t)u * n_dec, info->unique[u].choice, n_dec);
    hsize_t dims[2] = {info->n_unique, n_dec};
    int rc = h5u_write_array(w->file, TABLE_ARCHS, H5T_STD_U8LE, H5T_NATIVE_UINT8, 2, dims, archs);
    free(archs);
    if (rc < 0 ||
        h5u_write_vector(w->file, TABLE_ARCH_TO_UNIQUE, H5T_STD_U32LE, H5T_NATIVE_UINT32, size,
                         info->arch_to_unique) < 0 ||
        h5u_write_vector(w->file, TABLE_PARAMS, H5T_STD_U64LE, H5T_NATIVE_UINT64, info->n_unique,
                         info->params) < 0 ||
        h5u_write_vector(w->file, TABLE_FLOPS, H5T_STD_U64LE, H5T_NATIVE_UINT64, info->n_unique,
                         info->flops) < 0)
        return -1;
    return 0;
}

/* /results (every row "not done", with its unique and seed) and the two curve datasets. */
static int create_rows(table_writer *w)
{
    size_t n_rows = (size_t)w->n_unique * w->n_seeds;
    table_row *rows = calloc(n_rows, sizeof *rows);
    hid_t file_row = row_type(1);
    int rc = -1;
    if (!rows || file_row < 0)
        goto out;
    for (size_t i = 0; i < n_rows; i++) {
        rows[i].unique = (uint32_t)(i / w->n_seeds);
        rows[i].seed = (uint32_t)(i % w->n_seeds);
    }
    table_row fill;
    memset(&fill, 0, sizeof fill);
    hsize_t n = n_rows, curve_dims[2] = {n_rows, w->width};
    float nan = NAN;
    w->results =
        h5u_create_filled(w->file, TABLE_RESULTS, file_row, 1, &n, NULL, NULL, w->mem_row, &fill);
    if (w->results < 0 || H5Dwrite(w->results, w->mem_row, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
        goto out;
    w->train_loss = h5u_create_filled(w->file, SCHEMA_TRAIN_LOSS, H5T_IEEE_F32LE, 2, curve_dims,
                                      NULL, NULL, H5T_NATIVE_FLOAT, &nan);
    w->val_curve = h5u_create_filled(w->file, SCHEMA_VAL_CURVE, H5T_IEEE_F32LE, 2, curve_dims, NULL,
                                     NULL, H5T_NATIVE_FLOAT, &nan);
    if (w->train_loss >= 0 && w->val_curve >= 0)
        rc = 0;
out:
    if (file_row >= 0)
        H5Tclose(file_row);
    free(rows);
    return rc;
}

int table_writer_create(const char *path, const table_info *info, table_writer **out,
                        larch_error *err)
{
    if (!path || !info || !out)
        return larch_error_set(err, LARCH_EINVAL, "table_writer_create: NULL argument");
    int rc = check_info(path, info, err);
    if (rc != LARCH_OK)
        return rc;
    uint64_t size = space_size(info->space);
    table_writer *w = writer_new(path, info);
    if (!w)
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory for the table writer", path);

    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    const char *what = NULL;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    w->mem_row = row_type(0);
    if (fapl < 0 || w->mem_row < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0)
        what = "cannot set up HDF5 types and properties";
    else if ((w->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0)
        what = "cannot create the file";
    else if (write_root(w, info, size) < 0)
        what = "cannot write the root attributes and /config";
    else if (h5u_write_space(w->file, info->space) < 0)
        what = "cannot write /space";
    else if (write_canonical(w, info, size) < 0)
        what = "cannot write /archs, /arch_to_unique, /params or /flops";
    else if (create_rows(w) < 0)
        what = "cannot create /results and the curves";
    /* Everything exists now: objects created after this point would be unsupported. */
    else if (H5Fstart_swmr_write(w->file) < 0)
        what = "cannot start SWMR writing";
    if (fapl >= 0)
        H5Pclose(fapl);
    if (what) {
        rc = schema_fail(err, LARCH_EIO, path, "%s", what);
        writer_destroy(w);
    } else {
        *out = w;
    }
    schema_quiet_end(&quiet);
    return rc;
}

/* The first line where a and b differ, quoted into out. */
static void first_difference(const char *a, const char *b, char *out, size_t size)
{
    while (*a || *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || memcmp(a, b, la)) {
            snprintf(out, size, "the table has '%.*s', this config gives '%.*s'",
                     (int)(la > 120 ? 120 : la), a, (int)(lb > 120 ? 120 : lb), b);
            return;
        }
        a += la + (ea != NULL);
        b += lb + (eb != NULL);
    }
    snprintf(out, size, "no difference");
}

static int same_space(const larch_space *a, const larch_space *b)
{
    if (a->n_decisions != b->n_decisions || a->n_ops != b->n_ops)
        return 0;
    for (uint32_t d = 0; d < a->n_decisions; d++)
        if (a->decisions[d].n_choices != b->decisions[d].n_choices ||
            a->decisions[d].kind != b->decisions[d].kind)
            return 0;
    for (uint32_t o = 0; o < a->n_ops; o++)
        if (strncmp(a->op_names[o], b->op_names[o], LARCH_LABEL_SIZE))
            return 0;
    return 1;
}

/* Checks the reopened file against info; LARCH_OK or an error naming the difference. */
static int check_same(table_writer *w, const table_info *info, larch_error *err)
{
    const char *path = w->path;
    hid_t f = w->file;
    char *kind = h5u_read_string_attr(f, TABLE_ATTR_KIND);
    int is_table = kind && !strcmp(kind, TABLE_KIND);
    free(kind);
    if (!is_table)
        return larch_error_set(err, LARCH_EFORMAT, "%.*s: not a larch table (no /%s = \"%s\")",
                               SCHEMA_PATH_QUOTE, path, TABLE_ATTR_KIND, TABLE_KIND);
    int32_t version = 0;
    uint32_t n_seeds = 0, max_epochs = 0, n_unique = 0;
    uint64_t seed = 0, size = 0;
    if (h5u_read_attr(f, TABLE_ATTR_VERSION, H5T_NATIVE_INT32, &version) < 0 ||
        h5u_read_attr(f, TABLE_ATTR_N_SEEDS, H5T_NATIVE_UINT32, &n_seeds) < 0 ||
        h5u_read_attr(f, SCHEMA_ATTR_MAX_EPOCHS, H5T_NATIVE_UINT32, &max_epochs) < 0 ||
        h5u_read_attr(f, TABLE_ATTR_N_UNIQUE, H5T_NATIVE_UINT32, &n_unique) < 0 ||
        h5u_read_attr(f, SCHEMA_ATTR_SEED, H5T_NATIVE_UINT64, &seed) < 0 ||
        h5u_read_attr(f, TABLE_ATTR_SPACE_SIZE, H5T_NATIVE_UINT64, &size) < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read the root attributes");
    if (version > TABLE_SCHEMA_VERSION || version < 1)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%.*s: table schema version %d, this build of larch writes %d",
                               SCHEMA_PATH_QUOTE, path, (int)version, TABLE_SCHEMA_VERSION);
    char *recipe = h5u_read_string_attr(f, TABLE_ATTR_RECIPE);
    if (!recipe)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s", TABLE_ATTR_RECIPE);
    int same_recipe = !strcmp(recipe, info->recipe ? info->recipe : "");
    char diff[400];
    if (!same_recipe)
        first_difference(recipe, info->recipe ? info->recipe : "", diff, sizeof diff);
    free(recipe);
    if (!same_recipe)
        return larch_error_set(err, LARCH_EINVAL,
                               "%.*s was built with another recipe: %s; resume with the config it "
                               "was made from (its /config) or write a new table",
                               SCHEMA_PATH_QUOTE, path, diff);
    larch_space space;
    if (h5u_read_space(f, &space, NULL) < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s", SCHEMA_SPACE);
    uint64_t want_size = space_size(info->space);
    const char *what = !same_space(&space, info->space) ? "the search space"
                       : n_seeds != info->n_seeds       ? "the number of seeds"
                       : max_epochs != info->max_epochs ? "max_epochs"
                       : seed != info->seed             ? "the experiment seed"
                       : size != want_size              ? "the space size"
                       : n_unique != info->n_unique     ? "the number of unique architectures"
                                                        : NULL;
    if (what)
        return larch_error_set(err, LARCH_EINVAL, "%.*s: %s differs from this config's",
                               SCHEMA_PATH_QUOTE, path, what);
    uint32_t *map = malloc(size * sizeof *map);
    if (!map)
        return larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory", SCHEMA_PATH_QUOTE, path);
    hsize_t n = size;
    int read = h5u_read_whole(f, TABLE_ARCH_TO_UNIQUE, H5T_NATIVE_UINT32, 1, &n, map);
    int same_map = read == 0 && !memcmp(map, info->arch_to_unique, size * sizeof *map);
    free(map);
    if (read < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s", TABLE_ARCH_TO_UNIQUE);
    if (!same_map)
        return larch_error_set(err, LARCH_EINVAL,
                               "%.*s: /%s differs from this larch's canonicalisation; write a new "
                               "table",
                               SCHEMA_PATH_QUOTE, path, TABLE_ARCH_TO_UNIQUE);
    return LARCH_OK;
}

/* Opens the datasets rows are written to and loads the done flags and the next session. */
static int load_rows(table_writer *w)
{
    size_t n_rows = (size_t)w->n_unique * w->n_seeds;
    hsize_t n = n_rows, curve_dims[2] = {n_rows, w->width}, dims[2];
    table_row *rows = malloc(n_rows * sizeof *rows);
    if (!rows)
        return -1;
    int rc = -1;
    w->results = H5Dopen2(w->file, TABLE_RESULTS, H5P_DEFAULT);
    w->train_loss = H5Dopen2(w->file, SCHEMA_TRAIN_LOSS, H5P_DEFAULT);
    w->val_curve = H5Dopen2(w->file, SCHEMA_VAL_CURVE, H5P_DEFAULT);
    if (w->results < 0 || w->train_loss < 0 || w->val_curve < 0 ||
        h5u_dataset_dims(w->train_loss, 2, dims) < 0 || dims[0] != curve_dims[0] ||
        dims[1] != curve_dims[1] || h5u_dataset_dims(w->val_curve, 2, dims) < 0 ||
        dims[0] != curve_dims[0] || dims[1] != curve_dims[1] ||
        h5u_read_whole(w->file, TABLE_RESULTS, w->mem_row, 1, &n, rows) < 0)
        goto out;
    uint32_t last = 0;
    int any = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].r.done) {
            w->done[i] = 1;
            w->n_done++;
            if (!any || rows[i].r.session > last)
                last = rows[i].r.session;
            any = 1;
        }
    w->session = any ? last + 1 : 0;
    rc = 0;
out:
    free(rows);
    return rc;
}

int table_writer_resume(const char *path, const table_info *info, table_writer **out,
                        larch_error *err)
{
    if (!path || !info || !out)
        return larch_error_set(err, LARCH_EINVAL, "table_writer_resume: NULL argument");
    int rc = check_info(path, info, err);
    if (rc != LARCH_OK)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return larch_error_set(err, LARCH_EIO, "%.*s: cannot open: %s", SCHEMA_PATH_QUOTE, path,
                               strerror(errno));
    table_writer *w = writer_new(path, info);
    if (!w)
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory for the table writer", path);
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    w->mem_row = row_type(0);
    if (w->mem_row < 0) {
        rc = schema_fail(err, LARCH_EIO, path, "cannot set up HDF5 types");
    } else if (H5Fis_hdf5(path) <= 0) {
        rc = larch_error_set(err, LARCH_EFORMAT, "%.*s: not an HDF5 file", SCHEMA_PATH_QUOTE, path);
    } else if ((w->file = h5u_open_rdwr_clearing(path, H5P_DEFAULT)) < 0) {
        rc = schema_fail(err, LARCH_EIO, path, "cannot open for writing");
    } else if ((rc = check_same(w, info, err)) != LARCH_OK) {
        /* err says why */
    } else if (load_rows(w) < 0) {
        rc = schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s and the curves", TABLE_RESULTS);
    } else if (H5Fstart_swmr_write(w->file) < 0) {
        rc = schema_fail(err, LARCH_EIO, path, "cannot start SWMR writing");
    }
    if (rc != LARCH_OK)
        writer_destroy(w);
    else
        *out = w;
    schema_quiet_end(&quiet);
    return rc;
}

int table_writer_done(const table_writer *w, uint32_t unique, uint32_t seed)
{
    if (!w || unique >= w->n_unique || seed >= w->n_seeds)
        return 0;
    return w->done[(size_t)unique * w->n_seeds + seed];
}

uint64_t table_writer_n_done(const table_writer *w)
{
    return w ? w->n_done : 0;
}

uint32_t table_writer_session(const table_writer *w)
{
    return w ? w->session : 0;
}

static int write_curve(table_writer *w, hid_t ds, hsize_t row, const float *values, uint32_t n)
{
    for (uint32_t e = 0; e < w->width; e++)
        w->curve_row[e] = values && e < n ? values[e] : NAN;
    return h5u_write_rows(ds, row, 1, w->width, H5T_NATIVE_FLOAT, w->curve_row);
}

int table_writer_put(table_writer *w, uint32_t unique, uint32_t seed, const table_result *r,
                     const float *train_loss, const float *val_curve, larch_error *err)
{
    if (!w || !r)
        return larch_error_set(err, LARCH_EINVAL, "table_writer_put: NULL argument");
    if (unique >= w->n_unique || seed >= w->n_seeds)
        return larch_error_set(err, LARCH_ERANGE,
                               "%s: row (unique %u, seed %u) does not exist (%u x %u)", w->path,
                               unique, seed, w->n_unique, w->n_seeds);
    if (r->n_epochs > w->max_epochs)
        return larch_error_set(err, LARCH_ERANGE,
                               "%s: row (unique %u, seed %u) has %u epochs, "
                               "max_epochs is %u",
                               w->path, unique, seed, r->n_epochs, w->max_epochs);
    if (r->status > LARCH_TRIAL_TIMEOUT)
        return larch_error_set(err, LARCH_EINVAL, "%s: row (unique %u, seed %u): unknown status %u",
                               w->path, unique, seed, r->status);
    size_t index = (size_t)unique * w->n_seeds + seed;
    table_row row = {.unique = unique, .seed = seed, .r = *r};
    row.r.done = 1;
    row.r.session = w->session;
    if (row.r.trained_at == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        row.r.trained_at = (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
    }
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    const char *what = NULL;
    /* Curves first: a reader that sees the row done also sees its curves. */
    if (write_curve(w, w->train_loss, index, train_loss, r->n_epochs) < 0)
        what = SCHEMA_TRAIN_LOSS;
    else if (write_curve(w, w->val_curve, index, val_curve, r->n_epochs) < 0)
        what = SCHEMA_VAL_CURVE;
    else if (H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0)
        what = "flush";
    else if (h5u_write_rows(w->results, index, 1, 0, w->mem_row, &row) < 0)
        what = TABLE_RESULTS;
    else if (H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0)
        what = "flush";
    int rc = LARCH_OK;
    if (what) {
        rc = schema_fail(err, LARCH_EIO, w->path, "cannot write row (unique %u, seed %u) of /%s",
                         unique, seed, what);
    } else if (!w->done[index]) {
        w->done[index] = 1;
        w->n_done++;
    }
    schema_quiet_end(&quiet);
    return rc;
}

int table_writer_close(table_writer *w, larch_error *err)
{
    return w ? h5u_close_writer(w->file, w->path, writer_destroy, w, err) : LARCH_OK;
}

/* ---- reader ---- */

struct table_file {
    larch_space space;
    uint64_t weight[LARCH_MAX_DECISIONS]; /* mixed-radix place value of each decision */
    uint32_t n_seeds, n_unique, max_epochs, width;
    uint64_t space_size, seed, n_done;
    uint32_t *arch_to_unique;      /* [space_size] */
    larch_arch *unique;            /* [n_unique] */
    uint64_t *params, *flops;      /* [n_unique] */
    table_row *rows;               /* [n_unique * n_seeds] */
    float *train_loss, *val_curve; /* [rows][width] */
    double *mean_val, *mean_test;  /* [n_unique], over done seeds */
    uint32_t *seeds_done;          /* [n_unique] */
    char *config_text, *recipe, *larch_version, *created;
    char *path;
};

void table_close(table_file *t)
{
    if (!t)
        return;
    free(t->arch_to_unique);
    free(t->unique);
    free(t->params);
    free(t->flops);
    free(t->rows);
    free(t->train_loss);
    free(t->val_curve);
    free(t->mean_val);
    free(t->mean_test);
    free(t->seeds_done);
    free(t->config_text);
    free(t->recipe);
    free(t->larch_version);
    free(t->created);
    free(t->path);
    free(t);
}

static int read_root(table_file *t, hid_t f, larch_error *err)
{
    const char *path = t->path;
    char *kind = h5u_read_string_attr(f, TABLE_ATTR_KIND);
    int is_table = kind && !strcmp(kind, TABLE_KIND);
    free(kind);
    if (!is_table)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%.*s: not a larch table (no /%s = \"%s\"; `larch tabulate` "
                               "writes tables)",
                               SCHEMA_PATH_QUOTE, path, TABLE_ATTR_KIND, TABLE_KIND);
    int32_t version = 0;
    if (h5u_read_attr(f, TABLE_ATTR_VERSION, H5T_NATIVE_INT32, &version) < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s", TABLE_ATTR_VERSION);
    if (version > TABLE_SCHEMA_VERSION)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%.*s: table schema version %d is newer than this build of larch "
                               "reads (%d); use a newer larch",
                               SCHEMA_PATH_QUOTE, path, (int)version, TABLE_SCHEMA_VERSION);
    if (version < 1)
        return larch_error_set(err, LARCH_EFORMAT, "%.*s: invalid table schema version %d",
                               SCHEMA_PATH_QUOTE, path, (int)version);
    if (h5u_read_attr(f, TABLE_ATTR_N_SEEDS, H5T_NATIVE_UINT32, &t->n_seeds) < 0 ||
        h5u_read_attr(f, SCHEMA_ATTR_MAX_EPOCHS, H5T_NATIVE_UINT32, &t->max_epochs) < 0 ||
        h5u_read_attr(f, TABLE_ATTR_N_UNIQUE, H5T_NATIVE_UINT32, &t->n_unique) < 0 ||
        h5u_read_attr(f, SCHEMA_ATTR_SEED, H5T_NATIVE_UINT64, &t->seed) < 0 ||
        h5u_read_attr(f, TABLE_ATTR_SPACE_SIZE, H5T_NATIVE_UINT64, &t->space_size) < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read the root attributes");
    t->recipe = h5u_read_string_attr(f, TABLE_ATTR_RECIPE);
    t->larch_version = h5u_read_string_attr(f, SCHEMA_ATTR_LARCH_VERSION);
    t->created = h5u_read_string_attr(f, SCHEMA_ATTR_CREATED);
    h5u_read_text(f, SCHEMA_CONFIG, &t->config_text, NULL);
    if (!t->recipe || !t->larch_version || !t->created || !t->config_text)
        return schema_fail(err, LARCH_EFORMAT, path,
                           "cannot read the provenance (/%s and "
                           "attributes)",
                           SCHEMA_CONFIG);
    if (h5u_read_space(f, &t->space, NULL) < 0)
        return schema_fail(err, LARCH_EFORMAT, path, "cannot read /%s", SCHEMA_SPACE);
    uint64_t size = space_size(&t->space);
    if (t->n_seeds < 1 || t->n_unique < 1 || size != t->space_size || t->n_unique > size ||
        t->max_epochs > 65536)
        return larch_error_set(err, LARCH_EFORMAT,
                               "%.*s: inconsistent shape: %u seeds, %u unique of %llu "
                               "architectures (the space has %llu), max_epochs %u",
                               SCHEMA_PATH_QUOTE, path, t->n_seeds, t->n_unique,
                               (unsigned long long)t->space_size, (unsigned long long)size,
                               t->max_epochs);
    t->width = t->max_epochs ? t->max_epochs : 1;
    uint64_t w = 1;
    for (uint32_t d = t->space.n_decisions; d-- > 0;) {
        t->weight[d] = w;
        w *= t->space.decisions[d].n_choices;
    }
    return LARCH_OK;
}

static int read_data(table_file *t, hid_t f, larch_error *err)
{
    const char *path = t->path;
    size_t n_rows = (size_t)t->n_unique * t->n_seeds, n_dec = t->space.n_decisions;
    uint8_t *archs = malloc(t->n_unique * n_dec);
    t->arch_to_unique = malloc(t->space_size * sizeof *t->arch_to_unique);
    t->unique = calloc(t->n_unique, sizeof *t->unique);
    t->params = malloc(t->n_unique * sizeof *t->params);
    t->flops = malloc(t->n_unique * sizeof *t->flops);
    t->rows = malloc(n_rows * sizeof *t->rows);
    t->train_loss = malloc(n_rows * t->width * sizeof *t->train_loss);
    t->val_curve = malloc(n_rows * t->width * sizeof *t->val_curve);
    t->mean_val = malloc(t->n_unique * sizeof *t->mean_val);
    t->mean_test = malloc(t->n_unique * sizeof *t->mean_test);
    t->seeds_done = calloc(t->n_unique, sizeof *t->seeds_done);
    hid_t mem_row = row_type(0);
    int rc = LARCH_OK;
    if (!archs || !t->arch_to_unique || !t->unique || !t->params || !t->flops || !t->rows ||
        !t->train_loss || !t->val_curve || !t->mean_val || !t->mean_test || !t->seeds_done) {
        rc = larch_error_set(err, LARCH_ENOMEM, "%.*s: out of memory loading the table",
                             SCHEMA_PATH_QUOTE, path);
        goto out;
    }
    hsize_t size = t->space_size, nu = t->n_unique, nr = n_rows;
    hsize_t arch_dims[2] = {nu, n_dec}, curve_dims[2] = {nr, t->width};
    const char *what =
        mem_row < 0                                                                 ? "types"
        : h5u_read_whole(f, TABLE_ARCHS, H5T_NATIVE_UINT8, 2, arch_dims, archs) < 0 ? TABLE_ARCHS
        : h5u_read_whole(f, TABLE_ARCH_TO_UNIQUE, H5T_NATIVE_UINT32, 1, &size, t->arch_to_unique) <
                0
            ? TABLE_ARCH_TO_UNIQUE
        : h5u_read_whole(f, TABLE_PARAMS, H5T_NATIVE_UINT64, 1, &nu, t->params) < 0 ? TABLE_PARAMS
        : h5u_read_whole(f, TABLE_FLOPS, H5T_NATIVE_UINT64, 1, &nu, t->flops) < 0   ? TABLE_FLOPS
        : h5u_read_whole(f, TABLE_RESULTS, mem_row, 1, &nr, t->rows) < 0            ? TABLE_RESULTS
        : h5u_read_whole(f, SCHEMA_TRAIN_LOSS, H5T_NATIVE_FLOAT, 2, curve_dims, t->train_loss) < 0
            ? SCHEMA_TRAIN_LOSS
        : h5u_read_whole(f, SCHEMA_VAL_CURVE, H5T_NATIVE_FLOAT, 2, curve_dims, t->val_curve) < 0
            ? SCHEMA_VAL_CURVE
            : NULL;
    if (what) {
        rc = schema_fail(err, LARCH_EFORMAT, path,
                         "cannot read /%s with the shape the root "
                         "attributes give",
                         what);
        goto out;
    }
    for (uint64_t i = 0; i < t->space_size; i++)
        if (t->arch_to_unique[i] >= t->n_unique) {
            rc = larch_error_set(err, LARCH_EFORMAT, "%.*s: /%s[%llu] = %u, expected < %u",
                                 SCHEMA_PATH_QUOTE, path, TABLE_ARCH_TO_UNIQUE,
                                 (unsigned long long)i, t->arch_to_unique[i], t->n_unique);
            goto out;
        }
    for (uint32_t u = 0; u < t->n_unique; u++) {
        t->unique[u].n = (uint32_t)n_dec;
        memcpy(t->unique[u].choice, archs + (size_t)u * n_dec, n_dec);
        larch_error check = {0};
        if (larch_arch_validate(&t->space, &t->unique[u], &check) != LARCH_OK) {
            rc = larch_error_set(err, LARCH_EFORMAT, "%.*s: /%s row %u: %s", SCHEMA_PATH_QUOTE,
                                 path, TABLE_ARCHS, u, check.message);
            goto out;
        }
    }
    for (uint32_t u = 0; u < t->n_unique; u++) {
        double val = 0, test = 0;
        uint32_t k = 0;
        for (uint32_t s = 0; s < t->n_seeds; s++) {
            table_row *row = &t->rows[(size_t)u * t->n_seeds + s];
            if (!row->r.done) {
                /* A row extended but never written by a killed writer: all zeros. */
                memset(&row->r, 0, sizeof row->r);
                continue;
            }
            val += row->r.val_accuracy;
            test += row->r.test_accuracy;
            k++;
        }
        t->seeds_done[u] = k;
        t->n_done += k;
        t->mean_val[u] = k ? val / k : NAN;
        t->mean_test[u] = k ? test / k : NAN;
    }
out:
    if (mem_row >= 0)
        H5Tclose(mem_row);
    free(archs);
    return rc;
}

int table_open(const char *path, table_file **out, larch_error *err)
{
    if (!path || !out)
        return larch_error_set(err, LARCH_EINVAL, "table_open: NULL argument");
    table_file *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return larch_error_set(err, LARCH_ENOMEM, "%s: out of memory", path);
    }
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    int rc = LARCH_EIO;
    hid_t f = h5u_open_read(path, NULL, &rc, err);
    if (f >= 0) {
        rc = read_root(t, f, err);
        if (rc == LARCH_OK)
            rc = read_data(t, f, err);
        H5Fclose(f);
    }
    schema_quiet_end(&quiet);
    if (rc != LARCH_OK) {
        table_close(t);
        return rc;
    }
    *out = t;
    return LARCH_OK;
}

const larch_space *table_space(const table_file *t)
{
    return &t->space;
}

uint32_t table_n_seeds(const table_file *t)
{
    return t->n_seeds;
}

uint32_t table_n_unique(const table_file *t)
{
    return t->n_unique;
}

uint64_t table_space_size(const table_file *t)
{
    return t->space_size;
}

uint32_t table_max_epochs(const table_file *t)
{
    return t->max_epochs;
}

uint64_t table_n_done(const table_file *t)
{
    return t->n_done;
}

const char *table_config_text(const table_file *t)
{
    return t->config_text;
}

const char *table_recipe(const table_file *t)
{
    return t->recipe;
}

const char *table_larch_version(const table_file *t)
{
    return t->larch_version;
}

const char *table_created(const table_file *t)
{
    return t->created;
}

uint64_t table_seed(const table_file *t)
{
    return t->seed;
}

int table_lookup(const table_file *t, const larch_arch *arch, uint32_t *unique, larch_error *err)
{
    if (!t || !arch || !unique)
        return larch_error_set(err, LARCH_EINVAL, "table_lookup: NULL argument");
    if (arch->n != t->space.n_decisions)
        return larch_error_set(err, LARCH_EINVAL, "arch has %u decisions, the table's space has %u",
                               arch->n, t->space.n_decisions);
    uint64_t index = 0;
    for (uint32_t d = 0; d < arch->n; d++) {
        if (arch->choice[d] >= t->space.decisions[d].n_choices)
            return larch_error_set(
                err, LARCH_ERANGE, "arch decision %u (%s) is %u, the table's space has %u choices",
                d, t->space.decisions[d].label, arch->choice[d], t->space.decisions[d].n_choices);
        index += arch->choice[d] * t->weight[d];
    }
    *unique = t->arch_to_unique[index];
    return LARCH_OK;
}

const larch_arch *table_unique_arch(const table_file *t, uint32_t unique)
{
    return unique < t->n_unique ? &t->unique[unique] : NULL;
}

uint64_t table_params(const table_file *t, uint32_t unique)
{
    return unique < t->n_unique ? t->params[unique] : 0;
}

uint64_t table_flops(const table_file *t, uint32_t unique)
{
    return unique < t->n_unique ? t->flops[unique] : 0;
}

const table_result *table_get(const table_file *t, uint32_t unique, uint32_t seed,
                              const float **train_loss, const float **val_curve)
{
    if (unique >= t->n_unique || seed >= t->n_seeds)
        return NULL;
    size_t row = (size_t)unique * t->n_seeds + seed;
    if (train_loss)
        *train_loss = t->train_loss + row * t->width;
    if (val_curve)
        *val_curve = t->val_curve + row * t->width;
    return &t->rows[row].r;
}

uint32_t table_mean(const table_file *t, uint32_t unique, double *mean_val, double *mean_test)
{
    if (unique >= t->n_unique) {
        if (mean_val)
            *mean_val = NAN;
        if (mean_test)
            *mean_test = NAN;
        return 0;
    }
    if (mean_val)
        *mean_val = t->mean_val[unique];
    if (mean_test)
        *mean_test = t->mean_test[unique];
    return t->seeds_done[unique];
}

int table_best(const table_file *t, uint32_t *unique, double *mean_val, double *mean_test,
               larch_error *err)
{
    if (!t || !unique)
        return larch_error_set(err, LARCH_EINVAL, "table_best: NULL argument");
    int64_t best = -1;
    for (uint32_t u = 0; u < t->n_unique; u++)
        if (t->seeds_done[u] && (best < 0 || t->mean_val[u] > t->mean_val[best]))
            best = u;
    if (best < 0)
        return larch_error_set(err, LARCH_ENOTFOUND, "%.*s: no row of the table is done",
                               SCHEMA_PATH_QUOTE, t->path);
    *unique = (uint32_t)best;
    if (mean_val)
        *mean_val = t->mean_val[best];
    if (mean_test)
        *mean_test = t->mean_test[best];
    return LARCH_OK;
}
