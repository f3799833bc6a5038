// The CPU backend, every problem kind: the per-cell math of cell_math.h and
// field_math.h over OpenMP, and one shifted Poisson solve per mode of the
// in-cell coupling (ProblemSetup). Allocates only in its constructor.
#include "backends/cpu/cpu_backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <type_traits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/batched_dct.hpp"
#include "omtcore/errors.hpp"

#define OMT_FN static inline
#define OMT_GLOBAL
namespace omtcore::detail::field_f32 {
using std::fabs;
using std::sqrt;
typedef float real_t;
typedef double potential_t;
typedef std::int64_t omt_index_t;
#include "kernels/cell_math.h"
#include "kernels/hermitian_eig.h"
#include "kernels/field_math.h"
}  // namespace omtcore::detail::field_f32
namespace omtcore::detail::field_f64 {
using std::fabs;
using std::sqrt;
typedef double real_t;
typedef double potential_t;
typedef std::int64_t omt_index_t;
#include "kernels/cell_math.h"
#include "kernels/hermitian_eig.h"
#include "kernels/field_math.h"
}  // namespace omtcore::detail::field_f64
#undef OMT_FN
#undef OMT_GLOBAL

namespace omtcore::detail {

namespace {

template <class T> struct FieldCell;
#define OMT_FIELD_CELL(T, ns)                                                                     \
  template <> struct FieldCell<T> {                                                               \
    template <class... A> static void spatial(A... a) { ns::omt_field_spatial_cell(a...); }       \
    template <class... A> static void plane(A... a) { ns::omt_scalar_primal_cell(a...); }         \
    template <class... A> static T plane_div(A... a) { return ns::omt_scalar_div_cell(a...); }    \
    template <class... A> static void plane_movement(A... a) { ns::omt_scalar_movement_cell(a...); } \
    static T soft(T x, T t) { return ns::omt_soft(x, t); }                                       \
    template <class... A> static void exchange(A... a) { ns::omt_field_exchange_cell(a...); }     \
    template <class... A> static void residual(A... a) { ns::omt_field_residual_cell(a...); }     \
    template <class... A> static T violation(A... a) { return ns::omt_field_violation_cell(a...); } \
    template <class... A> static void modes(A... a) { ns::omt_field_modes_cell(a...); }           \
    template <class... A> static void movement(A... a) { ns::omt_field_movement_cell(a...); }     \
  };
OMT_FIELD_CELL(float, field_f32)
OMT_FIELD_CELL(double, field_f64)
#undef OMT_FIELD_CELL

// Calls f(d, planes, cols, m, spatial, exchange) with compile-time constants
// (std::integral_constant) for the common shapes, so that the per-cell loops
// of field_math.h unroll where the compiler inlines them; other shapes get
// plain ints. Why: RGB iterations ran more than twice as fast this way, and
// forcing every cell function inline was slower (benchmarks/RESULTS.md,
// "2026-11-25 · 2-core CPU · moved from code comments").
struct FieldShape {
  int d, planes, cols, m, spatial, exchange;
};

template <int V> using IC = std::integral_constant<int, V>;

template <class F>
void with_field_shape(const FieldShape& s, F&& f) {
#define OMT_SHAPE(D, P, C, M, S, X, K)                                                             \
  if (s.d == D && s.planes == P && s.cols == C && s.m == M && s.spatial == S && s.exchange == X) \
    return f(IC<D>{}, IC<P>{}, IC<C>{}, IC<M>{}, IC<S>{}, IC<X>{});
  OMT_COMMON_FIELD_SHAPES(OMT_SHAPE, 2)
  OMT_COMMON_FIELD_SHAPES(OMT_SHAPE, 3)
#undef OMT_SHAPE
  f(s.d, s.planes, s.cols, s.m, s.spatial, s.exchange);
}

// Calls f(d, isotropic) with compile-time constants (one spatial plane, as a scalar problem).
template <class F>
void with_plane_shape(int d, bool isotropic, F&& f) {
  switch (d * 2 + int(isotropic)) {
    case 2: return f(IC<1>{}, IC<0>{});
    case 3: return f(IC<1>{}, IC<1>{});
    case 4: return f(IC<2>{}, IC<0>{});
    case 5: return f(IC<2>{}, IC<1>{});
    case 6: return f(IC<3>{}, IC<0>{});
    default: return f(IC<3>{}, IC<1>{});
  }
}

int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Read once: the kernel formats /proc/cpuinfo anew at every read, which cost
// a small solve of a batch more than its setup.
const std::string& cpu_name() {
  static const std::string name = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("model name", 0) == 0) {
        auto colon = line.find(':');
        if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
      }
    return std::string("CPU");
  }();
  return name;
}

