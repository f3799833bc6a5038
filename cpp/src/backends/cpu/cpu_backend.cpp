#include "backends/cpu/cpu_backend.hpp"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/batched_dct.hpp"
#include "omtcore/errors.hpp"

// The shared per-cell math, compiled once per precision.
#define OMT_FN static inline
#define OMT_GLOBAL
namespace omtcore::detail::cell_f32 {
using std::sqrt;
typedef float real_t;
typedef double potential_t;
typedef std::int64_t omt_index_t;
#include "kernels/cell_math.h"
}  // namespace omtcore::detail::cell_f32
namespace omtcore::detail::cell_f64 {
using std::sqrt;
typedef double real_t;
typedef double potential_t;
typedef std::int64_t omt_index_t;
#include "kernels/cell_math.h"
}  // namespace omtcore::detail::cell_f64
#undef OMT_FN
#undef OMT_GLOBAL

namespace omtcore::detail {

namespace {

// Below this many cells a step is a few microseconds: threads would cost more
// than they give (and spin badly when another process holds a core).
constexpr std::int64_t kMinParallelCells = 1 << 15;

template <class T> struct Cell;
template <> struct Cell<float> {
  template <class... A> static void primal(A... a) { cell_f32::omt_scalar_primal_cell(a...); }
  template <class... A> static float div(A... a) { return cell_f32::omt_scalar_div_cell(a...); }
  template <class... A> static void movement(A... a) { cell_f32::omt_scalar_movement_cell(a...); }
};
template <> struct Cell<double> {
  template <class... A> static void primal(A... a) { cell_f64::omt_scalar_primal_cell(a...); }
  template <class... A> static double div(A... a) { return cell_f64::omt_scalar_div_cell(a...); }
  template <class... A> static void movement(A... a) { cell_f64::omt_scalar_movement_cell(a...); }
};

// Calls f with the dimension and the norm as compile-time constants, so that the
// per-cell functions inline with their axis loops unrolled and vectorise.
template <class F>
void with_shape(int d, bool isotropic, F&& f) {
  using std::integral_constant;
  auto by_dim = [&](auto iso) {
    switch (d) {
      case 1: f(integral_constant<int, 1>{}, iso); break;
      case 2: f(integral_constant<int, 2>{}, iso); break;
      default: f(integral_constant<int, 3>{}, iso); break;
    }
  };
  if (isotropic)
    by_dim(integral_constant<int, 1>{});
  else
    by_dim(integral_constant<int, 0>{});
}

int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "CPU";
}

std::string device_label() {
  return cpu_name() + " (" + std::to_string(thread_count()) + " threads)";
}

template <class T>
class CpuScalarBackend final : public Backend {
 public:
  explicit CpuScalarBackend(const ScalarSetup& setup)
      : dom_(*setup.domain), isotropic_(setup.isotropic), poisson_(setup) {
    const std::int64_t n = dom_.cells;
    for (int s = 0; s < 3; ++s) {
      stride_[s] = dom_.stride[s];
      inv_h_[s] = static_cast<T>(setup.inv_h[s]);
    }
    // Padding for cell_math.h's unconditional neighbour reads: fluxes before
    // their start, potentials past their end.
    pad_ = dom_.stride[0];
    v_.assign(pad_ + dom_.d * n, 0);
    vbar_.assign(pad_ + dom_.d * n, 0);
    v0_.assign(pad_ + dom_.d * n, 0);
    phi_.assign(n + pad_, 0.0);
    phi0_.assign(n + pad_, 0.0);
    r_.assign(n, 0);
    rhs_.assign(setup.rhs.begin(), setup.rhs.end());
  }

  void primal_step(double mu, double lambda) override {
    const Loop c = loop();
    const T m = static_cast<T>(mu), l = static_cast<T>(lambda);
    const double* phi = phi_.data();
    T* v = v_.data() + pad_;
    // Without a Halpern weight the restart point is the iterate itself, read
    // but unused: see omt_scalar_primal_cell.
    const T* v_restart = lambda < 1 ? vr_.data() + pad_ : v;
    T* vbar = vbar_.data() + pad_;
    with_shape(dom_.d, isotropic_, [&](auto d, auto iso) {
      primal_loop<int(d), int(iso)>(c, m, l, phi, v_restart, v, vbar);
    });
  }

  void dual_step(double tau, bool preconditioned, double lambda) override {
    const Loop c = loop();
    const T* vbar = vbar_.data() + pad_;
    const T* rhs = rhs_.data();
    T* r = r_.data();
    with_shape(dom_.d, false, [&](auto d, auto) {
#pragma omp parallel for schedule(static) if (c.n >= kMinParallelCells)
      for (std::int64_t i = 0; i < c.n; ++i)
        r[i] = Cell<T>::div(i, c.n, int(d), c.stride, c.inv_h, c.bits, vbar) - rhs[i];
    });
    if (preconditioned) poisson_.solve(r);
    double* phi = phi_.data();
    if (lambda < 1) {
      const double* phi0 = phir_.data();
#pragma omp parallel for schedule(static) if (c.n >= kMinParallelCells)
      for (std::int64_t i = 0; i < c.n; ++i)
        phi[i] = lambda * (phi[i] + tau * double(r[i])) + (1 - lambda) * phi0[i];
      return;
    }
#pragma omp parallel for schedule(static) if (c.n >= kMinParallelCells)
    for (std::int64_t i = 0; i < c.n; ++i) phi[i] += tau * double(r[i]);
  }

