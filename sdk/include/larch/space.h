/* Search spaces as sequences of categorical decisions, and architectures as choice vectors. */
#ifndef LARCH_SPACE_H
#define LARCH_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LARCH_MAX_DECISIONS 64
#define LARCH_MAX_CHOICES 36 /* one base-36 character per decision in the arch string */
#define LARCH_LABEL_SIZE 32
#define LARCH_MAX_OPS 16
/* An arch string: one character per decision plus the NUL. */
#define LARCH_ARCH_STRING_SIZE (LARCH_MAX_DECISIONS + 1)

typedef enum larch_decision_kind {
    LARCH_DECISION_OP = 1,      /* which operation an edge or block applies */
    LARCH_DECISION_INPUT = 2,   /* which earlier node feeds a block */
    LARCH_DECISION_COMBINE = 3, /* how two inputs are combined */
    LARCH_DECISION_OTHER = 4
} larch_decision_kind;

typedef struct larch_decision {
    uint32_t kind;                /* larch_decision_kind */
    uint32_t n_choices;           /* 1..LARCH_MAX_CHOICES */
    char label[LARCH_LABEL_SIZE]; /* e.g. "edge 2<-1" */
} larch_decision;

/* A search space as strategies see it. Plain data: copy it freely. For OP decisions, choice c
 * names op_names[c]. */
typedef struct larch_space {
    uint32_t struct_size; /* sizeof(larch_space) as the host was built */
    uint32_t n_decisions; /* 1..LARCH_MAX_DECISIONS */
    char name[LARCH_LABEL_SIZE];
    larch_decision decisions[LARCH_MAX_DECISIONS];
    uint32_t n_ops;
    char op_names[LARCH_MAX_OPS][LARCH_LABEL_SIZE];
} larch_space;

/* An architecture: choice[d] < space->decisions[d].n_choices for d < n. Plain data. */
typedef struct larch_arch {
    uint32_t n;
    uint8_t choice[LARCH_MAX_DECISIONS];
} larch_arch;

/* Number of architectures in the space as a double (exact up to 2^53); never fails. */
double larch_space_size(const larch_space *space);

/* LARCH_OK if space is one a strategy can work on: its struct_size covers the decisions, it has
 * 1..LARCH_MAX_DECISIONS decisions of 1..LARCH_MAX_CHOICES choices each. Else LARCH_EINVAL with
 * a message naming the struct size, the decision count or the decision ("decision 2 has 0
 * choices, expected 1..36"); callers prefix their id. */
int larch_space_validate(const larch_space *space, larch_error *err);

/* Copies src into dst, reading only the fields src->struct_size covers (the host's larch_space
 * may be older or newer than the plugin's) and zeroing the rest; dst->struct_size becomes
 * sizeof(larch_space). */
void larch_space_copy(larch_space *dst, const larch_space *src);

/* The exact number of architectures in *count: LARCH_OK, or LARCH_ERANGE (and *count = 0) when
 * there are 2^64 or more, LARCH_EINVAL for a space that fails larch_space_validate. */
int larch_space_count(const larch_space *space, uint64_t *count);

/* LARCH_OK if arch fits space; else LARCH_ERANGE/LARCH_EINVAL naming the decision and value. */
int larch_arch_validate(const larch_space *space, const larch_arch *arch, larch_error *err);

/* Writes the base-36 string form ("0123..." one char per decision) into out, which must hold
 * LARCH_ARCH_STRING_SIZE bytes. Returns out. */
char *larch_arch_to_string(const larch_arch *arch, char *out);

/* Parses the string form and validates it against space; on error returns LARCH_EINVAL naming
 * the bad character or length, and leaves *arch unspecified. */
int larch_arch_from_string(const larch_space *space, const char *text, larch_arch *arch,
                           larch_error *err);

/* The index-th architecture in mixed-radix order (decision 0 varies slowest). index must be
 * below larch_space_size(); returns LARCH_ERANGE otherwise. */
int larch_arch_from_index(const larch_space *space, uint64_t index, larch_arch *arch);

/* The inverse of larch_arch_from_index: arch's mixed-radix index. LARCH_EINVAL if arch does not
 * fit space, LARCH_ERANGE if the index does not fit 64 bits (only in a space of 2^64 archs or
 * more); *index is set only on LARCH_OK. */
int larch_arch_to_index(const larch_space *space, const larch_arch *arch, uint64_t *index);

/* Samples every decision uniformly: arch->n = space->n_decisions, choice[d] uniform below the
 * decision's choice count. Draws one larch_rng_below per decision, in order. space must pass
 * larch_space_validate. */
void larch_arch_random(const larch_space *space, larch_rng *rng, larch_arch *arch);

/* Changes decision d of arch to one of its other choices, uniformly (one larch_rng_below draw);
 * leaves a decision with a single choice as it is and draws nothing. */
void larch_arch_change_decision(const larch_space *space, uint32_t d, larch_rng *rng,
                                larch_arch *arch);

/* A one-decision mutation: picks a decision uniformly among those with more than one choice and
 * changes it (larch_arch_change_decision). Does nothing when no decision has a choice. */
void larch_arch_mutate(const larch_space *space, larch_rng *rng, larch_arch *arch);

/* 64-bit FNV-1a hash of the choice vector; equal archs hash equal. */
uint64_t larch_arch_hash(const larch_arch *arch);

/* 1 if a and b have the same length and choices, else 0. */
int larch_arch_equal(const larch_arch *a, const larch_arch *b);

#ifdef __cplusplus
}
#endif
#endif
