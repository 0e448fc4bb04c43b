/* Search spaces as sequences of categorical decisions, and architectures as choice vectors. */
#ifndef LARCH_SPACE_H
#define LARCH_SPACE_H

#include <stddef.h>
#include <stdint.h>

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
    uint32_t kind;      /* larch_decision_kind */
    uint32_t n_choices; /* 1..LARCH_MAX_CHOICES */
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

/* 64-bit FNV-1a hash of the choice vector; equal archs hash equal. */
uint64_t larch_arch_hash(const larch_arch *arch);

/* 1 if a and b have the same length and choices, else 0. */
int larch_arch_equal(const larch_arch *a, const larch_arch *b);

#ifdef __cplusplus
}
#endif
#endif
