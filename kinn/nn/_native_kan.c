/* Fused CPU kernel of KAN layers: uniform-grid B-splines and Chebyshev polynomials of tanh.
 *
 * kinn/nn/_native.py builds one library per number of local bases and floating type,
 * -DKINN_L=<L> -DKINN_DOUBLE=<0 or 1>, and calls it through kan_args (_native_kan.h).
 *
 * A KAN layer applied to stacked Taylor rows J (R, N, I): row 0 the values v, rows 1..d the
 * first derivatives g_a, then P rows of second derivatives H_p for the pairs (pa[p], pb[p]).
 * Each edge function is phi(t) = sum_l C[i, m + l] b_l(t) + Wb[i] base(t), and the chain
 * rule gives the rows of its image: f(v), f'(v) g_a, f''(v) g_a g_b + f'(v) H_ab. Only the
 * L non-zero bases of each point are touched (L = k + 1 of the G + k B-splines of a uniform
 * grid, starting at the point's interval m; all n + 1 Chebyshev polynomials, m = 0), so the
 * work is R N I (L + 1) O multiply-adds and nothing of size (N, I, K) exists.
 *
 * W is the stacked weight (I K + I, O): rows i K + j the coefficients C[i, j], rows I K + i
 * the base weights (present when F is). For B-splines M holds the matrices of the bases and
 * their u-derivatives, (4, L, L), row p multiplying u^p; s0, s1 the slopes d/du of the bases
 * at u = 0 and u = 1. Outside the domain the bases continue with their end value, slope and
 * curvature, the curvature fading to zero over one grid spacing (the C^2 extension of
 * kinn/nn/bspline.py, tail_factors; the curvatures come from M). Chebyshev bases come from
 * T = tanh(v) by recurrences. F, when not NULL, holds the base activation's derivatives
 * (nder, N, I), computed by the caller, or with silu set only sigmoid(v) (1, N, I), from
 * which the kernel derives SiLU and its derivatives.
 *
 * Points are processed in tiles of TN whole points. Phase A transposes the tile's rows to
 * input-major order (pair q = i TN + t) and computes the bases and chained rows, vectorised
 * over the pairs. Phase B runs over the inputs outermost, so one input's weight block
 * (K x O) and the tile's outputs or output gradients (R x TN x O) stay in L1 while the
 * tile's points use them.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "_native_kan.h"

#if KINN_DOUBLE
#define REAL double
#define FLOOR floor
#else
#define REAL float
#define FLOOR floorf
#endif

#ifdef __AVX__
/* s[0..3] = the horizontal sums of four 32-byte vectors, in five instructions */
#include <immintrin.h>
#if KINN_DOUBLE
#define KINN_HSUM4(a, b, c, d, s)                                                             \
    do {                                                                                      \
        __m256d h1 = _mm256_hadd_pd((__m256d)(a), (__m256d)(b));                              \
        __m256d h2 = _mm256_hadd_pd((__m256d)(c), (__m256d)(d));                              \
        _mm256_storeu_pd((s), _mm256_add_pd(_mm256_permute2f128_pd(h1, h2, 0x20),             \
                                            _mm256_permute2f128_pd(h1, h2, 0x31)));           \
    } while (0)
#else
#define KINN_HSUM4(a, b, c, d, s)                                                             \
    do {                                                                                      \
        __m256 h = _mm256_hadd_ps(_mm256_hadd_ps((__m256)(a), (__m256)(b)),                   \
                                  _mm256_hadd_ps((__m256)(c), (__m256)(d)));                  \
        _mm_storeu_ps((s), _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1))); \
    } while (0)
#endif
#endif

#define AI static inline __attribute__((always_inline))
#define VL ((int)(32 / sizeof(REAL))) /* lanes of a 32-byte vector */
typedef REAL vec __attribute__((vector_size(32), aligned(sizeof(REAL))));
#define LOADV(p) (*(const vec *)(p))
/* CALL(OO) with OO a compile-time constant for the common output widths, so the loops over
 * the outputs unroll into straight-line code; any other width runs the general loops */
#define WITH_O(O, CALL)                                                                       \
    do {                                                                                      \
        if ((O) == VL) {                                                                      \
            CALL(VL);                                                                         \
        } else if ((O) == 2 * VL) {                                                           \
            CALL(2 * VL);                                                                     \
        } else if ((O) == 4 * VL) {                                                           \
            CALL(4 * VL);                                                                     \
        } else {                                                                              \
            CALL(O);                                                                          \
        }                                                                                     \
    } while (0)
#define STOREV(p, v) (*(vec *)(p) = (v))

/* The arguments of one call, typed (see kan_args in _native_kan.h). */
typedef struct {
    int R, N, I, O, G, L, d, order, P, silu, basis;
    long NI, NO;
    const int *pa, *pb;
    const REAL *lo, *inv_h, *M, *s0, *s1, *F, *T, *W;
} layer;

