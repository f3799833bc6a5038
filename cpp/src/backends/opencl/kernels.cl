/* The OpenCL kernels: one work-item per cell, calling the per-cell math that
 * the CPU backend uses (cell_math.h, hermitian_eig.h and field_math.h are
 * embedded in front of this file at build time). Every problem is a "field"
 * problem here: a scalar problem is one plane with no exchange.
 *
 * Built at run time per problem shape with these definitions (-D):
 *   REAL, POTENTIAL, ACC  float or double: iterate, potential, reductions
 *   OMT_FP64              the device has cl_khr_fp64
 *   OMT_D, OMT_PLANES, OMT_COLS, OMT_M, OMT_K, OMT_SPATIAL, OMT_EXCHANGE,
 *   OMT_NUCLEAR_RESIDUAL  the shape (FieldSetup), as compile-time constants
 *   OMT_MAX_PLANES, OMT_MAX_K  private array sizes (field_math.h)
 * Arrays with padding (cell_math.h) are passed as the allocation plus an
 * offset `pad` to their first entry. */

#define OMT_REDUCE_GROUP 128 /* work-group size of the reductions */

/* A work-group's sum of x, valid in work-item 0. */
ACC omt_group_sum(__local ACC* buf, ACC x) {
  const int t = (int)get_local_id(0);
  buf[t] = x;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int width = OMT_REDUCE_GROUP / 2; width > 0; width /= 2) {
    if (t < width) buf[t] += buf[t + width];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return buf[0];
}

#define OMT_GEOMETRY                               \
  omt_index_t stride[3];                           \
  real_t inv_h[3];                                 \
  stride[0] = s0; stride[1] = s1; stride[2] = s2;  \
  inv_h[0] = h0; inv_h[1] = h1; inv_h[2] = h2;

#define OMT_GEOMETRY_ARGS long s0, long s1, long s2, real_t h0, real_t h1, real_t h2

/* Primal step: spatial flux and exchange of cell i (field_math.h). */
__kernel void omt_primal(long n, OMT_GEOMETRY_ARGS, real_t mu, real_t lambda, long vpad,
                         __global const uchar* bits, __global const potential_t* phi,
                         __global const real_t* coupling, __global const real_t* threshold,
                         __global const real_t* v_restart, __global real_t* v,
                         __global real_t* vbar, __global const real_t* x_restart,
                         __global real_t* x, __global real_t* xbar) {
  const long i = get_global_id(0);
  if (i >= n) return;
  OMT_GEOMETRY
  omt_field_spatial_cell(i, n, OMT_D, OMT_PLANES, OMT_SPATIAL, OMT_K, stride, inv_h, mu, lambda,
                         bits, phi, v_restart + vpad, v + vpad, vbar + vpad);
#if OMT_COLS > 0
  omt_field_exchange_cell(i, n, OMT_PLANES, OMT_COLS / OMT_M, OMT_M, OMT_EXCHANGE, OMT_K, coupling,
                          threshold, mu, lambda, phi, x_restart, x, xbar);
#endif
}

/* r = K (vbar, xbar) - rhs, every plane. */
__kernel void omt_residual(long n, OMT_GEOMETRY_ARGS, long vpad, __global const uchar* bits,
                           __global const real_t* coupling, __global const real_t* vbar,
                           __global const real_t* xbar, __global const real_t* rhs,
                           __global real_t* r) {
  const long i = get_global_id(0);
  if (i >= n) return;
  OMT_GEOMETRY
  omt_field_residual_cell(i, n, OMT_D, OMT_PLANES, OMT_COLS, stride, inv_h, bits, coupling,
                          vbar + vpad, xbar, rhs, r);
}

/* r(i) <- Q^T r(i) (forward) or Q r(i): the in-cell coupling's modes. */
__kernel void omt_modes(long n, int forward, __global const real_t* modes, __global real_t* r) {
  const long i = get_global_id(0);
  if (i >= n) return;
  omt_field_modes_cell(i, n, OMT_PLANES, forward, modes, r);
}

