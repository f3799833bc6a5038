// The CUDA backend: opencl_backend.cpp and kernels.cl translated to CUDA.
// Every problem is a field problem (a scalar problem is one plane with no
// exchange); one thread per cell calls the per-cell math that the CPU and
// OpenCL backends use, compiled here once per precision. Where OpenCL builds
// a program per problem shape at run time, nvcc instantiates the kernels
// ahead of time for the common shapes (with_shape) and once with every shape
// value read at run time.
#include "backends/cuda/cuda_backend.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/device_plan.hpp"
#include "omtcore/errors.hpp"

#define OMT_FN static __device__ inline
#define OMT_GLOBAL
namespace omtcore::detail::cuda_f32 {
using ::fabs;  // CUDA's float overloads: sqrt.rn.f32, not a double sqrt
using ::sqrt;
typedef float real_t;
typedef double potential_t;  // as on the CPU: see cell_math.h
typedef long long omt_index_t;
#include "kernels/cell_math.h"
#include "kernels/hermitian_eig.h"
#include "kernels/field_math.h"
}  // namespace omtcore::detail::cuda_f32
namespace omtcore::detail::cuda_f64 {
using ::fabs;
using ::sqrt;
typedef double real_t;
typedef double potential_t;
typedef long long omt_index_t;
#include "kernels/cell_math.h"
#include "kernels/hermitian_eig.h"
#include "kernels/field_math.h"
}  // namespace omtcore::detail::cuda_f64
#undef OMT_FN
#undef OMT_GLOBAL

