/* The HDF5 helpers shared by the experiment file and the table (h5util.h). */
#include "h5util.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "schema.h"

extern char **environ;

#define SWMR_READ_ATTEMPTS 24

void h5u_close_id(hid_t *id, herr_t (*close_fn)(hid_t), int *failed)
{
    if (*id >= 0 && close_fn(*id) < 0)
        *failed = 1;
    *id = H5I_INVALID_HID;
}

hid_t h5u_open_read(const char *path, int *swmr, int *rc, larch_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        *rc = larch_error_set(err, LARCH_EIO, "%.*s: cannot open: %s", SCHEMA_PATH_QUOTE, path,
                              strerror(errno));
        return H5I_INVALID_HID;
    }
    /* A SWMR reader retries a metadata read whose checksum fails (the writer may be mid-flush),
     * sleeping 1 ns, 2 ns, 4 ns, ... between tries. HDF5's default of 100 tries never ends in
     * practice when the failure is lasting (a file recreated under the reader, or one whose
     * writer was killed mid-flush): 24 tries wait about 17 ms in all, then report an error. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_metadata_read_attempts(fapl, SWMR_READ_ATTEMPTS) < 0) {
        H5Pclose(fapl);
        fapl = H5I_INVALID_HID;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (swmr)
        *swmr = file >= 0;
    /* Files not written in the latest format (e.g. repacked) only open without SWMR. */
    if (file < 0)
        file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file >= 0)
        return file;
    /* H5Fis_hdf5 may fail too: quote why the open failed. */
    char detail[sizeof schema_last_detail];
    snprintf(detail, sizeof detail, "%s", schema_last_detail);
    if (H5Fis_hdf5(path) == 0)
        *rc =
            larch_error_set(err, LARCH_EFORMAT, "%.*s: not an HDF5 file", SCHEMA_PATH_QUOTE, path);
    else
        *rc = larch_error_set(err, LARCH_EIO, "%.*s: cannot open as HDF5 (%s)", SCHEMA_PATH_QUOTE,
                              path, detail);
    return H5I_INVALID_HID;
}

hid_t h5u_open_rdwr_clearing(const char *path, hid_t fapl)
{
    hid_t props = H5Pcopy(fapl == H5P_DEFAULT ? H5P_FILE_ACCESS_DEFAULT : fapl);
    if (props < 0)
        return H5I_INVALID_HID;
    hid_t file = H5I_INVALID_HID;
    hbool_t clear = 1;
    if (H5Pexist(props, "clear_status_flags") > 0 &&
        H5Pset(props, "clear_status_flags", &clear) >= 0)
        file = H5Fopen(path, H5F_ACC_RDWR, props);
    H5Pclose(props);
    if (file >= 0)
        return file;
    char *argv[] = {"h5clear", "-s", (char *)path, NULL};
    pid_t pid;
    int status;
    if (posix_spawnp(&pid, "h5clear", NULL, NULL, argv, environ) == 0)
        waitpid(pid, &status, 0);
    return H5Fopen(path, H5F_ACC_RDWR, fapl);
}

int h5u_close_writer(hid_t file, const char *path, int (*destroy)(void *obj), void *obj,
                     larch_error *err)
{
    schema_quiet quiet;
    schema_quiet_begin(&quiet);
    int rc = LARCH_OK;
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0)
        rc = schema_fail(err, LARCH_EIO, path, "cannot flush");
    /* destroy frees path. */
    char quoted[SCHEMA_PATH_QUOTE + 1];
    snprintf(quoted, sizeof quoted, "%s", path);
    if (destroy(obj) && rc == LARCH_OK)
        rc = schema_fail(err, LARCH_EIO, quoted, "cannot close");
    schema_quiet_end(&quiet);
    return rc;
}

