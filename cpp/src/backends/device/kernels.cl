/* The device kernels, one text for OpenCL and CUDA (dialect.h): one work-item
 * per cell calling the per-cell math that the CPU backend uses (cell_math.h,
 * hermitian_eig.h, field_math.h), reductions for the stopping test, and the
 * Poisson solve's transforms. Every problem is a field problem here: a scalar
 * problem is one plane with no exchange. Loops stride over the whole range,
 * so any launch size covers any grid. Arrays with padding (cell_math.h) come
 * as the allocation plus the offset `vpad` of their first entry. */

/* The grid, every per-cell kernel's first arguments. */
#define OMT_GEOMETRY_PARAMS                                                                  \
  omt_index_t n, omt_index_t vpad, omt_index_t s0, omt_index_t s1, omt_index_t s2, real_t h0, \
      real_t h1, real_t h2
/* Private copies: the per-cell math indexes them with loop counters. */
#define OMT_GEOMETRY                             \
  const omt_index_t stride[3] = {s0, s1, s2};   \
  const real_t inv_h[3] = {h0, h1, h2};

/* A batch of problems of one operator (ProblemSetup::problems) side by
 * side: each array holds them one after another, (problem, plane, cells),
 * and per-cell kernels and reductions run problem OMT_PROBLEM; these are the
 * offsets of its flux, potential (and residual, right-hand side) and exchange. */
#define OMT_PROBLEM_OFFSETS                                        \
  const omt_index_t b = OMT_PROBLEM;                               \
  const omt_index_t fv = b * (omt_index_t)(OMT_PLANES * OMT_D) * n; \
  const omt_index_t fp = b * (omt_index_t)OMT_PLANES * n;          \
  const omt_index_t fx = b * (omt_index_t)OMT_COLS * n;

/* The staged step sizes (mu, tau, lambda) of every problem and iteration of
 * a run of iterations: this iteration's start at entry `first`; mu == 0
 * marks a stopped problem, which the steps skip. In device memory, so that
 * a captured CUDA graph serves every run of its length. */
#define OMT_STEP_PARAMS OMT_GLOBAL const potential_t *steps, int first
#define OMT_STEP(b) (steps + 3 * ((omt_index_t)first + (b)))

/* Primal step: spatial flux and exchange of each cell. */
OMT_SHAPED_KERNEL omt_primal(OMT_SHAPE_PARAM OMT_GEOMETRY_PARAMS, OMT_STEP_PARAMS,
                             OMT_GLOBAL const uchar* bits, OMT_GLOBAL const potential_t* phi,
                             OMT_GLOBAL const real_t* coupling, OMT_GLOBAL const real_t* threshold,
                             OMT_GLOBAL const real_t* v_restart, OMT_GLOBAL real_t* v,
                             OMT_GLOBAL real_t* vbar, OMT_GLOBAL const real_t* x_restart,
                             OMT_GLOBAL real_t* x, OMT_GLOBAL real_t* xbar) {
  OMT_GEOMETRY
  OMT_PROBLEM_OFFSETS
  OMT_GLOBAL const potential_t* step = OMT_STEP(b);
  if (step[0] == 0) return;
  const real_t mu = (real_t)step[0], lambda = (real_t)step[2];
  OMT_FOR_ITEMS(omt_index_t, i, n) {
    omt_field_spatial_cell(i, n, OMT_D, OMT_PLANES, OMT_SPATIAL, OMT_K, stride, inv_h, mu, lambda,
                           bits, phi + fp, v_restart + vpad + fv, v + vpad + fv, vbar + vpad + fv);
    if (OMT_COLS > 0)
      omt_field_exchange_cell(i, n, OMT_PLANES, OMT_COLS / OMT_M, OMT_M, OMT_EXCHANGE, OMT_K,
                              coupling, threshold, mu, lambda, phi + fp, x_restart + fx, x + fx,
                              xbar + fx);
  }
}