namespace omtcore::detail {

namespace {

// ---- Errors -------------------------------------------------------------------

[[noreturn]] void fail(cudaError_t err, const std::string& call) {
  cudaGetLastError();  // clears a non-sticky error, so that later calls do not report it again
  if (err == cudaErrorMemoryAllocation)
    throw DeviceMemoryError("CUDA: " + call + " failed: out of device memory");
  throw Error(ErrorKind::internal,
              "CUDA: " + call + " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

void check(cudaError_t err, const char* call) {
  if (err != cudaSuccess) fail(err, call);
}

// ---- Kernels ------------------------------------------------------------------

template <class T> struct Cell;
#define OMT_CUDA_CELL(T, ns)                                                                          \
  template <> struct Cell<T> {                                                                        \
    template <class... A> __device__ static void spatial(A... a) { ns::omt_field_spatial_cell(a...); } \
    template <class... A> __device__ static void exchange(A... a) { ns::omt_field_exchange_cell(a...); } \
    template <class... A> __device__ static void residual(A... a) { ns::omt_field_residual_cell(a...); } \
    template <class... A> __device__ static T violation(A... a) { return ns::omt_field_violation_cell(a...); } \
    template <class... A> __device__ static void modes(A... a) { ns::omt_field_modes_cell(a...); }     \
    template <class... A> __device__ static void movement(A... a) { ns::omt_field_movement_cell(a...); } \
  };
OMT_CUDA_CELL(float, cuda_f32)
OMT_CUDA_CELL(double, cuda_f64)
#undef OMT_CUDA_CELL

constexpr int kCellBlock = 256;        // threads per block of the per-cell kernels
constexpr int kReduceBlock = 256;      // of the reductions (block_sum assumes it)
constexpr int kMaxReduceBlocks = 1024; // partial sums summed on the host
constexpr int kGraphMinBatch = 4;      // shorter batches are launched kernel by kernel
constexpr std::size_t kMaxGraphs = 8;  // graphs kept per solve (one per batch length and kind)

// The shape and layout of one solve, every kernel's first argument. The
// kernels take each shape value as a template argument, -1 meaning "read it
// from here at run time".
template <class T>
struct Geometry {
  long long n = 0, pad = 0;  // cells; v's entries before its first (stride[0])
  long long stride[3] = {0, 0, 0};
  T inv_h[3] = {1, 1, 1};
  int d = 1, planes = 1, cols = 0, m = 1, k = 1, spatial = 0, exchange = 0, nuclear = 0;
};

__host__ __device__ constexpr int pick(int fixed, int runtime) { return fixed >= 0 ? fixed : runtime; }

// Private copies: the per-cell math indexes them with loop counters.
#define OMT_CUDA_GEOMETRY                                                    \
  const long long stride[3] = {g.stride[0], g.stride[1], g.stride[2]};      \
  const T inv_h[3] = {g.inv_h[0], g.inv_h[1], g.inv_h[2]};

#define OMT_CUDA_FOR_CELLS(i, count)                                                                  \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (count);                  \
       i += (long long)gridDim.x * blockDim.x)
// The same with the index type I of the transform kernels: int where every
// index fits (64-bit division, which their index arithmetic is full of, costs
// several times a 32-bit one).
#define OMT_CUDA_FOR_INDEX(I, i, count) \
  for (I i = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < (count); i += I(gridDim.x) * I(blockDim.x))

// The block's sum of x, valid in thread 0; every thread must call it.
__device__ double block_sum(double x) {
  __shared__ double warp_sums[kReduceBlock / 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_down_sync(0xffffffffu, x, offset);
  if (lane == 0) warp_sums[warp] = x;
  __syncthreads();
  if (warp == 0) {
    x = lane < int(blockDim.x / 32) ? warp_sums[lane] : 0.0;
    for (int offset = 16; offset > 0; offset /= 2) x += __shfl_down_sync(0xffffffffu, x, offset);
  }
  __syncthreads();  // warp_sums may be reused by the next call
  return x;
}

// The step sizes of the iterations of one batch, (mu, tau, lambda) each,
// written on the device by set_steps_kernel ahead of the batch: the kernels
// of a captured graph read them from there, so that one graph serves every
// batch of its length (Backend::iterate).
constexpr int kMaxBatch = 32;
struct StepBatch {
  double mu, tau;
  int count;
  double lambda[kMaxBatch];
};

__global__ void set_steps_kernel(StepBatch batch, double* steps) {
  const int j = threadIdx.x;
  if (j < batch.count) {
    steps[3 * j] = batch.mu;
    steps[3 * j + 1] = batch.tau;
    steps[3 * j + 2] = batch.lambda[j];
  }
}

// Primal step: spatial flux and exchange of each cell (field_math.h).
template <class T, int D, int P, int C, int M, int S, int X, int K>
__global__ void __launch_bounds__(kCellBlock)
primal_kernel(Geometry<T> g, const double* step, const unsigned char* bits, const double* phi, const T* coupling,
              const T* threshold, const T* v_restart, T* v, T* vbar, const T* x_restart, T* x, T* xbar) {
  OMT_CUDA_GEOMETRY
  const T mu = T(step[0]), lambda = T(step[2]);
  const int d = pick(D, g.d), planes = pick(P, g.planes), cols = pick(C, g.cols), m = pick(M, g.m);
  const int spatial = pick(S, g.spatial), exchange = pick(X, g.exchange), k = pick(K, g.k);
  OMT_CUDA_FOR_CELLS(i, g.n) {
    Cell<T>::spatial(i, g.n, d, planes, spatial, k, stride, inv_h, mu, lambda, bits, phi, v_restart + g.pad,
                     v + g.pad, vbar + g.pad);
    if (cols > 0)
      Cell<T>::exchange(i, g.n, planes, cols / m, m, exchange, k, coupling, threshold, mu, lambda, phi,
                        x_restart, x, xbar);
  }
}

// r = K (vbar, xbar) - rhs, every plane.
template <class T, int D, int P, int C>
__global__ void __launch_bounds__(kCellBlock)
residual_kernel(Geometry<T> g, const unsigned char* bits, const T* coupling, const T* vbar, const T* xbar,
                const T* rhs, T* r) {
  OMT_CUDA_GEOMETRY
  const int d = pick(D, g.d), planes = pick(P, g.planes), cols = pick(C, g.cols);
  OMT_CUDA_FOR_CELLS(i, g.n)
  Cell<T>::residual(i, g.n, d, planes, cols, stride, inv_h, bits, coupling, vbar + g.pad, xbar, rhs, r);
}

// r(i) <- Q^T r(i) (forward) or Q r(i): the in-cell coupling's modes.
template <class T, int P>
__global__ void __launch_bounds__(kCellBlock) modes_kernel(Geometry<T> g, int forward, const T* modes, T* r) {
  const int planes = pick(P, g.planes);
  OMT_CUDA_FOR_CELLS(i, g.n) Cell<T>::modes(i, g.n, planes, forward, modes, r);
}

// Per-block sums of the cells' violation (1-norm, or trace norm).
template <class T, int D, int P, int C, int K, int NUC>
__global__ void __launch_bounds__(kReduceBlock)
violation_kernel(Geometry<T> g, const unsigned char* bits, const T* coupling, const T* v, const T* x,
                 const T* rhs, double* partial) {
  OMT_CUDA_GEOMETRY
  const int d = pick(D, g.d), planes = pick(P, g.planes), cols = pick(C, g.cols);
  const int k = pick(K, g.k), nuclear = pick(NUC, g.nuclear);
  double sum = 0;
  OMT_CUDA_FOR_CELLS(i, g.n)
  sum += double(Cell<T>::violation(i, g.n, d, planes, cols, nuclear, k, stride, inv_h, bits, coupling,
                                   v + g.pad, x, rhs));
  sum = block_sum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// Per-block sums of the primal and dual movement since the anchor.
template <class T, int D, int P, int C>
__global__ void __launch_bounds__(kReduceBlock)
movement_kernel(Geometry<T> g, const unsigned char* bits, const T* coupling, const T* v, const T* v0,
                const T* x, const T* x0, const double* phi, const double* phi0, double* partial) {
  OMT_CUDA_GEOMETRY
  const int d = pick(D, g.d), planes = pick(P, g.planes), cols = pick(C, g.cols);
  double dx = 0, dy = 0;
  OMT_CUDA_FOR_CELLS(i, g.n) {
    T out[2];
    Cell<T>::movement(i, g.n, d, planes, cols, stride, inv_h, bits, coupling, v + g.pad, v0 + g.pad, x, x0, phi,
                      phi0, out);
    dx += double(out[0]);
    dy += double(out[1]);
  }
  dx = block_sum(dx);
  dy = block_sum(dy);
  if (threadIdx.x == 0) {
    partial[2 * blockIdx.x] = dx;
    partial[2 * blockIdx.x + 1] = dy;
  }
}

// phi <- lambda (phi + tau r) + (1 - lambda) phi_restart, over all planes.
template <class T>
__global__ void __launch_bounds__(kCellBlock)
dual_update_kernel(long long total, const double* step, int halpern, const T* r, const double* phi_restart,
                   double* phi) {
  const double tau = step[1], lambda = step[2];
  OMT_CUDA_FOR_CELLS(i, total) {
    const double step = phi[i] + tau * double(r[i]);
    phi[i] = halpern ? lambda * step + (1.0 - lambda) * phi_restart[i] : step;
  }
}

// The Poisson solve's transforms: the orthonormal DCT-II (inverse: DCT-III)
// along one axis by one complex FFT of its length (Makhoul), exactly as
// omt_fft_stage and omt_dct_post in kernels.cl (the formulas are documented
// there): the first stage applies the DCT's pre-pass to the inputs it reads
// from x, the last (of two or more) the post-pass to its output. Arrays are
// (outer, n, inner) with n along the axis; a thread per element,
// grid-stride, so no grid extent limits the sizes.
template <class I>
__device__ inline I makhoul_source(I m, I n) {
  return 2 * m < n ? 2 * m : 2 * (n - 1 - m) + 1;
}

template <class T, class I>
__device__ inline void fft_input(int first, int inverse, I n, I inner, I row, I c, I e, const T* x,
                                 const T* cosines, const T* sines, const T* scale, const T* xr, const T* xi,
                                 T& re, T& im) {
  if (!first) {
    re = xr[row + e * inner + c];
    im = xi[row + e * inner + c];
  } else if (!inverse) {
    re = x[row + makhoul_source(e, n) * inner + c];
    im = T(0);
  } else {
    const T xk = x[row + e * inner + c] / scale[e];
    const T xnk = e > 0 ? x[row + (n - e) * inner + c] / scale[n - e] : T(0);
    const T inv_n = T(1) / T(n);
    re = (cosines[e] * xk + sines[e] * xnk) * inv_n;
    im = (cosines[e] * xnk - sines[e] * xk) * inv_n;
  }
}

template <class T, class I>
__device__ inline void dct_output(int inverse, I n, I inner, I row, I c, I m, T re, T im, const T* cosines,
                                  const T* sines, const T* scale, T* x) {
  if (!inverse)
    x[row + m * inner + c] = scale[m] * (cosines[m] * re + sines[m] * im);
  else
    x[row + makhoul_source(m, n) * inner + c] = re;
}

template <class T, class I>
__global__ void __launch_bounds__(kCellBlock)
fft_stage_kernel(I total, I n, I inner, int R, I span, const T* twiddles, const T* roots, int first, int last,
                 int inverse, T* x, const T* cosines, const T* sines, const T* scale, const T* xr, const T* xi,
                 T* yr, T* yi) {
  OMT_CUDA_FOR_INDEX(I, g, total) {
    const I c = g % inner, p = (g / inner) % n, row = g - p * inner - c;
    const I block = span * R, m = n / R;
    const I r = (p % block) / span, k = p % span, j = (p / block) * span + k;
    const T* w = twiddles + 2 * k * R;
    T sr = 0, si = 0;
    for (int q = 0; q < R; ++q) {
      T xq_re, xq_im;
      fft_input<T, I>(first, inverse, n, inner, row, c, j + q * m, x, cosines, sines, scale, xr, xi, xq_re, xq_im);
      const T ar = xq_re * w[2 * q] - xq_im * w[2 * q + 1];
      const T ai = xq_re * w[2 * q + 1] + xq_im * w[2 * q];
      const int t = int((q * r) % R);
      sr += ar * roots[2 * t] - ai * roots[2 * t + 1];
      si += ar * roots[2 * t + 1] + ai * roots[2 * t];
    }
    if (last) {
      dct_output<T, I>(inverse, n, inner, row, c, p, sr, si, cosines, sines, scale, x);
    } else {
      yr[g] = sr;
      yi[g] = si;
    }
  }
}

// The post-pass on its own, after a one-stage FFT (whose stage read x).
template <class T, class I>
__global__ void __launch_bounds__(kCellBlock)
dct_post_kernel(I total, I n, I inner, int inverse, const T* re, const T* im, const T* cosines, const T* sines,
                const T* scale, T* x) {
  OMT_CUDA_FOR_INDEX(I, g, total) {
    const I c = g % inner, m = (g / inner) % n, row = g - m * inner - c;
    dct_output<T, I>(inverse, n, inner, row, c, m, re[g], im[g], cosines, sines, scale, x);
  }
}

// Divides each transform coefficient of plane p by its eigenvalue of
// K K^T: eigenvalue[i] + shift[p]; exact null modes (0) are set to 0.
template <class T, class I>
__global__ void __launch_bounds__(kCellBlock)
divide_kernel(I n, I total, const T* eigenvalue, const T* shift, T* r) {
  OMT_CUDA_FOR_INDEX(I, j, total) {
    const T e = eigenvalue[j % n] + shift[j / n];
    r[j] = e > T(0) ? r[j] / e : T(0);
  }
}

// ---- Problem shapes -----------------------------------------------------------

// The kernels of one shape (host stubs of the instantiated __global__ functions).
template <class T>
struct KernelSet {
  void (*primal)(Geometry<T>, const double*, const unsigned char*, const double*, const T*, const T*, const T*, T*,
                 T*, const T*, T*, T*);
  void (*residual)(Geometry<T>, const unsigned char*, const T*, const T*, const T*, const T*, T*);
  void (*modes)(Geometry<T>, int, const T*, T*);
  void (*violation)(Geometry<T>, const unsigned char*, const T*, const T*, const T*, const T*, double*);
  void (*movement)(Geometry<T>, const unsigned char*, const T*, const T*, const T*, const T*, const T*,
                   const double*, const double*, double*);
};

template <class T, int D, int P, int C, int M, int S, int X, int K, int NUC>
KernelSet<T> shape_kernels() {
  return {primal_kernel<T, D, P, C, M, S, X, K>, residual_kernel<T, D, P, C>, modes_kernel<T, P>,
          violation_kernel<T, D, P, C, K, NUC>, movement_kernel<T, D, P, C>};
}

// The kernels for g's shape: compile-time constants for the common shapes
// (those of cpu_field_backend.cpp's with_field_shape and the scalar ones),
// so that the per-cell loops unroll and the private arrays can live in
// registers; other shapes read every value at run time. K (matrix size) and
// NUC (trace-norm residual) are fixed only where the matrix math uses them.
template <class T>
KernelSet<T> kernels_for(const Geometry<T>& g) {
#define OMT_SHAPE(D, P, C, M, S, X, K, NUC)                                                                \
  if (g.d == D && g.planes == P && g.cols == C && g.m == M && g.spatial == S && g.exchange == X &&          \
      (K < 0 || g.k == K) && g.nuclear == NUC)                                                             \
    return shape_kernels<T, D, P, C, M, S, X, K, NUC>();
#define OMT_SCALAR_SHAPES_D(D)                                                    \
  OMT_SHAPE(D, 1, 0, 1, OMT_SPATIAL_GROUP_PER_PLANE, OMT_EXCHANGE_SOFT, -1, 0)   \
  OMT_SHAPE(D, 1, 0, 1, OMT_SPATIAL_SOFT, OMT_EXCHANGE_SOFT, -1, 0)
#define OMT_FIELD_SHAPES_D(D)                                                                    \
  OMT_SHAPE(D, 3, 3, 1, OMT_SPATIAL_GROUP_PER_PLANE, OMT_EXCHANGE_SOFT, -1, 0) /* RGB, all pairs */ \
  OMT_SHAPE(D, 3, 3, 1, OMT_SPATIAL_SOFT, OMT_EXCHANGE_SOFT, -1, 0)                               \
  OMT_SHAPE(D, 3, 2, 1, OMT_SPATIAL_GROUP_PER_PLANE, OMT_EXCHANGE_SOFT, -1, 0) /* RGB, a path */  \
  OMT_SHAPE(D, 3, 2, 1, OMT_SPATIAL_SOFT, OMT_EXCHANGE_SOFT, -1, 0)                               \
  OMT_SHAPE(D, 4, 12, 4, OMT_SPATIAL_GROUP_ALL, OMT_EXCHANGE_GROUP, 2, 1) /* k = 2, Pauli */       \
  OMT_SHAPE(D, 4, 12, 4, OMT_SPATIAL_NUCLEAR, OMT_EXCHANGE_NUCLEAR, 2, 1)                         \
  OMT_SHAPE(D, 9, 72, 9, OMT_SPATIAL_GROUP_ALL, OMT_EXCHANGE_GROUP, 3, 1) /* k = 3, Gell-Mann */   \
  OMT_SHAPE(D, 9, 72, 9, OMT_SPATIAL_NUCLEAR, OMT_EXCHANGE_NUCLEAR, 3, 1)
  OMT_SCALAR_SHAPES_D(1)
  OMT_SCALAR_SHAPES_D(2)
  OMT_SCALAR_SHAPES_D(3)
  OMT_FIELD_SHAPES_D(2)
  OMT_FIELD_SHAPES_D(3)
#undef OMT_FIELD_SHAPES_D
#undef OMT_SCALAR_SHAPES_D
#undef OMT_SHAPE
  return shape_kernels<T, -1, -1, -1, -1, -1, -1, -1, -1>();
}


// ---- Devices --------------------------------------------------------------------

struct DeviceRef {
  int index = 0;
  std::string name;
  int multiprocessors = 1;
};

struct Discovery {
  std::vector<DeviceRef> devices;
  std::string why;  // when there is none
};

std::string runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

DeviceRef describe(int index) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  DeviceRef ref;
  ref.index = index;
  const std::size_t gib = (prop.totalGlobalMem + (std::size_t(1) << 29)) >> 30;
  ref.name = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
             std::to_string(gib) + " GiB)";
  ref.multiprocessors = std::max(1, prop.multiProcessorCount);
  return ref;
}

// Every CUDA device, in the runtime's order (CUDA_VISIBLE_DEVICES applies):
// `device=` indexes this list.
const Discovery& discover() {
  static const Discovery found = [] {
    Discovery out;
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaErrorNoDevice || (err == cudaSuccess && count == 0)) {
      cudaGetLastError();
      out.why = "no CUDA device";
      return out;
    }
    if (err == cudaErrorInsufficientDriver) {
      cudaGetLastError();
      out.why = std::string("no CUDA driver: ") + cudaGetErrorString(err) +
                " (no NVIDIA driver installed, or one older than CUDA " + runtime_version() + " needs)";
      return out;
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      out.why = std::string("no CUDA driver: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
      return out;
    }
    try {
      for (int i = 0; i < count; ++i) out.devices.push_back(describe(i));
    } catch (const Error& e) {
      out.devices.clear();
      out.why = e.what();
    }
    return out;
  }();
  return found;
}

// The device and stream a solve runs on: the caller's stream (its device),
// or the listed device and a stream of the backend's own (stream = 0).
struct Target {
  DeviceRef dev;
  cudaStream_t stream = nullptr;
};

Target target(const SolveOptions& options) {
  const Discovery& found = discover();
  if (found.devices.empty()) throw BackendUnavailableError("backend 'cuda' is unavailable: " + found.why);
  if (options.native_queue) {
    if (options.device >= 0)
      throw InvalidInputError("pass either device= or a native stream to the cuda backend, not both");
    Target t;
    t.stream = reinterpret_cast<cudaStream_t>(options.native_queue);
    int index = 0;
#if CUDART_VERSION >= 12080
    check(cudaStreamGetDevice(t.stream, &index), "cudaStreamGetDevice (is native_queue a cudaStream_t?)");
#else
    check(cudaGetDevice(&index), "cudaGetDevice");  // no cudaStreamGetDevice: the current device's stream
#endif
    t.dev = found.devices.at(std::size_t(index));
    return t;
  }
  const std::size_t count = found.devices.size();
  if (options.device >= 0 && std::size_t(options.device) >= count)
    throw InvalidInputError("the cuda backend has " + std::to_string(count) + " device(s) (indices 0.." +
                            std::to_string(int(count) - 1) + "); got device=" + std::to_string(options.device));
  Target t;
  t.dev = found.devices[options.device < 0 ? 0 : std::size_t(options.device)];
  return t;
}

// ---- Resources ------------------------------------------------------------------

// Makes a device current for one call and restores the caller's afterwards
// (a caller working on another device, say with CuPy, keeps its own).
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ == device) {
      previous_ = -1;
      return;
    }
    check(cudaSetDevice(device), "cudaSetDevice");
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
  ~DeviceScope() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }

