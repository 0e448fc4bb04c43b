/* The HDF5 experiment file: writer (the coordinator's only output) and reader (report, tests).
 * docs/RESULTS-FORMAT.md documents the layout; RESULTS_SCHEMA_VERSION is stored in the file. */
#ifndef RESULTS_RESULTS_H
#define RESULTS_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include <larch/space.h>
#include <larch/status.h>

#define RESULTS_SCHEMA_VERSION 1
#define RESULTS_NAME_SIZE 64

/* Root attributes only a replay (evaluator "table") writes: the table file (as the config
 * resolved it: relative paths are relative to the directory larch ran in), its best
 * architecture's mean validation accuracy over its seeds, and that architecture's mean test
 * accuracy (the regret baselines). Read them with results_file_root_string / _double. */
#define RESULTS_ATTR_TABLE_PATH "table_path"
#define RESULTS_ATTR_TABLE_BEST_VAL "table_best_val_accuracy"
#define RESULTS_ATTR_TABLE_BEST_TEST "table_best_test_accuracy"

typedef enum results_run_state {
    RESULTS_RUN_PENDING = 0,
    RESULTS_RUN_RUNNING = 1,
    RESULTS_RUN_FINISHED = 2,
    RESULTS_RUN_ABORTED = 3
} results_run_state;

/* One row of a run's `trials` table: fixed-size members only. */
typedef struct results_trial {
    uint64_t trial;       /* 0-based index within the run */
    uint32_t run;         /* index of the run in the file */
    uint8_t status;       /* larch_trial_status */
    uint8_t cached;       /* 1 if answered from the evaluation cache */
    double score;         /* the host's objective; NaN unless status OK */
    double val_accuracy;  /* [0, 1] */
    double test_accuracy; /* [0, 1] */
    uint64_t params;
    uint64_t flops;       /* multiply-adds per image, forward */
    double latency_ms;    /* inference per image */
    double train_seconds; /* training wall time (the original's when cached) */
    double cost_seconds;  /* training seconds charged to the run's budget by this trial */
    double started_s;     /* seconds since the experiment started */
    double finished_s;
    uint32_t n_epochs;                 /* valid entries of this row's curves */
    char arch[LARCH_ARCH_STRING_SIZE]; /* larch_arch_to_string form */
    double charged_seconds;            /* sum of cost_seconds of the run up to this trial */
} results_trial;

typedef struct results_run_info {
    char name[RESULTS_NAME_SIZE];             /* group name, e.g. "random-s0" */
    char strategy[RESULTS_NAME_SIZE];         /* the config's name for it, e.g. "rl-table" */
    char plugin[RESULTS_NAME_SIZE];           /* the plugin id it runs; "" = strategy */
    char strategy_version[RESULTS_NAME_SIZE]; /* plugin's own version */
    uint32_t abi_major, abi_minor;            /* the plugin's ABI */
    uint64_t seed;
    uint32_t seed_index;               /* 0..seeds-1 */
    char evaluator[RESULTS_NAME_SIZE]; /* "train" or "table"; "" is written as "train" */
} results_run_info;

typedef struct results_experiment_info {
    const char *config_text; /* the full effective config (after --set) */
    const char *config_path;
    const char *larch_version;
    const char *objective; /* human description of the score */
    uint64_t seed;
    const larch_space *space;
    uint32_t max_epochs; /* width of the curves datasets */
    uint32_t n_runs;
    const results_run_info *runs;
    /* Replays only (else NULL): the table file, its best architecture's mean validation
     * accuracy over its seeds and that architecture's mean test accuracy (regret baselines). */
    const char *table_path;
    double table_best_val_accuracy, table_best_test_accuracy;
} results_experiment_info;

typedef struct results_writer results_writer;

/* Creates (truncates) path, creates every group, dataset and attribute up front, then starts
 * SWMR writing so readers (results_file_open, h5py with swmr=True) can watch the live file.
 * info and everything it points to is only read during the call. Run names must be non-empty,
 * unique, without '/'. max_epochs may be 0 (the curves datasets are then one NaN column wide).
 * On success *out is owned by the caller (results_writer_close); on error *out is untouched,
 * err names the path and what failed, and nothing stays open. Not thread-safe: one thread
 * drives a writer. */
int results_writer_create(const char *path, const results_experiment_info *info,
                          results_writer **out, larch_error *err);

/* Appends one trial to run `run` in two flushed phases: first the arch and curve rows, then
 * the trials row, so a reader never sees a trial without its arch. Rows are numbered per run:
 * row->trial must equal the number of trials already appended to the run (LARCH_EINVAL
 * otherwise), row->run must equal run, and arch->n the space's n_decisions. The stored arch
 * string is larch_arch_to_string(arch), whatever row->arch holds. train_loss and val_curve
 * hold row->n_epochs (<= max_epochs) values; either may be NULL (stored as NaN). After a
 * failed append the run stays consistent and the same trial may be appended again. */
int results_writer_append(results_writer *w, uint32_t run, const results_trial *row,
                          const larch_arch *arch, const float *train_loss, const float *val_curve,
                          larch_error *err);

/* Appends n trials (rows[i].trial = the run's count + i) to run `run` with the same two
 * flushed phases as results_writer_append, but one flush per phase for the whole block: replays
 * append tens of thousands of trials a second, which a flush per trial (~60 us) would not allow.
 * A kill -9 loses at most the block in flight. archs holds n architectures; train_loss[i] and
 * val_curve[i] hold rows[i].n_epochs values (either array, or any entry, may be NULL: NaN).
 * Checks every row first (as results_writer_append) and writes nothing if one is bad; n == 0 is
 * a no-op. */