/* r = K (vbar, xbar) - rhs, every plane. */
OMT_SHAPED_KERNEL omt_residual(OMT_SHAPE_PARAM OMT_GEOMETRY_PARAMS, OMT_GLOBAL const uchar* bits,
                               OMT_GLOBAL const real_t* coupling, OMT_GLOBAL const real_t* vbar,
                               OMT_GLOBAL const real_t* xbar, OMT_GLOBAL const real_t* rhs,
                               OMT_GLOBAL real_t* r) {
  OMT_GEOMETRY
  OMT_PROBLEM_OFFSETS
  OMT_FOR_ITEMS(omt_index_t, i, n)
  omt_field_residual_cell(i, n, OMT_D, OMT_PLANES, OMT_COLS, stride, inv_h, bits, coupling,
                          vbar + vpad + fv, xbar + fx, rhs + fp, r + fp);
}

/* r(i) <- Q^T r(i) (forward) or Q r(i): the in-cell coupling's modes. */
OMT_SHAPED_KERNEL omt_modes(OMT_SHAPE_PARAM omt_index_t n, int forward,
                            OMT_GLOBAL const real_t* modes, OMT_GLOBAL real_t* r) {
  const omt_index_t fp = OMT_PROBLEM * (omt_index_t)OMT_PLANES * n;
  OMT_FOR_ITEMS(omt_index_t, i, n) omt_field_modes_cell(i, n, OMT_PLANES, forward, modes, r + fp);
}

/* phi <- lambda (phi + tau r) + (1 - lambda) phi_restart over the problem's
 * `total` entries (all its planes). */
OMT_KERNEL omt_dual_update(omt_index_t total, OMT_STEP_PARAMS, int halpern, OMT_GLOBAL const real_t* r,
                           OMT_GLOBAL const potential_t* phi_restart, OMT_GLOBAL potential_t* phi) {
  const omt_index_t b = OMT_PROBLEM, at = b * total;
  OMT_GLOBAL const potential_t* step = OMT_STEP(b);
  if (step[0] == 0) return;
  const potential_t tau = step[1], lambda = step[2];
  OMT_FOR_ITEMS(omt_index_t, i, total) {
    const potential_t next = phi[at + i] + tau * (potential_t)r[at + i];
    phi[at + i] = halpern ? lambda * next + ((potential_t)1 - lambda) * phi_restart[at + i] : next;
  }
}

/* Per work-group sums of the cells' violation (1-norm, or trace norm), per problem. */
OMT_REDUCE_KERNEL omt_violation(OMT_SHAPE_PARAM OMT_GEOMETRY_PARAMS, OMT_GLOBAL const uchar* bits,
                                OMT_GLOBAL const real_t* coupling, OMT_GLOBAL const real_t* v,
                                OMT_GLOBAL const real_t* x, OMT_GLOBAL const real_t* rhs,
                                OMT_GLOBAL potential_t* partial) {
  OMT_SUM_STORAGE
  OMT_GEOMETRY
  OMT_PROBLEM_OFFSETS
  potential_t sum = 0;
  OMT_FOR(omt_index_t, i, n)
  sum += (potential_t)omt_field_violation_cell(i, n, OMT_D, OMT_PLANES, OMT_COLS, OMT_NUCLEAR_RESIDUAL,
                                               OMT_K, stride, inv_h, bits, coupling, v + vpad + fv,
                                               x + fx, rhs + fp);
  sum = omt_group_sum(sum);
  if (OMT_LOCAL_ID == 0) partial[b * OMT_GROUPS + OMT_GROUP_ID] = sum;
}