 private:
  int previous_ = -1;
};

// Owns one device allocation.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void create(std::size_t bytes) {
    const cudaError_t err = cudaMalloc(&ptr_, std::max<std::size_t>(bytes, 8));
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      cudaGetLastError();
      throw DeviceMemoryError("CUDA: cudaMalloc of " + std::to_string(bytes >> 20) + " MiB failed: " +
                              cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
    }
  }
  void* get() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  void* ptr_ = nullptr;
};

// The backend's own stream, or the caller's (borrowed, never destroyed).
class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { close(); }
  void close() {
    if (owned_) cudaStreamDestroy(stream_);
    owned_ = false;
  }
  void open(cudaStream_t borrowed) {
    if (borrowed) {
      stream_ = borrowed;
      return;
    }
    // Non-blocking: no implicit synchronisation with the legacy default stream of other work.
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    owned_ = true;
  }
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
  bool owned_ = false;
};

template <class U>
U* ptr(const DeviceBuffer& b) {
  return static_cast<U*>(b.get());
}

std::size_t ceil_div(std::size_t x, std::size_t m) { return (x + m - 1) / m; }

// ---- The backend ----------------------------------------------------------------

// Scalar and field problems alike (a scalar problem is one plane, no exchange),
// one solve, every array on the device; layouts and padding as in the OpenCL backend.
template <class T>
class CudaBackend final : public Backend {
 public:
  CudaBackend(const FieldSetup& setup, const Target& t)
      : dom_(*setup.grid.domain), dev_(t.dev), d_(dom_.d), n_(dom_.cells), planes_(setup.planes),
        cols_(setup.blocks * setup.block_size), pad_(dom_.stride[0]) {
    g_.n = n_;
    g_.pad = pad_;
    for (int s = 0; s < 3; ++s) {
      g_.stride[s] = dom_.stride[s];
      g_.inv_h[s] = T(setup.grid.inv_h[s]);
    }
    g_.d = d_;
    g_.planes = planes_;
    g_.cols = cols_;
    g_.m = std::max(1, setup.block_size);
    g_.k = setup.k;
    g_.spatial = int(setup.spatial);
    g_.exchange = int(setup.exchange);
    g_.nuclear = setup.nuclear_residual ? 1 : 0;
    // The transforms index with int where every index, grid stride included, fits.
    const long long threads = (long long)dev_.multiprocessors * 64 * kCellBlock;
    index32_ = (long long)planes_ * n_ + threads < std::numeric_limits<int>::max();
    // OMTCORE_CUDA_GRAPHS=0 launches every kernel on its own (benchmarks compare both).
    const char* graphs = std::getenv("OMTCORE_CUDA_GRAPHS");
    use_graphs_ = !(graphs && std::string(graphs) == "0");
    kernels_ = kernels_for(g_);
    DeviceScope scope(dev_.index);
    stream_.open(t.stream);
    auto arrays = std::make_unique<Arrays>();
    allocate(setup, *arrays);
    a_ = std::move(arrays);  // on a throw above, freed while the device is still current
  }

