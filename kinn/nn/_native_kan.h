/* Body of the fused CPU KAN kernel (see _native_kan.c).
 *
 * Needs REAL (float or double), FLOOR, FN(name) and KINN_L (k + 1: loops over the local
 * bases are unrolled and their accumulators kept in registers) defined.
 *
 * A B-spline KAN layer on a uniform grid applied to stacked Taylor rows J (R, N, I):
 * row 0 the values v, rows 1..d the first derivatives g_a, then P rows of second
 * derivatives H_p for the pairs (pa[p], pb[p]). Each edge function is
 * phi(t) = sum_l C[i, m + l] b_l(t) + Wb[i] base(t), and the chain rule gives the rows of
 * its image: f(v), f'(v) g_a, f''(v) g_a g_b + f'(v) H_ab. Only the L = k + 1 non-zero
 * bases of each point are touched, so the work is R N I (L + 1) O multiply-adds and nothing
 * of size (N, I, G + k) exists.
 *
 * W is the stacked weight (I K + I, O): rows i K + j the spline coefficients C[i, j], rows
 * I K + i the base weights (present when F is). M holds the matrices of the bases and their
 * u-derivatives, (4, L, L), row p multiplying u^p; s0, s1 the slopes d/du of the bases at
 * u = 0 and u = 1 (the linear continuation outside the domain). F, when not NULL, holds the
 * base activation's derivatives (nder, N, I), computed by the caller, or with silu set only
 * sigmoid(v) (1, N, I), from which the kernel derives SiLU and its derivatives.
 *
 * Points are processed in tiles of TN whole points. Phase A transposes the tile's rows to
 * input-major order (pair q = i TN + t) and computes the bases and chained rows, vectorised
 * over the pairs. Phase B runs over the inputs outermost, so one input's weight block
 * (K x O) and the tile's outputs or output gradients (R x TN x O) stay in L1 while the
 * tile's points use them.
 */

#define AI static inline __attribute__((always_inline))
#define VL ((int)(32 / sizeof(REAL))) /* lanes of a 32-byte vector */
typedef REAL FN(vec) __attribute__((vector_size(32), aligned(sizeof(REAL))));
#define LOADV(p) (*(const FN(vec) *)(p))
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
#define STOREV(p, v) (*(FN(vec) *)(p) = (v))

typedef struct {
    int R, N, I, O, G, L, d, order, P, silu;
    long NI, NO;
    const int *pa, *pb;
    const REAL *lo, *inv_h, *M, *s0, *s1, *F, *W;
} FN(layer);

/* Scratch of one tile of up to TN points (Q = TN I pairs), input-major. */
typedef struct {
    int TN, Q;
    int *m;           /* (Q) interval of each pair */
    REAL *Jt;         /* (R, Q) the tile's rows of J */
    REAL *b;          /* (4, L, Q) bases and their x-derivatives */
    REAL *rows;       /* (R, L, Q) chained rows of the spline bases */
    REAL *fb;         /* (4, Q) base activation and derivatives */
    REAL *brow;       /* (R, Q) chained rows of the base activation */
    REAL *lo, *ih, *w; /* (Q), (Q), (4 Q) */
    int *beg, *ord;    /* (G + 2), (TN): the tile's points sorted by interval, per input */
    REAL *s;           /* (R, L + 1, Q) loss gradient reaching each chained row (base last) */
    REAL *gJt;         /* (R, Q) the tile's gradient of J */
    REAL *z;           /* (L, TN) one-output layers: per-point weights or weight gradients */
} FN(tile);

static int FN(tile_size)(int R, int I, int O)
{
    /* the tile's outputs (or their gradients) R TN O should take about 12 KiB of L1 */
    int tn = (int)(12288 / (sizeof(REAL) * R * (O < 4 ? 4 : O)));
    if (tn > 16384 / I)
        tn = 16384 / I;
    return tn < 1 ? 1 : (tn > 512 ? 512 : tn);
}