/* Per work-group sums of the primal and dual movement since the anchor, per problem. */
OMT_REDUCE_KERNEL omt_movement(OMT_SHAPE_PARAM OMT_GEOMETRY_PARAMS, OMT_GLOBAL const uchar* bits,
                               OMT_GLOBAL const real_t* coupling, OMT_GLOBAL const real_t* v,
                               OMT_GLOBAL const real_t* v0, OMT_GLOBAL const real_t* x,
                               OMT_GLOBAL const real_t* x0, OMT_GLOBAL const potential_t* phi,
                               OMT_GLOBAL const potential_t* phi0, OMT_GLOBAL potential_t* partial) {
  OMT_SUM_STORAGE
  OMT_GEOMETRY
  OMT_PROBLEM_OFFSETS
  potential_t dx = 0, dy = 0;
  OMT_FOR(omt_index_t, i, n) {
    real_t out[2];
    omt_field_movement_cell(i, n, OMT_D, OMT_PLANES, OMT_COLS, stride, inv_h, bits, coupling,
                            v + vpad + fv, v0 + vpad + fv, x + fx, x0 + fx, phi + fp, phi0 + fp, out);
    dx += (potential_t)out[0];
    dy += (potential_t)out[1];
  }
  dx = omt_group_sum(dx);
  dy = omt_group_sum(dy);
  if (OMT_LOCAL_ID == 0) {
    partial[2 * (b * OMT_GROUPS + OMT_GROUP_ID)] = dx;
    partial[2 * (b * OMT_GROUPS + OMT_GROUP_ID) + 1] = dy;
  }
}

/* The Poisson solve's transforms: the orthonormal DCT-II (and its inverse)
 * along one axis of the (plane, n0, n1, n2) array, by one complex FFT of the
 * axis' length (Makhoul 1980), as in the CPU backend (batched_dct.hpp):
 *   forward  v = (x0, x2, x4, ..., x5, x3, x1), V = FFT(v),
 *            Y_k = c_k Re(e^{-i pi k/2n} V_k), c_k = sqrt((k ? 2 : 1) / n);
 *   inverse  X_k = Y_k / c_k, V_k = e^{i pi k/2n} (X_k - i X_{n-k}) (X_n = 0),
 *            v = IFFT(V) = conj(FFT(conj V)) / n, x undoes the reordering.
 * The FFT is a self-sorting mixed-radix Stockham FFT, one launch per stage,
 * one work-item per output, so any radix (any length) runs in one kernel.
 * The first stage reads x and applies the pre-pass to each input it reads;
 * the last (of two or more) applies the post-pass and writes x: no pass of
 * their own. Arrays are indexed (outer, m, inner), m along the axis
 * (OMT_AXIS_ITEMS). */

/* Source index of the reordered sequence's entry m: even samples forward, odd backward. */
OMT_TRANSFORM_FN omt_transform_t omt_makhoul_source(omt_transform_t m, omt_transform_t n) {
  return 2 * m < n ? 2 * m : 2 * (n - 1 - m) + 1;
}

/* The cosines, sines and scales of an axis' DCT: cos(pi k / 2n), sin(pi k / 2n), c_k. */
#define OMT_DCT_PARAMS \
  OMT_GLOBAL const real_t *cosines, OMT_GLOBAL const real_t *sines, OMT_GLOBAL const real_t *scale

/* Entry e of the FFT's input (split complex): the previous stage's output, or
 * (first stage) the reordered row (forward) or conj(V) / n (inverse) from x. */
OMT_TRANSFORM_FN void omt_fft_input(int first, int inverse, omt_transform_t n, omt_transform_t inner,
                          omt_transform_t row, omt_transform_t c, omt_transform_t e,
                          OMT_GLOBAL const real_t* x, OMT_DCT_PARAMS, OMT_GLOBAL const real_t* xr,
                          OMT_GLOBAL const real_t* xi, real_t* re, real_t* im) {
  if (!first) {
    *re = xr[row + e * inner + c];
    *im = xi[row + e * inner + c];
  } else if (!inverse) {
    *re = x[row + omt_makhoul_source(e, n) * inner + c];
    *im = 0;
  } else {
    const real_t xk = x[row + e * inner + c] / scale[e];
    const real_t xnk = e > 0 ? x[row + (n - e) * inner + c] / scale[n - e] : (real_t)0;
    const real_t inv_n = (real_t)1 / (real_t)n;
    *re = (cosines[e] * xk + sines[e] * xnk) * inv_n;
    *im = (cosines[e] * xnk - sines[e] * xk) * inv_n;
  }
}

/* From the FFT's output entry m: the scaled coefficient (forward), or the row
 * entry in its original order (inverse: the real part of FFT(conj V) / n). */
