/* What kernels.cl and the per-cell math it calls need from the language,
 * defined for OpenCL C 1.2 and for CUDA, so that one kernel text serves both.
 * OpenCL compiles the source at run time per problem shape, the shape given as
 * -D constants (OMT_D, OMT_PLANES, ...). nvcc compiles it ahead of time: each
 * shaped kernel is a template over the shape, a value below 0 meaning "read
 * it from the kernel's `shape` argument" (cuda_backend.cu instantiates the
 * common shapes). Host code includes this file for the launch constants only. */
#ifndef OMT_DIALECT_H
#define OMT_DIALECT_H

#define OMT_CELL_GROUP 256   /* threads per group of the per-cell kernels (CUDA) */
#define OMT_REDUCE_GROUP 128 /* threads per group of the reductions */

/* Every kernel of kernels.cl, as X(name, form): SHAPED kernels take the
 * problem's shape (CUDA: a template over it), TRANSFORM kernels the type of
 * the transforms' indices, PLAIN ones neither. The device layers make their
 * kernel tables from this list. */
#define OMT_DEVICE_KERNELS(X)                                                                   \
  X(primal, SHAPED) X(residual, SHAPED) X(modes, SHAPED) X(dual_update, PLAIN)                  \
  X(violation, SHAPED) X(movement, SHAPED) X(fft_stage, TRANSFORM) X(dct_post, TRANSFORM)       \
  X(divide, TRANSFORM) X(chirp_in, TRANSFORM) X(chirp_multiply, TRANSFORM) X(chirp_out, TRANSFORM) \
  X(extend, TRANSFORM) X(restrict, TRANSFORM) X(dct_rows, TRANSFORM)

#if defined(__OPENCL_VERSION__)
#ifdef OMT_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
/* Built with -D REAL, POTENTIAL (float or double) and OMT_TRANSFORM_INDEX (int or long). */
typedef REAL real_t;
typedef POTENTIAL potential_t; /* also the reductions' accumulator */
typedef long omt_index_t;
typedef OMT_TRANSFORM_INDEX omt_transform_t;
#define OMT_FN static inline
#define OMT_GLOBAL __global
#define OMT_KERNEL __kernel void
#define OMT_SHAPED_KERNEL __kernel void
#define OMT_TRANSFORM_KERNEL __kernel void
#define OMT_TRANSFORM_FN static inline
#define OMT_REDUCE_KERNEL __kernel __attribute__((reqd_work_group_size(OMT_REDUCE_GROUP, 1, 1))) void
#define OMT_SHAPE_PARAM
#define OMT_FOR(T, i, count) for (T i = (T)get_global_id(0); i < (count); i += (T)get_global_size(0))
/* Per-item kernels are launched with a work-item per item (the OpenCL layer's
 * cells()): no loop, which lets the compiler vectorise across work-items. */
#define OMT_FOR_ITEMS(T, i, count) \
  const T i = (T)get_global_id(0); \
  if (i < (count))
/* A transform's items (inner c, position p along the axis, row start, index
 * g) from the 3D range (inner, n, outer) of the OpenCL layer's axis_range():
 * no integer division, which is scalar on CPUs. */
#define OMT_AXIS_ITEMS(T, total, n, inner, c, p, row, g)                       \
  const T c = (T)get_global_id(0), p = (T)get_global_id(1);                    \
  const T row = (T)get_global_id(2) * (n) * (inner), g = row + p * (inner) + c;
#define OMT_GROUP_ID ((omt_index_t)get_group_id(0))
#define OMT_GROUPS ((omt_index_t)get_num_groups(0))
/* The problem of a batch (ProblemSetup::problems): the launch's second dimension. */
#define OMT_PROBLEM ((omt_index_t)get_global_id(1))
#define OMT_LOCAL_ID ((int)get_local_id(0))
#define OMT_LOCAL_SIZE ((int)get_local_size(0))
/* Work-group memory: a kernel's scratch of the size its launch names
 * (LaunchRange::local_bytes), passed as its last argument. */
#define OMT_LOCAL __local
#define OMT_BARRIER barrier(CLK_LOCAL_MEM_FENCE)
#define OMT_SCRATCH_PARAM , __local real_t* scratch
#define OMT_SCRATCH
#define OMT_SUM_STORAGE __local potential_t omt_sum_buf[OMT_REDUCE_GROUP];
#define omt_group_sum(x) omt_group_sum_local(omt_sum_buf, x)
/* The work-group's sum of x, valid in work-item 0; every work-item must call it. */
potential_t omt_group_sum_local(__local potential_t* buf, potential_t x) {
  const int t = OMT_LOCAL_ID;
  barrier(CLK_LOCAL_MEM_FENCE); /* buf may still hold the previous call's sums */
  buf[t] = x;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int width = OMT_REDUCE_GROUP / 2; width > 0; width /= 2) {
    if (t < width) buf[t] += buf[t + width];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return buf[0];
}

