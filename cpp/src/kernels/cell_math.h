/* Per-cell math shared by every backend: the stencils and proximal maps of one
 * PDHG iteration, written once. This file compiles unchanged as C++ (the CPU
 * backend includes it once per precision, inside a namespace), as CUDA and as
 * OpenCL C 1.2: no templates, no references, no complex type.
 *
 * The including code defines, before including:
 *   real_t      float or double: fluxes and per-cell arithmetic
 *   potential_t float or double: the stored potential. float32 solves keep it
 *               in double: the potential spans about n cells of Lipschitz-1
 *               growth, so a float gradient phi(j) - phi(i) loses log2(n) bits
 *               and that noise stalls the residual near 1e-4 on 256^2 grids.
 *   omt_index_t a signed 64-bit integer type
 *   OMT_FN      function qualifier (e.g. "static inline", "__device__ inline")
 *   OMT_GLOBAL  address-space qualifier for device arrays ("__global" in OpenCL)
 *
 * Conventions: arrays are C order; a flux array holds d
 * components of N cells each, component s at offset s*N; bits[i] says which
 * faces of cell i carry flux (both cells in the domain): OMT_FWD(s) for the face
 * to i + e_s, OMT_BWD(s) for the face from i - e_s. The solver works on
 * v_s = h_s * F_s (flux times face length), so that both norms become
 * unweighted: isotropic |v|_2, anisotropic |v|_1.
 * Padding: reads of a neighbour across a face are unconditional and masked by
 * the face bit afterwards (a multiply, not a branch, so loops vectorise). Flux
 * arrays must therefore be readable stride[0] entries before their start, and
 * potential arrays stride[0] entries past their end (stride[0], the largest
 * stride); the padding must hold finite values (zeros).
 * No include guard on purpose: the CPU backend includes it once per precision. */

#define OMT_FWD(s) (1u << (s))
#define OMT_BWD(s) (16u << (s))

/* Soft thresholding: the proximal map of t * |x|, as x minus its clamp to
 * [-t, t]. Written with selects that compile to min/max: a branch here
 * mispredicts on every other face of noisy data. */
OMT_FN real_t omt_soft(real_t x, real_t t) {
  real_t c = x < -t ? -t : x;
  c = c > t ? t : c;
  return x - c;
}

/* Group shrinkage: the proximal map of t * |w|_2 on a vector of d <= 3 entries.
 * The factor max(1 - t/|w|, 0) without a branch; |w| = 0 gives -inf or NaN
 * before the max, and 0 after it. */
OMT_FN void omt_shrink(real_t* w, int d, real_t t) {
  real_t sq = 0;
  for (int s = 0; s < d; ++s) sq += w[s] * w[s];
  real_t f = (real_t)1 - t / sqrt(sq);
  f = f > (real_t)0 ? f : (real_t)0;
  for (int s = 0; s < d; ++s) w[s] *= f;
}

/* Primal step at cell i: w = prox_{mu N}(v - mu K^T phi), where
 * -K^T phi = (grad phi)_s / h_s on active faces; stores the extrapolation
 * vbar = 2 w - v_old and the new v = w, or with a Halpern weight lambda < 1
 * v = lambda w + (1 - lambda) v_restart, which is w when lambda = 1 (pass v
 * itself as v_restart then). Computed without a condition: a load or a product
 * under a condition keeps the compiler from vectorising the CPU loop. */
OMT_FN void omt_scalar_primal_cell(omt_index_t i, omt_index_t n_cells, int d, int isotropic,
                                   const omt_index_t* stride, const real_t* inv_h, real_t mu,
                                   real_t lambda, OMT_GLOBAL const unsigned char* bits,
                                   OMT_GLOBAL const potential_t* phi,
                                   OMT_GLOBAL const real_t* v_restart,
                                   OMT_GLOBAL real_t* v, OMT_GLOBAL real_t* vbar) {
  real_t w[3];
  real_t old[3];
  unsigned int b = bits[i];
  for (int s = 0; s < d; ++s) {
    real_t active = (b & OMT_FWD(s)) ? (real_t)1 : (real_t)0;
    old[s] = v[s * n_cells + i];
    w[s] = active * (old[s] + mu * (real_t)(phi[i + stride[s]] - phi[i]) * inv_h[s]);
  }
  if (isotropic) {
    omt_shrink(w, d, mu);
  } else {
    for (int s = 0; s < d; ++s) w[s] = omt_soft(w[s], mu);
  }
  for (int s = 0; s < d; ++s) {
    vbar[s * n_cells + i] = (real_t)2 * w[s] - old[s];
    v[s * n_cells + i] = lambda * w[s] + ((real_t)1 - lambda) * v_restart[s * n_cells + i];
  }
}

/* (K v)(i) = div_h v at cell i: net outflow sum_s [v_s(i) - v_s(i - e_s)] / h_s.
 * Inactive faces hold zero, so only the backward neighbour needs its bit. */
OMT_FN real_t omt_scalar_div_cell(omt_index_t i, omt_index_t n_cells, int d,
                                  const omt_index_t* stride, const real_t* inv_h,
                                  OMT_GLOBAL const unsigned char* bits,
                                  OMT_GLOBAL const real_t* v) {
  real_t acc = 0;
  unsigned int b = bits[i];
  for (int s = 0; s < d; ++s) {
    real_t out = v[s * n_cells + i];
    real_t in = ((b & OMT_BWD(s)) ? (real_t)1 : (real_t)0) * v[s * n_cells + i - stride[s]];
    acc += (out - in) * inv_h[s];
  }
  return acc;
}

/* Squared primal and dual movement of cell i since the anchor (v0, phi0):
 * out[0] = sum_s (v_s - v0_s)^2, out[1] = sum over active forward faces of
 * ((dphi(i + e_s) - dphi(i)) / h_s)^2 with dphi = phi - phi0, the cell's share
 * of |K^T dphi|^2 (the norm the preconditioned dual step lives in). */
OMT_FN void omt_scalar_movement_cell(omt_index_t i, omt_index_t n_cells, int d,
                                     const omt_index_t* stride, const real_t* inv_h,
                                     OMT_GLOBAL const unsigned char* bits,
                                     OMT_GLOBAL const real_t* v, OMT_GLOBAL const real_t* v0,
                                     OMT_GLOBAL const potential_t* phi, OMT_GLOBAL const potential_t* phi0,
                                     real_t* out) {
  unsigned int b = bits[i];
  real_t dx = 0, dy = 0;
  potential_t here = phi[i] - phi0[i];
  for (int s = 0; s < d; ++s) {
    real_t dv = v[s * n_cells + i] - v0[s * n_cells + i];
    dx += dv * dv;
    real_t active = (b & OMT_FWD(s)) ? (real_t)1 : (real_t)0;
    real_t g = active * (real_t)(phi[i + stride[s]] - phi0[i + stride[s]] - here) * inv_h[s];
    dy += g * g;
  }
  out[0] = dx;
  out[1] = dy;
}
