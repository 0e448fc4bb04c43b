/* Small HDF5 helpers shared by the files results/ writes. */
#include "h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema.h"

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

int h5u_write_vector(hid_t group, const char *name, hid_t file_type, hid_t mem_type, hsize_t n,
                     const void *data)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    if (space < 0)
        return -1;
    hid_t ds = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0   ? -1
                : n == 0 ? 0
                         : H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0 && H5Dclose(ds) < 0)
        rc = -1;
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
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

char *h5u_read_text(hid_t group, const char *name)
{
    hid_t ds = H5Dopen2(group, name, H5P_DEFAULT);
    if (ds < 0)
        return NULL;
    hid_t type = H5Dget_type(ds);
    size_t size = type < 0 ? 0 : H5Tget_size(type);
    char *text = NULL;
    if (type >= 0 && H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) == 0 &&
        (text = calloc(size + 1, 1)) != NULL &&
        H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0) {
        free(text);
        text = NULL;
    }
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(ds);
    return text;
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

int h5u_read_space(hid_t file, larch_space *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->struct_size = sizeof *sp;
    hid_t group = H5Gopen2(file, SCHEMA_SPACE, H5P_DEFAULT);
    if (group < 0)
        return -1;
    char labels[LARCH_MAX_DECISIONS][LARCH_LABEL_SIZE];
    uint8_t kinds[LARCH_MAX_DECISIONS];
    uint32_t choices[LARCH_MAX_DECISIONS];
    char ops[LARCH_MAX_OPS][LARCH_LABEL_SIZE];
    hid_t label_type = schema_string_type(LARCH_LABEL_SIZE);
    char *name = h5u_read_string_attr(group, SCHEMA_ATTR_SPACE_NAME);
    hid_t ops_ds = H5Dopen2(group, SCHEMA_OP_NAMES, H5P_DEFAULT);
    hsize_t n_ops = 0;
    int rc = -1;
    if (label_type < 0 || !name || ops_ds < 0 ||
        h5u_read_attr(group, SCHEMA_ATTR_N_DECISIONS, H5T_NATIVE_UINT32, &sp->n_decisions) < 0 ||
        sp->n_decisions < 1 || sp->n_decisions > LARCH_MAX_DECISIONS ||
        h5u_dataset_dims(ops_ds, 1, &n_ops) < 0 || n_ops > LARCH_MAX_OPS)
        goto out;
    hsize_t n = sp->n_decisions;
    if (h5u_read_whole(group, SCHEMA_DECISION_LABEL, label_type, 1, &n, labels) < 0 ||
        h5u_read_whole(group, SCHEMA_DECISION_KIND, H5T_NATIVE_UINT8, 1, &n, kinds) < 0 ||
        h5u_read_whole(group, SCHEMA_N_CHOICES, H5T_NATIVE_UINT32, 1, &n, choices) < 0 ||
        (n_ops && H5Dread(ops_ds, label_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ops) < 0))
        goto out;
    snprintf(sp->name, sizeof sp->name, "%s", name);
    for (uint32_t d = 0; d < sp->n_decisions; d++) {
        if (choices[d] < 1 || choices[d] > LARCH_MAX_CHOICES)
            goto out;
        sp->decisions[d].kind = kinds[d];
        sp->decisions[d].n_choices = choices[d];
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
    free(name);
    if (ops_ds >= 0)
        H5Dclose(ops_ds);
    if (label_type >= 0)
        H5Tclose(label_type);
    H5Gclose(group);
    return rc;
}