#elif defined(__CUDACC__)
/* real_t, potential_t (double) and omt_index_t are set per precision by the includer. */
typedef unsigned char uchar;
struct omt_shape {
  int d, planes, cols, m, k, spatial, exchange, nuclear;
};
#define OMT_FN static __device__ inline
#define OMT_GLOBAL
#define OMT_SHAPE_TEMPLATE \
  template <int OMT_T_D, int OMT_T_PLANES, int OMT_T_COLS, int OMT_T_M, int OMT_T_SPATIAL, int OMT_T_EXCHANGE, int OMT_T_K, int OMT_T_NUCLEAR>
#define OMT_KERNEL __global__ void __launch_bounds__(OMT_CELL_GROUP)
#define OMT_SHAPED_KERNEL OMT_SHAPE_TEMPLATE __global__ void __launch_bounds__(OMT_CELL_GROUP)
#define OMT_TRANSFORM_KERNEL template <class omt_transform_t> __global__ void __launch_bounds__(OMT_CELL_GROUP)
#define OMT_TRANSFORM_FN template <class omt_transform_t> static __device__ inline
#define OMT_REDUCE_KERNEL OMT_SHAPE_TEMPLATE __global__ void __launch_bounds__(OMT_REDUCE_GROUP)
#define OMT_SHAPE_PARAM const omt_shape shape,
#define OMT_PICK(fixed, value) ((fixed) >= 0 ? (fixed) : (value))
#define OMT_D OMT_PICK(OMT_T_D, shape.d)
#define OMT_PLANES OMT_PICK(OMT_T_PLANES, shape.planes)
#define OMT_COLS OMT_PICK(OMT_T_COLS, shape.cols)
#define OMT_M OMT_PICK(OMT_T_M, shape.m)
#define OMT_SPATIAL OMT_PICK(OMT_T_SPATIAL, shape.spatial)
#define OMT_EXCHANGE OMT_PICK(OMT_T_EXCHANGE, shape.exchange)
#define OMT_K OMT_PICK(OMT_T_K, shape.k)
#define OMT_NUCLEAR_RESIDUAL OMT_PICK(OMT_T_NUCLEAR, shape.nuclear)
#define OMT_FOR(T, i, count) \
  for (T i = T(blockIdx.x) * T(blockDim.x) + T(threadIdx.x); i < (count); i += T(gridDim.x) * T(blockDim.x))
#define OMT_FOR_ITEMS OMT_FOR /* launches are capped at a few blocks per multiprocessor */
/* A grid extent cannot hold every (inner, n, outer): one dimension, the place
 * found by division, and a loop that runs once to declare it. */
#define OMT_AXIS_ITEMS(T, total, n, inner, c, p, row, g) \
  OMT_FOR(T, g, total)                                   \
  for (T c = g % (inner), p = (g / (inner)) % (n), row = g - p * (inner) - c, *omt_once = &c; omt_once; omt_once = 0)
#define OMT_GROUP_ID ((long long)blockIdx.x)
#define OMT_GROUPS ((long long)gridDim.x)
#define OMT_PROBLEM ((long long)blockIdx.y)
#define OMT_LOCAL_ID ((int)threadIdx.x)
#define OMT_LOCAL_SIZE ((int)blockDim.x)
#define OMT_LOCAL
#define OMT_BARRIER __syncthreads()
#define OMT_SCRATCH_PARAM
#define OMT_SCRATCH                                             \
  extern __shared__ __align__(16) unsigned char omt_dynamic_shared[]; \
  real_t* scratch = reinterpret_cast<real_t*>(omt_dynamic_shared);
#define OMT_SUM_STORAGE
#define omt_group_sum(x) omt_block_sum(x)
/* The block's sum of x, valid in thread 0; every thread must call it. */
__device__ inline double omt_block_sum(double x) {
  __shared__ double warp_sums[OMT_REDUCE_GROUP / 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_down_sync(0xffffffffu, x, offset);
  __syncthreads(); /* warp_sums may still hold the previous call's sums */
  if (lane == 0) warp_sums[warp] = x;
  __syncthreads();
  if (warp == 0) {
    x = lane < OMT_REDUCE_GROUP / 32 ? warp_sums[lane] : 0.0;
    for (int offset = 16; offset > 0; offset /= 2) x += __shfl_down_sync(0xffffffffu, x, offset);
  }
  return x;
}
#endif

#endif /* OMT_DIALECT_H */