static int FN(tile_alloc)(FN(tile) * s, int R, int I, int O, int L, int G)
{
    s->TN = FN(tile_size)(R, I, O);
    const long Q = (long)s->TN * I;
    s->Q = (int)Q;
    s->m = malloc(sizeof(int) * (Q + G + 2 + s->TN));
    s->Jt = malloc(sizeof(REAL) * (Q * (R + 4 * L + R * L + 4 + R + 6 + R * (L + 1) + R) +
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
    s->s = s->w + 4 * Q;
    s->gJt = s->s + R * (L + 1) * Q;
    s->z = s->gJt + R * Q;
    return 0;
}

static void FN(tile_free)(FN(tile) * s)
{
    free(s->m);
    free(s->Jt);
}

/* Bases b[(r L + l) Q + q] for r < nder and the interval m[q] of the tile's Q pairs. Every
 * loop runs over the pairs innermost, so it vectorises. */
AI void FN(tile_bases)(const FN(layer) * c, const int L, int Q, int nder, FN(tile) * s)
{
    const REAL G = (REAL)c->G;
    const REAL *restrict x = s->Jt, *restrict lo = s->lo, *restrict ih = s->ih;
    REAL *restrict u = s->w, *restrict left = s->w + Q, *restrict right = s->w + 2 * Q;
    REAL *restrict inside = s->w + 3 * Q;
    int *restrict m = s->m;
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
            if (r == 0) {
                const REAL a0 = c->s0[l], a1 = c->s1[l];
#pragma GCC ivdep
                for (int q = 0; q < Q; q++)
                    br[q] += left[q] * a0 + right[q] * a1;
            } else if (r == 1) {
#pragma GCC ivdep
                for (int q = 0; q < Q; q++)
                    br[q] *= ih[q];
            } else {
#pragma GCC ivdep
                for (int q = 0; q < Q; q++) {
                    const REAL f = ih[q] * ih[q] * inside[q];
                    br[q] *= r == 2 ? f : f * ih[q];
                }
            }
        }
    }
}

/* Chained rows rows[(r L + l) Q + q] of L functions with derivatives f[(r L + l) Q + q]. */
AI void FN(tile_chain)(const FN(layer) * c, const int L, int Q, const REAL *restrict Jt,
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
AI void FN(tile_prepare)(const FN(layer) * c, const int L, const REAL *J, int n, int TN,
                         int nder, int chain, FN(tile) * s)
{
    const int I = c->I, Q = TN * I;
    const long at = (long)n * I;
    for (int r = 0; r < c->R; r++)
        for (int t = 0; t < TN; t++)
            for (int i = 0; i < I; i++)
                s->Jt[r * Q + i * TN + t] = J[r * c->NI + at + (long)t * I + i];
    for (int i = 0; i < I; i++)
        for (int t = 0; t < TN; t++) {
            s->lo[i * TN + t] = c->lo[i];
            s->ih[i * TN + t] = c->inv_h[i];
        }
    FN(tile_bases)(c, L, Q, nder, s);
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
        FN(tile_chain)(c, L, Q, s->Jt, s->b, s->rows);
        if (c->F)
            FN(tile_chain)(c, 1, Q, s->Jt, s->fb, s->brow);
    }
}

/* y[o] += sum_l a[l Q] w[l O + o] (+ ab wb[o]) over o < O: one pair's contribution to one
 * output row. */
