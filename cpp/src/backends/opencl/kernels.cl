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
#define OMT_TILE 16          /* tile edge of the transform's matrix products */

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

/* The Poisson solve's transform, one axis at a time, as a batched matrix
 * product in OMT_TILE x OMT_TILE tiles:
 *   Y[b](a, c) = sum_m L[b](a, m) R[b](m, c),
 * each operand given by its row, column and batch strides, so that one kernel
 * applies the orthonormal DCT matrix (or its transpose) along any axis of the
 * (plane, n0, n1, n2) array. */
__kernel __attribute__((reqd_work_group_size(OMT_TILE, OMT_TILE, 1)))
void omt_transform(long rows, long cols, long depth,
                   __global const real_t* L, long l_row, long l_col, long l_batch,
                   __global const real_t* R, long r_row, long r_col, long r_batch,
                   __global real_t* Y, long y_row, long y_col, long y_batch) {
  __local real_t lt[OMT_TILE][OMT_TILE];
  __local real_t rt[OMT_TILE][OMT_TILE + 1];
  const int tc = (int)get_local_id(0), ta = (int)get_local_id(1);
  const long c = get_global_id(0), a = get_global_id(1), b = get_global_id(2);
  L += b * l_batch;
  R += b * r_batch;
  real_t acc = 0;
  for (long m0 = 0; m0 < depth; m0 += OMT_TILE) {
    const long lm = m0 + tc, rm = m0 + ta;
    lt[ta][tc] = a < rows && lm < depth ? L[a * l_row + lm * l_col] : (real_t)0;
    rt[ta][tc] = rm < depth && c < cols ? R[rm * r_row + c * r_col] : (real_t)0;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int t = 0; t < OMT_TILE; ++t) acc += lt[ta][t] * rt[t][tc];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (a < rows && c < cols) Y[b * y_batch + a * y_row + c * y_col] = acc;
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
