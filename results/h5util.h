/* Private to results/: small HDF5 helpers shared by the files results/ writes (attributes,
 * whole-vector datasets, the config text, the /space group). Each returns 0 or -1 with HDF5's
 * error stack describing why (inside schema_quiet_begin/end, schema_fail quotes it). */
#ifndef RESULTS_H5UTIL_H
#define RESULTS_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>
#include <larch/space.h>

/* ---- writing (before SWMR starts: attributes and objects are never created after) ---- */

int h5u_write_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, const void *value);
/* A variable-length UTF-8 string attribute (h5py returns str); NULL is written as "". */
int h5u_write_string_attr(hid_t obj, const char *name, const char *value);
int h5u_write_u32_attr(hid_t obj, const char *name, uint32_t value);
int h5u_write_u64_attr(hid_t obj, const char *name, uint64_t value);
int h5u_write_i32_attr(hid_t obj, const char *name, int32_t value);
/* A contiguous 1-D dataset of n elements, written whole (n may be 0). */
int h5u_write_vector(hid_t group, const char *name, hid_t file_type, hid_t mem_type, hsize_t n,
                     const void *data);
/* A scalar fixed-length string dataset sized to text + NUL (NULL is written as ""). */
int h5u_write_text(hid_t group, const char *name, const char *text);
/* The /space group of docs/RESULTS-FORMAT.md (name, n_decisions, labels, kinds, choices, ops). */
int h5u_write_space(hid_t file, const larch_space *space);
/* The current time as ISO 8601 UTC ("2025-01-31T12:00:00Z"; "unknown" if the clock fails). */
void h5u_now_iso(char out[32]);

/* ---- reading ---- */

int h5u_read_attr(hid_t obj, const char *name, hid_t mem_type, void *value);
/* A string attribute (variable or fixed length) as a malloc'd string (free()); NULL on error. */
char *h5u_read_string_attr(hid_t obj, const char *name);
/* A scalar fixed-length string dataset as a malloc'd string (free()); NULL on error. */
char *h5u_read_text(hid_t group, const char *name);
/* The dimensions of a dataset of exactly `rank` dimensions; -1 on error or another rank. */
int h5u_dataset_dims(hid_t ds, int rank, hsize_t *dims);
/* Reads a whole dataset whose dimensions are exactly dims[0..rank-1]; -1 otherwise. */
int h5u_read_whole(hid_t group, const char *name, hid_t mem_type, int rank, const hsize_t *dims,
                   void *out);
/* Rebuilds a larch_space (struct_size = sizeof) from /space; -1 if missing or malformed
 * (decision count or choices out of range). */
int h5u_read_space(hid_t file, larch_space *space);

#endif
