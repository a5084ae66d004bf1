/* The library's interface: one struct of named fields per entry point, mirrored field for
   field by a ctypes.Structure in structs.py (tests compare their sizes). Sizes are 64-bit;
   arrays are float32 and contiguous unless a field gives their strides (in elements, of
   the caller's (B, T, F) array). The caller (Python) has checked every shape, dtype and
   device before a call; the entry points check again what would read out of bounds and
   answer SEQCAST_BAD_ARGUMENT instead. Layouts of what the kernels keep: common.h. */

#ifndef SEQCAST_H
#define SEQCAST_H

#include <stdint.h>

enum seqcast_status { SEQCAST_OK = 0, SEQCAST_NO_MEMORY = 1, SEQCAST_BAD_ARGUMENT = 2 };

enum seqcast_cell {
    SEQCAST_RNN_TANH = 0,      /* Elman: 1 gate */
    SEQCAST_GRU = 1,           /* reset-after GRU: gates r, z, n */
    SEQCAST_LN_RNN_TANH = 2,   /* the chapter's layer-norm SimpleRNN: 1 gate */
    SEQCAST_LSTM = 3,          /* gates i, f, g, o */
    SEQCAST_PEEPHOLE_LSTM = 4, /* the LSTM with w_ch */
};

/* What generation feeds back from the head's output: the first value (dense regression),
   or the amplitude of a class drawn from its logits (mu-law) */
enum seqcast_head { SEQCAST_HEAD_DENSE = 0, SEQCAST_HEAD_MULAW = 1 };

/* One recurrent layer over T steps. Training when xh is given: then act (and cs for the
   LSTMs) are kept for the backward pass and hs is NULL; otherwise the outputs go to hs. */
typedef struct {
    int64_t cell;                /* enum seqcast_cell */
    int64_t T, B, I, H;          /* steps, batch rows, input features, units */
    const float *x;              /* (B, T, I) through x_strides */
    int64_t x_strides[3];
    const float *w_ih;           /* (G H, I), G gates */
    const float *w_hh;           /* (G H, H) */
    const float *b_ih;           /* (G H) */
    const float *b_hh;           /* (G H) or NULL */
    const float *w_ch;           /* (3, H): peepholes, SEQCAST_PEEPHOLE_LSTM only */
    const float *gamma, *beta;   /* (H): the layer norm's, SEQCAST_LN_RNN_TANH only */
    double eps;                  /* the layer norm's */
    const float *h0, *c0;        /* (B, H), or NULL for zeros; c0 for the LSTMs */
    float *hs;                   /* (H, T, Bp) outputs when not training */
    float *hT, *cT;              /* (B, H) final state; cT for the LSTMs */
    float *xh;                   /* training: (I + H, T + 1, Bp) [x_t; h_{t-1}] */
    float *act;                  /* training: the cell's activations (T, A, Bp), see kept_ */
    float *cs;                   /* training, LSTMs: (T, H, Bp) cell states */
} seqcast_recurrent_forward_args;

/* The gradients of a training forward call with the same cell and sizes. */
typedef struct {
    int64_t cell, T, B, I, H;
    const float *dy;             /* (B, T, H) through dy_strides, or NULL for zeros */
    int64_t dy_strides[3];
    const float *dhT, *dcT;      /* (B, H), or NULL for zeros */
    const float *w_ih, *w_hh, *w_ch, *gamma;
    const float *xh, *act, *cs;  /* as the forward pass kept them */
    const float *c0;             /* (B, H) as given to the forward pass, or NULL */
    float *dw_ih;                /* (G H, I) */
    float *dw_hh;                /* (G H, H) */
    float *db_ih;                /* (G H): the only bias gradient of the Elman RNN and LSTMs */
    float *db_hh;                /* (G H): the GRU's */
    float *dw_ch;                /* (3, H) or NULL */
    float *dgamma, *dbeta;       /* (H): the layer norm's */
    float *dx;                   /* (B, T, I) through dx_strides, or NULL */
    int64_t dx_strides[3];
    float *dh0, *dc0;            /* (B, H), or NULL */
} seqcast_recurrent_backward_args;

/* WaveNet's gated residual stack of L layers (wavenet.c). */
typedef struct {
    int64_t L, C, S, K;          /* layers, residual (C) and skip (S) channels, taps */
    int64_t T, B, P;             /* steps, batch rows, causal padding columns */
    const int64_t *dilations;    /* (L) */
    const float *const *w_conv;  /* L x (2C, C, K) */
    const float *const *b_conv;  /* L x (2C) */
    const float *const *w_out;   /* L x (C + S, C) */
    const float *const *b_out;   /* L x (C + S) */
    const float *x;              /* (B, T, C) through x_strides */
    int64_t x_strides[3];
    float *hs;                   /* (L + 1, C, P + N) training, else (2, C, P + N) */
    float *gates;                /* (L, 2C, N) training, else (1, 2C, N) */
    float *skips;                /* (S, N) */
    int64_t training;
    const float *b_rows;         /* (B, L, 2C) gate biases per batch row and layer, or NULL */
} seqcast_wavenet_forward_args;

