/* The distribution heads' training losses (seqcast/models/heads.py,
   seqcast/forecasting/losses.py) in one call: from the raw outputs of the network under the
   head, the head's parameters, the summed loss and the gradient of the training step's
   scaled loss with respect to those raw outputs, which the step hands to autograd as the
   outputs' gradient.

   A small model's training step on a CPU costs about as much per tensor operation as per
   FLOP: as tensor operations, a head and its loss are a dozen forward and as many backward
   (softplus, a mask, a cumulative sum, the loss's terms), more than the linear model's own
   step. Here they are one call on a few thousand numbers.

   The raw outputs are (N, K H) rows of K blocks of H: parameter k of horizon step h is
   column k H + h, as the heads read them. Each parameter is first copied into a plane of
   the N H (row, step) elements (padded to whole vectors), the vectors run over the planes,
   and the gradient planes are copied back into the (N, K H) layout. Positive parameters
   are softplus(a) + an offset, softplus(a) = a above 20 and log1p(exp(a)) below, as
   torch's. Elementwise results are float32 as torch's; the sum is accumulated in double. */

#include "common.h"

/* log(x) to about 1 ulp for x > 0 (Cephes' logf on whole vectors); NaN, +inf and 0 give
   NaN, +inf and -inf as libm's. */
INLINE vf log_(vf x) {
    const vi bits = (vi)x;
    vi e = ((bits >> 23) & 0xff) - 126;
    vf m = (vf)((bits & 0x807fffff) | 0x3f000000); /* x = m 2^e, m in [0.5, 1) */
    const vi small = m < 0.707106781186547524f;    /* then m in [sqrt(0.5), sqrt(2)) */
    e = e + small;                                  /* -1 where true */
    m = m + (vf)((vi)m & small) - 1.0f;
    const vf z = m * m;
    vf y = m * 7.0376836292e-2f - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    const vf fe = __builtin_convertvector(e, vf);
    y = y + fe * -2.12194440e-4f - 0.5f * z;
    vf r = m + y + fe * 0.693359375f;
    const vi special = (x != x) | (x == __builtin_inff()); /* NaN, +inf: themselves */
    r = (vf)(((vi)r & ~special) | ((vi)x & special));
    const vi zero = x == 0.0f;
    const vf minf = (vf){0} - __builtin_inff();
    return (vf)(((vi)r & ~zero) | ((vi)minf & zero));
}

/* log(1 + u) for u >= 0, accurate for small u: log(w) u / (w - 1), w = 1 + u rounded */
INLINE vf log1p_(vf u) {
    const vf w = 1.0f + u;
    const vi one = w == 1.0f;
    const vf r = log_(w) * u / (w - 1.0f);
    return (vf)(((vi)r & ~one) | ((vi)u & one));
}