AI void FN(gather_rows)(REAL *restrict y, const REAL *a, int Q, const REAL *w, const int L,
                        int O, const REAL *wb, REAL ab)
{
    REAL coef[KINN_L];
    for (int l = 0; l < L; l++)
        coef[l] = a[l * Q];
    int o = 0;
    for (; o + VL <= O; o += VL) {
        FN(vec) acc = LOADV(y + o);
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
AI const REAL *FN(gather_weights)(const FN(layer) * c, const int L, FN(tile) * s, int i, int TN)
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

AI void FN(forward_impl)(const FN(layer) * c, const int L, const REAL *J, const REAL *bias,
                         int n0, int n1, REAL *out, FN(tile) * s)
{
    const int I = c->I, O = c->O, R = c->R, K = c->G + L - 1;
    for (int n = n0; n < n1; n += s->TN) {
        const int TN = n + s->TN <= n1 ? s->TN : n1 - n, Q = TN * I;
        FN(tile_prepare)(c, L, J, n, TN, c->order + 1, 1, s);
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
                const REAL *wg = FN(gather_weights)(c, L, s, i, TN);
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
    FN(gather_rows)(out + r * c->NO + (long)(n + t) * O, s->rows + r * L * Q + q, Q, w, L, OO,  \
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
AI void FN(dots)(const REAL *e, const REAL *w, long stride, const int nw, const REAL *x,
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
    FN(vec) acc[KINN_L + 1];
    for (int l = 0; l <= nw; l++)
        acc[l] = (FN(vec)){0};
    int o = 0;
    for (; o + VL <= O; o += VL) {
        const FN(vec) ev = LOADV(e + o);
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
AI void FN(weight_grad)(const FN(layer) * c, const int L, FN(tile) * s, int i, int TN,
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
            FN(vec) acc[KINN_L];
            for (int l = 0; l < L; l++)
                acc[l] = LOADV(gw + l * O + o);
            for (int p = p0; p < p1; p++) {
                const int t = ord[p];
                for (int r = 0; r < R; r++) {
                    const FN(vec) e = LOADV(gy0 + r * NO + (long)t * O + o);
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
            FN(vec) a0 = LOADV(gw + o), a1 = LOADV(gw + o + VL);
            FN(vec) a2 = LOADV(gw + o + 2 * VL), a3 = LOADV(gw + o + 3 * VL);
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
            FN(vec) a0 = LOADV(gw + o), a1 = (FN(vec)){0};
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
AI void FN(input_grad)(const FN(layer) * c, const int L, FN(tile) * sc, int n, int TN,
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

AI void FN(backward_impl)(const FN(layer) * c, const int L, const REAL *J, const REAL *gy,
                          int n0, int n1, REAL *gJ, REAL *gW, FN(tile) * sc)
{
    const int I = c->I, O = c->O, R = c->R, order = c->order;
    const int K = c->G + L - 1, nder = order + 1 + (gJ ? 1 : 0);
    const long NO = c->NO;
    for (int n = n0; n < n1; n += sc->TN) {
        const int TN = n + sc->TN <= n1 ? sc->TN : n1 - n, Q = TN * I;
        FN(tile_prepare)(c, L, J, n, TN, nder, gW != 0, sc);
        for (int i = 0; i < I; i++) {
            if (gW)
                FN(weight_grad)(c, L, sc, i, TN, gy + (long)n * O, gW);
            if (!gJ)
                continue;
            /* s[r, l]: the loss gradient reaching chained row r of local basis l */
            const REAL *wb = c->F ? c->W + ((long)I * K + i) * O : 0;
            if (O == 1) {
                const REAL *restrict wg = FN(gather_weights)(c, L, sc, i, TN);
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
#define DOTS(OO) FN(dots)(e + r * NO, blk, OO, L, wb, OO, sr)
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
            FN(input_grad)(c, L, sc, n, TN, gJ);
    }
}

#define SETUP                                                                                 \
    FN(layer) c = {R, N, I, O, G, k + 1, d, order, P, silu, (long)N * I, (long)N * O,         \
                   pa, pb, lo, inv_h, M, s0, s1, F, W};                                       \
    FN(tile) scratch;                                                                         \
    if (FN(tile_alloc)(&scratch, R, I, O, k + 1, G)) {                                           \
        failed = 1;                                                                           \
        continue;                                                                             \
    }                                                                                         \
    const int n0 = (int)((long)N * part / parts), n1 = (int)((long)N * (part + 1) / parts);

/* out (R, N, O); bias (O) or NULL is added to row 0. The points are split into `parts`
 * chunks run by up to that many OpenMP threads. Returns 0; 1 when scratch memory could not
 * be allocated; 2 when the degree is not the one this library was built for. */
int FN(kan_forward)(const REAL *J, const REAL *W, const REAL *bias, const REAL *F,
                    const REAL *lo, const REAL *inv_h, const REAL *M, const REAL *s0,
                    const REAL *s1, const int *pa, const int *pb, int R, int N, int I, int O,
                    int G, int k, int d, int order, int P, int silu, int parts, REAL *out)
{
    if (k + 1 != KINN_L)
        return 2;
    int failed = 0;
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int part = 0; part < parts; part++) {
        SETUP
        FN(forward_impl)(&c, KINN_L, J, bias, n0, n1, out, &scratch);
        FN(tile_free)(&scratch);
    }
    return failed;
}

/* Gradients from gy (R, N, O): gJ (R, N, I), every entry written, when not NULL;
 * gW (parts, rows of W, O), zeroed by the caller, accumulated per chunk when not NULL (the
 * caller sums the chunks). F, when used, holds order + 2 derivatives. */
int FN(kan_backward)(const REAL *J, const REAL *W, const REAL *F, const REAL *lo,
                     const REAL *inv_h, const REAL *M, const REAL *s0, const REAL *s1,
                     const int *pa, const int *pb, int R, int N, int I, int O, int G, int k,
                     int d, int order, int P, int silu, int parts, const REAL *gy, REAL *gJ,
                     REAL *gW)
{
    if (k + 1 != KINN_L)
        return 2;
    int failed = 0;
    const long wsize = ((long)I * (G + k) + (F ? I : 0)) * O; /* rows of W */
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int part = 0; part < parts; part++) {
        SETUP
        REAL *gWp = gW ? gW + part * wsize : 0;
        FN(backward_impl)(&c, KINN_L, J, gy, n0, n1, gJ, gWp, &scratch);
        FN(tile_free)(&scratch);
    }
    return failed;
}

#undef SETUP
#undef AI
#undef VL
#undef LOADV
#undef STOREV
#undef WITH_O