OMT_TRANSFORM_FN void omt_dct_output(int inverse, omt_transform_t n, omt_transform_t inner, omt_transform_t row,
                           omt_transform_t c, omt_transform_t m, real_t re, real_t im, OMT_DCT_PARAMS,
                           OMT_GLOBAL real_t* x) {
  if (!inverse)
    x[row + m * inner + c] = scale[m] * (cosines[m] * re + sines[m] * im);
  else
    x[row + omt_makhoul_source(m, n) * inner + c] = re;
}

/* One Stockham stage of radix R after stages of total size `span`: output
 * p = (j / span) span R + r span + k, k = j mod span, of
 *   y = sum_q x[j + q m] twiddle[k R + q] root[(q r) mod R],  m = n / R,
 * twiddle[k R + q] = e^{-2 pi i q k / (span R)}, root[t] = e^{-2 pi i t / R}
 * (interleaved complex, at offsets tw and rt of the axis' table). */
OMT_TRANSFORM_KERNEL omt_fft_stage(omt_transform_t total, omt_transform_t n, omt_transform_t inner, int R,
                                   omt_transform_t span, omt_index_t tw, omt_index_t rt,
                                   OMT_GLOBAL const real_t* table, int first, int last, int inverse,
                                   OMT_GLOBAL real_t* x, OMT_DCT_PARAMS, OMT_GLOBAL const real_t* xr,
                                   OMT_GLOBAL const real_t* xi, OMT_GLOBAL real_t* yr,
                                   OMT_GLOBAL real_t* yi) {
  OMT_AXIS_ITEMS(omt_transform_t, total, n, inner, c, p, row, g) {
    const omt_transform_t block = span * R, m = n / R;
    const omt_transform_t r = (p % block) / span, k = p % span, j = (p / block) * span + k;
    OMT_GLOBAL const real_t* w = table + 2 * (tw + k * R);
    OMT_GLOBAL const real_t* root = table + 2 * rt;
    real_t sr = 0, si = 0;
    for (int q = 0; q < R; ++q) {
      real_t xq_re, xq_im;
      omt_fft_input(first, inverse, n, inner, row, c, j + q * m, x, cosines, sines, scale, xr, xi,
                    &xq_re, &xq_im);
      const real_t ar = xq_re * w[2 * q] - xq_im * w[2 * q + 1];
      const real_t ai = xq_re * w[2 * q + 1] + xq_im * w[2 * q];
      const int t = (int)((q * r) % R);
      sr += ar * root[2 * t] - ai * root[2 * t + 1];
      si += ar * root[2 * t + 1] + ai * root[2 * t];
    }
    if (last) {
      omt_dct_output(inverse, n, inner, row, c, p, sr, si, cosines, sines, scale, x);
    } else {
      yr[g] = sr;
      yi[g] = si;
    }
  }
}

/* The post-pass on its own, after a one-stage FFT (whose stage read x). */
OMT_TRANSFORM_KERNEL omt_dct_post(omt_transform_t total, omt_transform_t n, omt_transform_t inner,
                                  int inverse, OMT_GLOBAL const real_t* re, OMT_GLOBAL const real_t* im,
                                  OMT_DCT_PARAMS, OMT_GLOBAL real_t* x) {
  OMT_AXIS_ITEMS(omt_transform_t, total, n, inner, c, m, row, g) {
    omt_dct_output(inverse, n, inner, row, c, m, re[g], im[g], cosines, sines, scale, x);
  }
}

/* An axis whose length n has a prime factor above kLargestDirectRadix runs
 * by Bluestein's chirp-z transform (transforms/fft.hpp): the FFT of length n
 * as a cyclic convolution of the smooth length M = len >= 2n - 1, in the
 * ping-pong buffers laid out (outer, M, inner). omt_chirp_in writes
 * a_j = (the FFT's input j) w_j, zero for j >= n; the stages of length M;
 * omt_chirp_multiply: conj(A B), B = FFT(conj w) / M; the stages again;
 * omt_chirp_out: X_k = w_k conj(.)_k for k < n, through the DCT's post-pass.
 * w and B are interleaved complex in the axis' table, at `chirp` and `transform`. */
