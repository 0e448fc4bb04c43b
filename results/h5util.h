/* Private to results/: the one set of HDF5 helpers behind the experiment file (writer.c,
 * reader.c) and the table (table.c): attributes, whole and row-wise datasets, the config text,
 * the /space group, compound row types, opening and closing. Unless said otherwise each returns
 * 0 or -1 with HDF5's error stack describing why (inside schema_quiet_begin/end, schema_fail
 * quotes it). */
#ifndef RESULTS_H5UTIL_H
#define RESULTS_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>
#include <larch/space.h>
#include <larch/status.h>

/* ---- handles ---- */

/* Closes *id with close_fn unless it is invalid, then invalidates it; sets *failed if the close
 * failed (leaves it alone otherwise). */
void h5u_close_id(hid_t *id, herr_t (*close_fn)(hid_t), int *failed);

/* Opens path read-only for a reader: with SWMR_READ (*swmr = 1, so datasets can be refreshed),
 * else plainly (files not in the latest format, e.g. repacked, only open so; *swmr = 0). swmr may
 * be NULL. On failure returns H5I_INVALID_HID with *rc and err set: LARCH_EIO "<path>: cannot
 * open: <errno text>" for a path that cannot be stat'ed, LARCH_EFORMAT "<path>: not an HDF5
 * file", else LARCH_EIO "<path>: cannot open as HDF5 (<HDF5's reason>)". Call it inside
 * schema_quiet_begin/end. */
hid_t h5u_open_read(const char *path, int *swmr, int *rc, larch_error *err);

/* Opens path read-write with the file-access properties fapl (H5P_DEFAULT allowed) after clearing
 * the superblock's "open for write" flags a killed SWMR writer left, as `h5clear -s` does:
 * through the library's own file-access property when it has one, else by running h5clear.
 * Returns the file or H5I_INVALID_HID (HDF5's error stack says why). */
hid_t h5u_open_rdwr_clearing(const char *path, hid_t fapl);

/* The close of a writer (results_writer, table_writer): flushes file, then destroy(obj), which
 * closes every handle of obj (file included) and frees obj (path included); returns its
 * nonzero on a failed close. Returns the first error: LARCH_EIO "<path>: cannot flush" or
 * "<path>: cannot close" with HDF5's reason. obj is freed in every case. */
int h5u_close_writer(hid_t file, const char *path, int (*destroy)(void *obj), void *obj,
                     larch_error *err);

/* ---- types ---- */

enum h5u_kind { H5U_U8, H5U_U32, H5U_U64, H5U_F64, H5U_STATUS, H5U_ARCH };

/* One member of a compound row type: its name in the file, its offset in the C struct. */
typedef struct h5u_field {
    const char *name;
    size_t offset;
    enum h5u_kind kind; /* H5U_STATUS: schema_status_type; H5U_ARCH: an arch string */
} h5u_field;

/* The compound of the n fields, in order: for_file gives the packed little-endian file layout,
 * otherwise the C struct's (mem_size bytes, the fields' offsets). H5I_INVALID_HID on error. */
hid_t h5u_compound_type(const h5u_field *fields, size_t n, size_t mem_size, int for_file);

/* ---- writing (before SWMR starts: attributes and objects are never created after) ---- */

/* The checks a space passes before h5u_write_space: LARCH_EINVAL naming path and what is out of
 * range (decisions, choices, ops); "<path>: no search space given" for NULL. */
int h5u_check_space(const char *path, const larch_space *space, larch_error *err);

int h5u_write_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value);
/* A variable-length UTF-8 string attribute (h5py returns str); NULL is written as "". */
int h5u_write_string_attr(hid_t obj, const char *name, const char *value);
int h5u_write_u32_attr(hid_t obj, const char *name, uint32_t value);
int h5u_write_u64_attr(hid_t obj, const char *name, uint64_t value);
int h5u_write_i32_attr(hid_t obj, const char *name, int32_t value);
int h5u_write_f64_attr(hid_t obj, const char *name, double value);
/* A contiguous dataset of the given rank and dimensions, written whole (a dimension may be 0). */
int h5u_write_array(hid_t group, const char *name, hid_t file_type, hid_t mem_type, int rank,
                    const hsize_t *dims, const void *data);
