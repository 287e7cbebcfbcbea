"""The Triton kernels of :mod:`kinn.nn._triton` (imported on first use: it imports Triton).

Triton decides at decoration whether a kernel is compiled or interpreted, from
``TRITON_INTERPRET``, which must therefore be set before Triton is first imported (its own
library functions, ``tl.zeros`` and ``tl.sum``, are decorated then too).
"""

import triton
import triton.language as tl


@triton.jit
def bspline_dense(x, lo, ih, M, s0, s1, G, kk, L: tl.constexpr, NDER: tl.constexpr):
    """Dense ``(BN, BK)`` tiles of the bases and x-derivatives 0..NDER-1 at x ``(BN,)``
    (zero but in the L live columns ``m .. m + k``), with the C^2 extension outside
    (``tail_factors`` in :mod:`kinn.nn.bspline`; the end curvatures come from ``M_2``)."""
    s = (x - lo) * ih
    sc = tl.minimum(tl.maximum(s, 0.0), G * 1.0)
    mf = tl.minimum(tl.floor(sc), G - 1.0)
    mf = tl.where(mf == mf, mf, 0.0)  # NaN input: a valid interval, the values stay NaN
    u = sc - mf
    ex = s - sc
    left = tl.minimum(ex, 0.0)
    right = tl.maximum(ex, 0.0)
    inside = tl.where(ex == 0, 1.0, 0.0)
    d = tl.abs(ex)
    dq = tl.minimum(d, 1.0)
    slope = dq - 0.5 * dq * dq
    sign = tl.where(ex < 0, -1.0, 1.0)
    p0 = dq * dq * (0.5 - dq / 6.0) + (d - dq) * slope
    p1 = sign * slope
    p2 = 1.0 - dq
    p3 = tl.where((d > 0) & (d < 1), -sign, 0.0)
    col = kk[None, :] - mf.to(tl.int32)[:, None]  # local basis index of each dense column
    D0 = tl.zeros((x.shape[0], kk.shape[0]), dtype=x.dtype)
    D1 = tl.zeros((x.shape[0], kk.shape[0]), dtype=x.dtype)
    D2 = tl.zeros((x.shape[0], kk.shape[0]), dtype=x.dtype)
    D3 = tl.zeros((x.shape[0], kk.shape[0]), dtype=x.dtype)
    for l in tl.static_range(L):
        hit = col == l
        # the curvature of basis l at the nearest end (zero inside, where the factors are)
        k1 = tl.load(M + (2 * L) * L + l)
        for p in tl.static_range(1, L):
            k1 = k1 + tl.load(M + (2 * L + p) * L + l)
        curv = tl.where(ex < 0, tl.load(M + (2 * L) * L + l), k1)
        for r in tl.static_range(NDER):
            # Horner on column l of M_r: row p multiplies u^p
            acc = tl.load(M + (r * L + L - 1) * L + l) + 0.0 * u
            for q in tl.static_range(L - 1):
                acc = acc * u + tl.load(M + (r * L + L - 2 - q) * L + l)
            if r == 0:
                acc = acc + left * tl.load(s0 + l) + right * tl.load(s1 + l) + curv * p0
                D0 = tl.where(hit, acc[:, None], D0)
            elif r == 1:
                D1 = tl.where(hit, ((acc + curv * p1) * ih)[:, None], D1)
            elif r == 2:
                D2 = tl.where(hit, (acc * ih * ih * p2)[:, None], D2)
            else:
                D3 = tl.where(hit, ((acc * inside + curv * p3) * ih * ih * ih)[:, None], D3)
    return D0, D1, D2, D3


