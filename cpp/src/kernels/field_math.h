/* Per-cell math of the vector and matrix problems ("fields"), shared by every
 * backend like cell_math.h and under the same rules (compiles as C++, CUDA and
 * OpenCL C 1.2; no templates, no complex type; no include guard). Include
 * cell_math.h and hermitian_eig.h first.
 *
 * A field problem has P planes per cell: the k channels of a vector problem,
 * or the k^2 real coordinates of a Hermitian k x k matrix in the orthonormal
 * basis (for <X, Y> = Re tr(X^* Y))
 *   p = j*k + j          E_jj                        x_p = X_jj
 *   p = j*k + l, j < l   (E_jl + E_lj) / sqrt 2      x_p = sqrt 2 Re X_jl
 *   p = l*k + j, j < l   i (E_jl - E_lj) / sqrt 2    x_p = sqrt 2 Im X_jl
 * so that the Frobenius norm is the Euclidean norm of the coordinates and
 * every linear map on Hermitian matrices is a real P x P matrix.
 *
 * Layouts (n cells per plane): potential plane p at p*n; spatial flux
 * v(p, s) at (p*d + s)*n; exchange x(b, j) (block b, entry j < m) at
 * (b*m + j)*n. Padding as in cell_math.h: flux arrays readable stride[0]
 * entries before their start, potentials stride[0] past their end.
 * Exchange enters the constraint as (K x)_p = sum_q C[p][q] x_q (C the
 * P x (blocks*m) coupling, q = b*m + j), so -K^T phi = -C^T phi. C is sparse
 * for the commutators (58 of 648 entries for k = 3 Gell-Mann), so the
 * kernels take it packed (omt_packed_coupling in core/backend.hpp), one real
 * array: P + 1 row offsets, then cols + 1 column offsets, then the entries,
 * each an (index, value) pair: row p's entries (q, C[p][q]) lie in
 * [offset[p], offset[p + 1]), column q's entries (p, C[p][q]) in
 * [offset[P + 1 + q], offset[P + 2 + q]). Indices and offsets are small
 * integers, exact in float. */

/* P <= 64: k <= 8 for matrices (private arrays on GPUs). A GPU program built
 * for one problem defines it as that problem's P, so its private arrays are no
 * larger than needed. */
#ifndef OMT_MAX_PLANES
#define OMT_MAX_PLANES 64
#endif

#define OMT_SPATIAL_GROUP_PER_PLANE 0
#define OMT_SPATIAL_SOFT 1
#define OMT_SPATIAL_GROUP_ALL 2
#define OMT_SPATIAL_NUCLEAR 3
#define OMT_EXCHANGE_SOFT 0
#define OMT_EXCHANGE_GROUP 1
#define OMT_EXCHANGE_NUCLEAR 2

/* The field shapes that the CPU and CUDA backends compile with constant sizes,
 * for d axes: X(d, planes, cols, m, spatial, exchange, k), k < 0 for vectors. */
#define OMT_COMMON_FIELD_SHAPES(X, D)                                               \
  X(D, 3, 3, 1, OMT_SPATIAL_GROUP_PER_PLANE, OMT_EXCHANGE_SOFT, -1) /* RGB, all pairs */ \
  X(D, 3, 3, 1, OMT_SPATIAL_SOFT, OMT_EXCHANGE_SOFT, -1)                            \
  X(D, 3, 2, 1, OMT_SPATIAL_GROUP_PER_PLANE, OMT_EXCHANGE_SOFT, -1) /* RGB, a path */    \
  X(D, 3, 2, 1, OMT_SPATIAL_SOFT, OMT_EXCHANGE_SOFT, -1)                            \
  X(D, 4, 12, 4, OMT_SPATIAL_GROUP_ALL, OMT_EXCHANGE_GROUP, 2) /* k = 2, Pauli */        \
  X(D, 4, 12, 4, OMT_SPATIAL_NUCLEAR, OMT_EXCHANGE_NUCLEAR, 2)                      \
  X(D, 9, 72, 9, OMT_SPATIAL_GROUP_ALL, OMT_EXCHANGE_GROUP, 3) /* k = 3, Gell-Mann */    \
  X(D, 9, 72, 9, OMT_SPATIAL_NUCLEAR, OMT_EXCHANGE_NUCLEAR, 3)