typedef struct {
    int64_t L, C, S, K, T, B, P;
    const int64_t *dilations;
    const float *const *w_conv, *const *w_out;
    const float *dy;             /* (B, T, S) through dy_strides */
    int64_t dy_strides[3];
    const float *hs, *gates;     /* as the training forward pass kept them */
    float *dx;                   /* (B, T, C) through dx_strides, or NULL */
    int64_t dx_strides[3];
    float *const *dw_conv, *const *db_conv, *const *dw_out, *const *db_out;
    float *db_rows;              /* (B, L, 2C) the gradient of b_rows, or NULL */
} seqcast_wavenet_backward_args;

/* The chapter's simple WaveNet: L causal convolutions with ReLU (wavenet.c). */
typedef struct {
    int64_t L, K, T, B, P;
    const int64_t *channels;     /* (L + 1) */
    const int64_t *dilations;    /* (L) */
    const float *const *w;       /* L x (C[l + 1], C[l], K) */
    const float *const *b;       /* L x (C[l + 1]) */
    const float *x;              /* (B, T, C[0]) through x_strides */
    int64_t x_strides[3];
    float *hs;                   /* every layer's input when training, else two buffers */
    int64_t training;
} seqcast_convs_forward_args;

typedef struct {
    int64_t L, K, T, B, P;
    const int64_t *channels, *dilations;
    const float *const *w;
    const float *dy;             /* (B, T, C[L]) through dy_strides */
    int64_t dy_strides[3];
    const float *hs;
    float *dx;                   /* (B, T, C[0]) through dx_strides, or NULL */
    int64_t dx_strides[3];
    float *const *dw, *const *db;
} seqcast_convs_backward_args;

/* WaveNet generation from ring buffers (wavenet.c): continues B streams by steps - 1
   samples after values[b][0]. */
typedef struct {
    int64_t L, C, S, K;          /* layers, residual (C) and skip (S) channels, taps */
    const int64_t *dilations;    /* (L) */
    int64_t input_dilation;      /* the input convolution's (one input channel) */
    int64_t B, steps;            /* streams, values per stream (the first given) */
    int64_t t0;                  /* the step of values[b][0]: the history's length */
    const float *w_in, *b_in;    /* (C, 1, K), (C) */
    float *q_in;                 /* (B, (K - 1) input_dilation) ring buffer, or NULL */
    const float *const *w_conv, *const *b_conv, *const *w_out, *const *b_out; /* as above */
    float *const *queues;        /* L x (B, (K - 1) d, C) ring buffers, updated in place */
    int64_t head;                /* enum seqcast_head */
    int64_t hidden, outputs;     /* the head's ReLU-1x1-ReLU-1x1 widths H1 and O */
    const float *w1, *b1;        /* (H1, S), (H1) */
    const float *w2, *b2;        /* (O, H1), (O) */
    float *values;               /* (B, steps) */
    double temperature;          /* SEQCAST_HEAD_MULAW: softmax(logits / temperature) */
    const float *uniforms;       /* SEQCAST_HEAD_MULAW: (B, steps) draws in [0, 1) */
    const float *table;          /* SEQCAST_HEAD_MULAW: (O) each class's amplitude */
} seqcast_wavenet_generate_args;

/* A distribution head's training loss from the raw outputs under it (heads.c) */
enum seqcast_loss {
    SEQCAST_LOSS_PINBALL = 0,  /* K quantiles: q_0 = a_0, q_k = q_{k-1} + softplus(a_k) */
    SEQCAST_LOSS_NORMAL = 1,   /* K = 2: mu = a_0, sigma = softplus(a_1) + 1e-3 */
    SEQCAST_LOSS_STUDENTT = 2, /* K = 3: the normal's and df = softplus(a_2) + 2 */
};
#define SEQCAST_MAX_QUANTILES 256

typedef struct {
    int64_t kind;                /* enum seqcast_loss */
    int64_t N, K, H;             /* rows, parameters per step, horizon steps */
    const float *out;            /* (N, K H) through out_stride, parameter k of step h at k H + h */
    int64_t out_stride;
    const float *y;              /* (N, H) through y_stride */
    int64_t y_stride;
    const float *levels;         /* (K) the quantile levels, SEQCAST_LOSS_PINBALL only */
    double scale;                /* what the gradient is of: scale x the loss */
    float *loss;                 /* (1) the loss summed over every element */
    float *grad;                 /* (N, K H) contiguous: the gradient of scale x loss w.r.t. out */
} seqcast_head_loss_args;

int seqcast_lanes(void);
int64_t seqcast_struct_size(int64_t which); /* sizeof of each struct above, in order */
int seqcast_recurrent_forward(const seqcast_recurrent_forward_args *a);
int seqcast_recurrent_backward(const seqcast_recurrent_backward_args *a);
int seqcast_wavenet_forward(const seqcast_wavenet_forward_args *a);
int seqcast_wavenet_backward(const seqcast_wavenet_backward_args *a);
int seqcast_convs_forward(const seqcast_convs_forward_args *a);
int seqcast_convs_backward(const seqcast_convs_backward_args *a);
int seqcast_wavenet_generate(const seqcast_wavenet_generate_args *a);
int seqcast_head_loss(const seqcast_head_loss_args *a);

#endif
