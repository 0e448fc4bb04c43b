/* Worker processes that train architectures for a coordinator (tabulate now, the search loop
 * later): crash and hang isolation, and all cores without threads sharing one address space.
 *
 * Each worker is the larch binary itself, started with posix_spawn as `larch worker CONFIG
 * [--set K=V]... [--plugin-path DIRS]` (never fork()ed from a coordinator that has initialised
 * BLAS or HDF5), in its own process group (a Ctrl-C at the terminal reaches the coordinator
 * only). It loads the config, the op set and the data once, trains with 1 trainer thread, and
 * talks over one socket that is its stdin and stdout (its own stdout goes to stderr):
 *
 *   worker -> coordinator  one READY record (status, config hash, input shape), then per job
 *                          one RESULT record;
 *   coordinator -> worker  JOB records; end of input (the coordinator closed its end) = exit.
 *
 * Records are fixed-size structs in the host's byte order: both ends are the same binary. */
#ifndef HOST_WORKER_H
#define HOST_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <larch/space.h>
#include <larch/status.h>

#include "../trainer/network.h"
#include "../trainer/train.h"

#define HOST_JOB_MAGIC 0x424f4a4cu    /* "LJOB" */
#define HOST_RECORD_MAGIC 0x4345524cu /* "LREC" */

/* One training: build arch's network with seed and train it with seed (both the network's
 * initialisation and the data order derive from it). */
typedef struct host_job {
    uint32_t magic; /* HOST_JOB_MAGIC */
    uint32_t reserved;
    uint64_t id;   /* the coordinator's; echoed in the result */
    uint64_t seed; /* for trainer_network_new_cell and trainer_train */
    larch_arch arch;
} host_job;

typedef enum host_record_kind { HOST_RECORD_READY = 1, HOST_RECORD_RESULT = 2 } host_record_kind;

/* What comes back. A RESULT's outcome.status is always meaningful: OK or DIVERGED from the
 * trainer; FAILED when the network could not be built or trained (rc < 0, message says why) or
 * the worker died twice on the job; TIMEOUT when it ran past the pool's job time limit. */
typedef struct host_job_result {
    uint32_t magic;    /* HOST_RECORD_MAGIC */
    uint32_t kind;     /* host_record_kind */
    int32_t rc;        /* LARCH_OK, or the error (READY: the worker could not start) */
    uint32_t attempts; /* RESULT: workers that took the job (2 after a crash and a retry) */
    uint64_t id;
    uint64_t config_hash;      /* READY: host_worker_config_hash of the worker's config */
    trainer_input_shape input; /* READY: the data's shape, max_batch = the recipe's batch */
    trainer_outcome outcome;   /* RESULT */
    char message[LARCH_ERROR_MESSAGE_SIZE];
} host_job_result;

/* FNV-1a of the effective config text: a coordinator checks that its workers read the same
 * config (a file edited after the start would silently make another table). */
uint64_t host_worker_config_hash(const char *config_text);

/* The worker side: the whole of `larch worker ARGS` (argv = ARGS, not including "worker").
 * Serves jobs until end of input and returns LARCH_OK; returns an error if it could not start
 * (after reporting it in the READY record) or the coordinator sent garbage. Takes over fds 0
 * and 1 and closes every other descriptor above 2. */
int host_worker_main(int argc, char **argv, larch_error *err);

/* ---- the coordinator side: a pool of workers ---- */

typedef struct host_pool_options {
    const char *exe;         /* the larch binary; NULL = /proc/self/exe */
    const char *const *args; /* what follows "worker": CONFIG [--set K=V]... [--plugin-path D] */
    size_t n_args;
    uint32_t n_workers;     /* >= 1 */
    double job_timeout_s;   /* a job running longer is killed and reported TIMEOUT; 0 = never */
    uint64_t config_hash;   /* what every READY must carry (0: not checked) */
    double start_timeout_s; /* how long a worker may take to become READY; 0 = 600 s */
} host_pool_options;

typedef struct host_pool host_pool;

/* Spawns n_workers workers and waits until each is READY. On success *out is owned by the
 * caller (host_pool_free) and *input (if not NULL) is the data shape the workers report. Errors:
 * a worker that cannot be spawned (LARCH_EIO naming exe), reports an error in READY (its status
 * and message, e.g. the data directory is missing) or a config hash that differs (LARCH_EINVAL),
 * or dies before READY (LARCH_EIO with its exit status); every spawned worker is then reaped.
 * The coordinator must not have SIGCHLD ignored. One thread drives a pool. */
int host_pool_new(const host_pool_options *opts, host_pool **out, trainer_input_shape *input,
                  larch_error *err);

/* Workers without a job. */
uint32_t host_pool_idle(const host_pool *p);
/* Jobs submitted and not yet returned by host_pool_wait. */
uint32_t host_pool_in_flight(const host_pool *p);

/* Hands job to an idle worker (LARCH_EINVAL if none is idle). The job is copied. A worker found
 * dead here is replaced and the job goes to the replacement. LARCH_EIO if no worker can take it
 * (a replacement cannot be spawned). */
int host_pool_submit(host_pool *p, const host_job *job, larch_error *err);

/* Waits up to timeout_ms (-1: no limit) for a finished job. Returns 1 with *res filled (a RESULT
 * record; a job whose worker died is retried once on a fresh worker, a second death is a FAILED
 * result, a job past the time limit a TIMEOUT result), 0 when the time passed or a signal
 * arrived first, or an error (LARCH_EIO: a replacement worker could not be started; LARCH_EINVAL:
 * nothing is in flight). */
int host_pool_wait(host_pool *p, host_job_result *res, int timeout_ms, larch_error *err);

/* Ends the workers and frees p (may be NULL). abandon = 0: closes their input so each exits
 * after its job, and waits; abandon = 1: kills them at once (jobs in flight are lost). */
void host_pool_free(host_pool *p, int abandon);

#endif