/* phi <- lambda (phi + tau r) + (1 - lambda) phi_restart, over all planes. */
__kernel void omt_dual_update(long total, potential_t tau, potential_t lambda, int halpern,
                              __global const real_t* r, __global const potential_t* phi_restart,
                              __global potential_t* phi) {
  const long i = get_global_id(0);
  if (i >= total) return;
  const potential_t step = phi[i] + tau * (potential_t)r[i];
  phi[i] = halpern ? lambda * step + ((potential_t)1 - lambda) * phi_restart[i] : step;
}

/* Per work-group sums of the cells' violation (1-norm, or trace norm). */
__kernel __attribute__((reqd_work_group_size(OMT_REDUCE_GROUP, 1, 1)))
void omt_violation(long n, OMT_GEOMETRY_ARGS, long vpad, __global const uchar* bits,
                   __global const real_t* coupling, __global const real_t* v,
                   __global const real_t* x, __global const real_t* rhs, __global ACC* partial) {
  __local ACC buf[OMT_REDUCE_GROUP];
  OMT_GEOMETRY
  ACC sum = 0;
  for (long i = get_global_id(0); i < n; i += get_global_size(0))
    sum += (ACC)omt_field_violation_cell(i, n, OMT_D, OMT_PLANES, OMT_COLS, OMT_NUCLEAR_RESIDUAL,
                                         OMT_K, stride, inv_h, bits, coupling, v + vpad, x, rhs);
  sum = omt_group_sum(buf, sum);
  if (get_local_id(0) == 0) partial[get_group_id(0)] = sum;
}

/* Per work-group sums of the primal and dual movement since the anchor. */
__kernel __attribute__((reqd_work_group_size(OMT_REDUCE_GROUP, 1, 1)))
void omt_movement(long n, OMT_GEOMETRY_ARGS, long vpad, __global const uchar* bits,
                  __global const real_t* coupling, __global const real_t* v,
                  __global const real_t* v0, __global const real_t* x, __global const real_t* x0,
                  __global const potential_t* phi, __global const potential_t* phi0,
                  __global ACC* partial) {
  __local ACC buf[OMT_REDUCE_GROUP];
  OMT_GEOMETRY
  ACC dx = 0, dy = 0;
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
    real_t out[2];
    omt_field_movement_cell(i, n, OMT_D, OMT_PLANES, OMT_COLS, stride, inv_h, bits, coupling,
                            v + vpad, v0 + vpad, x, x0, phi, phi0, out);
    dx += (ACC)out[0];
    dy += (ACC)out[1];
  }
  dx = omt_group_sum(buf, dx);
  barrier(CLK_LOCAL_MEM_FENCE);
  dy = omt_group_sum(buf, dy);
  if (get_local_id(0) == 0) {
    partial[2 * get_group_id(0)] = dx;
    partial[2 * get_group_id(0) + 1] = dy;
  }
}

/* The Poisson solve's transforms: the orthonormal DCT-II (and its inverse)
 * along one axis of the (plane, n0, n1, n2) array, by one complex FFT of the
 * axis' length (Makhoul 1980), as in the CPU backend (batched_dct.hpp):
 *   forward  v = (x0, x2, x4, ..., x5, x3, x1), V = FFT(v),
 *            Y_k = c_k Re(e^{-i pi k/2n} V_k), c_k = sqrt((k ? 2 : 1) / n);
 *   inverse  X_k = Y_k / c_k, V_k = e^{i pi k/2n} (X_k - i X_{n-k}) (X_n = 0),
 *            v = IFFT(V) = conj(FFT(conj V)) / n, x undoes the reordering.
 * The FFT is a self-sorting mixed-radix Stockham FFT, one kernel launch per
 * stage; each work-item computes one output of a stage, so any radix (any
 * length) runs in the same kernel. The first stage reads x and applies the
 * pre-pass above to each input it reads; the last stage (of two or more)
 * applies the post-pass to its output and writes x: no pass of its own for
 * either. Arrays are indexed (outer, m, inner) with m along the axis, and so
 * is the 3D range of work-items (inner, n, outer): no integer division to
 * find a work-item's place. */