/* Scratch of one tile of up to TN points (Q = TN I pairs), input-major. */
typedef struct {
    int TN, Q;
    int *m;           /* (Q) interval of each pair */
    REAL *Jt;         /* (R, Q) the tile's rows of J */
    REAL *b;          /* (4, L, Q) bases and their x-derivatives */
    REAL *rows;       /* (R, L, Q) chained rows of the spline bases */
    REAL *fb;         /* (4, Q) base activation and derivatives */
    REAL *brow;       /* (R, Q) chained rows of the base activation */
    REAL *lo, *ih, *w; /* (Q), (Q), (8 Q) */
    int *beg, *ord;    /* (G + 2), (TN): the tile's points sorted by interval, per input */
    REAL *s;           /* (R, L + 1, Q) loss gradient reaching each chained row (base last) */
    REAL *gJt;         /* (R, Q) the tile's gradient of J */
    REAL *z;           /* (L, TN) one-output layers: per-point weights or weight gradients */
} tile;

static int tile_size(int R, int I, int O)
{
    /* the tile's outputs (or their gradients) R TN O should take about 12 KiB of L1 */
    int tn = (int)(12288 / (sizeof(REAL) * R * (O < 4 ? 4 : O)));
    if (tn > 16384 / I)
        tn = 16384 / I;
    return tn < 1 ? 1 : (tn > 512 ? 512 : tn);
}

static int tile_alloc(tile *s, int R, int I, int O, int L, int G)
{
    s->TN = tile_size(R, I, O);
    const long Q = (long)s->TN * I;
    s->Q = (int)Q;
    s->m = malloc(sizeof(int) * (Q + G + 2 + s->TN));
    s->Jt = malloc(sizeof(REAL) * (Q * (R + 4 * L + R * L + 4 + R + 10 + R * (L + 1) + R) +
                                   (long)L * s->TN));
    if (!s->m || !s->Jt) {
        free(s->m);
        free(s->Jt);
        return 1;
    }
    s->beg = s->m + Q;
    s->ord = s->beg + G + 2;
    s->b = s->Jt + R * Q;
    s->rows = s->b + 4 * L * Q;
    s->fb = s->rows + R * L * Q;
    s->brow = s->fb + 4 * Q;
    s->lo = s->brow + R * Q;
    s->ih = s->lo + Q;
    s->w = s->ih + Q;
    s->s = s->w + 8 * Q;
    s->gJt = s->s + R * (L + 1) * Q;
    s->z = s->gJt + R * Q;
    return 0;
}

static void tile_free(tile *s)
{
    free(s->m);
    free(s->Jt);
}

/* Bases b[(r L + l) Q + q] for r < nder and the interval m[q] of the tile's Q pairs. Every
 * loop runs over the pairs innermost, so it vectorises. */
AI void tile_bases(const layer *c, const int L, int Q, int nder, tile *s)
{
    const REAL G = (REAL)c->G;
    const REAL *restrict x = s->Jt, *restrict lo = s->lo, *restrict ih = s->ih;
    REAL *restrict u = s->w, *restrict left = s->w + Q, *restrict right = s->w + 2 * Q;
    REAL *restrict inside = s->w + 3 * Q;
    /* the continuation's factors P0..P3 beyond the nearest end (tail_factors in bspline.py) */
    REAL *restrict p0 = s->w + 4 * Q, *restrict p1 = s->w + 5 * Q;
    REAL *restrict p2 = s->w + 6 * Q, *restrict p3 = s->w + 7 * Q;
    int *restrict m = s->m;
    /* the bases' curvatures d2/du2 at u = 0 and u = 1, from M_2 */
    REAL c0[KINN_L], c1[KINN_L];
    for (int l = 0; l < L; l++) {
        c0[l] = c->M[2 * L * L + l];
        c1[l] = 0;
        for (int p = 0; p < L; p++)
            c1[l] += c->M[(2 * L + p) * L + l];
    }
#pragma GCC ivdep
    for (int q = 0; q < Q; q++) {
        const REAL t = (x[q] - lo[q]) * ih[q];
        REAL sc = t < 0 ? 0 : t;
        sc = sc > G ? G : sc;
        REAL mf = FLOOR(sc);
        mf = mf > G - 1 ? G - 1 : mf;
        mf = mf == mf ? mf : 0; /* NaN input: a valid interval, the values stay NaN */
        const REAL ex = t - sc;
        m[q] = (int)mf;
        u[q] = sc - mf;
        left[q] = ex < 0 ? ex : 0;
        right[q] = ex > 0 ? ex : 0;
        inside[q] = ex == 0 ? 1 : 0;
        const REAL d = ex < 0 ? -ex : ex, dq = d < 1 ? d : 1, slope = dq - (REAL)0.5 * dq * dq;
        const REAL sign = ex < 0 ? -1 : 1;
        p0[q] = dq * dq * ((REAL)0.5 - dq / 6) + (d - dq) * slope;
        p1[q] = sign * slope;
        p2[q] = 1 - dq;
        p3[q] = d > 0 && d < 1 ? -sign : 0;
    }
    for (int r = 0; r < nder; r++) {
        const REAL *Mr = c->M + r * L * L;
        for (int l = 0; l < L; l++) {
            REAL col[KINN_L];
            for (int p = 0; p < L; p++)
                col[p] = Mr[p * L + l];
            REAL *restrict br = s->b + (r * L + l) * Q;
#pragma GCC ivdep
            for (int q = 0; q < Q; q++) {
                REAL acc = col[L - 1];
                for (int p = L - 2; p >= 0; p--)
                    acc = acc * u[q] + col[p];
                br[q] = acc;
            }
            /* the curvature at the nearest end multiplies the factors (zero inside) */
            const REAL a0 = c->s0[l], a1 = c->s1[l], k0 = c0[l], k1 = c1[l];
            if (r == 0) {
#pragma GCC ivdep
                for (int q = 0; q < Q; q++)
                    br[q] += left[q] * a0 + right[q] * a1 + (left[q] < 0 ? k0 : k1) * p0[q];
            } else if (r == 1) {
#pragma GCC ivdep
                for (int q = 0; q < Q; q++)
                    br[q] = (br[q] + (left[q] < 0 ? k0 : k1) * p1[q]) * ih[q];
            } else if (r == 2) {
#pragma GCC ivdep
                for (int q = 0; q < Q; q++)
                    br[q] *= ih[q] * ih[q] * p2[q];
            } else {
#pragma GCC ivdep
                for (int q = 0; q < Q; q++) {
                    const REAL tail = (left[q] < 0 ? k0 : k1) * p3[q];
                    br[q] = (br[q] * inside[q] + tail) * ih[q] * ih[q] * ih[q];
                }
            }
        }
    }
}