hid_t h5u_compound_type(const h5u_field *fields, size_t n, size_t mem_size, int for_file)
{
    hid_t member[64];
    size_t offset[64];
    size_t packed = 0, made = 0;
    hid_t compound = H5I_INVALID_HID;
    if (n > sizeof member / sizeof member[0])
        return H5I_INVALID_HID;
    for (; made < n; made++) {
        hid_t t = H5I_INVALID_HID;
        switch (fields[made].kind) {
        case H5U_U8:
            t = H5Tcopy(for_file ? H5T_STD_U8LE : H5T_NATIVE_UINT8);
            break;
        case H5U_U32:
            t = H5Tcopy(for_file ? H5T_STD_U32LE : H5T_NATIVE_UINT32);
            break;
        case H5U_U64:
            t = H5Tcopy(for_file ? H5T_STD_U64LE : H5T_NATIVE_UINT64);
            break;
        case H5U_F64:
            t = H5Tcopy(for_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
            break;
        case H5U_STATUS:
            t = schema_status_type();
            break;
        case H5U_ARCH:
            t = schema_string_type(LARCH_ARCH_STRING_SIZE);
            break;
        }
        if (t < 0)
            goto out;
        member[made] = t;
        offset[made] = for_file ? packed : fields[made].offset;
        packed += H5Tget_size(t);
    }
    compound = H5Tcreate(H5T_COMPOUND, for_file ? packed : mem_size);
    for (size_t i = 0; compound >= 0 && i < made; i++)
        if (H5Tinsert(compound, fields[i].name, offset[i], member[i]) < 0) {
            H5Tclose(compound);
            compound = H5I_INVALID_HID;
        }
out:
    for (size_t i = 0; i < made; i++)
        H5Tclose(member[i]);
    return compound;
}

int h5u_check_space(const char *path, const larch_space *sp, larch_error *err)
{
    if (!sp)
        return larch_error_set(err, LARCH_EINVAL, "%s: no search space given", path);
    if (sp->n_decisions < 1 || sp->n_decisions > LARCH_MAX_DECISIONS)
        return larch_error_set(err, LARCH_EINVAL, "%s: space has %u decisions, expected 1..%d",
                               path, sp->n_decisions, LARCH_MAX_DECISIONS);
    for (uint32_t d = 0; d < sp->n_decisions; d++)
        if (sp->decisions[d].n_choices < 1 || sp->decisions[d].n_choices > LARCH_MAX_CHOICES)
            return larch_error_set(err, LARCH_EINVAL,
                                   "%s: space decision %u has %u choices, expected 1..%d", path, d,
                                   sp->decisions[d].n_choices, LARCH_MAX_CHOICES);
    if (sp->n_ops > LARCH_MAX_OPS)
        return larch_error_set(err, LARCH_EINVAL, "%s: space has %u ops, expected at most %d", path,
                               sp->n_ops, LARCH_MAX_OPS);
    return LARCH_OK;
}

int h5u_write_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return -1;
    hid_t attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, mem_type, value);
    if (attr >= 0 && H5Aclose(attr) < 0)
        rc = -1;
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

int h5u_write_string_attr(hid_t obj, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0)
        return -1;
    const char *text = value ? value : "";
    int rc = -1;
    if (H5Tset_size(type, H5T_VARIABLE) >= 0 && H5Tset_cset(type, H5T_CSET_UTF8) >= 0)
        rc = h5u_write_attr(obj, name, type, type, &text);
    H5Tclose(type);
    return rc;
}

int h5u_write_u32_attr(hid_t obj, const char *name, uint32_t value)
{
    return h5u_write_attr(obj, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, &value);
}

