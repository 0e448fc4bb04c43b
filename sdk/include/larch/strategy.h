/* The strategy interface: asynchronous ask/tell with save/load of the whole state. */
#ifndef LARCH_STRATEGY_H
#define LARCH_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "rng.h"
#include "space.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Positive returns of ask(); errors are negative larch_status codes. */
enum {
    LARCH_ASK_OK = 0,   /* *arch holds a new proposal */
    LARCH_ASK_WAIT = 1, /* needs a result (tell) before it can propose more */
    LARCH_ASK_DONE = 2  /* the space is exhausted: no more proposals, ever */
};

typedef enum larch_trial_status {
    LARCH_TRIAL_OK = 0,
    LARCH_TRIAL_DIVERGED = 1, /* NaN or infinite loss during training */
    LARCH_TRIAL_FAILED = 2,   /* the evaluation failed (error, crash) */
    LARCH_TRIAL_TIMEOUT = 3   /* the evaluation ran past its time limit */
} larch_trial_status;

/* What a strategy learns of one proposal. Strategies never see test accuracy. */
typedef struct larch_result {
    uint32_t struct_size; /* sizeof(larch_result) as the host was built */
    uint32_t status;      /* larch_trial_status */
    double score;         /* what strategies maximise, computed by the host; -inf if not OK */
    double val_accuracy;  /* in [0, 1] */
    uint64_t params;      /* trainable parameters */
    uint64_t flops;       /* multiply-adds of one forward pass of one image */
    double latency_ms;    /* measured inference latency per image */
    double cost_seconds;  /* training seconds charged for this result */
} larch_result;

/* All functions receive the `self` that create returned. Calls on one self come from one
 * thread at a time. On error a function returns a negative status and fills err; the host then
 * aborts that run (never the process) and records the message.
 *
 * create: reads parameters through host getters, seeds its RNG from seed, and sets *self.
 *   The space is copied by the host and valid until destroy().
 * ask: writes a proposal into *arch (arch->n = space->n_decisions) and returns LARCH_ASK_OK, or
 *   returns LARCH_ASK_WAIT / LARCH_ASK_DONE. Several proposals may be outstanding.
 * tell: the result of an earlier proposal, in any order; arch is the proposal as asked.
 * save: serialises the complete state (RNG included) into a buffer allocated with host->alloc;
 *   ownership of *bytes passes to the host. Outstanding proposals are part of the state.
 * load: restores a state that save produced (on a freshly created self with the same params).
 * destroy: frees everything; self may be NULL. */
typedef struct larch_strategy_vtable {
    uint32_t struct_size; /* sizeof(larch_strategy_vtable) as the plugin was built */
    int (*create)(const larch_host *host, const larch_space *space, uint64_t seed, void **self,
                  larch_error *err);
    int (*ask)(void *self, larch_arch *arch, larch_error *err);
    int (*tell)(void *self, const larch_arch *arch, const larch_result *result, larch_error *err);
    int (*save)(void *self, void **bytes, size_t *size, larch_error *err);
    int (*load)(void *self, const void *bytes, size_t size, larch_error *err);
    void (*destroy)(void *self);
} larch_strategy_vtable;

/* A growable byte buffer for save(): allocates through host->alloc so the host can free it.
 * Puts after a failed allocation are ignored and leave failed = 1. */
typedef struct larch_buf {
    const larch_host *host;
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
} larch_buf;

void larch_buf_init(larch_buf *buf, const larch_host *host);
void larch_buf_put(larch_buf *buf, const void *bytes, size_t size);
/* Hands the buffer to save()'s out-parameters: LARCH_OK, or LARCH_ENOMEM (buffer freed) if any
 * put failed. */
int larch_buf_finish(larch_buf *buf, void **bytes, size_t *size, larch_error *err);

/* Fixed-width little-endian puts, so a checkpoint reads back the same on any host. */
void larch_buf_put_u32(larch_buf *buf, uint32_t value);
void larch_buf_put_u64(larch_buf *buf, uint64_t value);
void larch_buf_put_f64(larch_buf *buf, double value);
/* The RNG's four state words. */
void larch_buf_put_rng(larch_buf *buf, const struct larch_rng *rng);
/* An architecture's choices, one byte per decision of space (space->n_decisions bytes whatever
 * arch->n says, so an unset, zeroed arch keeps the layout). */
void larch_buf_put_arch(larch_buf *buf, const larch_space *space, const larch_arch *arch);
/* The header a checkpoint should begin with: magic, version and the space's shape (decision
 * count and choice counts), so load() can refuse another strategy's or another space's state. */
void larch_buf_put_header(larch_buf *buf, uint32_t magic, uint32_t version,
                          const larch_space *space);

/* Sequential reader for load(): get copies size bytes or returns LARCH_EFORMAT (message says
 * the checkpoint is truncated) once the input runs out. */
typedef struct larch_reader {
    const uint8_t *data;
    size_t size;
    size_t offset;
} larch_reader;

void larch_reader_init(larch_reader *reader, const void *bytes, size_t size);
int larch_reader_get(larch_reader *reader, void *out, size_t size, larch_error *err);
/* The counterparts of larch_buf_put_u32/u64/f64/rng; LARCH_EFORMAT when truncated. get_rng also
 * refuses an all-zero state (the generator's fixed point, which seeding never produces) with
 * LARCH_EFORMAT. */
int larch_reader_get_u32(larch_reader *reader, uint32_t *value, larch_error *err);
int larch_reader_get_u64(larch_reader *reader, uint64_t *value, larch_error *err);
int larch_reader_get_f64(larch_reader *reader, double *value, larch_error *err);
int larch_reader_get_rng(larch_reader *reader, struct larch_rng *rng, larch_error *err);
/* The counterpart of larch_buf_put_arch: sets arch->n = space->n_decisions and reads the choices
 * (bytes past n are zeroed). LARCH_EFORMAT when truncated or when a choice is out of the space
 * ("an architecture is out of the space (...)"). */
int larch_reader_get_arch(larch_reader *reader, const larch_space *space, larch_arch *arch,
                          larch_error *err);
/* LARCH_OK when every byte was read, else LARCH_EFORMAT ("N trailing bytes after the state"):
 * the last check of a load(), so a padded or mismatched checkpoint is refused. */
int larch_reader_expect_end(const larch_reader *reader, larch_error *err);
/* Reads and checks a larch_buf_put_header header. LARCH_EFORMAT for another magic or version
 * or a truncated header, LARCH_EINVAL for another space shape; messages begin with `who`
 * (e.g. "random: load"). */
int larch_reader_check_header(larch_reader *reader, const char *who, uint32_t magic,
                              uint32_t version, const larch_space *space, larch_error *err);

#ifdef __cplusplus
}
#endif
#endif