/* Chebyshev bases b[(r L + j) Q + q] = d^r/dx^r T_j(tanh x) for r < nder, from t = tanh(x)
 * in the scratch w: first the t-derivatives by the recurrence
 * T^(r)_{j+1} = 2 t T^(r)_j + 2 r T^(r-1)_j - T^(r)_{j-1}, then the chain rule through tanh
 * (t' = 1 - t^2, t'' = -2 t t', t''' = t' (6 t^2 - 2)), highest order first, in place. */
AI void tile_chebyshev(const int L, int Q, int nder, tile *s)
{
    const REAL *restrict t = s->w;
    for (int r = 0; r < nder; r++)
        for (int j = 0; j < L; j++) {
            REAL *restrict bj = s->b + (r * L + j) * Q;
            if (j < r || (j == 0 && r > 0)) {
                for (int q = 0; q < Q; q++)
                    bj[q] = 0;
            } else if (j == 0) {
                for (int q = 0; q < Q; q++)
                    bj[q] = 1;
            } else if (j == 1) {
#pragma GCC ivdep
                for (int q = 0; q < Q; q++)
                    bj[q] = r == 0 ? t[q] : 1;
            } else {
                const REAL *restrict b1 = bj - Q, *restrict b2 = bj - 2 * Q;
                if (r == 0) {
#pragma GCC ivdep
                    for (int q = 0; q < Q; q++)
                        bj[q] = 2 * t[q] * b1[q] - b2[q];
                    continue;
                }
                const REAL *restrict low = bj - L * Q - Q; /* T^(r-1)_{j-1} */
                const REAL two_r = 2 * r;
#pragma GCC ivdep
                for (int q = 0; q < Q; q++)
                    bj[q] = 2 * t[q] * b1[q] - b2[q] + two_r * low[q];
            }
        }
    for (int j = 0; j < L && nder > 1; j++) {
        REAL *restrict d1 = s->b + (L + j) * Q, *restrict d2 = d1 + L * Q;
        REAL *restrict d3 = d2 + L * Q;
#pragma GCC ivdep
        for (int q = 0; q < Q; q++) {
            const REAL tq = t[q], t1 = 1 - tq * tq, t2 = -2 * tq * t1;
            if (nder > 3)
                d3[q] = d3[q] * t1 * t1 * t1 + 3 * d2[q] * t1 * t2 +
                        d1[q] * t1 * (6 * tq * tq - 2);
            if (nder > 2)
                d2[q] = d2[q] * t1 * t1 + d1[q] * t2;
            d1[q] = d1[q] * t1;
        }
    }
}