OMT_TRANSFORM_KERNEL omt_chirp_in(omt_transform_t total, omt_transform_t n, omt_transform_t len,
                                  omt_transform_t inner, int inverse, OMT_GLOBAL const real_t* x,
                                  OMT_DCT_PARAMS, OMT_GLOBAL const real_t* table, omt_index_t chirp,
                                  OMT_GLOBAL real_t* yr, OMT_GLOBAL real_t* yi) {
  OMT_AXIS_ITEMS(omt_transform_t, total, len, inner, c, p, row, g) {
    real_t re = 0, im = 0;
    if (p < n) {
      real_t ar, ai;
      omt_fft_input(1, inverse, n, inner, row / len * n, c, p, x, cosines, sines, scale, x, x, &ar, &ai);
      OMT_GLOBAL const real_t* w = table + 2 * (chirp + p);
      re = ar * w[0] - ai * w[1];
      im = ar * w[1] + ai * w[0];
    }
    yr[g] = re;
    yi[g] = im;
  }
}

OMT_TRANSFORM_KERNEL omt_chirp_multiply(omt_transform_t total, omt_transform_t len, omt_transform_t inner,
                                        OMT_GLOBAL const real_t* table, omt_index_t transform,
                                        OMT_GLOBAL real_t* re, OMT_GLOBAL real_t* im) {
  OMT_AXIS_ITEMS(omt_transform_t, total, len, inner, c, p, row, g) {
    OMT_GLOBAL const real_t* b = table + 2 * (transform + p);
    const real_t ar = re[g], ai = im[g];
    re[g] = ar * b[0] - ai * b[1];
    im[g] = -(ar * b[1] + ai * b[0]);
  }
}

OMT_TRANSFORM_KERNEL omt_chirp_out(omt_transform_t total, omt_transform_t n, omt_transform_t len,
                                   omt_transform_t inner, int inverse, OMT_GLOBAL const real_t* re,
                                   OMT_GLOBAL const real_t* im, OMT_GLOBAL const real_t* table,
                                   omt_index_t chirp, OMT_DCT_PARAMS, OMT_GLOBAL real_t* x) {
  OMT_AXIS_ITEMS(omt_transform_t, total, n, inner, c, k, row, g) {
    const omt_transform_t at = row / n * len + k * inner + c;
    OMT_GLOBAL const real_t* w = table + 2 * (chirp + k);
    const real_t sr = re[at], si = im[at];
    omt_dct_output(inverse, n, inner, row, c, k, w[0] * sr + w[1] * si, w[1] * sr - w[0] * si, cosines, sines,
                   scale, x);
  }
}

/* The DCT of whole rows in work-group memory (OMTCORE_DEVICE_TRANSFORM=rows,
 * plan_axis_rows in plan.hpp): one work-group per tile of `tile` lines of an
 * axis, rows of the array (inner == 1) or neighbouring columns (inner > 1,
 * so that the loads and stores of a strided axis are coalesced), each line
 * read and written once. The FFT runs in place on the tile: decimation in
 * frequency (natural order in, digit-reversed out) for the forward DCT and
 * its transpose, decimation in time (digit-reversed in, natural out), for
 * the inverse, so that the DCT's pre- and post-passes take the reordering
 * with them. `radices` packs the stages' radices, 4 bits each, the first
 * stage lowest; `roots` holds W_n^t = e^{-2 pi i t / n}, t < n, interleaved.
 * With `fused`, the forward DCT of the last axis is followed in the same
 * launch by the division by the eigenvalues (as omt_divide) and the
 * inverse DCT of that axis. */

/* Where the FFT's output k lies after the in-place stages (the mixed-radix
 * digit reversal): k = r_1 + R_1 r_2 + R_1 R_2 r_3 + ..., at sum_i r_i n / (R_1 ... R_i). */
OMT_FN int omt_digit_reversed(int k, int n, omt_index_t radices, int stages) {
  int at = 0, m = n;
  for (int i = 0; i < stages; ++i) {
    const int R = (int)((radices >> (4 * i)) & 15);
    m /= R;
    at += (k % R) * m;
    k /= R;
  }
  return at;
}