OMT_FN void omt_coords_to_herm(int k, const real_t* x, real_t* re, real_t* im) {
  const real_t r = (real_t)0.70710678118654752440;
  for (int j = 0; j < k; ++j) {
    re[j * k + j] = x[j * k + j];
    im[j * k + j] = 0;
    for (int l = j + 1; l < k; ++l) {
      re[j * k + l] = re[l * k + j] = r * x[j * k + l];
      im[j * k + l] = r * x[l * k + j];
      im[l * k + j] = -r * x[l * k + j];
    }
  }
}

OMT_FN void omt_herm_to_coords(int k, const real_t* re, const real_t* im, real_t* x) {
  const real_t r2 = (real_t)1.41421356237309504880;
  for (int j = 0; j < k; ++j) {
    x[j * k + j] = re[j * k + j];
    for (int l = j + 1; l < k; ++l) {
      x[j * k + l] = r2 * re[j * k + l];
      x[l * k + j] = r2 * im[j * k + l];
    }
  }
}

/* Proximal map of t * ||X||_* on the Hermitian matrix with coordinates x, in place. */
OMT_FN void omt_coords_nuclear_prox(int k, real_t* x, real_t t) {
  real_t re[OMT_MAX_K * OMT_MAX_K], im[OMT_MAX_K * OMT_MAX_K];
  omt_coords_to_herm(k, x, re, im);
  omt_herm_nuclear_prox(k, re, im, t);
  omt_herm_to_coords(k, re, im, x);
}

/* Group shrinkage of n entries (omt_shrink for any length). */
OMT_FN void omt_shrink_n(real_t* w, int n, real_t t) {
  real_t sq = 0;
  for (int q = 0; q < n; ++q) sq += w[q] * w[q];
  real_t f = (real_t)1 - t / sqrt(sq);
  f = f > (real_t)0 ? f : (real_t)0;
  for (int q = 0; q < n; ++q) w[q] *= f;
}

/* Primal step at cell i for the spatial flux: w = prox_{mu J}(v + mu grad phi / h),
 * vbar = 2 w - v, v = lambda w + (1 - lambda) v_restart (as omt_scalar_primal_cell). */
OMT_FN void omt_field_spatial_cell(omt_index_t i, omt_index_t n, int d, int planes, int kind, int k,
                                   const omt_index_t* stride, const real_t* inv_h, real_t mu,
                                   real_t lambda, OMT_GLOBAL const unsigned char* bits,
                                   OMT_GLOBAL const potential_t* phi,
                                   OMT_GLOBAL const real_t* v_restart, OMT_GLOBAL real_t* v,
                                   OMT_GLOBAL real_t* vbar) {
  real_t w[3 * OMT_MAX_PLANES];
  unsigned int b = bits[i];
  for (int p = 0; p < planes; ++p) {
    OMT_GLOBAL const potential_t* ph = phi + p * n;
    for (int s = 0; s < d; ++s) {
      real_t active = (b & OMT_FWD(s)) ? (real_t)1 : (real_t)0;
      w[p * d + s] = active * (v[(p * d + s) * n + i] + mu * (real_t)(ph[i + stride[s]] - ph[i]) * inv_h[s]);
    }
  }
  if (kind == OMT_SPATIAL_GROUP_PER_PLANE) {
    for (int p = 0; p < planes; ++p) omt_shrink(w + p * d, d, mu);
  } else if (kind == OMT_SPATIAL_SOFT) {
    for (int q = 0; q < planes * d; ++q) w[q] = omt_soft(w[q], mu);
  } else if (kind == OMT_SPATIAL_GROUP_ALL) {
    omt_shrink_n(w, planes * d, mu);
  } else {
    real_t x[OMT_MAX_PLANES];
    for (int s = 0; s < d; ++s) {
      for (int p = 0; p < planes; ++p) x[p] = w[p * d + s];
      omt_coords_nuclear_prox(k, x, mu);
      for (int p = 0; p < planes; ++p) w[p * d + s] = x[p];
    }
  }
  for (int q = 0; q < planes * d; ++q) {
    omt_index_t at = q * n + i;
    real_t old = v[at];
    vbar[at] = (real_t)2 * w[q] - old;
    v[at] = lambda < (real_t)1 ? lambda * w[q] + ((real_t)1 - lambda) * v_restart[at] : w[q];
  }
}