/* Chained rows rows[(r L + l) Q + q] of L functions with derivatives f[(r L + l) Q + q]. */
AI void tile_chain(const layer *c, const int L, int Q, const REAL *restrict Jt,
                   const REAL *restrict f, REAL *restrict rows)
{
    const int d = c->d;
    for (int l = 0; l < L; l++)
        for (int q = 0; q < Q; q++)
            rows[l * Q + q] = f[l * Q + q];
    if (c->order >= 1)
        for (int a = 0; a < d; a++) {
            const REAL *g = Jt + (1 + a) * Q;
            for (int l = 0; l < L; l++)
                for (int q = 0; q < Q; q++)
                    rows[((1 + a) * L + l) * Q + q] = f[(L + l) * Q + q] * g[q];
        }
    if (c->order >= 2)
        for (int p = 0; p < c->P; p++) {
            const REAL *ga = Jt + (1 + c->pa[p]) * Q, *gb = Jt + (1 + c->pb[p]) * Q;
            const REAL *H = Jt + (1 + d + p) * Q;
            for (int l = 0; l < L; l++)
                for (int q = 0; q < Q; q++)
                    rows[((1 + d + p) * L + l) * Q + q] =
                        f[(2 * L + l) * Q + q] * ga[q] * gb[q] + f[(L + l) * Q + q] * H[q];
        }
}

/* Phase A for points n .. n + TN: transposed rows, bases to order nder - 1, base activation
 * derivatives, and (with chain) the chained rows. */
AI void tile_prepare(const layer *c, const int L, const REAL *J, int n, int TN,
                     int nder, int chain, tile *s)
{
    const int I = c->I, Q = TN * I;
    const long at = (long)n * I;
    for (int r = 0; r < c->R; r++)
        for (int t = 0; t < TN; t++)
            for (int i = 0; i < I; i++)
                s->Jt[r * Q + i * TN + t] = J[r * c->NI + at + (long)t * I + i];
    if (c->basis == KAN_BSPLINE) {
        for (int i = 0; i < I; i++)
            for (int t = 0; t < TN; t++) {
                s->lo[i * TN + t] = c->lo[i];
                s->ih[i * TN + t] = c->inv_h[i];
            }
        tile_bases(c, L, Q, nder, s);
    } else {
        for (int t = 0; t < TN; t++)
            for (int i = 0; i < I; i++)
                s->w[i * TN + t] = c->T[at + (long)t * I + i];
        for (int q = 0; q < Q; q++)
            s->m[q] = 0; /* one "interval": every basis is non-zero everywhere */
        tile_chebyshev(L, Q, nder, s);
    }
    if (c->F && c->silu) {
        /* F holds sigmoid(v); SiLU v s and its derivatives follow from it */
        REAL *restrict f = s->fb;
        for (int t = 0; t < TN; t++)
            for (int i = 0; i < I; i++)
                f[i * TN + t] = c->F[at + (long)t * I + i];
        const REAL *restrict v = s->Jt;
#pragma GCC ivdep
        for (int q = 0; q < Q; q++) {
            const REAL sg = f[q], x = v[q], ds = sg * (1 - sg);
            f[q] = x * sg;
            if (nder > 1)
                f[Q + q] = sg + x * ds;
            if (nder > 2)
                f[2 * Q + q] = ds * (2 + x * (1 - 2 * sg));
            if (nder > 3)
                f[3 * Q + q] = ds * (3 * (1 - 2 * sg) + x * (1 - 6 * sg + 6 * sg * sg));
        }
    } else if (c->F)
        for (int r = 0; r < nder; r++)
            for (int t = 0; t < TN; t++)
                for (int i = 0; i < I; i++)
                    s->fb[r * Q + i * TN + t] = c->F[r * c->NI + at + (long)t * I + i];
    if (chain) {
        tile_chain(c, L, Q, s->Jt, s->b, s->rows);
        if (c->F)
            tile_chain(c, 1, Q, s->Jt, s->fb, s->brow);
    }
}

/* y[o] += sum_l a[l Q] w[l O + o] (+ ab wb[o]) over o < O: one pair's contribution to one
 * output row. */
AI void gather_rows(REAL *restrict y, const REAL *a, int Q, const REAL *w, const int L,
                    int O, const REAL *wb, REAL ab)
{
    REAL coef[KINN_L];
    for (int l = 0; l < L; l++)
        coef[l] = a[l * Q];
    int o = 0;
    for (; o + VL <= O; o += VL) {
        vec acc = LOADV(y + o);
        for (int l = 0; l < L; l++)
            acc += coef[l] * LOADV(w + l * O + o);
        if (wb)
            acc += ab * LOADV(wb + o);
        STOREV(y + o, acc);
    }
    for (; o < O; o++) {
        REAL acc = y[o];
        for (int l = 0; l < L; l++)
            acc += coef[l] * w[l * O + o];
        if (wb)
            acc += ab * wb[o];
        y[o] = acc;
    }
}

/* One-output layers: input i's spline weight at each tile point's L local bases,
 * (L, TN) in the scratch z. */