INLINE vf select_(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

/* softplus(a) = a above 20, else log1p(exp(a)); and its derivative, exp(a) / (exp(a) + 1)
   (1 above 20), as torch's softplus and its backward. exp_ stops at exp(-87), the smallest
   normal float: below -80, exp(a) = exp(a + 40) exp(-40) goes on into the denormals. */
INLINE vf softplus_(vf a, vf *grad) {
    const vi low = a < -80.0f;
    const vf z = exp_(select_(low, a + 40.0f, a)) * select_(low, (vf){0} + 4.24835426e-18f,
                                                             (vf){0} + 1.0f);
    const vi big = a > 20.0f;
    *grad = select_(big, (vf){0} + 1.0f, z / (z + 1.0f));
    return select_(big, a, log1p_(z));
}

/* lgamma(x + 1/2) - lgamma(x) and digamma(x) - digamma(x + 1/2) for x >= 1 (x = df / 2 of
   a Student-t head, df > 2). The recurrences lgamma(x + 1) = lgamma(x) + log x and
   digamma(x + 1) = digamma(x) + 1 / x take x up to z >= 4, where the asymptotic series of
   the differences (from Stirling's, with the Bernoulli polynomials at 1/2) are within
   1e-8: S(z) = log(z) / 2 - 1 / (8 z) + 1 / (192 z^3) - 1 / (640 z^5) + 17 / (14336 z^7)
   and its derivative S'(z) = digamma(z + 1/2) - digamma(z). Differences written out, not
   two lgammas subtracted, so nothing cancels when df is large. */
INLINE vf gamma_terms_(vf x, vf *dig) {
    vf num = (vf){0} + 1.0f, den = num, sum = (vf){0};
    for (int i = 0; i < 3; ++i) { /* x >= 1: at most 3 steps to 4 */
        const vi low = x < 4.0f;
        const vf xh = x + 0.5f;
        num = select_(low, num * xh, num);
        den = select_(low, den * x, den);
        sum = select_(low, sum + 0.5f / (x * xh), sum);
        x = select_(low, x + 1.0f, x);
    }
    const vf w = 1.0f / x, w2 = w * w;
    const vf s = 0.5f * log_(x) -
                 w * (0.125f - w2 * (1.0f / 192.0f - w2 * (1.0f / 640.0f - w2 * (17.0f / 14336.0f))));
    const vf ds = w * (0.5f + w * (0.125f - w2 * (1.0f / 64.0f - w2 * (1.0f / 128.0f - w2 * (17.0f / 2048.0f)))));
    *dig = -ds - sum;
    return s - log_(num / den);
}

static const float HALF_LOG_2PI = 0.918938533204672742f;
static const float LOG_PI = 1.14472988584940017f;
static const float SIGMA_FLOOR = 1e-3f;

/* Each kind's loss over the planes: p[k] the raw parameter k, g[k] its gradient, d[k]
   scratch, y the targets, n elements (a multiple of LANES); lanes from `valid` on are
   padding and add nothing to the loss. */
static double pinball_(int K, const float *levels, float *const *p, float *const *g,
                       float *const *d, const float *R y, int64_t n, int64_t valid) {
    double total = 0;
    for (int64_t i = 0; i < n; i += LANES) {
        const vf yv = V(y + i);
        vf q = V(p[0] + i), loss = (vf){0};
        for (int k = 0; k < K; ++k) {
            if (k > 0) {
                vf dk;
                q += softplus_(V(p[k] + i), &dk);
                V(d[k] + i) = dk;
            }
            const vf e = yv - q;
            const vf w = select_(e < 0.0f, (vf){0} + (levels[k] - 1.0f), (vf){0} + levels[k]);
            loss += e * w;
            V(g[k] + i) = -w;
        }
        vf acc = (vf){0}; /* q_k = a_0 + sum_{0 < j <= k} softplus(a_j): gradients sum back */
        for (int k = K - 1; k > 0; --k) {
            acc += V(g[k] + i);
            V(g[k] + i) = acc * V(d[k] + i);
        }
        V(g[0] + i) += acc;
        for (int l = 0; l < LANES && i + l < valid; ++l) total += loss[l];
    }
    return total;
}

static double normal_(float *const *p, float *const *g, const float *R y, int64_t n,
                      int64_t valid) {
    double total = 0;
    for (int64_t i = 0; i < n; i += LANES) {
        vf ds;
        const vf mu = V(p[0] + i), sigma = softplus_(V(p[1] + i), &ds) + SIGMA_FLOOR;
        const vf z = (V(y + i) - mu) / sigma;
        const vf loss = HALF_LOG_2PI + log_(sigma) + 0.5f * (z * z);
        V(g[0] + i) = -z / sigma; /* d/dmu */
        V(g[1] + i) = (1.0f - z * z) / sigma * ds;
        for (int l = 0; l < LANES && i + l < valid; ++l) total += loss[l];
    }
    return total;
}

static double studentt_(float *const *p, float *const *g, const float *R y, int64_t n,
                        int64_t valid) {
    double total = 0;
    for (int64_t i = 0; i < n; i += LANES) {
        vf ds, dd, dig;
        const vf mu = V(p[0] + i), sigma = softplus_(V(p[1] + i), &ds) + SIGMA_FLOOR;
        const vf df = softplus_(V(p[2] + i), &dd) + 2.0f;
        const vf z = (V(y + i) - mu) / sigma, r = z * z / df, half = (df + 1.0f) * 0.5f;
        const vf l1p = log1p_(r);
        const vf lg = gamma_terms_(df * 0.5f, &dig); /* lgamma(half) - lgamma(df / 2) */
        const vf loss = -lg + 0.5f * (log_(df) + LOG_PI) + log_(sigma) + half * l1p;
        const vf share = (df + 1.0f) / (df * (1.0f + r));
        V(g[0] + i) = -share * z / sigma;
        V(g[1] + i) = (1.0f - share * (z * z)) / sigma * ds;
        V(g[2] + i) = 0.5f * (dig + 1.0f / df + l1p - share * r) * dd;
        for (int l = 0; l < LANES && i + l < valid; ++l) total += loss[l];
    }
    return total;
}

int seqcast_head_loss(const seqcast_head_loss_args *a) {
    const int64_t N = a->N, K = a->K, H = a->H;
    const int64_t need = a->kind == SEQCAST_LOSS_PINBALL ? 1 : a->kind == SEQCAST_LOSS_NORMAL ? 2 : 3;
    if (a->kind < SEQCAST_LOSS_PINBALL || a->kind > SEQCAST_LOSS_STUDENTT || !SIZE_OK_(N) ||
        !SIZE_OK_(H) || K < 1 || K > SEQCAST_MAX_QUANTILES || !SIZE_OK_(N * K * H) ||
        (a->kind == SEQCAST_LOSS_PINBALL ? a->levels == NULL : K != need) ||
        a->out_stride < K * H || a->y_stride < H)
        return SEQCAST_BAD_ARGUMENT;
    const int64_t n = (N * H + LANES - 1) / LANES * LANES;
    /* K parameters, K gradients, K scratch, y */
    void *mem = NULL;
    if (posix_memalign(&mem, 64, sizeof(float) * (size_t)(3 * K + 1) * n)) return SEQCAST_NO_MEMORY;
    float *planes = mem;
    float *p[K], *g[K], *d[K], *y = planes + 3 * K * n;
    for (int64_t k = 0; k < K; ++k)
        p[k] = planes + k * n, g[k] = planes + (K + k) * n, d[k] = planes + (2 * K + k) * n;
    for (int64_t r = 0; r < N; ++r) {
        const float *R o = a->out + r * a->out_stride, *R t = a->y + r * a->y_stride;
        for (int64_t k = 0; k < K; ++k)
            for (int64_t h = 0; h < H; ++h) p[k][r * H + h] = o[k * H + h];
        for (int64_t h = 0; h < H; ++h) y[r * H + h] = t[h];
    }
    for (int64_t i = N * H; i < n; ++i) { /* the padding: finite values */
        for (int64_t k = 0; k < K; ++k) p[k][i] = 0.0f;
        y[i] = 0.0f;
    }
    double total;
    if (a->kind == SEQCAST_LOSS_PINBALL)
        total = pinball_((int)K, a->levels, p, g, d, y, n, N * H);
    else if (a->kind == SEQCAST_LOSS_NORMAL)
        total = normal_(p, g, y, n, N * H);
    else
        total = studentt_(p, g, y, n, N * H);
    const float scale = (float)a->scale;
    for (int64_t r = 0; r < N; ++r)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t h = 0; h < H; ++h) a->grad[(r * K + k) * H + h] = g[k][r * H + h] * scale;
    *a->loss = (float)total;
    free(planes);
    return SEQCAST_OK;
}
