/* Definitions the shared per-cell math expects (cell_math.h), for OpenCL C 1.2. */
#ifdef OMT_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
typedef REAL real_t;
typedef POTENTIAL potential_t;
typedef long omt_index_t;
#define OMT_FN static inline
#define OMT_GLOBAL __global