AI const REAL *gather_weights(const layer *c, const int L, tile *s, int i, int TN)
{
    const int K = c->G + L - 1;
    const int *restrict m = s->m + i * TN;
    const REAL *restrict w = c->W + (long)i * K;
    REAL *restrict wg = s->z;
    for (int l = 0; l < L; l++)
#pragma GCC ivdep
        for (int t = 0; t < TN; t++)
            wg[l * TN + t] = w[m[t] + l];
    return wg;
}

AI void forward_impl(const layer *c, const int L, const REAL *J, const REAL *bias,
                     int n0, int n1, REAL *out, tile *s)
{
    const int I = c->I, O = c->O, R = c->R, K = c->G + L - 1;
    for (int n = n0; n < n1; n += s->TN) {
        const int TN = n + s->TN <= n1 ? s->TN : n1 - n, Q = TN * I;
        tile_prepare(c, L, J, n, TN, c->order + 1, 1, s);
        for (int r = 0; r < R; r++)
            for (int t = 0; t < TN; t++) {
                REAL *y = out + r * c->NO + (long)(n + t) * O;
                for (int o = 0; o < O; o++)
                    y[o] = (r == 0 && bias) ? bias[o] : 0;
            }
        if (O == 1) {
            /* one output (a PINN's last layer): vectorise over the points instead, with each
             * point's L weights gathered once for all R rows */
            for (int i = 0; i < I; i++) {
                const REAL wb = c->F ? c->W[(long)I * K + i] : 0;
                const REAL *wg = gather_weights(c, L, s, i, TN);
                for (int r = 0; r < R; r++) {
                    REAL *restrict y = out + r * c->NO + n;
                    const REAL *restrict rows = s->rows + r * L * Q + i * TN;
                    const REAL *restrict brow = s->brow + r * Q + i * TN;
#pragma GCC ivdep
                    for (int t = 0; t < TN; t++) {
                        REAL a = c->F ? brow[t] * wb : 0;
                        for (int l = 0; l < L; l++)
                            a += rows[l * Q + t] * wg[l * TN + t];
                        y[t] += a;
                    }
                }
            }
            continue;
        }
        for (int i = 0; i < I; i++) {
            const REAL *wb = c->F ? c->W + ((long)I * K + i) * O : 0;
            for (int t = 0; t < TN; t++) {
                const int q = i * TN + t;
                const REAL *w = c->W + ((long)i * K + s->m[q]) * O;
#define GATHER(OO)                                                                            \
    gather_rows(out + r * c->NO + (long)(n + t) * O, s->rows + r * L * Q + q, Q, w, L, OO,  \
                    wb, wb ? s->brow[r * Q + q] : 0)
                for (int r = 0; r < R; r++)
                    WITH_O(O, GATHER);
#undef GATHER
            }
        }
    }
}

/* s[l] = sum_o e[o] w[l stride + o] for l < nw, and s[nw] = sum_o e[o] x[o] when x is not
 * NULL: dot products sharing e, each with its own vector accumulator (independent chains). */
AI void dots(const REAL *e, const REAL *w, long stride, const int nw, const REAL *x,
             int O, REAL *s)
{
    const int nx = nw + (x ? 1 : 0);
    if (O < VL) {
        for (int l = 0; l < nx; l++) {
            const REAL *row = l < nw ? w + l * stride : x;
            REAL t = 0;
            for (int o = 0; o < O; o++)
                t += e[o] * row[o];
            s[l] = t;
        }
        return;
    }
    vec acc[KINN_L + 1];
    for (int l = 0; l <= nw; l++)
        acc[l] = (vec){0};
    int o = 0;
    for (; o + VL <= O; o += VL) {
        const vec ev = LOADV(e + o);
        for (int l = 0; l < nw; l++)
            acc[l] += ev * LOADV(w + l * stride + o);
        if (x)
            acc[nw] += ev * LOADV(x + o);
    }
    int l = 0;
#ifdef KINN_HSUM4
    for (; l + 4 <= nx; l += 4)
        KINN_HSUM4(acc[l], acc[l + 1], acc[l + 2], acc[l + 3], s + l);
#endif
    for (; l < nx; l++) {
        REAL t = 0;
        for (int j = 0; j < VL; j++)
            t += acc[l][j];
        s[l] = t;
    }
    for (l = 0; o < O && l < nx; l++) {
        const REAL *row = l < nw ? w + l * stride : x;
        for (int oo = o; oo < O; oo++)
            s[l] += e[oo] * row[oo];
    }
}

/* Gradient of input i's weight block from the tile: its points sorted by interval, so the
 * L rows of one interval stay in registers while all of that interval's points add to them
 * (a rank-update per interval instead of a load and store per point). gy0: the tile's
 * first point in row 0 of gy. */
