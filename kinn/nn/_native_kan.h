/* Interface of the fused CPU kernel of KAN layers (bodies in _native_kan.c).
 *
 * One library is built per number of local bases L and floating type (-DKINN_L=<L>
 * -DKINN_DOUBLE=<0 or 1>); kinn/nn/_native.py mirrors kan_args with ctypes and checks its
 * layout against kan_args_layout() when it loads a library. Pointers to floating data are
 * void * here and float * or double * (REAL *) in the library.
 */
#ifndef KINN_NATIVE_KAN_H
#define KINN_NATIVE_KAN_H

enum { KAN_BSPLINE = 0, KAN_CHEBYSHEV = 1 };

typedef struct {
    /* inputs */
    const void *J;    /* (R, N, I) stacked Taylor rows: values, d gradient rows, P Hessian rows */
    const void *W;    /* (I K [+ I], O) spline coefficients, then base weights when F is set */
    const void *bias; /* (O) or NULL; added to row 0 (forward only) */
    const void *F;    /* base activation: derivatives (nder, N, I), sigmoid(v) (1, N, I) with
                       * silu set, or NULL without a base branch */
    const void *T;    /* Chebyshev: tanh(v) (N, I); else NULL */
    const void *lo;   /* B-spline: (I) first knot of each input */
    const void *inv_h; /* B-spline: (I) inverse knot spacing */
    const void *M;    /* B-spline: (4, L, L) matrices of the bases and their u-derivatives */
    const void *s0;   /* B-spline: (L) slopes d/du of the bases at u = 0 */
    const void *s1;   /* B-spline: (L) slopes d/du of the bases at u = 1 */
    const int *pa;    /* (P) first index of each Hessian pair */
    const int *pb;    /* (P) second index of each Hessian pair */
    const void *gy;   /* backward: (R, N, O) loss gradient of the output rows */
    /* outputs */
    void *out;        /* forward: (R, N, O) */
    void *gJ;         /* backward: (R, N, I) or NULL; every entry written */
    void *gW;         /* backward: (parts, rows of W, O) or NULL; zeroed by the caller */
    /* sizes */
    int R, N, I, O;
    int G;            /* B-spline intervals per input; 1 for Chebyshev */
    int L;            /* local bases per point: k + 1 (B-spline), n + 1 (Chebyshev) */
    int d, order, P;  /* gradient rows, derivative order (0..2), Hessian pairs */
    int silu;         /* F holds sigmoid(v) and the base is SiLU */
    int basis;        /* KAN_BSPLINE or KAN_CHEBYSHEV */
    int parts;        /* chunks of points, run by up to that many OpenMP threads */
} kan_args;

/* Return 0; 1 when scratch memory could not be allocated; 2 when L is not the one this
 * library was built for; 3 for an unknown basis. */
int kan_forward(const kan_args *a);
int kan_backward(const kan_args *a);

/* Writes sizeof(kan_args) and then the offset of every field, in declaration order, into
 * out[0 .. n); returns the number of values written. */
int kan_args_layout(long *out, int n);

#endif
