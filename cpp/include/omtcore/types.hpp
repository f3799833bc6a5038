// Problem descriptions, options and results of the public C++ API.
// Layouts and meanings follow the contract (formulation.md): masses are per
// cell, arrays are C order (last axis fastest), fluxes are component first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omtcore {

// A regular grid of 1 to 3 axes. `spacing` holds one value per axis, or a
// single value used for every axis. Units of spacing are the units of the
// returned distance per unit mass.
struct Grid {
  std::vector<std::int64_t> shape;
  std::vector<double> spacing{1.0};
};

enum class Norm { isotropic, anisotropic };
enum class Dtype { float32, float64 };
// automatic: PDHG with a Poisson-preconditioned dual step (the default);
// pdhg: plain PDHG of the papers, the baseline.
// automatic: Poisson-preconditioned PDHG with adaptive primal weight (the
// default); preconditioned: the same with a fixed weight; pdhg: plain PDHG.
// The last two exist for comparison (benchmarks/bench_accelerated.py).
enum class Method { automatic, preconditioned, pdhg };

// Parse the names used by the Python API ("isotropic", "float32", "auto", ...);
// an unknown name throws InvalidInputError listing the valid ones.
Norm parse_norm(std::string_view name);
Dtype parse_dtype(std::string_view name);
Method parse_method(std::string_view name);
const char* to_string(Norm norm);
const char* to_string(Dtype dtype);
const char* to_string(Method method);

// Scalar OMT: W1(a, b) with ground cost given by `norm`. `a` and `b` point to
// grid-many non-negative masses; `mask` (optional, grid-many 0/1 bytes) marks
// the cells of the domain. The pointed-to data must outlive the solve call.
struct ScalarProblem {
  Grid grid;
  const double* a = nullptr;
  const double* b = nullptr;
  const std::uint8_t* mask = nullptr;
  Norm norm = Norm::isotropic;
  bool normalize = false;  // scale a and b to unit total mass first
};

// Reported to the progress callback at every convergence check.
struct Progress {
  std::int64_t iteration;
  double gap;       // certified relative gap of the last certificate (1 if none yet)
  double residual;  // relative constraint violation of the current iterate
};

// Called from the solving thread at every check and at least every 0.1 s;
// returning false stops the solve (the result is then not converged).
using ProgressCallback = bool (*)(const Progress& progress, void* user_data);

struct SolveOptions {
  double tol = 1e-4;            // target for both the certified gap and the residual
  std::int64_t max_iter = 0;    // 0: default_max_iter(grid)
  Method method = Method::automatic;
  std::string backend = "auto"; // "auto", "cpu", "opencl", "cuda"
  int device = -1;              // index into the backend's device list; -1: its default
  Dtype dtype = Dtype::float32; // iterate precision; certificates are always double
  int check_every = 0;          // iterations between checks; 0: default (25)
  ProgressCallback callback = nullptr;
  void* callback_data = nullptr;
};

struct Result {
  double distance = 0;      // cost of `flux`, an upper bound on the true distance
  double lower_bound = 0;   // dual objective of `potential`, a rigorous lower bound
  double gap = 0;           // (distance - lower_bound) / distance, 0 when distance is 0
  double residual = 0;      // violation of the last iterate before repair / total mass
  std::vector<double> flux;       // (d, *grid): flux[s][i] = mass moved from i to i + e_s
  std::vector<double> potential;  // grid: the dual-feasible potential giving lower_bound
  std::int64_t iterations = 0;
  bool converged = false;   // gap <= tol and residual <= tol
  bool stopped_by_callback = false;
  double seconds = 0;
  std::string backend, device, dtype, method;
};

struct BackendInfo {
  std::string name;                  // "cpu", "opencl", "cuda"
  bool available = false;
  std::string reason;                // why not available, or ""
  std::vector<std::string> devices;  // human-readable device names
};

}  // namespace omtcore