  // Errors are ignored here: a destructor must not throw, and a failed
  // solve has already reported its error.
  ~CudaBackend() override {
    int previous = -1;
    if (cudaGetDevice(&previous) != cudaSuccess) previous = -1;
    if (cudaSetDevice(dev_.index) == cudaSuccess) {
      // Nothing may still run on the arrays when they are freed.
      cudaStreamSynchronize(stream_.get());
      for (auto& [key, graph] : graphs_) cudaGraphExecDestroy(graph);
      a_.reset();
      capture_.close();
      stream_.close();
    }
    if (previous >= 0 && previous != dev_.index) cudaSetDevice(previous);
  }

  void primal_step(double mu, double lambda) override {
    DeviceScope scope(dev_.index);
    set_steps(mu, 0, &lambda, 1);
    primal(stream(), ptr<double>(a_->steps), lambda < 1);
  }

  void dual_step(double tau, bool preconditioned, double lambda) override {
    DeviceScope scope(dev_.index);
    set_steps(0, tau, &lambda, 1);
    dual(stream(), ptr<double>(a_->steps), preconditioned, lambda < 1);
  }

  // A batch of iterations is one kernel writing its step sizes, then one
  // graph launch (captured at the first batch of its length), which takes the
  // host's cost of ~20 launches per iteration out of the loop: 28-39% of the
  // loop at 128² on an H200, little from 256² on (benchmarks/RESULTS.md).
  void iterate(double mu, double tau, bool preconditioned, const std::vector<double>& lambdas) override {
    DeviceScope scope(dev_.index);
    for (std::size_t first = 0; first < lambdas.size(); first += kMaxBatch) {
      const int count = int(std::min<std::size_t>(kMaxBatch, lambdas.size() - first));
      const bool halpern = lambdas[first] < 1;  // the same for a whole batch (solve_loop.cpp)
      set_steps(mu, tau, lambdas.data() + first, count);
      if (cudaGraphExec_t graph = graph_for(count, preconditioned, halpern)) {
        check(cudaGraphLaunch(graph, stream()), "cudaGraphLaunch");
        continue;
      }
      for (int j = 0; j < count; ++j) iteration(stream(), j, preconditioned, halpern);
    }
  }