@triton.jit
def chebyshev_dense(t, kk, L: tl.constexpr, NDER: tl.constexpr):
    """Dense ``(BN, BK)`` tiles of ``d^r/dx^r T_j(tanh x)``, r < NDER, from t = tanh(x)."""
    one = 1.0 + 0.0 * t
    zero = 0.0 * t
    # T^(r)_{j-2}, T^(r)_{j-1} of the recurrence T^(r)_j = 2 t T^(r)_{j-1}
    # + 2 r T^(r-1)_{j-1} - T^(r)_{j-2}, for r = 0..3
    a0, a1, a2, a3 = zero, zero, zero, zero
    b0, b1, b2, b3 = zero, zero, zero, zero
    t1 = 1 - t * t  # tanh' ...
    t2 = -2 * t * t1
    t3 = t1 * (6 * t * t - 2)
    D0 = tl.zeros((t.shape[0], kk.shape[0]), dtype=t.dtype)
    D1 = tl.zeros((t.shape[0], kk.shape[0]), dtype=t.dtype)
    D2 = tl.zeros((t.shape[0], kk.shape[0]), dtype=t.dtype)
    D3 = tl.zeros((t.shape[0], kk.shape[0]), dtype=t.dtype)
    for j in tl.static_range(L):
        if j == 0:
            c0, c1, c2, c3 = one, zero, zero, zero
        elif j == 1:
            c0, c1, c2, c3 = t, one, zero, zero
        else:
            c0 = 2 * t * b0 - a0
            c1 = 2 * t * b1 + 2 * b0 - a1
            c2 = 2 * t * b2 + 4 * b1 - a2
            c3 = 2 * t * b3 + 6 * b2 - a3
        a0, a1, a2, a3 = b0, b1, b2, b3
        b0, b1, b2, b3 = c0, c1, c2, c3
        hit = kk[None, :] == j
        D0 = tl.where(hit, c0[:, None], D0)
        if NDER > 1:
            D1 = tl.where(hit, (c1 * t1)[:, None], D1)
        if NDER > 2:
            D2 = tl.where(hit, (c2 * t1 * t1 + c1 * t2)[:, None], D2)
        if NDER > 3:
            d3 = c3 * t1 * t1 * t1 + 3 * c2 * t1 * t2 + c1 * t3
            D3 = tl.where(hit, d3[:, None], D3)
    return D0, D1, D2, D3


@triton.jit
def point_tiles(
    J, T, F, lo, ih, M, s0, s1, ia, ib, i, n0, R, N, I, G, d,
    BASIS: tl.constexpr, HAS_BASE: tl.constexpr, L: tl.constexpr, NDER: tl.constexpr,
    BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):  # fmt: skip
    """Input i at points n0 .. n0 + BN: the rows' factors and the bases' dense tiles.

    Chained row r of a function f is ``c0 f + A f' + B f''`` (c0 = [r == 0]; A the row
    itself for r >= 1; B = g_a g_b for a Hessian row), so the rows are three broadcasts.
    Returns ``c0, A, B (BR, BN)``, the bases ``D0..D3 (BN, BK)``, the base activation's
    derivatives ``f0..f3 (BN,)`` and the rows' mask.
    """
    NI = N * I
    rr = tl.arange(0, BLOCK_R)
    nn = n0 + tl.arange(0, BLOCK_N)
    kk = tl.arange(0, BLOCK_K)
    rv = rr < R
    nv = nn < N
    mask = rv[:, None] & nv[None, :]
    at = nn * I + i
    Jr = tl.load(J + rr[:, None] * NI + at[None, :], mask=mask, other=0.0)
    x = tl.load(J + at, mask=nv, other=0.0)
    c0 = tl.where(rr == 0, 1.0, 0.0).to(x.dtype)
    A = tl.where((rr >= 1)[:, None], Jr, 0.0)
    ra = tl.load(ia + rr, mask=rv, other=0)
    rb = tl.load(ib + rr, mask=rv, other=0)
    hess = (rr >= 1 + d) & rv
    Ja = tl.load(J + ra[:, None] * NI + at[None, :], mask=mask & hess[:, None], other=0.0)
    Jb = tl.load(J + rb[:, None] * NI + at[None, :], mask=mask & hess[:, None], other=0.0)
    B = Ja * Jb
    if BASIS == 0:
        D0, D1, D2, D3 = bspline_dense(
            x, tl.load(lo + i), tl.load(ih + i), M, s0, s1, G, kk, L, NDER
        )
    else:
        t = tl.load(T + at, mask=nv, other=0.0)
        D0, D1, D2, D3 = chebyshev_dense(t, kk, L, NDER)
    f0 = 0.0 * x
    f1 = 0.0 * x
    f2 = 0.0 * x
    f3 = 0.0 * x
    if HAS_BASE:
        f0 = tl.load(F + at, mask=nv, other=0.0)
        if NDER > 1:
            f1 = tl.load(F + NI + at, mask=nv, other=0.0)
        if NDER > 2:
            f2 = tl.load(F + 2 * NI + at, mask=nv, other=0.0)
        if NDER > 3:
            f3 = tl.load(F + 3 * NI + at, mask=nv, other=0.0)
    return c0, A, B, Ja, Jb, D0, D1, D2, D3, f0, f1, f2, f3