/* Primal step at cell i for the exchange: per block, y = x - mu C^T phi(i),
 * w = prox of mu * threshold[b] * (|.| / |.|_2 / ||.||_*), then as above. */
OMT_FN void omt_field_exchange_cell(omt_index_t i, omt_index_t n, int planes, int blocks, int m,
                                    int kind, int k, OMT_GLOBAL const real_t* coupling,
                                    OMT_GLOBAL const real_t* threshold, real_t mu, real_t lambda,
                                    OMT_GLOBAL const potential_t* phi,
                                    OMT_GLOBAL const real_t* x_restart, OMT_GLOBAL real_t* x,
                                    OMT_GLOBAL real_t* xbar) {
  real_t here[OMT_MAX_PLANES];
  real_t y[OMT_MAX_PLANES];
  for (int p = 0; p < planes; ++p) here[p] = (real_t)phi[p * n + i];
  for (int bl = 0; bl < blocks; ++bl) {
    for (int j = 0; j < m; ++j) {
      const int q = bl * m + j;
      real_t acc = 0;
      const int end = (int)coupling[planes + 2 + q];
      for (int t = (int)coupling[planes + 1 + q]; t < end; t += 2) acc += coupling[t + 1] * here[(int)coupling[t]];
      y[j] = x[q * n + i] - mu * acc;
    }
    const real_t t = mu * threshold[bl];
    if (kind == OMT_EXCHANGE_SOFT) {
      for (int j = 0; j < m; ++j) y[j] = omt_soft(y[j], t);
    } else if (kind == OMT_EXCHANGE_GROUP) {
      omt_shrink_n(y, m, t);
    } else {
      omt_coords_nuclear_prox(k, y, t);
    }
    for (int j = 0; j < m; ++j) {
      omt_index_t at = (omt_index_t)(bl * m + j) * n + i;
      real_t old = x[at];
      xbar[at] = (real_t)2 * y[j] - old;
      x[at] = lambda < (real_t)1 ? lambda * y[j] + ((real_t)1 - lambda) * x_restart[at] : y[j];
    }
  }
}

/* The constraint violation e_p = (K (v, x))_p(i) - rhs_p(i) of every plane p at cell i. */
OMT_FN void omt_field_constraint_cell(omt_index_t i, omt_index_t n, int d, int planes, int cols,
                                      const omt_index_t* stride, const real_t* inv_h,
                                      OMT_GLOBAL const unsigned char* bits,
                                      OMT_GLOBAL const real_t* coupling, OMT_GLOBAL const real_t* v,
                                      OMT_GLOBAL const real_t* x, OMT_GLOBAL const real_t* rhs,
                                      real_t* e) {
  for (int p = 0; p < planes; ++p) {
    real_t acc = omt_scalar_div_cell(i, n, d, stride, inv_h, bits, v + p * d * n);
    const int end = cols > 0 ? (int)coupling[p + 1] : 0;
    for (int t = (int)coupling[p]; t < end; t += 2) acc += coupling[t + 1] * x[(omt_index_t)coupling[t] * n + i];
    e[p] = acc - rhs[p * n + i];
  }
}

/* The violation at cell i written to the planes of r (the dual step's input). */
OMT_FN void omt_field_residual_cell(omt_index_t i, omt_index_t n, int d, int planes, int cols,
                                    const omt_index_t* stride, const real_t* inv_h,
                                    OMT_GLOBAL const unsigned char* bits,
                                    OMT_GLOBAL const real_t* coupling, OMT_GLOBAL const real_t* v,
                                    OMT_GLOBAL const real_t* x, OMT_GLOBAL const real_t* rhs,
                                    OMT_GLOBAL real_t* r) {
  real_t e[OMT_MAX_PLANES];
  omt_field_constraint_cell(i, n, d, planes, cols, stride, inv_h, bits, coupling, v, x, rhs, e);
  for (int p = 0; p < planes; ++p) r[p * n + i] = e[p];
}

