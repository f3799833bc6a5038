// The interface between the solve loop and a compute backend. The loop (in
// solve_loop.cpp) drives any backend through these few fused steps and
// never asks which backend it is talking to; a backend owns every device-side
// allocation for one solve, made once in its constructor.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/domain.hpp"
#include "omtcore/types.hpp"

namespace omtcore::detail {

// The rectangle the preconditioner's Poisson solve runs on: the grid itself,
// or the grid extended at the high end of each axis whose length is awkward
// for the FFT to the next 2-3-5-smooth length (poisson_length in
// transforms/fft.hpp). Extended, the solve is P L^+ P^T, L the extended
// rectangle's Laplacian and P the restriction to the grid: since L's energy
// on any extension of y is at least the grid Laplacian's on y, P L^+ P^T is
// below the grid's own inverse, so the preconditioned step stays within the
// step-size condition (a weaker preconditioner, as on a masked domain).
struct PoissonGrid {
  int d = 0;
  std::array<std::int64_t, 3> n{1, 1, 1};
  std::array<std::int64_t, 3> stride{0, 0, 0};  // C-order
  std::int64_t cells = 0;
  bool extends(const Domain& dom) const { return cells != dom.cells; }
  static PoissonGrid over(int d, const std::array<std::int64_t, 3>& n) {
    PoissonGrid pg;
    pg.d = d;
    pg.n = n;
    pg.stride = {n[1] * n[2], n[2], 1};
    pg.cells = n[0] * n[1] * n[2];
    return pg;
  }
};

// The grid part of a backend's setup, in solver units (spacing scaled to at most 1).
struct GridSetup {
  const Domain* domain = nullptr;
  std::array<double, 3> inv_h{1, 1, 1};   // 1 / solver spacing per axis
  PoissonGrid poisson;
  // Eigenvalues of K K^T along each axis of the Poisson grid: (2 - 2 cos(pi k /
  // N_s)) / h_s^2, k < N_s: the Laplacian of that full rectangle, diagonalised
  // by the DCT-II.
  std::array<std::vector<double>, 3> laplacian_eigenvalues;
};

// How a problem's spatial flux is penalised, per cell (solver units,
// v(p, s) = flux of plane p across face s times h_s):
//   group_per_plane  sum_p |v(p, .)|_2          (scalar and vector, isotropic)
//   soft             sum_{p,s} |v(p, s)|        (scalar and vector, anisotropic)
//   group_all        |v|_2 over all (p, s)      (matrix, Frobenius)
//   nuclear          sum_s ||V_s||_*, V_s the Hermitian matrix of v(., s) (matrix, nuclear)
// The values are the kernels' codes, OMT_SPATIAL_* and OMT_EXCHANGE_* in
// kernels/field_math.h (checked there by the backends that include it).
enum class SpatialProx { group_per_plane = 0, soft = 1, group_all = 2, nuclear = 3 };
// How each block of exchange variables is penalised: soft |x| (vector edges,
// blocks of 1), group |x|_2 (matrix, Frobenius), nuclear (matrix, nuclear).
enum class ExchangeProx { soft = 0, group = 1, nuclear = 2 };

// What a backend needs to run the iteration, in solver units (masses scaled
// to about one per cell): `planes` scalar fields coupled inside each cell
// (core/problem.hpp): one for a scalar problem, the channels of a vector one,
// the k^2 real coordinates of a Hermitian matrix in an orthonormal basis
// (field_math.h). Exchange variables come in `blocks` of `block_size` per
// cell (none for scalars); K adds coupling * x to each cell's planes. All
// arrays are plane-major: (plane, cells).
struct ProblemSetup {
  GridSetup grid;
  int planes = 1;
  int k = 1;                        // matrix size (nuclear prox), or channels
  SpatialProx spatial = SpatialProx::soft;
  ExchangeProx exchange = ExchangeProx::soft;
  int blocks = 0, block_size = 1;
  std::vector<double> coupling;     // planes x (blocks * block_size), row-major
  std::vector<double> threshold;    // per block: cost per unit of x (1, or 0 when free)
  // Problems of this one operator solved side by side (Backend; only device
  // backends take more than one); they differ in their right-hand sides only.
  int problems = 1;
  std::vector<double> rhs;          // (problem, plane, cells)
  // K K^T = Laplacian (x) I + I (x) coupling coupling^T; the second factor is
  // Q diag(shift) Q^T, Q (planes x planes, row-major, eigenvectors as columns).
  std::vector<double> modes;
  std::vector<double> shift;
  bool nuclear_residual = false;    // residual_l1 sums trace norms of the cells' matrices