/* A contiguous 1-D dataset of n elements, written whole (n may be 0). */
int h5u_write_vector(hid_t group, const char *name, hid_t file_type, hid_t mem_type, hsize_t n,
                     const void *data);
/* An empty dataset whose unwritten elements read as *fill (of fill_type). With chunk (rank
 * entries) it is chunked and may grow up to maxdims (NULL: dims; H5S_UNLIMITED allowed);
 * without, it is contiguous and allocated, filled, at creation, so in-place writes under SWMR
 * never change its layout. Returns the open dataset or H5I_INVALID_HID. */
hid_t h5u_create_filled(hid_t group, const char *name, hid_t file_type, int rank,
                        const hsize_t *dims, const hsize_t *maxdims, const hsize_t *chunk,
                        hid_t fill_type, const void *fill);
/* A scalar fixed-length string dataset sized to text + NUL (NULL is written as ""). */
int h5u_write_text(hid_t group, const char *name, const char *text);
/* The /space group of docs/RESULTS-FORMAT.md (name, n_decisions, labels, kinds, choices, ops). */
int h5u_write_space(hid_t file, const larch_space *space);
/* Writes n rows of `width` elements (width 0: a 1-D dataset) from row `row` of ds, which is
 * already at least row + n long. The conversion buffer is sized to the data: HDF5's default
 * (1 MiB, zeroed on every write that converts, as a compound does) costs more than most writes. */
int h5u_write_rows(hid_t ds, hsize_t row, hsize_t n, hsize_t width, hid_t mem_type,
                   const void *data);
/* The current time as ISO 8601 UTC ("2025-01-31T12:00:00Z"; "unknown" if the clock fails). */
void h5u_now_iso(char out[32]);

/* ---- reading ---- */

/* Why a reader below failed (0: it did not). */
enum h5u_failure {
    H5U_EOPEN = -1,  /* the object does not open */
    H5U_ESHAPE = -2, /* it has another type, rank, size or dimensions than expected */
    H5U_ENOMEM = -3,
    H5U_EREAD = -4, /* reading it failed */
    H5U_ERANGE = -5 /* a value read is out of range */
};

int h5u_read_attr(hid_t obj, const char *name, hid_t mem_type, void *value);
/* A string attribute (variable or fixed length) as a malloc'd string (free()); NULL on error. */
char *h5u_read_string_attr(hid_t obj, const char *name);
/* The same into out, truncated to size - 1 bytes. */
int h5u_read_string_attr_to(hid_t obj, const char *name, char *out, size_t size);
/* A scalar fixed-length string dataset into *text, malloc'd (free()); on error a negative
 * h5u_failure (H5U_ESHAPE: not a fixed-length string), *text untouched. size (may be NULL)
 * receives the stored length, also for H5U_ENOMEM. */
int h5u_read_text(hid_t group, const char *name, char **text, size_t *size);
/* The dimensions of a dataset of exactly `rank` dimensions; -1 on error or another rank. */
int h5u_dataset_dims(hid_t ds, int rank, hsize_t *dims);
/* Reads a whole dataset whose dimensions are exactly dims[0..rank-1]; -1 otherwise. */
int h5u_read_whole(hid_t group, const char *name, hid_t mem_type, int rank, const hsize_t *dims,
                   void *out);
/* Reads n rows of `width` elements (width 0: a 1-D dataset) from row `row` of ds. */
int h5u_read_rows(hid_t ds, hsize_t row, hsize_t n, hsize_t width, hid_t mem_type, void *out);
/* Rebuilds a larch_space (struct_size = sizeof) from /space. On error a negative h5u_failure:
 * H5U_EOPEN (no /space), H5U_EREAD (its attributes), H5U_ERANGE with *bad = UINT32_MAX
 * (space->n_decisions is outside 1..LARCH_MAX_DECISIONS) or *bad = the decision whose
 * n_choices (space->decisions[*bad].n_choices) is outside 1..LARCH_MAX_CHOICES, H5U_ESHAPE
 * (a dataset unreadable, of another length than n_decisions, or over LARCH_MAX_OPS ops).
 * bad may be NULL. */
int h5u_read_space(hid_t file, larch_space *space, uint32_t *bad);

#endif