int h5u_write_u64_attr(hid_t obj, const char *name, uint64_t value)
{
    return h5u_write_attr(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

int h5u_write_i32_attr(hid_t obj, const char *name, int32_t value)
{
    return h5u_write_attr(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &value);
}

int h5u_write_f64_attr(hid_t obj, const char *name, double value)
{
    return h5u_write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

int h5u_write_array(hid_t group, const char *name, hid_t file_type, hid_t mem_type, int rank,
                    const hsize_t *dims, const void *data)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    if (space < 0)
        return -1;
    hsize_t n = 1;
    for (int r = 0; r < rank; r++)
        n *= dims[r];
    hid_t ds = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0   ? -1
                : n == 0 ? 0
                         : H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0 && H5Dclose(ds) < 0)
        rc = -1;
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

int h5u_write_vector(hid_t group, const char *name, hid_t file_type, hid_t mem_type, hsize_t n,
                     const void *data)
{
    return h5u_write_array(group, name, file_type, mem_type, 1, &n, data);
}

hid_t h5u_create_filled(hid_t group, const char *name, hid_t file_type, int rank,
                        const hsize_t *dims, const hsize_t *maxdims, const hsize_t *chunk,
                        hid_t fill_type, const void *fill)
{
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = H5I_INVALID_HID;
    int layout = dcpl < 0 ? -1
                 : chunk  ? H5Pset_chunk(dcpl, rank, chunk)
                 : (H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
                    H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC) < 0)
                     ? -1
                     : 0;
    if (space >= 0 && layout >= 0 && H5Pset_fill_value(dcpl, fill_type, fill) >= 0)
        ds = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return ds;
}

int h5u_write_text(hid_t group, const char *name, const char *text)
{
    const char *t = text ? text : "";
    /* +1 so that "" is representable: a string type cannot be 0 bytes. */
    hid_t type = schema_string_type(strlen(t) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t ds = H5I_INVALID_HID;
    int rc = -1;
    if (type >= 0 && space >= 0)
        ds = H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0 && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) >= 0)
        rc = 0;
    if (ds >= 0 && H5Dclose(ds) < 0)
        rc = -1;
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

int h5u_write_space(hid_t file, const larch_space *space)
{
    uint32_t n = space->n_decisions;
    char labels[LARCH_MAX_DECISIONS][LARCH_LABEL_SIZE];
    uint8_t kinds[LARCH_MAX_DECISIONS];
    uint32_t choices[LARCH_MAX_DECISIONS];
    memset(labels, 0, sizeof labels);
    for (uint32_t d = 0; d < n; d++) {
        /* Copied with a guaranteed NUL: the struct does not promise one. */
        memcpy(labels[d], space->decisions[d].label, LARCH_LABEL_SIZE - 1);
        kinds[d] = (uint8_t)space->decisions[d].kind;
        choices[d] = space->decisions[d].n_choices;
    }
    char ops[LARCH_MAX_OPS][LARCH_LABEL_SIZE];
    memset(ops, 0, sizeof ops);
    for (uint32_t o = 0; o < space->n_ops && o < LARCH_MAX_OPS; o++)
        memcpy(ops[o], space->op_names[o], LARCH_LABEL_SIZE - 1);
    char name[LARCH_LABEL_SIZE];
    memcpy(name, space->name, LARCH_LABEL_SIZE - 1);
    name[LARCH_LABEL_SIZE - 1] = '\0';

    hid_t group = H5Gcreate2(file, SCHEMA_SPACE, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0)
        return -1;
    hid_t label_type = schema_string_type(LARCH_LABEL_SIZE);
    int rc = -1;
    if (label_type >= 0 && h5u_write_string_attr(group, SCHEMA_ATTR_SPACE_NAME, name) >= 0 &&
        h5u_write_u32_attr(group, SCHEMA_ATTR_N_DECISIONS, n) >= 0 &&
        h5u_write_vector(group, SCHEMA_DECISION_LABEL, label_type, label_type, n, labels) >= 0 &&
        h5u_write_vector(group, SCHEMA_DECISION_KIND, H5T_STD_U8LE, H5T_NATIVE_UINT8, n, kinds) >=
            0 &&
        h5u_write_vector(group, SCHEMA_N_CHOICES, H5T_STD_U32LE, H5T_NATIVE_UINT32, n, choices) >=
            0 &&
        h5u_write_vector(group, SCHEMA_OP_NAMES, label_type, label_type, space->n_ops, ops) >= 0)
        rc = 0;
    if (label_type >= 0)
        H5Tclose(label_type);
    if (H5Gclose(group) < 0)
        rc = -1;
    return rc;
}

/* Reads (write 0) or writes n rows from row `row` through dxpl. */
static int transfer_rows(hid_t ds, hsize_t row, hsize_t n, hsize_t width, hid_t mem_type, void *buf,
                         int write, hid_t dxpl)
{
    int rank = width ? 2 : 1;
    hsize_t start[2] = {row, 0}, count[2] = {n, width};
    hid_t file_space = H5Dget_space(ds);
    hid_t mem_space = H5Screate_simple(rank, count, NULL);
    herr_t rc = -1;
    if (file_space >= 0 && mem_space >= 0 &&
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        rc = write ? H5Dwrite(ds, mem_type, mem_space, file_space, dxpl, buf)
                   : H5Dread(ds, mem_type, mem_space, file_space, dxpl, buf);
    if (mem_space >= 0)
        H5Sclose(mem_space);
    if (file_space >= 0)
        H5Sclose(file_space);
    return rc < 0 ? -1 : 0;
}

int h5u_write_rows(hid_t ds, hsize_t row, hsize_t n, hsize_t width, hid_t mem_type,
                   const void *data)
{
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    size_t bytes = (size_t)n * (width ? (size_t)width : 1) * H5Tget_size(mem_type);
    int rc = -1;
    /* HDF5 does not write through buf: the cast only drops const for the shared code. */
    if (dxpl >= 0 && H5Pset_buffer(dxpl, bytes, NULL, NULL) >= 0)
        rc = transfer_rows(ds, row, n, width, mem_type, (void *)data, 1, dxpl);
    if (dxpl >= 0)
        H5Pclose(dxpl);
    return rc;
}

int h5u_read_rows(hid_t ds, hsize_t row, hsize_t n, hsize_t width, hid_t mem_type, void *out)
{
    return transfer_rows(ds, row, n, width, mem_type, out, 0, H5P_DEFAULT);
}

void h5u_now_iso(char out[32])
{
    time_t now = time(NULL);
    struct tm utc;
    if (!gmtime_r(&now, &utc) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &utc))
        snprintf(out, 32, "unknown");
}

int h5u_read_attr(hid_t obj, const char *name, hid_t mem_type, void *value)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return -1;
    herr_t rc = H5Aread(attr, mem_type, value);
    if (H5Aclose(attr) < 0)
        rc = -1;
    return rc < 0 ? -1 : 0;
}