  double residual_l1() override {
    DeviceScope scope(dev_.index);
    const unsigned blocks = reduce_blocks();
    kernels_.violation<<<blocks, kReduceBlock, 0, stream()>>>(g_, ptr<unsigned char>(a_->bits),
                                                               ptr<T>(a_->coupling), ptr<T>(a_->v),
                                                               ptr<T>(a_->x), ptr<T>(a_->rhs),
                                                               ptr<double>(a_->partial));
    launched("violation_kernel");
    return sum_partials(blocks, 1)[0];
  }

  void save_restart_point() override {
    DeviceScope scope(dev_.index);
    if (!a_->vr) {
      a_->vr.create(v_bytes_);
      a_->xr.create(x_bytes_);
      a_->phir.create(phi_bytes_);
    }
    copy(a_->v, a_->vr, v_bytes_);
    copy(a_->x, a_->xr, x_bytes_);
    copy(a_->phi, a_->phir, phi_bytes_);
  }

  void save_anchor() override {
    DeviceScope scope(dev_.index);
    copy(a_->v, a_->v0, v_bytes_);
    copy(a_->x, a_->x0, x_bytes_);
    copy(a_->phi, a_->phi0, phi_bytes_);
  }

  std::array<double, 2> anchor_distances() override {
    DeviceScope scope(dev_.index);
    const unsigned blocks = reduce_blocks();
    kernels_.movement<<<blocks, kReduceBlock, 0, stream()>>>(
        g_, ptr<unsigned char>(a_->bits), ptr<T>(a_->coupling), ptr<T>(a_->v), ptr<T>(a_->v0), ptr<T>(a_->x),
        ptr<T>(a_->x0), ptr<double>(a_->phi), ptr<double>(a_->phi0), ptr<double>(a_->partial));
    launched("movement_kernel");
    const auto sums = sum_partials(blocks, 2);
    return {sums[0], sums[1]};
  }

