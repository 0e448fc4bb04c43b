/* The tabular benchmark file written by `larch tabulate` (HDF5): every architecture of a small
 * space trained once per training seed, with architectures that compute the same function
 * (trainer/canonical.h) mapped to one "unique" entry. A writer (the tabulate coordinator, the
 * only writer) and an in-memory reader (the table evaluator that replays searches, report,
 * tests). docs/TABLE-FORMAT.md documents the layout; TABLE_SCHEMA_VERSION is stored in it.
 *
 * Indices used throughout:
 *   arch index   0 .. space_size-1, larch_arch_from_index's mixed-radix order (decision 0 slowest)
 *   unique       0 .. n_unique-1, one per equivalence class, ordered by the index of its
 *                representative (the class's first arch in arch-index order)
 *   seed         0 .. n_seeds-1, the training-seed index (not the seed value itself) */
#ifndef RESULTS_TABLE_H
#define RESULTS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <larch/space.h>
#include <larch/status.h>

#define TABLE_SCHEMA_VERSION 1
#define TABLE_KIND                                                                                 \
    "larch-table" /* root attribute `kind`: tells a table from an experiment file                  \
                   */
/* Largest space a table holds: arch_to_unique is kept whole in memory (4 bytes per arch). */
#define TABLE_MAX_SPACE_SIZE (1u << 26)

/* The recorded outcome of one (unique, seed) training: fixed-size, the same struct in memory for
 * the writer and the reader. A row never written reads as all zeros (done == 0). */
typedef struct table_result {
    uint8_t done;         /* 1 once written; 0: not trained yet (every other field is 0) */
    uint8_t status;       /* larch_trial_status: OK, DIVERGED or FAILED */
    uint32_t n_epochs;    /* epochs trained = valid values of this row's curves (<= max_epochs) */
    uint32_t session;     /* tabulate invocation that trained it: 0 first, +1 per --resume */
    uint64_t train_seed;  /* the seed trainer_network_new_cell and trainer_train were given */
    double val_accuracy;  /* [0, 1], after the last epoch; 0 unless status OK */
    double test_accuracy; /* [0, 1]; 0 unless status OK */
    double latency_ms;    /* inference per image, batch of 1 */
    double train_seconds; /* training wall time, in a worker with 1 trainer thread */
    double trained_at;    /* when the row was written, seconds since the Unix epoch (UTC) */
} table_result;

/* What a table is created from. Pointers are only read during table_writer_create /
 * table_writer_resume. */
typedef struct table_info {
    const larch_space *space; /* 1..LARCH_MAX_DECISIONS decisions, size <= TABLE_MAX_SPACE_SIZE */
    uint32_t n_seeds;         /* >= 1 */
    uint32_t max_epochs;      /* width of the curves (0 is stored as one NaN column) */
    uint64_t seed;            /* the experiment seed training seeds derive from */
    /* Provenance. config_text: the full effective config (after --set); recipe: a canonical
     * "key = value" line per setting that determines the results (space, op set, data, training
     * recipe, seeds): resume compares it line by line. created: ISO 8601 UTC; NULL = now. */
    const char *config_text, *config_path, *larch_version, *recipe, *created;
    /* Canonicalisation: n_unique representatives (each valid in space), arch_to_unique with one
     * entry < n_unique per arch of the space (space_size entries, arch-index order), and the
     * params / FLOPs (multiply-adds per image, forward) of each representative's network. */
    uint32_t n_unique;
    const larch_arch *unique;
    const uint32_t *arch_to_unique;
    const uint64_t *params, *flops;
} table_info;

/* ---- writer (one thread; the only process writing the file) ---- */

typedef struct table_writer table_writer;

/* Creates (truncates) path with every dataset sized and allocated up front (all rows "not
 * done"), writes the provenance, the space, the canonicalisation, params and FLOPs, then starts
 * SWMR writing, so h5py (swmr=True) can watch a live build and a kill -9 loses at most the rows
 * in flight. On success *out is owned by the caller (table_writer_close); on error *out is
 * untouched, nothing stays open and err names path and what failed (LARCH_EINVAL for a bad info,
 * LARCH_EIO for HDF5 failures, LARCH_ENOMEM). */
int table_writer_create(const char *path, const table_info *info, table_writer **out,
                        larch_error *err);

/* Reopens an existing table to add the rows still missing, also after the previous writer was
 * killed (the superblock's "open for write" flags are cleared first, as `h5clear -s` does).
 * The file must have been made from an equal info: the same recipe text (else LARCH_EINVAL
 * quoting the first differing line of both), the same space, n_seeds, max_epochs, seed,
 * n_unique and arch_to_unique (else LARCH_EINVAL naming what differs). config_text,
 * config_path, created and larch_version are provenance and not compared. Loads the done flags
 * (table_writer_done) and the largest session so far: rows written through this writer get
 * session = that + 1. Errors as table_writer_create, plus LARCH_EFORMAT for a file that is not a
 * larch table or has a newer table_schema_version. */
