/* The rl strategy's controller: a stochastic policy that emits one token per decision, and the
 * exact gradient of a sequence's log-probability and entropy with respect to its parameters.
 *
 * Two forms share one interface:
 *   RL_POLICY_LSTM   an LSTM (1 or 2 layers) run for one step per decision, as the NAS-RL
 *                    controller of Zoph & Le (ICLR 2017) and ENAS (Pham et al., ICML 2018): the
 *                    input of step 0 is a learned vector, the input of step d > 0 the embedding
 *                    of token d-1 (one table per decision), and a softmax head per decision reads
 *                    the top layer's hidden state, so every token is conditioned on those before.
 *   RL_POLICY_TABLE  independent logits per decision (no conditioning), the policy of the
 *                    REINFORCE baseline of NAS-Bench-201 / NATS-Bench (Dong et al.).
 * Logits u are divided by a temperature T and, when tanh_constant C > 0, squashed to
 * C * tanh(u / T), as ENAS does to keep the sampling distribution from collapsing.
 *
 * All parameters live in one flat vector `theta` (so the optimiser, save and load see one array);
 * `tensors` names the pieces. The math is double precision, single-threaded and deterministic. */
#ifndef RL_POLICY_H
#define RL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <larch/larch.h>

#define RL_MAX_HIDDEN 512
#define RL_MAX_LAYERS 2
/* LSTM weights and biases per layer, the start vector, and per decision an embedding, a head
 * matrix and a head bias. */
#define RL_MAX_TENSORS (2 * RL_MAX_LAYERS + 1 + 3 * LARCH_MAX_DECISIONS)

typedef enum rl_policy_kind { RL_POLICY_LSTM = 0, RL_POLICY_TABLE = 1 } rl_policy_kind;

/* A named slice of theta, e.g. "lstm0.w" or "head3.b". */
typedef struct rl_tensor {
    char name[24];
    size_t offset;
    size_t count;
} rl_tensor;

typedef struct rl_policy {
    const larch_host *host;
    rl_policy_kind kind;
    uint32_t n_decisions;
    uint32_t n_choices[LARCH_MAX_DECISIONS];
    uint32_t max_choices;
    uint32_t hidden; /* 0 for a table */
    uint32_t layers; /* 0 for a table */
    double temperature;
    double tanh_constant; /* 0: no squashing */
    size_t n_params;
    double *theta; /* n_params, owned */
    uint32_t n_tensors;
    rl_tensor tensors[RL_MAX_TENSORS];
    /* Offsets into theta. LSTM layer l: w_lstm[l] is [4H x 2H] row-major over the gates
     * (input, forget, output, candidate) times [input; previous h], b_lstm[l] is [4H]. emb[d] is
     * [n_choices[d] x H] (the embedding of decision d's token, fed to step d+1; none for the
     * last decision). head_w[d] is [n_choices[d] x H], head_b[d] is [n_choices[d]]; for a table,
     * head_b[d] holds decision d's logits and nothing else exists. */
    size_t w_lstm[RL_MAX_LAYERS], b_lstm[RL_MAX_LAYERS], start;
    size_t emb[LARCH_MAX_DECISIONS], head_w[LARCH_MAX_DECISIONS], head_b[LARCH_MAX_DECISIONS];
    /* Activations of the last forward pass, kept for backward (one allocation, `work`). */
    double *work;
    double *input;   /* [D x H] input of layer 0 at each step */
    double *gates;   /* [D x L x 4H] gate activations after their non-linearity */
    double *cell;    /* [D x L x H] */
    double *hid;     /* [D x L x H] */
    double *squash;  /* [D x max_choices] tanh(u / T) when C > 0, else u / T */
    double *logp;    /* [D x max_choices] log-softmax of the final logits */
    double *entropy; /* [D] */
    double *zeros;   /* [H] the initial state */
    double *dh_next; /* [L x H] backward: gradient into h of the step before */
    double *dc_next; /* [L x H] */
    double *dh;      /* [H] */
    double *dconcat; /* [2H] */
    double *dgate;   /* [4H] */
    double *dlogit;  /* [max_choices] */
} rl_policy;

/* Builds a policy for space and initialises theta from rng: LSTM parameters uniform in
 * [-0.1, 0.1] (the ENAS initialiser), table logits 1e-3 * N(0, 1) (as NATS-Bench's REINFORCE).
 * hidden and layers are ignored for a table. Memory comes from host->alloc. On error returns
 * LARCH_EINVAL or LARCH_ENOMEM with a message and leaves *p released. */
int rl_policy_init(rl_policy *p, const larch_host *host, rl_policy_kind kind, uint32_t hidden,
                   uint32_t layers, double temperature, double tanh_constant,
                   const larch_space *space, larch_rng *rng, larch_error *err);

/* Frees what init allocated; safe on a zeroed or released policy. */
void rl_policy_release(rl_policy *p);

/* Runs the policy over all decisions. With rng, samples each token and writes it to tokens;
 * without (NULL), scores the given tokens. Returns the sequence's log-probability and, if
 * entropy is not NULL, stores the sum over decisions of each step's entropy (the entropy of
 * step d's distribution given tokens before d). Keeps the activations for rl_policy_backward. */
double rl_policy_forward(rl_policy *p, uint8_t *tokens, larch_rng *rng, double *entropy);

/* After rl_policy_forward on the same tokens and theta, adds to grad (n_params) the gradient of
 * coef_logp * log p(tokens) + coef_entropy * sum_d H_d with respect to theta. */
void rl_policy_backward(rl_policy *p, const uint8_t *tokens, double coef_logp, double coef_entropy,
                        double *grad);

#endif