  // `coupling` packed for the kernels: its nonzeros by row and by column
  // (the layout is described in kernels/field_math.h).
  std::vector<double> packed_coupling() const {
    const int cols = blocks * block_size;
    std::vector<double> out(std::size_t(planes) + cols + 2);
    auto entries = [&](bool by_row, int count, int first_offset) {
      for (int a = 0; a < count; ++a) {
        out[first_offset + a] = double(out.size());
        for (int b = 0; b < (by_row ? cols : planes); ++b) {
          const double c = by_row ? coupling[std::size_t(a) * cols + b] : coupling[std::size_t(b) * cols + a];
          if (c == 0) continue;
          out.push_back(b);
          out.push_back(c);
        }
      }
      out[first_offset + count] = double(out.size());
    };
    entries(true, planes, 0);
    entries(false, cols, planes + 1);
    return out;
  }
};

// Step sizes for a run of `count` iterations of every problem of a batch
// (ProblemSetup::problems): problem b takes iteration j with mu[b], tau[b]
// and lambda[j * problems + b]. lambda < 1 blends with the restart point
// (Halpern, `halpern`); mu[b] == 0 marks a stopped problem, whose iterate
// may be left as it is.
struct Steps {
  std::vector<double> mu, tau, lambda;
  int count = 0;
  bool preconditioned = true;
  bool halpern = false;
};

// Every method with a `problem` argument acts on that problem of the batch
// only; the others on all of them.
class Backend {
 public:
  virtual ~Backend() = default;
  // Per iteration and problem: w = prox_{mu J}(v - mu K^T phi); vbar <- 2 w - v;
  // v <- lambda w + (1 - lambda) v0; then phi <- lambda (phi + tau P^{-1}
  // (K vbar - rhs)) + (1 - lambda) phi0, P = K K^T (Poisson solve) when
  // preconditioned, else the identity. The loop hands over every run of
  // iterations between two checks at once, so that a device can queue them
  // as one launch.
  virtual void iterate(const Steps& steps) = 0;
  // Per problem: sum_i |(K v)(i) - rhs(i)|, accumulated in double.
  virtual std::vector<double> residual_l1() = 0;
  // Remembers the current iterates as the anchors of anchor_distances().
  virtual void save_anchor() = 0;
  // Per problem, squared movement since the anchor: primal sum |v - v0|^2 and dual
  // |P^{1/2}(phi - phi0)|^2 = sum over active faces ((dphi(i+e_s) - dphi(i)) / h_s)^2.
  virtual std::vector<std::array<double, 2>> anchor_distances() = 0;
  // Halpern iteration (anisotropic): remembers the problem's current iterate
  // as its restart point z0, which steps with lambda < 1 blend in: after both
  // steps of an iteration z = lambda T(z) + (1 - lambda) z0, T one PDHG step.
  virtual void save_restart_point(int problem) = 0;
  // Copies the problem's iterate to the host in double, in the backend's internal
  // layout: v (planes * d, cells), phi (planes, cells) (ProblemSetup). One
  // part at a time, so that a certificate need not hold both.
  virtual void read_flux(int problem, std::vector<double>& v) = 0;
  virtual void read_potential(int problem, std::vector<double>& phi) = 0;
  // A warm start, before the first step: sets one cells-long slice of the
  // problem's iterate, in the layouts and units of read_flux, read_potential and
  // read_exchange: flux
  // component `index` (plane * d + axis), potential plane `index`, or
  // exchange column `index`. Slice by slice, so that a large grid's warm
  // start never holds a second copy of the whole iterate.
  enum class Slice { flux, potential, exchange };
  virtual void write_slice(int problem, Slice slice, int index, const std::vector<double>& values) = 0;
  // The exchange iterate x as (blocks * block_size, cells).
  virtual void read_exchange(int problem, std::vector<double>& x) = 0;
  // Waits until every step issued so far has run (asynchronous devices).
  virtual void finish() {}
  // One problem's iteration cost in the unit of the certificates' work
  // (Bounds::work, a host pass over one cell and plane), by which the loop
  // schedules them. A constant of the backend and its device, never a timing.
  virtual double iteration_work() const = 0;
};

struct BackendEntry {
  std::string name;
  std::function<BackendInfo()> probe;  // availability, devices
  // Uses options.device, options.dtype and options.native_queue.
  std::function<std::unique_ptr<Backend>(const ProblemSetup&, const SolveOptions&)> make;
  // backend="auto" takes the first available backend for which this is
  // true (unset: true). OpenCL on CPUs only is slower than the CPU backend.
  std::function<bool()> accelerates;
  // The name of the device a solve with these options runs on.
  std::function<std::string(const SolveOptions&)> device_name;
  // Whether `make` takes ProblemSetup::problems > 1 (one launch per step for a whole batch).
  bool batches = false;
};

// Backend::iteration_work per cell and plane (half of it per exchange
// column: 780 of them for 40 channels with all pairs): measured on the CPU
// backend; a GPU's iteration is assumed 20 times cheaper (benchmarks/RESULTS.md,
// "2026-12-02 · 2-core CPU · certificates scheduled by work, not time").
constexpr double kCpuIterationWork = 2.0;
constexpr double kGpuIterationWork = 0.1;

// All known backends in order of preference for backend="auto".
const std::vector<BackendEntry>& backend_registry();

}  // namespace omtcore::detail