int table_writer_resume(const char *path, const table_info *info, table_writer **out,
                        larch_error *err);

/* 1 if (unique, seed) was written (now or by an earlier session), else 0 (also out of range). */
int table_writer_done(const table_writer *w, uint32_t unique, uint32_t seed);
/* Rows done, over all (unique, seed). */
uint64_t table_writer_n_done(const table_writer *w);
/* The session number rows written through w get (0 for a created file). */
uint32_t table_writer_session(const table_writer *w);

/* Writes the result of (unique, seed) in two flushed phases, curves first, then the results
 * row with done = 1 and session = table_writer_session(w), so a reader that sees a row done
 * also sees its curves. r->n_epochs <= max_epochs; train_loss and val_curve hold r->n_epochs
 * values (either may be NULL: NaN), later entries are stored as NaN. r->done and r->session
 * are ignored; r->trained_at 0 means now. Writing a row already done overwrites it.
 * LARCH_ERANGE (indices, n_epochs), LARCH_EINVAL (status), LARCH_EIO. */
int table_writer_put(table_writer *w, uint32_t unique, uint32_t seed, const table_result *r,
                     const float *train_loss, const float *val_curve, larch_error *err);

/* Flushes and closes; w may be NULL and is freed in every case. Returns the first error. */
int table_writer_close(table_writer *w, larch_error *err);

/* ---- reader: everything is loaded at open; queries never touch the file ---- */

typedef struct table_file table_file;

/* Reads the whole table into memory (a live or killed-writer file works: SWMR read, with a
 * plain read-only fallback for repacked copies). Rows not done read as done == 0. Checks kind
 * and table_schema_version (LARCH_EFORMAT naming path and both versions if newer) and that
 * every dataset has the shape the root attributes say. On success *out is owned by the caller
 * (table_close); on error LARCH_EIO (cannot open) or LARCH_EFORMAT (not a larch table,
 * malformed), LARCH_ENOMEM, with a message naming path. A table_file never changes after open:
 * every query below is const and may be called from any number of threads at once. */
int table_open(const char *path, table_file **out, larch_error *err);
/* t may be NULL. */
void table_close(table_file *t);

/* Rebuilt from /space (struct_size = sizeof(larch_space)); valid until table_close. */
const larch_space *table_space(const table_file *t);
uint32_t table_n_seeds(const table_file *t);
uint32_t table_n_unique(const table_file *t);
uint64_t table_space_size(const table_file *t);
uint32_t table_max_epochs(const table_file *t);
/* Rows done, over all (unique, seed); complete when == n_unique * n_seeds. */
uint64_t table_n_done(const table_file *t);

/* Provenance strings, owned by t ("" when absent). */
const char *table_config_text(const table_file *t);
const char *table_recipe(const table_file *t);
const char *table_larch_version(const table_file *t);
const char *table_created(const table_file *t);
uint64_t table_seed(const table_file *t);

/* The unique entry arch maps to: arch index (mixed radix) -> in-memory array, O(n_decisions),
 * no allocation. LARCH_ERANGE / LARCH_EINVAL if arch does not fit table_space (err may be
 * NULL: the hot path of a replay does not need the message). */
int table_lookup(const table_file *t, const larch_arch *arch, uint32_t *unique, larch_error *err);

/* The representative architecture of unique (what was trained), or NULL if out of range. */
const larch_arch *table_unique_arch(const table_file *t, uint32_t unique);
/* Params / FLOPs of unique's representative network; 0 if out of range. */
uint64_t table_params(const table_file *t, uint32_t unique);
uint64_t table_flops(const table_file *t, uint32_t unique);

/* The recorded result of (unique, seed), or NULL if either is out of range. When the curves
 * pointers are not NULL they receive the row's train loss and validation accuracy per epoch
 * (table_max_epochs(t) floats each, NaN after n_epochs). Everything points into t and stays
 * valid until table_close. A row not done has done == 0. */
const table_result *table_get(const table_file *t, uint32_t unique, uint32_t seed,
                              const float **train_loss, const float **val_curve);

/* Means of val and test accuracy over the seeds of unique that are done (non-OK rows count
 * with their recorded 0). Returns how many seeds were done (0: the means are NaN). */
uint32_t table_mean(const table_file *t, uint32_t unique, double *mean_val, double *mean_test);

/* The unique entry with the highest mean validation accuracy over its done seeds (ties: the
 * lowest unique), with its mean val and test accuracy (either out-pointer may be NULL).
 * LARCH_ENOTFOUND if no row is done. */
int table_best(const table_file *t, uint32_t *unique, double *mean_val, double *mean_test,
               larch_error *err);

#endif