AI void weight_grad(const layer *c, const int L, tile *s, int i, int TN,
                    const REAL *gy0, REAL *gW)
{
    const int O = c->O, R = c->R, G = c->G, K = G + L - 1, Q = TN * c->I;
    const long NO = c->NO;
    int *beg = s->beg, *ord = s->ord;
    const int *m = s->m + i * TN;
    for (int g = 0; g <= G + 1; g++)
        beg[g] = 0;
    for (int t = 0; t < TN; t++)
        beg[m[t] + 2]++;
    for (int g = 2; g <= G + 1; g++)
        beg[g] += beg[g - 1];
    for (int t = 0; t < TN; t++)
        ord[beg[m[t] + 1]++] = t; /* afterwards beg[g] is where interval g starts */
    const REAL *rows = s->rows + i * TN;
    if (O == 1) {
        /* one output: each point's L contributions first (vectorised over the points), then
         * summed per interval */
        REAL *restrict z = s->z;
        for (int l = 0; l < L; l++) {
            for (int t = 0; t < TN; t++)
                z[l * TN + t] = 0;
            for (int r = 0; r < R; r++) {
                const REAL *restrict a = rows + (r * L + l) * Q, *restrict e = gy0 + r * NO;
#pragma GCC ivdep
                for (int t = 0; t < TN; t++)
                    z[l * TN + t] += a[t] * e[t];
            }
        }
        for (int g = 0; g < G; g++) {
            REAL *gw = gW + (long)i * K + g;
            for (int l = 0; l < L; l++) {
                REAL a = 0;
                for (int p = beg[g]; p < beg[g + 1]; p++)
                    a += z[l * TN + ord[p]];
                gw[l] += a;
            }
        }
    }
    for (int g = 0; g < G && O > 1; g++) {
        const int p0 = beg[g], p1 = beg[g + 1];
        if (p0 == p1)
            continue;
        REAL *gw = gW + ((long)i * K + g) * O;
        int o = 0;
        for (; o + VL <= O; o += VL) {
            vec acc[KINN_L];
            for (int l = 0; l < L; l++)
                acc[l] = LOADV(gw + l * O + o);
            for (int p = p0; p < p1; p++) {
                const int t = ord[p];
                for (int r = 0; r < R; r++) {
                    const vec e = LOADV(gy0 + r * NO + (long)t * O + o);
                    for (int l = 0; l < L; l++)
                        acc[l] += rows[(r * L + l) * Q + t] * e;
                }
            }
            for (int l = 0; l < L; l++)
                STOREV(gw + l * O + o, acc[l]);
        }
        for (; o < O; o++) {
            REAL acc[KINN_L];
            for (int l = 0; l < L; l++)
                acc[l] = gw[l * O + o];
            for (int p = p0; p < p1; p++) {
                const int t = ord[p];
                for (int r = 0; r < R; r++) {
                    const REAL e = gy0[r * NO + (long)t * O + o];
                    for (int l = 0; l < L; l++)
                        acc[l] += rows[(r * L + l) * Q + t] * e;
                }
            }
            for (int l = 0; l < L; l++)
                gw[l * O + o] = acc[l];
        }
    }
    if (c->F) {
        /* the base weights: every point adds to the one row; four independent chains */
        REAL *gw = gW + ((long)c->I * K + i) * O;
        const REAL *brow = s->brow + i * TN;
        int o = 0;
        for (; o + 4 * VL <= O; o += 4 * VL) {
            vec a0 = LOADV(gw + o), a1 = LOADV(gw + o + VL);
            vec a2 = LOADV(gw + o + 2 * VL), a3 = LOADV(gw + o + 3 * VL);
            for (int t = 0; t < TN; t++)
                for (int r = 0; r < R; r++) {
                    const REAL a = brow[r * Q + t];
                    const REAL *e = gy0 + r * NO + (long)t * O + o;
                    a0 += a * LOADV(e);
                    a1 += a * LOADV(e + VL);
                    a2 += a * LOADV(e + 2 * VL);
                    a3 += a * LOADV(e + 3 * VL);
                }
            STOREV(gw + o, a0);
            STOREV(gw + o + VL, a1);
            STOREV(gw + o + 2 * VL, a2);
            STOREV(gw + o + 3 * VL, a3);
        }
        for (; o + VL <= O; o += VL) {
            vec a0 = LOADV(gw + o), a1 = (vec){0};
            int t = 0;
            for (; t + 1 < TN; t += 2)
                for (int r = 0; r < R; r++) {
                    a0 += brow[r * Q + t] * LOADV(gy0 + r * NO + (long)t * O + o);
                    a1 += brow[r * Q + t + 1] * LOADV(gy0 + r * NO + (long)(t + 1) * O + o);
                }
            for (; t < TN; t++)
                for (int r = 0; r < R; r++)
                    a0 += brow[r * Q + t] * LOADV(gy0 + r * NO + (long)t * O + o);
            STOREV(gw + o, a0 + a1);
        }
        for (; o < O; o++) {
            REAL a[4] = {gw[o], 0, 0, 0};
            for (int t = 0; t < TN; t++)
                for (int r = 0; r < R; r++)
                    a[t & 3] += brow[r * Q + t] * gy0[r * NO + (long)t * O + o];
            gw[o] = (a[0] + a[1]) + (a[2] + a[3]);
        }
    }
}