/* The position of row entry e in Makhoul's reordered sequence (omt_makhoul_source's inverse). */
OMT_FN int omt_makhoul_dest(int e, int n) { return (e & 1) ? n - 1 - e / 2 : e / 2; }

/* (re, im) <- (re, im) W_n^t. */
OMT_FN void omt_rotate(OMT_GLOBAL const real_t* roots, int t, real_t* re, real_t* im) {
  if (t == 0) return;
  const real_t wr = roots[2 * t], wi = roots[2 * t + 1], r = *re;
  *re = r * wr - *im * wi;
  *im = r * wi + *im * wr;
}

/* One in-place stage over the tile's lines (entries of line l at l * ls):
 * blocks of M entries, radix R, m = M / R; butterfly j of a block takes the
 * entries j + q m. Forward (decimation in frequency): the R-point DFT over q,
 * then the twiddles W_M^{j r}; dit: the twiddles W_M^{j q} first. */
OMT_FN void omt_row_stage(OMT_LOCAL real_t* re, OMT_LOCAL real_t* im, int tile, int ls, int n, int M, int R, int dit,
                          OMT_GLOBAL const real_t* roots) {
  const int m = M / R, per_line = n / R, step = n / M, root = n / R;
  for (int t = OMT_LOCAL_ID; t < tile * per_line; t += OMT_LOCAL_SIZE) {
    const int l = t / per_line, u = t - l * per_line, block = u / m, j = u - block * m;
    const int at = l * ls + block * M + j;
    real_t ar[7], ai[7];
    for (int q = 0; q < R; ++q) {
      ar[q] = re[at + q * m];
      ai[q] = im[at + q * m];
      if (dit) omt_rotate(roots, j * q * step, &ar[q], &ai[q]);
    }
    if (R == 4) { /* W_4 = -i */
      const real_t t0r = ar[0] + ar[2], t0i = ai[0] + ai[2], t1r = ar[0] - ar[2], t1i = ai[0] - ai[2];
      const real_t t2r = ar[1] + ar[3], t2i = ai[1] + ai[3], t3r = ar[1] - ar[3], t3i = ai[1] - ai[3];
      ar[0] = t0r + t2r; ai[0] = t0i + t2i;
      ar[2] = t0r - t2r; ai[2] = t0i - t2i;
      ar[1] = t1r + t3i; ai[1] = t1i - t3r;
      ar[3] = t1r - t3i; ai[3] = t1i + t3r;
    } else if (R == 2) {
      const real_t br = ar[0] - ar[1], bi = ai[0] - ai[1];
      ar[0] += ar[1]; ai[0] += ai[1];
      ar[1] = br; ai[1] = bi;
    } else {
      real_t br[7], bi[7];
      for (int r = 0; r < R; ++r) {
        br[r] = ar[0];
        bi[r] = ai[0];
        for (int q = 1; q < R; ++q) {
          real_t xr = ar[q], xi = ai[q];
          omt_rotate(roots, ((q * r) % R) * root, &xr, &xi);
          br[r] += xr;
          bi[r] += xi;
        }
      }
      for (int r = 0; r < R; ++r) {
        ar[r] = br[r];
        ai[r] = bi[r];
      }
    }
    for (int r = 0; r < R; ++r) {
      if (!dit) omt_rotate(roots, j * r * step, &ar[r], &ai[r]);
      re[at + r * m] = ar[r];
      im[at + r * m] = ai[r];
    }
  }
}

/* The tile's line l, entry e, of flat index f: runs of a line (rows) or of
 * the tile's columns (inner > 1) are neighbours in memory. */
OMT_FN void omt_row_place(int rows, int n, int tile, int f, int* l, int* e) {
  if (rows) {
    *l = f / n;
    *e = f - *l * n;
  } else {
    *e = f / tile;
    *l = f - *e * tile;
  }
}

