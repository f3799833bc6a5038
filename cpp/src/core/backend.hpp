// The interface between the solve loop and a compute backend. The loop (in
// solve_scalar.cpp) drives any backend through these few fused steps and
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

// What a backend needs to run the scalar iteration, in solver units
// (masses scaled to about one per cell, spacing scaled to at most 1).
struct ScalarSetup {
  const Domain* domain = nullptr;
  bool isotropic = true;
  std::array<double, 3> inv_h{1, 1, 1};   // 1 / solver spacing per axis
  std::vector<double> rhs;                // a - b in solver units, per cell
  // Eigenvalues of K K^T along each axis: (2 - 2 cos(pi k / n_s)) / h_s^2, k < n_s.
  // K K^T is the grid Laplacian of the full rectangle, diagonalised by the DCT-II.
  std::array<std::vector<double>, 3> laplacian_eigenvalues;
};

class ScalarBackend {
 public:
  virtual ~ScalarBackend() = default;
  // w = prox_{mu J}(v - mu K^T phi); vbar <- 2 w - v; v <- lambda w + (1 - lambda) v0.
  virtual void primal_step(double mu, double lambda) = 0;
  // phi <- lambda (phi + tau P^{-1} (K vbar - rhs)) + (1 - lambda) phi0, P = K K^T
  // (Poisson solve) when `preconditioned`, else the identity.
  virtual void dual_step(double tau, bool preconditioned, double lambda) = 0;
  // sum_i |(K v)(i) - rhs(i)|, accumulated in double.
  virtual double residual_l1() = 0;
  // Remembers the current iterate as the anchor of anchor_distances().
  virtual void save_anchor() = 0;
  // Squared movement since the anchor: primal sum |v - v0|^2 and dual
  // |P^{1/2}(phi - phi0)|^2 = sum over active faces ((dphi(i+e_s) - dphi(i)) / h_s)^2.
  virtual std::array<double, 2> anchor_distances() = 0;
  // Copies the iterate to the host in double: v as (d, cells), phi as (cells).
  // Halpern iteration (anisotropic): remembers the current iterate as the
  // restart point z0. The steps' lambda < 1 then blend: after both steps of an
  // iteration z = lambda T(z) + (1 - lambda) z0, T one PDHG step.
  virtual void save_restart_point() = 0;
  virtual void read_state(std::vector<double>& v, std::vector<double>& phi) = 0;
};

struct BackendEntry {
  std::string name;
  std::function<BackendInfo()> probe;  // availability, devices
  std::function<std::unique_ptr<ScalarBackend>(const ScalarSetup&, int device, Dtype)> make_scalar;
};

// All known backends in order of preference for backend="auto".
const std::vector<BackendEntry>& backend_registry();

}  // namespace omtcore::detail