/* |violation at cell i|: the 1-norm over planes, or for matrices the trace norm. */
OMT_FN real_t omt_field_violation_cell(omt_index_t i, omt_index_t n, int d, int planes, int cols,
                                       int nuclear, int k, const omt_index_t* stride,
                                       const real_t* inv_h, OMT_GLOBAL const unsigned char* bits,
                                       OMT_GLOBAL const real_t* coupling, OMT_GLOBAL const real_t* v,
                                       OMT_GLOBAL const real_t* x, OMT_GLOBAL const real_t* rhs) {
  real_t e[OMT_MAX_PLANES];
  omt_field_constraint_cell(i, n, d, planes, cols, stride, inv_h, bits, coupling, v, x, rhs, e);
  real_t total = 0;
  for (int p = 0; p < planes; ++p) total += fabs(e[p]);
  if (nuclear) {
    real_t re[OMT_MAX_K * OMT_MAX_K], im[OMT_MAX_K * OMT_MAX_K];
    omt_coords_to_herm(k, e, re, im);
    total = omt_herm_nuclear_norm(k, re, im);
  }
  return total;
}

/* r(i) <- Q^T r(i) (forward) or Q r(i), Q the P x P mode matrix (eigenvectors as columns). */
OMT_FN void omt_field_modes_cell(omt_index_t i, omt_index_t n, int planes, int forward,
                                 OMT_GLOBAL const real_t* modes, OMT_GLOBAL real_t* r) {
  real_t in[OMT_MAX_PLANES];
  for (int p = 0; p < planes; ++p) in[p] = r[p * n + i];
  for (int p = 0; p < planes; ++p) {
    real_t acc = 0;
    for (int q = 0; q < planes; ++q)
      acc += (forward ? modes[q * planes + p] : modes[p * planes + q]) * in[q];
    r[p * n + i] = acc;
  }
}

/* Squared movement since the anchor, as omt_scalar_movement_cell: out[0] the
 * primal sum over (v, x), out[1] = |K^T dphi|^2 at cell i (its forward faces
 * and its exchange columns). */
OMT_FN void omt_field_movement_cell(omt_index_t i, omt_index_t n, int d, int planes, int cols,
                                    const omt_index_t* stride, const real_t* inv_h,
                                    OMT_GLOBAL const unsigned char* bits,
                                    OMT_GLOBAL const real_t* coupling,
                                    OMT_GLOBAL const real_t* v, OMT_GLOBAL const real_t* v0,
                                    OMT_GLOBAL const real_t* x, OMT_GLOBAL const real_t* x0,
                                    OMT_GLOBAL const potential_t* phi,
                                    OMT_GLOBAL const potential_t* phi0, real_t* out) {
  real_t dphi[OMT_MAX_PLANES];
  real_t dx = 0, dy = 0;
  unsigned int b = bits[i];
  for (int p = 0; p < planes; ++p) {
    OMT_GLOBAL const potential_t* ph = phi + p * n;
    OMT_GLOBAL const potential_t* ph0 = phi0 + p * n;
    potential_t here = ph[i] - ph0[i];
    dphi[p] = (real_t)here;
    for (int s = 0; s < d; ++s) {
      omt_index_t at = (p * d + s) * n + i;
      real_t dv = v[at] - v0[at];
      dx += dv * dv;
      real_t active = (b & OMT_FWD(s)) ? (real_t)1 : (real_t)0;
      real_t g = active * (real_t)(ph[i + stride[s]] - ph0[i + stride[s]] - here) * inv_h[s];
      dy += g * g;
    }
  }
  for (int q = 0; q < cols; ++q) {
    real_t dv = x[q * n + i] - x0[q * n + i];
    dx += dv * dv;
    real_t acc = 0;
    const int end = (int)coupling[planes + 2 + q];
    for (int t = (int)coupling[planes + 1 + q]; t < end; t += 2) acc += coupling[t + 1] * dphi[(int)coupling[t]];
    dy += acc * acc;
  }
  out[0] = dx;
  out[1] = dy;
}