/* Gradient of the tile's rows of J, vectorised over the pairs: from the loss gradients
 * s reaching the chained rows and one more derivative of the bases (the adjoint of
 * tile_chain), written back to gJ (R, N, I). */
AI void input_grad(const layer *c, const int L, tile *sc, int n, int TN,
                   REAL *gJ)
{
    const int I = c->I, R = c->R, d = c->d, Q = TN * I;
    const REAL *restrict b = sc->b, *restrict fb = sc->fb, *restrict Jt = sc->Jt;
    const REAL *restrict s = sc->s;
    REAL *restrict g = sc->gJt;
    const int base = c->F != 0;
    for (int r = 0; r < R; r++) {
        /* S1 = sum_l s[r, l] phi'_l: the gradient of row r itself (of v for r = 0) */
        const REAL *sr = s + r * (L + 1) * Q;
        REAL *restrict out = g + r * Q;
#pragma GCC ivdep
        for (int q = 0; q < Q; q++) {
            REAL a = base ? sr[L * Q + q] * fb[Q + q] : 0;
            for (int l = 0; l < L; l++)
                a += sr[l * Q + q] * b[(L + l) * Q + q];
            out[q] = a;
        }
    }
    for (int r = 1; r < R; r++) {
        /* S2 = sum_l s[r, l] phi''_l reaches v through the row's own factor (g_a or H_p) */
        const REAL *sr = s + r * (L + 1) * Q;
        const int p = r - 1 - d; /* the Hessian pair of row r; < 0 for a gradient row */
        const REAL *restrict own = Jt + r * Q;
        if (p < 0) {
#pragma GCC ivdep
            for (int q = 0; q < Q; q++) {
                REAL a2 = base ? sr[L * Q + q] * fb[2 * Q + q] : 0;
                for (int l = 0; l < L; l++)
                    a2 += sr[l * Q + q] * b[(2 * L + l) * Q + q];
                g[q] += a2 * own[q];
            }
            continue;
        }
        /* a Hessian row also has f'' g_a g_b: S3 (third derivatives) reaches v, S2 g_a, g_b */
        const REAL *restrict ga = Jt + (1 + c->pa[p]) * Q, *restrict gb = Jt + (1 + c->pb[p]) * Q;
        REAL *restrict gpa = g + (1 + c->pa[p]) * Q, *restrict gpb = g + (1 + c->pb[p]) * Q;
#pragma GCC ivdep
        for (int q = 0; q < Q; q++) {
            REAL a2 = base ? sr[L * Q + q] * fb[2 * Q + q] : 0;
            REAL a3 = base ? sr[L * Q + q] * fb[3 * Q + q] : 0;
            for (int l = 0; l < L; l++) {
                a2 += sr[l * Q + q] * b[(2 * L + l) * Q + q];
                a3 += sr[l * Q + q] * b[(3 * L + l) * Q + q];
            }
            g[q] += a2 * own[q] + a3 * ga[q] * gb[q];
            gpa[q] += a2 * gb[q];
            gpb[q] += a2 * ga[q];
        }
    }
    const long at = (long)n * I;
    for (int r = 0; r < R; r++)
        for (int t = 0; t < TN; t++)
            for (int i = 0; i < I; i++)
                gJ[r * c->NI + at + (long)t * I + i] = g[r * Q + i * TN + t];
}

AI void backward_impl(const layer *c, const int L, const REAL *J, const REAL *gy,
                      int n0, int n1, REAL *gJ, REAL *gW, tile *sc)
{
    const int I = c->I, O = c->O, R = c->R, order = c->order;
    const int K = c->G + L - 1, nder = order + 1 + (gJ ? 1 : 0);
    const long NO = c->NO;
    for (int n = n0; n < n1; n += sc->TN) {
        const int TN = n + sc->TN <= n1 ? sc->TN : n1 - n, Q = TN * I;
        tile_prepare(c, L, J, n, TN, nder, gW != 0, sc);
        for (int i = 0; i < I; i++) {
            if (gW)
                weight_grad(c, L, sc, i, TN, gy + (long)n * O, gW);
            if (!gJ)
                continue;
            /* s[r, l]: the loss gradient reaching chained row r of local basis l */
            const REAL *wb = c->F ? c->W + ((long)I * K + i) * O : 0;
            if (O == 1) {
                const REAL *restrict wg = gather_weights(c, L, sc, i, TN);
                for (int r = 0; r < R; r++) {
                    const REAL *restrict e = gy + r * NO + n;
                    REAL *restrict dst = sc->s + (long)r * (L + 1) * Q + i * TN;
                    for (int l = 0; l < L; l++)
#pragma GCC ivdep
                        for (int t = 0; t < TN; t++)
                            dst[l * Q + t] = e[t] * wg[l * TN + t];
#pragma GCC ivdep
                    for (int t = 0; t < TN; t++)
                        dst[L * Q + t] = wb ? e[t] * wb[0] : 0;
                }
                continue;
            }
            for (int t = 0; t < TN; t++) {
                const int q = i * TN + t;
                const REAL *e = gy + (long)(n + t) * O;
                const REAL *blk = c->W + ((long)i * K + sc->m[q]) * O;
                for (int r = 0; r < R; r++) {
                    REAL sr[KINN_L + 1];
#define DOTS(OO) dots(e + r * NO, blk, OO, L, wb, OO, sr)
                    WITH_O(O, DOTS);
#undef DOTS
                    REAL *dst = sc->s + (long)r * (L + 1) * Q + q;
                    for (int l = 0; l < L; l++)
                        dst[l * Q] = sr[l];
                    dst[L * Q] = wb ? sr[L] : 0;
                }
            }
        }
        if (gJ)
            input_grad(c, L, sc, n, TN, gJ);
    }
}