  void read_flux(std::vector<double>& v) override {
    DeviceScope scope(dev_.index);
    v = read<T>(a_->v, pad_, std::size_t(planes_) * d_ * n_);
  }
  void read_potential(std::vector<double>& phi) override {
    DeviceScope scope(dev_.index);
    phi = read<double>(a_->phi, 0, std::size_t(planes_) * n_);
  }

  void write_slice(Slice slice, int index, const std::vector<double>& values) override {
    DeviceScope scope(dev_.index);
    const std::size_t at = std::size_t(index) * std::size_t(n_);
    if (slice == Slice::potential) {
      write(a_->phi, values.data(), values.size() * sizeof(double), at * sizeof(double));
    } else {
      const std::vector<T> converted(values.begin(), values.end());
      const std::size_t offset = slice == Slice::flux ? std::size_t(pad_) + at : at;
      // From pageable memory: write() returns once `converted` is staged.
      write(slice == Slice::flux ? a_->v : a_->x, converted.data(), converted.size() * sizeof(T), offset * sizeof(T));
    }
  }

  void read_exchange(std::vector<double>& x) override {
    DeviceScope scope(dev_.index);
    x = read<T>(a_->x, 0, std::size_t(cols_) * n_);
  }

  void finish() override {
    DeviceScope scope(dev_.index);
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }

 private:
  // Every device array, freed together (see the destructor).
  struct Arrays {
    DeviceBuffer v, vbar, v0, vr, x, xbar, x0, xr, phi, phi0, phir, r, rhs, bits, partial;
    DeviceBuffer steps;  // (mu, tau, lambda) per iteration of a batch
    DeviceBuffer coupling, threshold, modes, shift, eigenvalue;
    DeviceBuffer fft_re[2], fft_im[2];                      // the FFT's ping-pong buffers
    DeviceBuffer cosines[3], sines[3], scale[3], fft_table[3];  // per axis
  };

  cudaStream_t stream() const { return stream_.get(); }