OMT_TRANSFORM_KERNEL omt_dct_rows(omt_transform_t lines, omt_transform_t length, omt_transform_t inner, int tile,
                                  int inverse, int fused, omt_index_t radices, OMT_GLOBAL const real_t* roots,
                                  OMT_DCT_PARAMS, omt_transform_t cells, int planes,
                                  OMT_GLOBAL const real_t* eigenvalue, OMT_GLOBAL const real_t* shift,
                                  OMT_GLOBAL real_t* x OMT_SCRATCH_PARAM) {
  OMT_SCRATCH
  const int n = (int)length, ls = n + 1 - (n & 1), rows = inner == 1; /* odd line stride: no bank conflicts */
  OMT_LOCAL real_t* re = scratch;
  OMT_LOCAL real_t* im = scratch + tile * ls;
  /* Entry (l, e) of the tile is x[base + l * lstride + e * inner]; lines from `valid` on are past the array's end. */
  const omt_transform_t group = (omt_transform_t)OMT_GROUP_ID;
  omt_transform_t base, lstride;
  int valid;
  if (rows) {
    base = group * tile * length;
    lstride = length;
    valid = (int)(lines - group * tile < tile ? lines - group * tile : tile);
  } else {
    const omt_transform_t tiles = (inner + tile - 1) / tile, outer = group / tiles, c0 = (group - outer * tiles) * tile;
    base = outer * length * inner + c0;
    lstride = 1;
    valid = (int)(inner - c0 < tile ? inner - c0 : tile);
  }
  int stages = 0;
  while (stages < 15 && ((radices >> (4 * stages)) & 15)) ++stages;
  const real_t inv_n = (real_t)1 / (real_t)n;

  /* Forward: the reordered row (imaginary part 0); inverse: X_k / c_k at its digit-reversed place. */
  for (int f = OMT_LOCAL_ID; f < tile * n; f += OMT_LOCAL_SIZE) {
    int l, e;
    omt_row_place(rows, n, tile, f, &l, &e);
    const real_t value = l < valid ? x[base + l * lstride + (omt_transform_t)e * inner] : (real_t)0;
    if (!inverse) {
      re[l * ls + omt_makhoul_dest(e, n)] = value;
      im[l * ls + omt_makhoul_dest(e, n)] = 0;
    } else {
      re[l * ls + omt_digit_reversed(e, n, radices, stages)] = value / scale[e];
    }
  }
  OMT_BARRIER;
  if (!inverse) {
    for (int i = 0, M = n; i < stages; M /= (int)((radices >> (4 * i)) & 15), ++i) {
      omt_row_stage(re, im, tile, ls, n, M, (int)((radices >> (4 * i)) & 15), 0, roots);
      OMT_BARRIER;
    }
  }
  if (inverse || fused) {
    /* The inverse's input conj(V) / n, V_k = e^{i pi k/2n} (X_k - i X_{n-k}), X_n = 0, for
     * the pair (k, n - k) in place; fused: X_k from the forward FFT's V_k, divided. */
    const int pairs = n / 2 + 1;
    for (int t = OMT_LOCAL_ID; t < tile * pairs; t += OMT_LOCAL_SIZE) {
      const int l = t / pairs, k = t - l * pairs, kk = n - k, pair = k > 0 && kk != k;
      const int pk = l * ls + omt_digit_reversed(k, n, radices, stages);
      const int pkk = pair ? l * ls + omt_digit_reversed(kk, n, radices, stages) : pk;
      real_t X = re[pk], XX = pair ? re[pkk] : (real_t)0;
      if (fused) {
        const omt_transform_t g = base + l * lstride;
        real_t e = eigenvalue[(g + k) % cells] + shift[((g + k) / cells) % planes];
        X = e > (real_t)0 ? (cosines[k] * re[pk] + sines[k] * im[pk]) / e : (real_t)0;
        if (pair) {
          e = eigenvalue[(g + kk) % cells] + shift[((g + kk) / cells) % planes];
          XX = e > (real_t)0 ? (cosines[kk] * re[pkk] + sines[kk] * im[pkk]) / e : (real_t)0;
        }
      }
      if (k > 0 && !pair) XX = X; /* k = n / 2 */
      re[pk] = (cosines[k] * X + sines[k] * XX) * inv_n;
      im[pk] = (cosines[k] * XX - sines[k] * X) * inv_n;
      if (pair) {
        re[pkk] = (cosines[kk] * XX + sines[kk] * X) * inv_n;
        im[pkk] = (cosines[kk] * X - sines[kk] * XX) * inv_n;
      }
    }
    OMT_BARRIER;
    for (int i = stages - 1, M = (int)((radices >> (4 * (stages - 1))) & 15); i >= 0;
         --i, M *= i >= 0 ? (int)((radices >> (4 * i)) & 15) : 1) {
      omt_row_stage(re, im, tile, ls, n, M, (int)((radices >> (4 * i)) & 15), 1, roots);
      OMT_BARRIER;
    }
  }
  /* Forward: Y_k = c_k Re(e^{-i pi k/2n} V_k); inverse: the row in its original order. */
  for (int f = OMT_LOCAL_ID; f < tile * n; f += OMT_LOCAL_SIZE) {
    int l, e;
    omt_row_place(rows, n, tile, f, &l, &e);
    if (l >= valid) continue;
    real_t value;
    if (!inverse && !fused) {
      const int at = l * ls + omt_digit_reversed(e, n, radices, stages);
      value = scale[e] * (cosines[e] * re[at] + sines[e] * im[at]);
    } else {
      value = re[l * ls + omt_makhoul_dest(e, n)];
    }
    x[base + l * lstride + (omt_transform_t)e * inner] = value;
  }
}