  double residual_l1() override {
    const Loop c = loop();
    const T* v = v_.data() + pad_;
    const T* rhs = rhs_.data();
    double acc = 0;
    with_shape(dom_.d, false, [&](auto d, auto) {
#pragma omp parallel for schedule(static) if (c.n >= kMinParallelCells) reduction(+ : acc)
      for (std::int64_t i = 0; i < c.n; ++i)
        acc += std::fabs(double(Cell<T>::div(i, c.n, int(d), c.stride, c.inv_h, c.bits, v)) - double(rhs[i]));
    });
    return acc;
  }

  void save_restart_point() override {
    // Allocated on first use: only the anisotropic loop restarts.
    vr_.assign(v_.begin(), v_.end());
    phir_.assign(phi_.begin(), phi_.end());
  }

  void save_anchor() override {
    std::copy(v_.begin(), v_.end(), v0_.begin());
    std::copy(phi_.begin(), phi_.end(), phi0_.begin());
  }

  std::array<double, 2> anchor_distances() override {
    const Loop c = loop();
    const T* v = v_.data() + pad_;
    const T* v0 = v0_.data() + pad_;
    const double* phi = phi_.data();
    const double* phi0 = phi0_.data();
    double dx = 0, dy = 0;
    with_shape(dom_.d, false, [&](auto d, auto) {
#pragma omp parallel for schedule(static) if (c.n >= kMinParallelCells) reduction(+ : dx, dy)
      for (std::int64_t i = 0; i < c.n; ++i) {
        T out[2];
        Cell<T>::movement(i, c.n, int(d), c.stride, c.inv_h, c.bits, v, v0, phi, phi0, out);
        dx += out[0];
        dy += out[1];
      }
    });
    return {dx, dy};
  }

  void read_flux(std::vector<double>& v) override { v.assign(v_.begin() + pad_, v_.end()); }
  void read_potential(std::vector<double>& phi) override { phi.assign(phi_.begin(), phi_.end() - pad_); }

  void write_slice(Slice slice, int index, const std::vector<double>& values) override {
    const std::int64_t n = dom_.cells;
    if (slice == Slice::flux)
      std::copy(values.begin(), values.end(), v_.begin() + pad_ + index * n);
    else if (slice == Slice::potential)
      std::copy(values.begin(), values.end(), phi_.begin() + index * n);
    else
      throw Error(ErrorKind::internal, "a scalar problem has no exchange variables");
  }

 private:
  // Loop constants copied to locals, so the compiler knows that writes to the
  // iterate cannot change them.
  struct Loop {
    std::int64_t n;
    std::int64_t stride[3];
    T inv_h[3];
    const std::uint8_t* bits;
  };
  Loop loop() const {
    return {dom_.cells, {stride_[0], stride_[1], stride_[2]}, {inv_h_[0], inv_h_[1], inv_h_[2]},
            dom_.bits.data()};
  }

  // A simd loop over locals: the compiler's alias checks between the six
  // arrays are more than it tries, so the loop stayed scalar and slow, and
  // captured variables would be reloaded at every cell (benchmarks/RESULTS.md,
  // "2026-11-26 · 2-core CPU · vectorised loop, coarse tolerance at 1024², OR-Tools at 1024²").
  template <int d, int iso>
  static void primal_loop(Loop c, T m, T l, const double* phi, const T* v_restart, T* v, T* vbar) {
#pragma omp parallel for simd schedule(static) if (c.n >= kMinParallelCells) firstprivate(c)
    for (std::int64_t i = 0; i < c.n; ++i)
      Cell<T>::primal(i, c.n, d, iso, c.stride, c.inv_h, m, l, c.bits, phi, v_restart, v, vbar);
  }

  const Domain& dom_;
  bool isotropic_;
  std::int64_t stride_[3];
  T inv_h_[3];
  std::int64_t pad_ = 0;
  std::vector<T> v_, vbar_, r_, rhs_, v0_;  // v0_, phi0_: the anchor
  std::vector<double> phi_, phi0_;          // potential_t in cell_math.h
  std::vector<T> vr_;                       // vr_, phir_: the Halpern restart point
  std::vector<double> phir_;
  BatchedDctPoisson<T> poisson_;  // the Poisson solve of the preconditioned dual step
};

void check_cpu_options(const SolveOptions& options) {
  if (options.device > 0)
    throw InvalidInputError("the cpu backend has 1 device (index 0); got device=" +
                            std::to_string(options.device));
  if (options.native_queue)
    throw InvalidInputError("the cpu backend runs on no queue or stream; native_queue is for 'opencl' and 'cuda'");
}

}  // namespace

BackendEntry cpu_backend_entry() {
  BackendEntry e;
  e.name = "cpu";
  e.probe = [] {
    BackendInfo info;
    info.name = "cpu";
    info.available = true;
    info.devices = {device_label()};
    return info;
  };
  e.make_scalar = [](const ScalarSetup& setup, const SolveOptions& options) -> std::unique_ptr<Backend> {
    check_cpu_options(options);
    if (options.dtype == Dtype::float64) return std::make_unique<CpuScalarBackend<double>>(setup);
    return std::make_unique<CpuScalarBackend<float>>(setup);
  };
  e.make_field = [](const FieldSetup& setup, const SolveOptions& options) -> std::unique_ptr<Backend> {
    check_cpu_options(options);
    return make_cpu_field_backend(setup, options.dtype);
  };
  return e;
}

}  // namespace omtcore::detail