/* The typed view of a call's arguments, and the chunk [n0, n1) of points of one part. */
static layer typed(const kan_args *a)
{
    layer c = {a->R, a->N, a->I, a->O, a->G, a->L, a->d, a->order, a->P, a->silu, a->basis,
               (long)a->N * a->I, (long)a->N * a->O, a->pa, a->pb,
               (const REAL *)a->lo, (const REAL *)a->inv_h, (const REAL *)a->M,
               (const REAL *)a->s0, (const REAL *)a->s1, (const REAL *)a->F,
               (const REAL *)a->T, (const REAL *)a->W};
    return c;
}

static int check(const kan_args *a)
{
    if (a->L != KINN_L)
        return 2;
    if (a->basis != KAN_BSPLINE && a->basis != KAN_CHEBYSHEV)
        return 3;
    return 0;
}

int kan_forward(const kan_args *a)
{
    int failed = check(a);
    if (failed)
        return failed;
    const int parts = a->parts, N = a->N;
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int part = 0; part < parts; part++) {
        /* each thread's own copy: the compiler keeps its fields in registers */
        const layer c = typed(a);
        tile scratch;
        if (tile_alloc(&scratch, c.R, c.I, c.O, KINN_L, c.G)) {
            failed = 1;
            continue;
        }
        const int n0 = (int)((long)N * part / parts), n1 = (int)((long)N * (part + 1) / parts);
        forward_impl(&c, KINN_L, (const REAL *)a->J, (const REAL *)a->bias, n0, n1,
                     (REAL *)a->out, &scratch);
        tile_free(&scratch);
    }
    return failed;
}

/* F, when used, holds order + 2 derivatives; each part accumulates its own block of gW and
 * the caller sums them. */
int kan_backward(const kan_args *a)
{
    int failed = check(a);
    if (failed)
        return failed;
    const int parts = a->parts, N = a->N;
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int part = 0; part < parts; part++) {
        const layer c = typed(a);
        const long K = c.G + KINN_L - 1, wsize = ((long)c.I * K + (c.F ? c.I : 0)) * c.O;
        tile scratch;
        if (tile_alloc(&scratch, c.R, c.I, c.O, KINN_L, c.G)) {
            failed = 1;
            continue;
        }
        const int n0 = (int)((long)N * part / parts), n1 = (int)((long)N * (part + 1) / parts);
        REAL *gW = a->gW ? (REAL *)a->gW + part * wsize : 0;
        backward_impl(&c, KINN_L, (const REAL *)a->J, (const REAL *)a->gy, n0, n1,
                      (REAL *)a->gJ, gW, &scratch);
        tile_free(&scratch);
    }
    return failed;
}

int kan_args_layout(long *out, int n)
{
    const long layout[] = {
        sizeof(kan_args),
        offsetof(kan_args, J), offsetof(kan_args, W), offsetof(kan_args, bias),
        offsetof(kan_args, F), offsetof(kan_args, T), offsetof(kan_args, lo),
        offsetof(kan_args, inv_h), offsetof(kan_args, M), offsetof(kan_args, s0),
        offsetof(kan_args, s1), offsetof(kan_args, pa), offsetof(kan_args, pb),
        offsetof(kan_args, gy), offsetof(kan_args, out), offsetof(kan_args, gJ),
        offsetof(kan_args, gW), offsetof(kan_args, R), offsetof(kan_args, N),
        offsetof(kan_args, I), offsetof(kan_args, O), offsetof(kan_args, G),
        offsetof(kan_args, L), offsetof(kan_args, d), offsetof(kan_args, order),
        offsetof(kan_args, P), offsetof(kan_args, silu), offsetof(kan_args, basis),
        offsetof(kan_args, parts),
    };
    const int total = (int)(sizeof(layout) / sizeof(layout[0]));
    int i = 0;
    for (; i < n && i < total; i++)
        out[i] = layout[i];
    return i;
}