/* Source index of the reordered sequence's entry m: even samples forward, odd backward. */
long omt_makhoul_source(long m, long n) { return 2 * m < n ? 2 * m : 2 * (n - 1 - m) + 1; }

/* Entry e of the FFT's input (split complex): the previous stage's output,
 * or (first stage) the reordered rows (forward) or conj(V) / n (inverse) from x.
 * cosines[k] = cos(pi k / 2n), sines[k] = sin(pi k / 2n), scale[k] = c_k. */
void omt_fft_input(int first, int inverse, long n, long inner, long row, long c, long e,
                   __global const real_t* x, __global const real_t* cosines,
                   __global const real_t* sines, __global const real_t* scale,
                   __global const real_t* xr, __global const real_t* xi, real_t* re, real_t* im) {
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
void omt_dct_output(int inverse, long n, long inner, long row, long c, long m, real_t re, real_t im,
                    __global const real_t* cosines, __global const real_t* sines,
                    __global const real_t* scale, __global real_t* x) {
  if (!inverse)
    x[row + m * inner + c] = scale[m] * (cosines[m] * re + sines[m] * im);
  else
    x[row + omt_makhoul_source(m, n) * inner + c] = re;
}

/* One Stockham stage of radix R after stages of total size `span`: output
 * p = (j / span) span R + r span + k, k = j mod span, of
 *   y = sum_q x[j + q m] twiddle[k R + q] root[(q r) mod R],  m = n / R,
 * twiddle[k R + q] = e^{-2 pi i q k / (span R)}, root[t] = e^{-2 pi i t / R}
 * (interleaved complex, at offsets tw and rt of the axis' table). `first`
 * and `last` fuse the DCT's passes (never both: x is read by the one and
 * written by the other). */
__kernel void omt_fft_stage(long n, long inner, int R, int span, long tw, long rt,
                            __global const real_t* table, int first, int last, int inverse,
                            __global real_t* x, __global const real_t* cosines,
                            __global const real_t* sines, __global const real_t* scale,
                            __global const real_t* xr, __global const real_t* xi,
                            __global real_t* yr, __global real_t* yi) {
  const long c = get_global_id(0);
  const int p = (int)get_global_id(1);
  const long row = (long)get_global_id(2) * n * inner, g = row + p * inner + c;
  const int block = span * R, m = (int)n / R;
  const int r = (p % block) / span, k = p % span, j = (p / block) * span + k;
  __global const real_t* w = table + 2 * (tw + k * R);
  __global const real_t* root = table + 2 * rt;
  real_t sr = 0, si = 0;
  for (int q = 0; q < R; ++q) {
    real_t xq_re, xq_im;
    omt_fft_input(first, inverse, n, inner, row, c, j + q * m, x, cosines, sines, scale, xr, xi, &xq_re, &xq_im);
    const real_t ar = xq_re * w[2 * q] - xq_im * w[2 * q + 1];
    const real_t ai = xq_re * w[2 * q + 1] + xq_im * w[2 * q];
    const int t = (q * r) % R;
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

/* The post-pass on its own, after a one-stage FFT (whose stage read x). */
#define OMT_AXIS_ITEM                                                         \
  const long c = get_global_id(0), m = get_global_id(1);                      \
  const long row = (long)get_global_id(2) * n * inner, g = row + m * inner + c;

__kernel void omt_dct_post(long n, long inner, int inverse, __global const real_t* re,
                           __global const real_t* im, __global const real_t* cosines,
                           __global const real_t* sines, __global const real_t* scale,
                           __global real_t* x) {
  OMT_AXIS_ITEM
  omt_dct_output(inverse, n, inner, row, c, m, re[g], im[g], cosines, sines, scale, x);
}

/* Divides each transform coefficient of plane p by its eigenvalue of
 * K K^T: eigenvalue[i] + shift[p]; exact null modes (0) are set to 0. */
__kernel void omt_divide(long n, long total, __global const real_t* eigenvalue,
                         __global const real_t* shift, __global real_t* r) {
  const long j = get_global_id(0);
  if (j >= total) return;
  const real_t e = eigenvalue[j % n] + shift[j / n];
  r[j] = e > (real_t)0 ? r[j] / e : (real_t)0;
}