  void launched(const char* kernel) {
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) fail(err, std::string("launching ") + kernel);
  }

  // Enough blocks to fill the device; the kernels loop over the rest.
  unsigned cell_blocks(long long items) const {
    const std::size_t wanted = ceil_div(std::size_t(std::max<long long>(items, 1)), kCellBlock);
    return unsigned(std::min<std::size_t>(wanted, std::size_t(dev_.multiprocessors) * 64));
  }
  unsigned reduce_blocks() const {
    const std::size_t wanted = ceil_div(std::size_t(std::max<long long>(n_, 1)), kReduceBlock);
    return unsigned(std::min<std::size_t>({wanted, std::size_t(dev_.multiprocessors) * 8, kMaxReduceBlocks}));
  }

  void allocate(const FieldSetup& setup, Arrays& a) {
    const std::size_t n = std::size_t(n_), P = std::size_t(planes_), real = sizeof(T);
    v_bytes_ = (std::size_t(pad_) + P * d_ * n) * real;
    x_bytes_ = std::size_t(cols_) * n * real;
    phi_bytes_ = (P * n + std::size_t(pad_)) * sizeof(double);
    const std::size_t plane_bytes = P * n * real;
    // The iterate, extrapolation, anchor and restart point of v, x and phi;
    // residual, right-hand side and the FFT's two complex buffers; the
    // eigenvalues and bits; the rest (tables, coupling) is small.
    const std::size_t need = 4 * (v_bytes_ + x_bytes_ + phi_bytes_) + 6 * plane_bytes + n * real + n;
    std::size_t free_bytes = 0, total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    if (need > free_bytes)
      throw DeviceMemoryError("CUDA device '" + dev_.name + "' has " + std::to_string(free_bytes >> 20) +
                              " MiB free of " + std::to_string(total_bytes >> 20) +
                              " MiB; this solve needs about " + std::to_string(need >> 20) + " MiB");
    a.v.create(v_bytes_);
    a.vbar.create(v_bytes_);
    a.v0.create(v_bytes_);
    a.x.create(x_bytes_);
    a.xbar.create(x_bytes_);
    a.x0.create(x_bytes_);
    a.phi.create(phi_bytes_);
    a.phi0.create(phi_bytes_);
    a.r.create(plane_bytes);
    for (int b = 0; b < 2; ++b) {
      a.fft_re[b].create(plane_bytes);
      a.fft_im[b].create(plane_bytes);
    }
    a.rhs.create(plane_bytes);
    a.bits.create(n);
    a.partial.create(2 * kMaxReduceBlocks * sizeof(double));
    a.steps.create(3 * kMaxBatch * sizeof(double));
    // Padding included: the stencils read it unconditionally (cell_math.h).
    for (DeviceBuffer* b : {&a.v, &a.vbar, &a.v0}) zero(*b, v_bytes_);
    for (DeviceBuffer* b : {&a.x, &a.xbar, &a.x0}) zero(*b, x_bytes_);
    for (DeviceBuffer* b : {&a.phi, &a.phi0}) zero(*b, phi_bytes_);
    write_reals(a.rhs, setup.rhs);
    write(a.bits, dom_.bits.data(), n);
    std::vector<double> coupling = setup.coupling, threshold = setup.threshold;
    if (coupling.empty()) coupling.assign(1, 0.0);
    if (threshold.empty()) threshold.assign(1, 0.0);
    a.coupling.create(coupling.size() * real);
    a.threshold.create(threshold.size() * real);
    write_reals(a.coupling, coupling);
    write_reals(a.threshold, threshold);
    std::vector<double> modes = setup.modes, shift = setup.shift;
    if (modes.empty()) modes.assign(1, 1.0);
    if (shift.empty()) shift.assign(P, 0.0);
    a.modes.create(modes.size() * real);
    a.shift.create(shift.size() * real);
    write_reals(a.modes, modes);
    write_reals(a.shift, shift);
    // The Poisson solve: per axis, the DCT's twiddles and scaling and the FFT's
    // stages, and the eigenvalues of the grid Laplacian per coefficient.
    for (int s = 0; s < d_; ++s) {
      AxisDct plan = plan_axis_dct(dom_.n[s]);
      for (auto [buffer, values] : {std::pair{&a.cosines[s], &plan.cosines}, {&a.sines[s], &plan.sines},
                                    {&a.scale[s], &plan.scale}, {&a.fft_table[s], &plan.table}}) {
        buffer->create(values->size() * real);
        write_reals(*buffer, *values);
      }
      stages_[s] = std::move(plan.stages);
    }
    a.eigenvalue.create(n * real);
    write_reals(a.eigenvalue, laplacian_per_cell(setup.grid));
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize after allocation");
  }

  // Sums the first `blocks` partial sums of `values` each on the host, in double.
  std::vector<double> sum_partials(unsigned blocks, int values) {
    const std::vector<double> partial = read<double>(a_->partial, 0, std::size_t(blocks) * values);
    std::vector<double> sums(values, 0.0);
    for (unsigned b = 0; b < blocks; ++b)
      for (int j = 0; j < values; ++j) sums[j] += partial[std::size_t(b) * values + j];
    return sums;
  }

  // Step sizes of `count` iterations into a_->steps (kernel arguments are
  // copied at the launch: nothing on the host must outlive the call).
  void set_steps(double mu, double tau, const double* lambdas, int count) {
    StepBatch batch{};
    batch.mu = mu;
    batch.tau = tau;
    batch.count = count;
    std::copy(lambdas, lambdas + count, batch.lambda);
    set_steps_kernel<<<1, kMaxBatch, 0, stream()>>>(batch, ptr<double>(a_->steps));
    launched("set_steps_kernel");
  }

  // Iteration j of the batch whose step sizes are in a_->steps.
  void iteration(cudaStream_t s, int j, bool preconditioned, bool halpern) {
    const double* step = ptr<double>(a_->steps) + 3 * j;
    primal(s, step, halpern);
    dual(s, step, preconditioned, halpern);
  }

  void primal(cudaStream_t s, const double* step, bool halpern) {
    const DeviceBuffer& vr = halpern ? a_->vr : a_->v;
    const DeviceBuffer& xr = halpern && cols_ > 0 ? a_->xr : a_->x;
    kernels_.primal<<<cell_blocks(n_), kCellBlock, 0, s>>>(
        g_, step, ptr<unsigned char>(a_->bits), ptr<double>(a_->phi), ptr<T>(a_->coupling), ptr<T>(a_->threshold),
        ptr<T>(vr), ptr<T>(a_->v), ptr<T>(a_->vbar), ptr<T>(xr), ptr<T>(a_->x), ptr<T>(a_->xbar));
    launched("primal_kernel");
  }

  void dual(cudaStream_t s, const double* step, bool preconditioned, bool halpern) {
    kernels_.residual<<<cell_blocks(n_), kCellBlock, 0, s>>>(g_, ptr<unsigned char>(a_->bits), ptr<T>(a_->coupling),
                                                             ptr<T>(a_->vbar), ptr<T>(a_->xbar), ptr<T>(a_->rhs),
                                                             ptr<T>(a_->r));
    launched("residual_kernel");
    if (preconditioned) {
      if (planes_ > 1) modes(s, 1);
      if (index32_)
        poisson<int>(s);
      else
        poisson<long long>(s);
      if (planes_ > 1) modes(s, 0);
    }
    const long long total = (long long)planes_ * n_;
    const DeviceBuffer& phir = halpern ? a_->phir : a_->phi;
    dual_update_kernel<T><<<cell_blocks(total), kCellBlock, 0, s>>>(total, step, halpern ? 1 : 0, ptr<T>(a_->r),
                                                                    ptr<double>(phir), ptr<double>(a_->phi));
    launched("dual_update_kernel");
  }

  // The graph of `count` iterations (null: launch them one by one), captured
  // on a stream of its own, so that capturing never touches the caller's
  // stream (which may be one that cannot be captured).
  cudaGraphExec_t graph_for(int count, bool preconditioned, bool halpern) {
    if (!use_graphs_ || count < kGraphMinBatch) return nullptr;
    const int key = (count * 2 + int(preconditioned)) * 2 + int(halpern);
    if (auto found = graphs_.find(key); found != graphs_.end()) return found->second;
    if (graphs_.size() >= kMaxGraphs) return nullptr;  // batch lengths vary: plain launches
    if (!capture_.get()) capture_.open(nullptr);
    check(cudaStreamBeginCapture(capture_.get(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    cudaGraph_t graph = nullptr;
    try {
      for (int j = 0; j < count; ++j) iteration(capture_.get(), j, preconditioned, halpern);
    } catch (...) {
      if (cudaStreamEndCapture(capture_.get(), &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
      cudaGetLastError();
      throw;
    }
    check(cudaStreamEndCapture(capture_.get(), &graph), "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (err != cudaSuccess) fail(err, "cudaGraphInstantiate");
    graphs_.emplace(key, exec);
    return exec;
  }

  void modes(cudaStream_t s, int forward) {
    kernels_.modes<<<cell_blocks(n_), kCellBlock, 0, s>>>(g_, forward, ptr<T>(a_->modes), ptr<T>(a_->r));
    launched("modes_kernel");
  }

  // r <- (Laplacian (x) I + I (x) diag(shift))^+ r for all planes at once:
  // DCT along each axis, divide by the eigenvalues, inverse DCTs, in place.
  template <class I>
  void poisson(cudaStream_t s) {
    for (int axis = 0; axis < d_; ++axis) dct<I>(s, axis, false);
    const I total = I(planes_ * n_);
    divide_kernel<T, I><<<cell_blocks(total), kCellBlock, 0, s>>>(I(n_), total, ptr<T>(a_->eigenvalue),
                                                                  ptr<T>(a_->shift), ptr<T>(a_->r));
    launched("divide_kernel");
    for (int axis = d_ - 1; axis >= 0; --axis) dct<I>(s, axis, true);
  }

  // r <- its orthonormal DCT-II along `axis` (inverse: DCT-III), every plane:
  // the FFT's stages (stage_role), then the post-pass where it is separate.
  template <class I>
  void dct(cudaStream_t s, int axis, bool inverse) {
    const I len = I(dom_.n[axis]), inner = I(dom_.stride[axis]), total = I(planes_ * n_);
    const unsigned blocks = cell_blocks(total);
    const T* cosines = ptr<T>(a_->cosines[axis]);
    const T* sines = ptr<T>(a_->sines[axis]);
    const T* scale = ptr<T>(a_->scale[axis]);
    const T* table = ptr<T>(a_->fft_table[axis]);
    const std::vector<FftStage>& stages = stages_[axis];
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const FftStage& st = stages[i];
      const StageRole role = stage_role(i, stages.size());
      fft_stage_kernel<T, I><<<blocks, kCellBlock, 0, s>>>(
          total, len, inner, st.radix, I(st.span), table + 2 * st.twiddles, table + 2 * st.roots, role.first,
          role.last, int(inverse), ptr<T>(a_->r), cosines, sines, scale, ptr<T>(a_->fft_re[role.in]),
          ptr<T>(a_->fft_im[role.in]), ptr<T>(a_->fft_re[role.out]), ptr<T>(a_->fft_im[role.out]));
      launched("fft_stage_kernel");
    }
    if (stages.size() == 1) {
      dct_post_kernel<T, I><<<blocks, kCellBlock, 0, s>>>(total, len, inner, int(inverse), ptr<T>(a_->fft_re[0]),
                                                          ptr<T>(a_->fft_im[0]), cosines, sines, scale,
                                                          ptr<T>(a_->r));
      launched("dct_post_kernel");
    }
  }

  void zero(const DeviceBuffer& b, std::size_t bytes) {
    if (bytes == 0) return;
    check(cudaMemsetAsync(ptr<void>(b), 0, bytes, stream()), "cudaMemsetAsync");
  }
  void copy(const DeviceBuffer& from, const DeviceBuffer& to, std::size_t bytes) {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(ptr<void>(to), ptr<void>(from), bytes, cudaMemcpyDeviceToDevice, stream()),
          "cudaMemcpyAsync (device to device)");
  }
  // From pageable memory: the call returns once the data is staged, so `data` may go away.
  void write(const DeviceBuffer& b, const void* data, std::size_t bytes, std::size_t offset_bytes = 0) {
    if (bytes == 0) return;
    check(cudaMemcpyAsync(static_cast<char*>(ptr<void>(b)) + offset_bytes, data, bytes, cudaMemcpyHostToDevice,
                          stream()),
          "cudaMemcpyAsync (host to device)");
  }
  void write_reals(const DeviceBuffer& b, const std::vector<double>& values) {
    const std::vector<T> converted(values.begin(), values.end());
    write(b, converted.data(), converted.size() * sizeof(T));
  }
  // `count` values of type U from entry `offset`, as double; waits for the stream.
  template <class U>
  std::vector<double> read(const DeviceBuffer& b, std::int64_t offset, std::size_t count) {
    std::vector<U> host(count);
    if (count > 0) {
      check(cudaMemcpyAsync(host.data(), ptr<U>(b) + offset, count * sizeof(U), cudaMemcpyDeviceToHost, stream()),
            "cudaMemcpyAsync (device to host)");
      check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
    }
    return std::vector<double>(host.begin(), host.end());
  }

  const Domain& dom_;
  DeviceRef dev_;
  int d_;
  std::int64_t n_;
  int planes_, cols_;
  std::int64_t pad_;
  std::size_t v_bytes_ = 0, x_bytes_ = 0, phi_bytes_ = 0;
  Geometry<T> g_;
  KernelSet<T> kernels_{};
  Stream stream_;                  // declared before the arrays: destroyed after them
  Stream capture_;                 // where graphs are captured (never launched on)
  bool use_graphs_ = true, index32_ = true;
  std::map<int, cudaGraphExec_t> graphs_;  // by batch length and kind (graph_for)
  std::unique_ptr<Arrays> a_;
  std::vector<FftStage> stages_[3];  // the FFT of each axis (plan_axis_dct)
};

std::unique_ptr<Backend> make(const FieldSetup& setup, const SolveOptions& options) {
  const Target t = target(options);
  if (options.dtype == Dtype::float64) return std::make_unique<CudaBackend<double>>(setup, t);
  return std::make_unique<CudaBackend<float>>(setup, t);
}

}  // namespace

BackendEntry cuda_backend_entry() {
  return device_backend_entry("cuda", discover, target, make, [] { return true; });
}

}  // namespace omtcore::detail
