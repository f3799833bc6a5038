// The CUDA layer of the device backend (device_backend.hpp): kernels.cl
// compiled ahead of time by nvcc (dialect.h), instantiated for the common
// problem shapes and once with every shape value read at run time; device
// discovery, allocations and a stream per solve; CUDA graphs that replay a
// batch of iterations.
#include "backends/cuda/cuda_backend.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "backends/device/device_backend.hpp"
#include "omtcore/errors.hpp"

namespace omtcore::detail::cuda_f32 {
using ::fabs;  // CUDA's float overloads: sqrt.rn.f32, not a double sqrt
using ::sqrt;
typedef float real_t;
typedef double potential_t;  // as on the CPU: see cell_math.h
typedef long long omt_index_t;
#include "kernels/cell_math.h"
#include "kernels/hermitian_eig.h"
#include "kernels/field_math.h"
#include "backends/device/kernels.cl"
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
#include "backends/device/kernels.cl"
}  // namespace omtcore::detail::cuda_f64

namespace omtcore::detail {

namespace {

[[noreturn]] void fail(cudaError_t err, const std::string& call) {
  cudaGetLastError();  // clears a non-sticky error, so that later calls do not report it again
  if (err == cudaErrorMemoryAllocation) throw DeviceMemoryError("CUDA: " + call + " failed: out of device memory");
  throw DeviceError("CUDA: " + call + " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

void check(cudaError_t err, const char* call) {
  if (err != cudaSuccess) fail(err, call);
}

// ---- Kernels of one problem shape --------------------------------------------

struct CudaKernel {
  const void* fn = nullptr;
  bool shaped = false;  // takes the omt_shape argument first
};
using CudaKernels = DeviceKernels<CudaKernel>;

template <class F>
const void* fn(F* f) {
  return reinterpret_cast<const void*>(f);
}

// The kernels of one shape S... (a value < 0: read at run time), transform indices of type I.
template <class T, class I, int... S>
CudaKernels shape_kernels() {
#define OMT_CUDA_SHAPED(ns, name) {fn(&ns::omt_##name<S...>), true}
#define OMT_CUDA_TRANSFORM(ns, name) {fn(&ns::omt_##name<I>), false}
#define OMT_CUDA_PLAIN(ns, name) {fn(&ns::omt_##name), false}
#define OMT_CUDA_F32(name, form) OMT_CUDA_##form(cuda_f32, name),
#define OMT_CUDA_F64(name, form) OMT_CUDA_##form(cuda_f64, name),
  if constexpr (std::is_same_v<T, float>)
    return {OMT_DEVICE_KERNELS(OMT_CUDA_F32)};
  else
    return {OMT_DEVICE_KERNELS(OMT_CUDA_F64)};
#undef OMT_CUDA_F64
#undef OMT_CUDA_F32
#undef OMT_CUDA_PLAIN
#undef OMT_CUDA_TRANSFORM
#undef OMT_CUDA_SHAPED
}

// Compile-time shape values for the scalar shapes and OMT_COMMON_FIELD_SHAPES
// (field_math.h), so that the per-cell loops unroll and the private arrays can
// live in registers; other shapes read every value at run time.
template <class T, class I>
CudaKernels kernels_for(const omt_shape& g) {
#define OMT_SHAPE(D, P, C, M, S, X, K)                                                                  \
  if (g.d == D && g.planes == P && g.cols == C && g.m == M && g.spatial == S && g.exchange == X &&       \
      (K < 0 || g.k == K) && g.nuclear == (K > 0))                                                       \
    return shape_kernels<T, I, D, P, C, M, S, X, K, (K > 0)>();
#define OMT_SCALAR_SHAPES(D)                                                \
  OMT_SHAPE(D, 1, 0, 1, OMT_SPATIAL_GROUP_PER_PLANE, OMT_EXCHANGE_SOFT, -1) \
  OMT_SHAPE(D, 1, 0, 1, OMT_SPATIAL_SOFT, OMT_EXCHANGE_SOFT, -1)
  OMT_SCALAR_SHAPES(1)
  OMT_SCALAR_SHAPES(2)
  OMT_SCALAR_SHAPES(3)
  OMT_COMMON_FIELD_SHAPES(OMT_SHAPE, 2)
  OMT_COMMON_FIELD_SHAPES(OMT_SHAPE, 3)
#undef OMT_SCALAR_SHAPES
#undef OMT_SHAPE
  return shape_kernels<T, I, -1, -1, -1, -1, -1, -1, -1, -1>();
}

// ---- Devices --------------------------------------------------------------------

struct DeviceRef {
  int index = 0;
  std::string name;
  int multiprocessors = 1;
};

std::string runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

DeviceRef describe(int index) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  const std::size_t gib = (prop.totalGlobalMem + (std::size_t(1) << 29)) >> 30;
  return {index,
          std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
              std::to_string(gib) + " GiB)",
          std::max(1, prop.multiProcessorCount)};
}

// Every CUDA device, in the runtime's order (CUDA_VISIBLE_DEVICES applies):
// `device=` indexes this list.
const DeviceList<DeviceRef>& discover() {
  static const DeviceList<DeviceRef> found = [] {
    DeviceList<DeviceRef> out;
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) cudaGetLastError();
    if (err == cudaErrorNoDevice || (err == cudaSuccess && count == 0)) {
      out.why = "no CUDA device";
    } else if (err == cudaErrorInsufficientDriver) {
      out.why = std::string("no CUDA driver: ") + cudaGetErrorString(err) +
                " (no NVIDIA driver installed, or one older than CUDA " + runtime_version() + " needs)";
    } else if (err != cudaSuccess) {
      out.why = std::string("no CUDA driver: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
    } else {
      try {
        for (int i = 0; i < count; ++i) out.devices.push_back(describe(i));
      } catch (const Error& e) {
        out.devices.clear();
        out.why = e.what();
      }
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
  const auto& found = discover();
  if (found.devices.empty()) throw BackendUnavailableError("backend 'cuda' is unavailable: " + found.why);
  Target t{found.devices[device_index("cuda", "stream", found.devices.size(), options, 0)], nullptr};
  if (options.native_queue) {
    t.stream = reinterpret_cast<cudaStream_t>(options.native_queue);
    int index = 0;
#if CUDART_VERSION >= 12080
    check(cudaStreamGetDevice(t.stream, &index), "cudaStreamGetDevice (is native_queue a cudaStream_t?)");
#else
    check(cudaGetDevice(&index), "cudaGetDevice");  // no cudaStreamGetDevice: the current device's stream
#endif
    t.dev = found.devices.at(std::size_t(index));
  }
  return t;
}

// Makes a device current for one call and restores the caller's afterwards
// (a caller working on another device, say with CuPy, keeps its own).
// `quiet`: ignores errors and waits for `drain` (a destructor's scope).
class DeviceScope {
 public:
  explicit DeviceScope(int device, bool quiet = false, cudaStream_t drain = nullptr) {
    int current = -1;
    const bool known = cudaGetDevice(&current) == cudaSuccess;
    const cudaError_t err = known && current == device ? cudaSuccess : cudaSetDevice(device);
    if (known && current != device) previous_ = current;
    if (!quiet) check(err, "cudaSetDevice");
    if (quiet && err == cudaSuccess) cudaStreamSynchronize(drain);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
  ~DeviceScope() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }

 private:
  int previous_ = -1;
};

// ---- The API layer of DeviceBackend -------------------------------------------

template <class T>
class CudaApi {
 public:
  using Real = T;
  using Potential = double;
  using Kernel = CudaKernel;
  static constexpr std::size_t kMaxBatch = 32;
  // 32-bit transform indices where they fit: 64-bit division costs several
  // times more (benchmarks/RESULTS.md, "2026-11-26 · NVIDIA H200 · CUDA graphs,
  // 32-bit transform indices, fused DCT passes (second GPU run), float32").
  static constexpr bool kNarrowIndices = true;
  static constexpr int kGraphMinBatch = 4;      // shorter batches are launched kernel by kernel
  static constexpr std::size_t kMaxGraphs = 8;  // graphs kept per solve (one per batch length and kind)

  explicit CudaApi(const Target& t) : dev_(t.dev) {
    DeviceScope scope(dev_.index);
    // Non-blocking: no implicit synchronisation with the legacy default stream of other work.
    if (t.stream)
      stream_ = t.stream;
    else
      check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    own_stream_ = !t.stream;
    current_ = stream_;
    // OMTCORE_CUDA_GRAPHS=0 launches every kernel on its own (benchmarks compare both).
    const char* graphs = std::getenv("OMTCORE_CUDA_GRAPHS");
    use_graphs_ = !(graphs && std::string(graphs) == "0");
  }
  CudaApi(const CudaApi&) = delete;
  CudaApi& operator=(const CudaApi&) = delete;
  ~CudaApi() {
    DeviceScope scope(dev_.index, true, stream_);
    for (auto& [key, graph] : graphs_) cudaGraphExecDestroy(graph);
    if (capture_) cudaStreamDestroy(capture_);
    if (own_stream_) cudaStreamDestroy(stream_);
  }

  DeviceScope scope() const { return DeviceScope(dev_.index); }
  DeviceScope drain() const { return DeviceScope(dev_.index, true, stream_); }

  void* alloc(std::size_t bytes) {
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
      cudaGetLastError();
      throw DeviceMemoryError("CUDA: cudaMalloc of " + std::to_string(bytes >> 20) + " MiB failed: " +
                              cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
    }
    return p;
  }
  static void release(void* p) { cudaFree(p); }
  void zero(void* b, std::size_t bytes) { check(cudaMemsetAsync(b, 0, bytes, stream_), "cudaMemsetAsync"); }
  void copy(void* from, std::size_t from_at, void* to, std::size_t to_at, std::size_t bytes) {
    check(cudaMemcpyAsync(static_cast<char*>(to) + to_at, static_cast<char*>(from) + from_at, bytes,
                          cudaMemcpyDeviceToDevice, stream_),
          "cudaMemcpyAsync (device to device)");
  }
  // From pageable memory: the call returns once `data` is staged, so it may go away.
  void write(void* b, std::size_t offset, const void* data, std::size_t bytes) {
    check(cudaMemcpyAsync(static_cast<char*>(b) + offset, data, bytes, cudaMemcpyHostToDevice, stream_),
          "cudaMemcpyAsync (host to device)");
  }
  void write_async(void* b, const void* data, std::size_t bytes) { write(b, 0, data, bytes); }
  void read(void* b, std::size_t offset, void* data, std::size_t bytes) {
    check(cudaMemcpyAsync(data, static_cast<char*>(b) + offset, bytes, cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync (device to host)");
    finish();
  }
  void finish() { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
  bool gpu() const { return true; }

  void check_memory(std::size_t need, std::size_t) const {
    std::size_t free_bytes = 0, total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    if (need > free_bytes)
      throw DeviceMemoryError("CUDA device '" + dev_.name + "' has " + std::to_string(free_bytes >> 20) +
                              " MiB free of " + std::to_string(total_bytes >> 20) + " MiB; this solve needs about " +
                              std::to_string(need >> 20) + " MiB");
  }

  CudaKernels kernels(const ProblemSetup& setup, bool index32) {
    shape_ = {setup.grid.domain->d,
              setup.planes,
              setup.blocks * setup.block_size,
              std::max(1, setup.block_size),
              setup.k,
              int(setup.spatial),
              int(setup.exchange),
              setup.nuclear_residual ? 1 : 0};
    return index32 ? kernels_for<T, int>(shape_) : kernels_for<T, long long>(shape_);
  }

  // Enough blocks to fill the device; the kernels loop over the rest.
  LaunchRange cells(std::int64_t items, int problems = 1) const {
    const std::size_t wanted = (std::size_t(std::max<std::int64_t>(items, 1)) + OMT_CELL_GROUP - 1) / OMT_CELL_GROUP;
    const std::size_t cap = std::max<std::size_t>(1, std::size_t(dev_.multiprocessors) * 64 / std::size_t(problems));
    return {std::min(wanted, cap), OMT_CELL_GROUP, true, {0, 0, 0}, std::size_t(problems)};
  }
  LaunchRange axis_range(std::int64_t inner, std::int64_t n, std::int64_t outer) const {
    return cells(inner * n * outer);
  }
  std::size_t max_reduce_groups() const { return std::min<std::size_t>(std::size_t(dev_.multiprocessors) * 16, 2048); }
  std::size_t local_memory() const { return 48 << 10; }  // a block's shared memory without opting in to more
  int row_group() const { return OMT_CELL_GROUP; }

  void launch(const Kernel& k, const LaunchRange& range, const KernelArgs& args) {
    void* argv[1 + KernelArgs::kMax];
    int at = 0;
    if (k.shaped) argv[at++] = &shape_;
    for (int i = 0; i < args.count; ++i) argv[at++] = const_cast<unsigned char*>(args.slot[i].bytes);
    check(cudaLaunchKernel(k.fn, dim3(unsigned(range.groups), unsigned(range.problems)), dim3(unsigned(range.size)),
                           argv, range.local_bytes, current_),
          "cudaLaunchKernel");
  }

  // A batch is one graph launch (captured at the first batch of its length
  // and kind), which takes the host's ~20 launches per iteration out of the
  // loop (benchmarks/RESULTS.md). Captured on a stream of its own, so that
  // capturing never touches the caller's stream.
  template <class Run>
  void batch(int count, int key, Run run) {
    if (cudaGraphExec_t graph = graph_for(count, key, run)) {
      check(cudaGraphLaunch(graph, stream_), "cudaGraphLaunch");
      return;
    }
    run();
  }

 private:
  template <class Run>
  cudaGraphExec_t graph_for(int count, int key, Run& run) {
    if (!use_graphs_ || count < kGraphMinBatch) return nullptr;
    if (auto found = graphs_.find(key); found != graphs_.end()) return found->second;
    if (graphs_.size() >= kMaxGraphs) {  // a batch's slots in use fall, lengths vary: the oldest kinds go
      for (auto& [old, graph] : graphs_) cudaGraphExecDestroy(graph);
      graphs_.clear();
    }
    if (!capture_) check(cudaStreamCreateWithFlags(&capture_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    check(cudaStreamBeginCapture(capture_, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    cudaGraph_t graph = nullptr;
    current_ = capture_;
    try {
      run();
    } catch (...) {
      current_ = stream_;
      if (cudaStreamEndCapture(capture_, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
      cudaGetLastError();
      throw;
    }
    current_ = stream_;
    check(cudaStreamEndCapture(capture_, &graph), "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (err != cudaSuccess) fail(err, "cudaGraphInstantiate");
    graphs_.emplace(key, exec);
    return exec;
  }

  DeviceRef dev_;
  cudaStream_t stream_ = nullptr, capture_ = nullptr, current_ = nullptr;  // current_: where launches go
  bool own_stream_ = false, use_graphs_ = true;
  omt_shape shape_{};
  std::map<int, cudaGraphExec_t> graphs_;  // by batch length and kind
};

std::unique_ptr<Backend> make(const ProblemSetup& setup, const SolveOptions& options) {
  const Target t = target(options);
  if (options.dtype == Dtype::float64) return make_device_backend<CudaApi<double>>(setup, t);
  return make_device_backend<CudaApi<float>>(setup, t);
}

}  // namespace

BackendEntry cuda_backend_entry() {
  return device_backend_entry("cuda", discover, target, make, [] { return true; });
}

}  // namespace omtcore::detail