char *h5u_read_string_attr(hid_t obj, const char *name)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return NULL;
    hid_t file_type = H5Aget_type(attr);
    hid_t mem_type = H5Tcopy(H5T_C_S1);
    char *out = NULL;
    htri_t vlen = file_type < 0 ? -1 : H5Tis_variable_str(file_type);
    size_t size = file_type < 0 ? 0 : H5Tget_size(file_type);
    /* HDF5 does not convert between character sets: read in the file's. */
    H5T_cset_t cset = file_type < 0 ? H5T_CSET_ERROR : H5Tget_cset(file_type);
    if (mem_type < 0 || cset == H5T_CSET_ERROR || H5Tset_cset(mem_type, cset) < 0)
        vlen = -1;
    if (vlen > 0 && H5Tset_size(mem_type, H5T_VARIABLE) >= 0) {
        char *text = NULL;
        if (H5Aread(attr, mem_type, &text) >= 0)
            out = strdup(text ? text : "");
        H5free_memory(text);
    } else if (vlen == 0 && size > 0 && H5Tset_size(mem_type, size + 1) >= 0 &&
               H5Tset_strpad(mem_type, H5T_STR_NULLTERM) >= 0) {
        out = calloc(size + 1, 1);
        if (out && H5Aread(attr, mem_type, out) < 0) {
            free(out);
            out = NULL;
        }
    }
    if (mem_type >= 0)
        H5Tclose(mem_type);
    if (file_type >= 0)
        H5Tclose(file_type);
    H5Aclose(attr);
    return out;
}

int h5u_read_string_attr_to(hid_t obj, const char *name, char *out, size_t size)
{
    char *text = h5u_read_string_attr(obj, name);
    if (!text)
        return -1;
    snprintf(out, size, "%s", text);
    free(text);
    return 0;
}

int h5u_read_text(hid_t group, const char *name, char **text, size_t *size)
{
    hid_t ds = H5Dopen2(group, name, H5P_DEFAULT);
    if (ds < 0)
        return H5U_EOPEN;
    hid_t type = H5Dget_type(ds);
    size_t n = type < 0 ? 0 : H5Tget_size(type);
    if (size)
        *size = n;
    char *out = NULL;
    int rc = 0;
    if (type < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) != 0)
        rc = H5U_ESHAPE;
    else if (!(out = calloc(n + 1, 1)))
        rc = H5U_ENOMEM;
    else if (H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        rc = H5U_EREAD;
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(ds);
    if (rc < 0)
        free(out);
    else
        *text = out;
    return rc;
}