@triton.jit
def basis_rows(c0, A, B, D0, D1, D2, ORDER: tl.constexpr):
    """The bases' Taylor rows ``(BR, BN, BK)``: ``c0 D0 + A D1 + B D2`` up to ``ORDER``."""
    rows = c0[:, None, None] * D0[None, :, :]
    if ORDER >= 1:
        rows += A[:, :, None] * D1[None, :, :]
    if ORDER >= 2:
        rows += B[:, :, None] * D2[None, :, :]
    return rows


@triton.jit
def forward_kernel(
    J, T, F, W, bias, out, lo, ih, M, s0, s1, ia, ib, R, N, I, O, K, G, d,
    BASIS: tl.constexpr, HAS_BASE: tl.constexpr, HAS_BIAS: tl.constexpr,
    L: tl.constexpr, ORDER: tl.constexpr, PRECISION: tl.constexpr,
    BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    BLOCK_O: tl.constexpr,
):  # fmt: skip
    """out (R, N, O) = rows of the layer; grid (point blocks, output blocks)."""
    n0 = tl.program_id(0) * BLOCK_N
    oo = tl.program_id(1) * BLOCK_O + tl.arange(0, BLOCK_O)
    kk = tl.arange(0, BLOCK_K)
    rr = tl.arange(0, BLOCK_R)
    nn = n0 + tl.arange(0, BLOCK_N)
    ov = oo < O
    acc = tl.zeros((BLOCK_R * BLOCK_N, BLOCK_O), dtype=out.dtype.element_ty)
    for i in range(I):
        c0, A, B, Ja, Jb, D0, D1, D2, D3, f0, f1, f2, f3 = point_tiles(
            J, T, F, lo, ih, M, s0, s1, ia, ib, i, n0, R, N, I, G, d,
            BASIS, HAS_BASE, L, ORDER + 1, BLOCK_R, BLOCK_N, BLOCK_K,
        )  # fmt: skip
        rows = basis_rows(c0, A, B, D0, D1, D2, ORDER)
        w = tl.load(
            W + (i * K + kk[:, None]) * O + oo[None, :],
            mask=(kk < K)[:, None] & ov[None, :],
            other=0.0,
        )
        rows2 = tl.reshape(rows, (BLOCK_R * BLOCK_N, BLOCK_K))
        acc = tl.dot(rows2, w, acc, input_precision=PRECISION)
        if HAS_BASE:
            brow = c0[:, None] * f0[None, :] + A * f1[None, :] + B * f2[None, :]
            wb = tl.load(W + (I * K + i) * O + oo, mask=ov, other=0.0)
            acc += tl.reshape(brow, (BLOCK_R * BLOCK_N, 1)) * wb[None, :]
    y = tl.reshape(acc, (BLOCK_R, BLOCK_N, BLOCK_O))
    if HAS_BIAS:
        b = tl.load(bias + oo, mask=ov, other=0.0)
        y += tl.where((rr == 0)[:, None, None], b[None, None, :], 0.0)
    ptr = out + (rr[:, None, None] * N + nn[None, :, None]) * O + oo[None, None, :]
    mask = (rr < R)[:, None, None] & (nn < N)[None, :, None] & ov[None, None, :]
    tl.store(ptr, y, mask=mask)