std::string device_label() {
  return cpu_name() + " (" + std::to_string(thread_count()) + " threads)";
}

// Per-cell work grows with the planes; below this much work threads cost
// more than they give (and spin badly when another process holds a core).
constexpr std::int64_t kMinParallelWork = 1 << 15;

static_assert(int(SpatialProx::group_per_plane) == OMT_SPATIAL_GROUP_PER_PLANE &&
                  int(SpatialProx::soft) == OMT_SPATIAL_SOFT && int(SpatialProx::group_all) == OMT_SPATIAL_GROUP_ALL &&
                  int(SpatialProx::nuclear) == OMT_SPATIAL_NUCLEAR && int(ExchangeProx::soft) == OMT_EXCHANGE_SOFT &&
                  int(ExchangeProx::group) == OMT_EXCHANGE_GROUP && int(ExchangeProx::nuclear) == OMT_EXCHANGE_NUCLEAR,
              "SpatialProx / ExchangeProx values must be field_math.h's codes");

template <class T>
class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const ProblemSetup& setup)
      : dom_(*setup.grid.domain),
        d_(dom_.d),
        n_(dom_.cells),
        planes_(setup.planes),
        k_(setup.k),
        spatial_(int(setup.spatial)),
        exchange_(int(setup.exchange)),
        blocks_(setup.blocks),
        m_(setup.block_size),
        cols_(setup.blocks * setup.block_size),
        nuclear_residual_(setup.nuclear_residual),
        shift_(setup.shift),
        poisson_(setup.grid) {
    if (setup.problems != 1) throw Error(ErrorKind::internal, "the cpu backend solves one problem at a time");
    for (int s = 0; s < 3; ++s) {
      stride_[s] = dom_.stride[s];
      inv_h_[s] = static_cast<T>(setup.grid.inv_h[s]);
    }
    coupling_.assign(setup.coupling.begin(), setup.coupling.end());
    const std::vector<double> packed = setup.packed_coupling();
    packed_.assign(packed.begin(), packed.end());
    threshold_.assign(setup.threshold.begin(), setup.threshold.end());
    // A vector problem's exchange column is one edge of the channel graph (no
    // self loops: prepare.cpp): two nonzero entries, kept in plane order; or
    // an unbalanced problem's source, one entry (the second then weighs 0).
    for (int q = 0; q < cols_ && vector_planes(); ++q) {
      int found = 0;
      for (int p = 0; p < planes_; ++p) {
        const T c = coupling_[std::size_t(p) * cols_ + q];
        if (c == T(0)) continue;
        if (found < 2) {
          edge_plane_[found].push_back(p);
          edge_coef_[found].push_back(c);
        }
        ++found;
      }
      if (found == 1) {
        edge_plane_[1].push_back(edge_plane_[0].back());
        edge_coef_[1].push_back(T(0));
      }
      if (found < 1 || found > 2 || exchange_ != OMT_EXCHANGE_SOFT || m_ != 1)
        throw Error(ErrorKind::internal, "a vector problem's exchange column " + std::to_string(q) +
                                             " couples " + std::to_string(found) + " channels, not 1 or 2");
    }
    modes_.assign(setup.modes.begin(), setup.modes.end());
    pad_ = dom_.stride[0];
    const std::int64_t nv = pad_ + std::int64_t(planes_) * d_ * n_;
    v_.assign(nv, 0);
    vbar_.assign(nv, 0);
    v0_.assign(nv, 0);
    x_.assign(std::int64_t(cols_) * n_, 0);
    xbar_.assign(x_.size(), 0);
    x0_.assign(x_.size(), 0);
    phi_.assign(std::int64_t(planes_) * n_ + pad_, 0.0);
    phi0_.assign(phi_.size(), 0.0);
    r_.assign(std::int64_t(planes_) * n_, 0);
    rhs_.assign(setup.rhs.begin(), setup.rhs.end());
    parallel_ = n_ * planes_ * std::max(1, cols_ / std::max(1, planes_)) >= kMinParallelWork;
  }

  // One problem at a time (ProblemSetup::problems is 1): batches of small
  // problems run side by side on threads instead (core/batch.cpp).
  void iterate(const Steps& steps) override {
    if (steps.mu[0] == 0) return;
    for (int j = 0; j < steps.count; ++j) {
      primal_step(steps.mu[0], steps.lambda[j]);
      dual_step(steps.tau[0], steps.preconditioned, steps.lambda[j]);
    }
  }

  std::vector<double> residual_l1() override { return {residual()}; }

  void primal_step(double mu, double lambda) {
    const T m = static_cast<T>(mu), l = static_cast<T>(lambda);
    const double* phi = phi_.data();
    T* v = v_.data() + pad_;
    T* vbar = vbar_.data() + pad_;
    // Without a Halpern weight the restart point is the iterate itself, read
    // but unused: see omt_scalar_primal_cell.
    const T* vr = lambda < 1 ? vr_.data() + pad_ : v;
    const T* xr = lambda < 1 && cols_ > 0 ? xr_.data() : x_.data();
    T* x = x_.data();
    T* xbar = xbar_.data();
    const T* packed = packed_.data();
    const T* threshold = threshold_.data();
    const std::uint8_t* bits = dom_.bits.data();
    const std::int64_t n = n_;
    const int k = k_, blocks = blocks_;
    const Loop c = loop();
    if (vector_planes()) {
      // A vector problem penalises its spatial flux plane by plane: each
      // plane's step is the scalar one (cell_math.h, the same arithmetic as
      // omt_field_spatial_cell's), a loop the compiler vectorises; the
      // exchange follows in a loop of its own (a loop per graph edge). The
      // residual is done the same way (benchmarks/RESULTS.md,
      // "2026-11-26 · 2-core CPU · vector (RGB) problems plane by plane").
      const std::int64_t block = std::int64_t(d_) * n;
      with_plane_shape(d_, spatial_ == OMT_SPATIAL_GROUP_PER_PLANE, [&](auto d, auto iso) {
        for (int p = 0; p < planes_; ++p) {
          const double* ph = phi + p * n;
          const T* vrp = vr + p * block;
          T* vp = v + p * block;
          T* vbp = vbar + p * block;
          plane_loop<int(d), int(iso)>(parallel_, n, c, m, l, bits, ph, vrp, vp, vbp);
        }
      });
      // The exchange column by column (one graph edge each), a vectorised
      // loop each; omt_field_exchange_cell's arithmetic.
      for (int q = 0; q < cols_; ++q) {
        const double* phi0 = phi + std::int64_t(edge_plane_[0][q]) * n;
        const double* phi1 = phi + std::int64_t(edge_plane_[1][q]) * n;
        const std::int64_t at = std::int64_t(q) * n;
        edge_loop(parallel_, n, edge_coef_[0][q], edge_coef_[1][q], m, m * threshold[q], l, phi0, phi1,
                  xr + at, x + at, xbar + at);
      }
      return;
    }
    with_field_shape(shape(), [&](auto d, auto planes, auto cols, auto bm, auto spatial, auto exchange) {
#pragma omp parallel for schedule(static) if (parallel_)
      for (std::int64_t i = 0; i < n; ++i) {
        FieldCell<T>::spatial(i, n, int(d), int(planes), int(spatial), k, c.stride, c.inv_h, m, l, bits,
                              phi, vr, v, vbar);
        if (int(cols) > 0)
          FieldCell<T>::exchange(i, n, int(planes), blocks, int(bm), int(exchange), k, packed, threshold, m,
                                 l, phi, xr, x, xbar);
      }
    });
  }

  void dual_step(double tau, bool preconditioned, double lambda) {
    const std::int64_t n = n_;
    T* r = r_.data();
    const T* vbar = vbar_.data() + pad_;
    const Loop c = loop();
    const T* coupling = coupling_.data();
    const T* packed = packed_.data();
    const T* modes = modes_.data();
    const T* xbar = xbar_.data();
    const T* rhs = rhs_.data();
    const std::uint8_t* bits = dom_.bits.data();
    if (vector_planes() && cols_ == 0) {
      // Planes without exchange (scalar problems): each plane's divergence
      // minus its right-hand side, a vectorised loop with the axes unrolled.
      with_plane_shape(d_, false, [&](auto d, auto) {
        for (int p = 0; p < planes_; ++p) {
          const T* vp = vbar + std::int64_t(p) * int(d) * n;
          const T* rhsp = rhs + p * n;
          T* rp = r + p * n;
#pragma omp parallel for schedule(static) if (parallel_)
          for (std::int64_t i = 0; i < n; ++i)
            rp[i] = FieldCell<T>::plane_div(i, n, int(d), c.stride, c.inv_h, bits, vp) - rhsp[i];
        }
      });
    }
    with_field_shape(shape(), [&](auto d, auto planes, auto cols, auto, auto, auto) {
      if (vector_planes() && int(cols) > 0) {
        // Plane by plane as in primal_step: each plane's divergence (a
        // vectorised loop), then the exchange and the right-hand side per
        // cell, in omt_field_constraint_cell's order of operations.
        for (int p = 0; p < int(planes); ++p) {
          const T* vp = vbar + std::int64_t(p) * int(d) * n;
          T* rp = r + p * n;
#pragma omp parallel for schedule(static) if (parallel_)
          for (std::int64_t i = 0; i < n; ++i)
            rp[i] = FieldCell<T>::plane_div(i, n, int(d), c.stride, c.inv_h, bits, vp);
        }
#pragma omp parallel for schedule(static) if (parallel_)
        for (std::int64_t i = 0; i < n; ++i)
          for (int p = 0; p < int(planes); ++p) {
            T acc = r[p * n + i];
            for (int q = 0; q < int(cols); ++q) {
              const T cq = coupling[p * int(cols) + q];
              if (cq != T(0)) acc += cq * xbar[q * n + i];
            }
            r[p * n + i] = acc - rhs[p * n + i];
          }
      } else if (!vector_planes()) {
#pragma omp parallel for schedule(static) if (parallel_)
        for (std::int64_t i = 0; i < n; ++i)
          FieldCell<T>::residual(i, n, int(d), int(planes), int(cols), c.stride, c.inv_h, bits, packed, vbar,
                                 xbar, rhs, r);
      }
      if (!preconditioned) return;
      // (Laplacian (x) I + I (x) Q diag(shift) Q^T)^+ = (I (x) Q) (Laplacian + shift_p)^+ (I (x) Q^T);
      // one plane's Q is 1.
      if (int(planes) > 1)
#pragma omp parallel for schedule(static) if (parallel_)
        for (std::int64_t i = 0; i < n; ++i) FieldCell<T>::modes(i, n, int(planes), 1, modes, r);
      for (int p = 0; p < int(planes); ++p) poisson_.solve(r + p * n, shift_[p]);
      if (int(planes) > 1)
#pragma omp parallel for schedule(static) if (parallel_)
        for (std::int64_t i = 0; i < n; ++i) FieldCell<T>::modes(i, n, int(planes), 0, modes, r);
    });
    double* phi = phi_.data();
    const std::int64_t total = std::int64_t(planes_) * n;
    if (lambda < 1) {
      const double* phi0 = phir_.data();
#pragma omp parallel for schedule(static) if (parallel_)
      for (std::int64_t i = 0; i < total; ++i)
        phi[i] = lambda * (phi[i] + tau * double(r[i])) + (1 - lambda) * phi0[i];
      return;
    }
#pragma omp parallel for schedule(static) if (parallel_)
    for (std::int64_t i = 0; i < total; ++i) phi[i] += tau * double(r[i]);
  }

  double residual() {
    const std::int64_t n = n_;
    const T* v = v_.data() + pad_;
    double acc = 0;
    const Loop c = loop();
    const T* packed = packed_.data();
    const T* x = x_.data();
    const T* rhs = rhs_.data();
    const std::uint8_t* bits = dom_.bits.data();
    const int nuclear = int(nuclear_residual_), k = k_;
    if (cols_ == 0 && !nuclear_residual_) {  // planes without exchange (scalar problems): plane by plane
      with_plane_shape(d_, false, [&](auto d, auto) {
        for (int p = 0; p < planes_; ++p) {
          const T* vp = v + std::int64_t(p) * int(d) * n;
          const T* rhsp = rhs + p * n;
          double sum = 0;
#pragma omp parallel for schedule(static) if (parallel_) reduction(+ : sum)
          for (std::int64_t i = 0; i < n; ++i)
            sum += std::fabs(double(FieldCell<T>::plane_div(i, n, int(d), c.stride, c.inv_h, bits, vp)) -
                             double(rhsp[i]));
          acc += sum;
        }
      });
      return acc;
    }
    with_field_shape(shape(), [&](auto d, auto planes, auto cols, auto, auto, auto) {
      double sum = 0;
#pragma omp parallel for schedule(static) if (parallel_) reduction(+ : sum)
      for (std::int64_t i = 0; i < n; ++i)
        sum += double(FieldCell<T>::violation(i, n, int(d), int(planes), int(cols), nuclear, k, c.stride,
                                              c.inv_h, bits, packed, v, x, rhs));
      acc = sum;
    });
    return acc;
  }

  void save_restart_point(int) override {
    vr_.assign(v_.begin(), v_.end());
    xr_.assign(x_.begin(), x_.end());
    phir_.assign(phi_.begin(), phi_.end());
  }

  void save_anchor() override {
    std::copy(v_.begin(), v_.end(), v0_.begin());
    std::copy(x_.begin(), x_.end(), x0_.begin());
    std::copy(phi_.begin(), phi_.end(), phi0_.begin());
  }

  std::vector<std::array<double, 2>> anchor_distances() override { return {movement()}; }

  std::array<double, 2> movement() {
    const std::int64_t n = n_;
    double dx = 0, dy = 0;
    const Loop c = loop();
    const T* packed = packed_.data();
    const T *v = v_.data() + pad_, *v0 = v0_.data() + pad_, *x = x_.data(), *x0 = x0_.data();
    const double *phi = phi_.data(), *phi0 = phi0_.data();
    const std::uint8_t* bits = dom_.bits.data();
    if (cols_ == 0) {  // planes without exchange (scalar problems): plane by plane
      with_plane_shape(d_, false, [&](auto d, auto) {
        for (int p = 0; p < planes_; ++p) {
          const std::int64_t flux_at = std::int64_t(p) * int(d) * n, at = std::int64_t(p) * n;
          double sx = 0, sy = 0;
#pragma omp parallel for schedule(static) if (parallel_) reduction(+ : sx, sy)
          for (std::int64_t i = 0; i < n; ++i) {
            T out[2];
            FieldCell<T>::plane_movement(i, n, int(d), c.stride, c.inv_h, bits, v + flux_at, v0 + flux_at,
                                         phi + at, phi0 + at, out);
            sx += out[0];
            sy += out[1];
          }
          dx += sx;
          dy += sy;
        }
      });
      return {dx, dy};
    }
    with_field_shape(shape(), [&](auto d, auto planes, auto cols, auto, auto, auto) {
      double sx = 0, sy = 0;
#pragma omp parallel for schedule(static) if (parallel_) reduction(+ : sx, sy)
      for (std::int64_t i = 0; i < n; ++i) {
        T out[2];
        FieldCell<T>::movement(i, n, int(d), int(planes), int(cols), c.stride, c.inv_h, bits, packed, v, v0,
                               x, x0, phi, phi0, out);
        sx += out[0];
        sy += out[1];
      }
      dx = sx;
      dy = sy;
    });
    return {dx, dy};
  }

  void read_flux(int, std::vector<double>& v) override { v.assign(v_.begin() + pad_, v_.end()); }
  void read_potential(int, std::vector<double>& phi) override { phi.assign(phi_.begin(), phi_.end() - pad_); }

  void write_slice(int, Slice slice, int index, const std::vector<double>& values) override {
    const std::int64_t n = n_;
    if (slice == Slice::flux)
      std::copy(values.begin(), values.end(), v_.begin() + pad_ + index * n);
    else if (slice == Slice::potential)
      std::copy(values.begin(), values.end(), phi_.begin() + index * n);
    else
      std::copy(values.begin(), values.end(), x_.begin() + index * n);
  }

  void read_exchange(int, std::vector<double>& x) override { x.assign(x_.begin(), x_.end()); }
  double iteration_work() const override { return kCpuIterationWork * double(n_) * (planes_ + 0.5 * cols_); }

 private:
  // Loop constants copied to locals (as in cpu_backend.cpp).
  struct Loop {
    std::int64_t stride[3];
    T inv_h[3];
  };
  Loop loop() const { return {{stride_[0], stride_[1], stride_[2]}, {inv_h_[0], inv_h_[1], inv_h_[2]}}; }

  // A vector problem's primal step, one plane, and one exchange column: simd
  // loops over locals, as CpuScalarBackend::primal_loop (cpu_backend.cpp).
  template <int d, int iso>
  static void plane_loop(bool parallel, std::int64_t n, Loop c, T m, T l, const std::uint8_t* bits,
                         const double* phi, const T* v_restart, T* v, T* vbar) {
#pragma omp parallel for simd schedule(static) if (parallel) firstprivate(c)
    for (std::int64_t i = 0; i < n; ++i)
      FieldCell<T>::plane(i, n, d, iso, c.stride, c.inv_h, m, l, bits, phi, v_restart, v, vbar);
  }
  // omt_field_exchange_cell's arithmetic for an edge between two planes; the
  // Halpern blend without a condition, as in omt_scalar_primal_cell.
  static void edge_loop(bool parallel, std::int64_t n, T c0, T c1, T m, T t, T l, const double* phi0,
                        const double* phi1, const T* x_restart, T* x, T* xbar) {
#pragma omp parallel for simd schedule(static) if (parallel)
    for (std::int64_t i = 0; i < n; ++i) {
      const T acc = c0 * T(phi0[i]) + c1 * T(phi1[i]);
      const T old = x[i];
      const T y = FieldCell<T>::soft(old - m * acc, t);
      xbar[i] = T(2) * y - old;
      x[i] = l * y + (T(1) - l) * x_restart[i];
    }
  }

  FieldShape shape() const { return {d_, planes_, cols_, m_, spatial_, exchange_}; }
  // Vector problems: the spatial flux is penalised plane by plane.
  bool vector_planes() const { return spatial_ == OMT_SPATIAL_SOFT || spatial_ == OMT_SPATIAL_GROUP_PER_PLANE; }

  const Domain& dom_;
  int d_;
  std::int64_t n_;
  int planes_, k_, spatial_, exchange_, blocks_, m_, cols_;
  bool nuclear_residual_;
  std::vector<double> shift_;
  std::int64_t stride_[3];
  T inv_h_[3];
  std::int64_t pad_ = 0;
  bool parallel_ = false;
  std::vector<T> coupling_, packed_, threshold_, modes_;  // coupling: dense and packed (field_math.h)
  std::vector<int> edge_plane_[2];                // vector problems, per exchange column: its two planes
  std::vector<T> edge_coef_[2];                   // and their coupling coefficients
  std::vector<T> v_, vbar_, v0_, vr_, x_, xbar_, x0_, xr_, r_, rhs_;
  std::vector<double> phi_, phi0_, phir_;
  BatchedDctPoisson<T> poisson_;
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
  e.make = [](const ProblemSetup& setup, const SolveOptions& options) -> std::unique_ptr<Backend> {
    check_cpu_options(options);
    if (options.dtype == Dtype::float64) return std::make_unique<CpuBackend<double>>(setup);
    return std::make_unique<CpuBackend<float>>(setup);
  };
  return e;
}

}  // namespace omtcore::detail