int results_writer_append_block(results_writer *w, uint32_t run, const results_trial *rows,
                                const larch_arch *archs, size_t n, const float *const *train_loss,
                                const float *const *val_curve, larch_error *err);

/* Overwrites the run's run_state scalar and flushes. */
int results_writer_set_run_state(results_writer *w, uint32_t run, results_run_state state,
                                 larch_error *err);

/* Replaces the run's latest strategy checkpoint (bytes may be NULL when size is 0), taken after
 * the strategy was told `trials` results, and flushes. Crash-safe in flushed steps (size := 0,
 * bytes, trials, size := n): after a kill -9 a reader sees the old checkpoint, no checkpoint
 * (size 0), or the new one; never a torn one. */
int results_writer_save_checkpoint(results_writer *w, uint32_t run, const void *bytes, size_t size,
                                   uint64_t trials, larch_error *err);

/* Flushes and closes; w may be NULL and is freed in every case. Does not change run states.
 * Returns the first error met while closing. */
int results_writer_close(results_writer *w, larch_error *err);

/* ---- reader ---- */

typedef struct results_file results_file;

/* Opens an experiment file read-only; works on a live SWMR file and on one whose writer was
 * killed. Checks the schema version (LARCH_EFORMAT naming the file and both versions if newer
 * than this build reads), reads the root, the space and every run's attributes. On success *out
 * is owned by the caller (results_file_close); on error LARCH_EIO (cannot open, e.g. missing)
 * or LARCH_EFORMAT (not HDF5, not a larch file, malformed) with a message naming path. */
int results_file_open(const char *path, results_file **out, larch_error *err);
/* f may be NULL. */
void results_file_close(results_file *f);

uint32_t results_file_n_runs(const results_file *f);
/* Runs are in run_index order; run < n_runs or NULL. Valid until results_file_close. */
const results_run_info *results_file_run(const results_file *f, uint32_t run);
/* Rebuilt from /space (struct_size = sizeof(larch_space)); valid until results_file_close. */
const larch_space *results_file_space(const results_file *f);
/* The stored config text; owned by f. */
const char *results_file_config_text(const results_file *f);
uint32_t results_file_schema_version(const results_file *f);
/* The max_epochs the writer was given: curves hold at most this many values. */
uint32_t results_file_max_epochs(const results_file *f);

/* Reads the run's trials rows as of now (a live file is refreshed on each call); row i has
 * trial == i. Rows after the first that does not (never written: a writer killed between
 * extending and writing) are left out. *rows is malloc'd and owned by the caller (free());
 * NULL when *n_rows is 0. On error *rows and *n_rows are untouched. */
int results_file_read_trials(results_file *f, uint32_t run, results_trial **rows, size_t *n_rows,
                             larch_error *err);
int results_file_read_run_state(results_file *f, uint32_t run, results_run_state *state,
                                larch_error *err);
/* The run's latest checkpoint; *bytes malloc'd, owned by the caller; *bytes NULL and *size 0
 * if none was saved. *trials (if not NULL): the results its strategy had been told, or
 * RESULTS_UNKNOWN_TRIALS in a file written before this was recorded. */
#define RESULTS_UNKNOWN_TRIALS UINT64_MAX
int results_file_read_checkpoint(results_file *f, uint32_t run, void **bytes, size_t *size,
                                 uint64_t *trials, larch_error *err);
/* The architecture stored for trial `trial` of the run (from the 2-D arch dataset, whose row
 * index is the trial id). LARCH_ERANGE if that row does not exist yet. */
int results_file_read_arch(results_file *f, uint32_t run, uint64_t trial, larch_arch *arch,
                           larch_error *err);
/* The trial's per-epoch curves into caller buffers of results_file_max_epochs() floats each
 * (either may be NULL); entries at and after the trial's n_epochs are NaN. LARCH_ERANGE if the
 * row does not exist yet. */
int results_file_read_curves(results_file *f, uint32_t run, uint64_t trial, float *train_loss,
                             float *val_curve, larch_error *err);

/* Floats per row of the curves datasets: max_epochs, or 1 when it is 0. */
uint32_t results_file_curve_width(const results_file *f);
/* Rows first .. first+n-1 of both curves datasets at once, as stored (NaN-padded rows of
 * results_file_curve_width floats), into caller buffers of n such rows. LARCH_ERANGE if a row
 * does not exist. */
int results_file_read_curve_rows(results_file *f, uint32_t run, uint64_t first, uint64_t n,
                                 float *train_loss, float *val_curve, larch_error *err);

/* The numeric root attribute `name` converted to double (e.g. table_best_val_accuracy, present
 * only in some files). LARCH_ENOTFOUND when the file has no such attribute, LARCH_EFORMAT when it
 * is not a number; *out is untouched on error. */
int results_file_root_double(results_file *f, const char *name, double *out, larch_error *err);

/* The string root attribute `name` (e.g. RESULTS_ATTR_TABLE_PATH) as a malloc'd string that the
 * caller owns (free()). LARCH_ENOTFOUND when the file has no such attribute, LARCH_EFORMAT when
 * it is not a string or cannot be read; *out is untouched on error. */
int results_file_root_string(results_file *f, const char *name, char **out, larch_error *err);

#endif