int h5u_dataset_dims(hid_t ds, int rank, hsize_t *dims)
{
    hid_t space = H5Dget_space(ds);
    if (space < 0)
        return -1;
    int got = H5Sget_simple_extent_ndims(space);
    int rc = got == rank && H5Sget_simple_extent_dims(space, dims, NULL) == rank ? 0 : -1;
    H5Sclose(space);
    return rc;
}

int h5u_read_whole(hid_t group, const char *name, hid_t mem_type, int rank, const hsize_t *dims,
                   void *out)
{
    hid_t ds = H5Dopen2(group, name, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    hsize_t got[4];
    int rc = rank <= 4 && h5u_dataset_dims(ds, rank, got) == 0 ? 0 : -1;
    hsize_t n = 1;
    for (int r = 0; rc == 0 && r < rank; r++) {
        if (got[r] != dims[r])
            rc = -1;
        n *= dims[r];
    }
    if (rc == 0 && n && H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        rc = -1;
    H5Dclose(ds);
    return rc;
}

int h5u_read_space(hid_t file, larch_space *sp, uint32_t *bad)
{
    memset(sp, 0, sizeof *sp);
    sp->struct_size = sizeof *sp;
    hid_t group = H5Gopen2(file, SCHEMA_SPACE, H5P_DEFAULT);
    if (group < 0)
        return H5U_EOPEN;
    char labels[LARCH_MAX_DECISIONS][LARCH_LABEL_SIZE];
    uint8_t kinds[LARCH_MAX_DECISIONS];
    uint32_t choices[LARCH_MAX_DECISIONS];
    char ops[LARCH_MAX_OPS][LARCH_LABEL_SIZE];
    hid_t label_type = schema_string_type(LARCH_LABEL_SIZE);
    hid_t ops_ds = H5I_INVALID_HID;
    hsize_t n_ops = 0, n = 0;
    int rc = H5U_EREAD;
    if (label_type < 0 ||
        h5u_read_string_attr_to(group, SCHEMA_ATTR_SPACE_NAME, sp->name, sizeof sp->name) < 0 ||
        h5u_read_attr(group, SCHEMA_ATTR_N_DECISIONS, H5T_NATIVE_UINT32, &sp->n_decisions) < 0)
        goto out;
    rc = H5U_ERANGE;
    if (bad)
        *bad = UINT32_MAX;
    if (sp->n_decisions < 1 || sp->n_decisions > LARCH_MAX_DECISIONS)
        goto out;
    rc = H5U_ESHAPE;
    n = sp->n_decisions;
    ops_ds = H5Dopen2(group, SCHEMA_OP_NAMES, H5P_DEFAULT);
    if (ops_ds < 0 || h5u_dataset_dims(ops_ds, 1, &n_ops) < 0 ||
        h5u_read_whole(group, SCHEMA_DECISION_LABEL, label_type, 1, &n, labels) < 0 ||
        h5u_read_whole(group, SCHEMA_DECISION_KIND, H5T_NATIVE_UINT8, 1, &n, kinds) < 0 ||
        h5u_read_whole(group, SCHEMA_N_CHOICES, H5T_NATIVE_UINT32, 1, &n, choices) < 0 ||
        n_ops > LARCH_MAX_OPS ||
        (n_ops && H5Dread(ops_ds, label_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ops) < 0))
        goto out;
    rc = H5U_ERANGE;
    for (uint32_t d = 0; d < sp->n_decisions; d++) {
        sp->decisions[d].n_choices = choices[d];
        if (choices[d] < 1 || choices[d] > LARCH_MAX_CHOICES) {
            if (bad)
                *bad = d;
            goto out;
        }
        sp->decisions[d].kind = kinds[d];
        memcpy(sp->decisions[d].label, labels[d], LARCH_LABEL_SIZE);
        sp->decisions[d].label[LARCH_LABEL_SIZE - 1] = '\0';
    }
    sp->n_ops = (uint32_t)n_ops;
    for (uint32_t o = 0; o < sp->n_ops; o++) {
        memcpy(sp->op_names[o], ops[o], LARCH_LABEL_SIZE);
        sp->op_names[o][LARCH_LABEL_SIZE - 1] = '\0';
    }
    rc = 0;
out:
    if (ops_ds >= 0)
        H5Dclose(ops_ds);
    if (label_type >= 0)
        H5Tclose(label_type);
    H5Gclose(group);
    return rc;
}