@triton.jit
def input_grad_kernel(
    gy, J, T, F, W, gJ, lo, ih, M, s0, s1, ia, ib, R, N, I, O, K, G, d,
    BASIS: tl.constexpr, HAS_BASE: tl.constexpr, L: tl.constexpr, ORDER: tl.constexpr,
    PRECISION: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr, BLOCK_O: tl.constexpr,
):  # fmt: skip
    """gJ (R, N, I) from gy (R, N, O): the adjoint of the chained rows; grid (point blocks,)."""
    n0 = tl.program_id(0) * BLOCK_N
    kk = tl.arange(0, BLOCK_K)
    rr = tl.arange(0, BLOCK_R)
    nn = n0 + tl.arange(0, BLOCK_N)
    rv = rr < R
    nv = nn < N
    NI = N * I
    dt = gJ.dtype.element_ty
    for i in range(I):
        c0, A, B, Ja, Jb, D0, D1, D2, D3, f0, f1, f2, f3 = point_tiles(
            J, T, F, lo, ih, M, s0, s1, ia, ib, i, n0, R, N, I, G, d,
            BASIS, HAS_BASE, L, ORDER + 2, BLOCK_R, BLOCK_N, BLOCK_K,
        )  # fmt: skip
        # S[r, n, k] = sum_o gy[r, n, o] W[i K + k, o]; sb the same with the base weight
        S = tl.zeros((BLOCK_R * BLOCK_N, BLOCK_K), dtype=dt)
        sb = tl.zeros((BLOCK_R * BLOCK_N,), dtype=dt)
        for o0 in range(0, O, BLOCK_O):
            oo = o0 + tl.arange(0, BLOCK_O)
            ov = oo < O
            g = tl.load(
                gy + (rr[:, None, None] * N + nn[None, :, None]) * O + oo[None, None, :],
                mask=rv[:, None, None] & nv[None, :, None] & ov[None, None, :],
                other=0.0,
            )
            g2 = tl.reshape(g, (BLOCK_R * BLOCK_N, BLOCK_O))
            wt = tl.load(
                W + (i * K + kk[None, :]) * O + oo[:, None],
                mask=(kk < K)[None, :] & ov[:, None],
                other=0.0,
            )
            S = tl.dot(g2, wt, S, input_precision=PRECISION)
            if HAS_BASE:
                wb = tl.load(W + (I * K + i) * O + oo, mask=ov, other=0.0)
                sb += tl.sum(g2 * wb[None, :], axis=1)
        S3d = tl.reshape(S, (BLOCK_R, BLOCK_N, BLOCK_K))
        sb2 = tl.reshape(sb, (BLOCK_R, BLOCK_N))
        # Sj[r, n]: the gradient reaching the j-th derivative of the edge function
        S1 = tl.sum(S3d * D1[None, :, :], axis=2) + sb2 * f1[None, :]
        grad = S1
        if ORDER >= 1:
            S2 = tl.sum(S3d * D2[None, :, :], axis=2) + sb2 * f2[None, :]
            gv = tl.sum(A * S2, axis=0)
            if ORDER >= 2:
                S3 = tl.sum(S3d * D3[None, :, :], axis=2) + sb2 * f3[None, :]
                gv += tl.sum(B * S3, axis=0)
                # f'' g_a g_b of Hessian row r' passes S2 g_b to row a and S2 g_a to row b
                ra = tl.load(ia + rr, mask=rv, other=-1)
                rb = tl.load(ib + rr, mask=rv, other=-1)
                hess = ((rr >= 1 + d) & rv)[:, None]
                X = tl.where(hess, S2 * Jb, 0.0)
                Y = tl.where(hess, S2 * Ja, 0.0)
                to_a = ra[None, :, None] == rr[:, None, None]
                to_b = rb[None, :, None] == rr[:, None, None]
                grad += tl.sum(tl.where(to_a, X[None, :, :], 0.0), axis=1)
                grad += tl.sum(tl.where(to_b, Y[None, :, :], 0.0), axis=1)
            grad += tl.where((rr == 0)[:, None], gv[None, :], 0.0)
        ptr = gJ + rr[:, None] * NI + nn[None, :] * I + i
        tl.store(ptr, grad, mask=rv[:, None] & nv[None, :])


