#include "backends/cpu/cpu_backend.hpp"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/dense_dct.hpp"
#ifdef OMTCORE_HAVE_KISSFFT
#include "backends/cpu/fft_dct.hpp"
#endif
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

// The Poisson solve of the preconditioned dual step: fast DCTs when KissFFT was
// found at build time, else dense DCT matrices (exact, O(N sum n) per solve).
#ifdef OMTCORE_HAVE_KISSFFT
template <class T> using Poisson = FftDctPoisson<T>;
constexpr const char* kPoissonLabel = "fast DCT by KissFFT";
#else
template <class T> using Poisson = DenseDctPoisson<T>;
constexpr const char* kPoissonLabel = "dense DCT, slow above 256^2: build with KissFFT";
#endif

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
  return cpu_name() + " (" + std::to_string(thread_count()) + " threads, " + kPoissonLabel + ")";
}

template <class T>
class CpuScalarBackend final : public ScalarBackend {
 public:
  explicit CpuScalarBackend(const ScalarSetup& setup)
      : dom_(*setup.domain), isotropic_(setup.isotropic), poisson_(setup) {
    const std::int64_t n = dom_.cells;
    for (int s = 0; s < 3; ++s) {
      stride_[s] = dom_.stride[s];
      inv_h_[s] = static_cast<T>(setup.inv_h[s]);
    }
    v_.assign(dom_.d * n, 0);
    vbar_.assign(dom_.d * n, 0);
    phi_.assign(n, 0.0);
    v0_.assign(dom_.d * n, 0);
    phi0_.assign(n, 0);
    r_.assign(n, 0);
    rhs_.assign(setup.rhs.begin(), setup.rhs.end());
  }

  void primal_step(double mu) override {
    const std::int64_t n = dom_.cells;
    const T m = static_cast<T>(mu);
    const int d = dom_.d, iso = isotropic_;
#pragma omp parallel for schedule(static) if (n >= kMinParallelCells)
    for (std::int64_t i = 0; i < n; ++i)
      Cell<T>::primal(i, n, d, iso, stride_, inv_h_, m, dom_.bits.data(), phi_.data(), v_.data(),
                      vbar_.data());
  }

  void dual_step(double tau, bool preconditioned) override {
    const std::int64_t n = dom_.cells;
    const int d = dom_.d;
#pragma omp parallel for schedule(static) if (n >= kMinParallelCells)
    for (std::int64_t i = 0; i < n; ++i)
      r_[i] = Cell<T>::div(i, n, d, stride_, inv_h_, dom_.bits.data(), vbar_.data()) - rhs_[i];
    if (preconditioned) poisson_.solve(r_.data());
#pragma omp parallel for schedule(static) if (n >= kMinParallelCells)
    for (std::int64_t i = 0; i < n; ++i) phi_[i] += tau * double(r_[i]);
  }

  double residual_l1() override {
    const std::int64_t n = dom_.cells;
    const int d = dom_.d;
    double acc = 0;
#pragma omp parallel for schedule(static) if (n >= kMinParallelCells) reduction(+ : acc)
    for (std::int64_t i = 0; i < n; ++i)
      acc += std::fabs(double(Cell<T>::div(i, n, d, stride_, inv_h_, dom_.bits.data(), v_.data())) -
                       double(rhs_[i]));
    return acc;
  }

  void save_anchor() override {
    std::copy(v_.begin(), v_.end(), v0_.begin());
    std::copy(phi_.begin(), phi_.end(), phi0_.begin());
  }

  std::array<double, 2> anchor_distances() override {
    const std::int64_t n = dom_.cells;
    const int d = dom_.d;
    double dx = 0, dy = 0;
#pragma omp parallel for schedule(static) if (n >= kMinParallelCells) reduction(+ : dx, dy)
    for (std::int64_t i = 0; i < n; ++i) {
      T out[2];
      Cell<T>::movement(i, n, d, stride_, inv_h_, dom_.bits.data(), v_.data(), v0_.data(),
                        phi_.data(), phi0_.data(), out);
      dx += out[0];
      dy += out[1];
    }
    return {dx, dy};
  }

  void read_state(std::vector<double>& v, std::vector<double>& phi) override {
    v.assign(v_.begin(), v_.end());
    phi.assign(phi_.begin(), phi_.end());
  }

 private:
  const Domain& dom_;
  bool isotropic_;
  std::int64_t stride_[3];
  T inv_h_[3];
  std::vector<T> v_, vbar_, r_, rhs_, v0_;  // v0_, phi0_: the anchor
  std::vector<double> phi_, phi0_;          // potential_t in cell_math.h
  Poisson<T> poisson_;
};

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
  e.make_scalar = [](const ScalarSetup& setup, int device, Dtype dtype) -> std::unique_ptr<ScalarBackend> {
    if (device > 0)
      throw InvalidInputError("the cpu backend has 1 device (index 0); got device=" +
                              std::to_string(device));
    if (dtype == Dtype::float64) return std::make_unique<CpuScalarBackend<double>>(setup);
    return std::make_unique<CpuScalarBackend<float>>(setup);
  };
  return e;
}

}  // namespace omtcore::detail