/* Between the residual r (plane, n0, n1, n2) and the extended Poisson
 * rectangle y (plane, N0, N1, N2) of core/backend.hpp's PoissonGrid:
 * omt_extend writes y, zero outside the grid; omt_restrict copies the grid's
 * cells of y back into r. */
OMT_TRANSFORM_KERNEL omt_extend(omt_transform_t total, omt_transform_t big, omt_transform_t N1, omt_transform_t N2,
                                omt_transform_t n0, omt_transform_t n1, omt_transform_t n2,
                                OMT_GLOBAL const real_t* r, OMT_GLOBAL real_t* y) {
  OMT_FOR_ITEMS(omt_transform_t, g, total) {
    const omt_transform_t p = g / big, c = g % big;
    const omt_transform_t i0 = c / (N1 * N2), i1 = (c / N2) % N1, i2 = c % N2;
    y[g] = (i0 < n0 && i1 < n1 && i2 < n2) ? r[p * (n0 * n1 * n2) + (i0 * n1 + i1) * n2 + i2] : (real_t)0;
  }
}

OMT_TRANSFORM_KERNEL omt_restrict(omt_transform_t total, omt_transform_t big, omt_transform_t N1, omt_transform_t N2,
                                  omt_transform_t n0, omt_transform_t n1, omt_transform_t n2,
                                  OMT_GLOBAL const real_t* y, OMT_GLOBAL real_t* r) {
  OMT_FOR_ITEMS(omt_transform_t, g, total) {
    const omt_transform_t small = n0 * n1 * n2, p = g / small, c = g % small;
    const omt_transform_t i0 = c / (n1 * n2), i1 = (c / n2) % n1, i2 = c % n2;
    r[g] = y[p * big + (i0 * N1 + i1) * N2 + i2];
  }
}

/* Divides each transform coefficient of plane p (of `planes` per problem)
 * by its eigenvalue of K K^T: eigenvalue[i] + shift[p]; exact null modes (0)
 * are set to 0. */
OMT_TRANSFORM_KERNEL omt_divide(omt_transform_t n, omt_transform_t total, int planes,
                                OMT_GLOBAL const real_t* eigenvalue, OMT_GLOBAL const real_t* shift,
                                OMT_GLOBAL real_t* r) {
  OMT_FOR_ITEMS(omt_transform_t, j, total) {
    const real_t e = eigenvalue[j % n] + shift[(j / n) % planes];
    r[j] = e > (real_t)0 ? r[j] / e : (real_t)0;
  }
}