@triton.jit
def weight_grad_kernel(
    gy, J, T, F, gW, lo, ih, M, s0, s1, ia, ib, R, N, I, O, K, G, d, blocks_per_chunk,
    BASIS: tl.constexpr, HAS_BASE: tl.constexpr, L: tl.constexpr, ORDER: tl.constexpr,
    PRECISION: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr, BLOCK_O: tl.constexpr,
):  # fmt: skip
    """Partial weight gradients gW (chunks, I K [+ I], O): grid (I, chunks, output blocks);
    each program sums its chunk of point blocks for one input's weight block."""
    i = tl.program_id(0)  # fastest: the programs running at once share their chunk's gy in L2
    chunk = tl.program_id(1)
    oo = tl.program_id(2) * BLOCK_O + tl.arange(0, BLOCK_O)
    kk = tl.arange(0, BLOCK_K)
    rr = tl.arange(0, BLOCK_R)
    rv = rr < R
    ov = oo < O
    dt = gW.dtype.element_ty
    acc = tl.zeros((BLOCK_K, BLOCK_O), dtype=dt)
    accb = tl.zeros((BLOCK_O,), dtype=dt)
    first = chunk * blocks_per_chunk
    for blk in range(first, first + blocks_per_chunk):
        n0 = blk * BLOCK_N
        nn = n0 + tl.arange(0, BLOCK_N)
        c0, A, B, Ja, Jb, D0, D1, D2, D3, f0, f1, f2, f3 = point_tiles(
            J, T, F, lo, ih, M, s0, s1, ia, ib, i, n0, R, N, I, G, d,
            BASIS, HAS_BASE, L, ORDER + 1, BLOCK_R, BLOCK_N, BLOCK_K,
        )  # fmt: skip
        rows = basis_rows(c0, A, B, D0, D1, D2, ORDER)
        g = tl.load(
            gy + (rr[:, None, None] * N + nn[None, :, None]) * O + oo[None, None, :],
            mask=rv[:, None, None] & (nn < N)[None, :, None] & ov[None, None, :],
            other=0.0,
        )
        g2 = tl.reshape(g, (BLOCK_R * BLOCK_N, BLOCK_O))
        rows2 = tl.reshape(rows, (BLOCK_R * BLOCK_N, BLOCK_K))
        acc = tl.dot(tl.trans(rows2), g2, acc, input_precision=PRECISION)
        if HAS_BASE:
            brow = c0[:, None] * f0[None, :] + A * f1[None, :] + B * f2[None, :]
            accb += tl.sum(tl.reshape(brow, (BLOCK_R * BLOCK_N, 1)) * g2, axis=0)
    rows_w = I * K
    if HAS_BASE:
        rows_w += I
    base = gW + chunk * rows_w * O
    tl.store(
        base + (i * K + kk[:, None]) * O + oo[None, :],
        acc,
        mask=(kk < K)[:, None] & ov[None, :],
    )
    if HAS_BASE:
        tl.store(base + (I * K + i) * O + oo, accb, mask=ov)
