// Entry points of the public C++ API.
#pragma once

#include "omtcore/types.hpp"

namespace omtcore {

// Every backend this library knows ("cuda", "opencl", "cpu"), with whether it
// can run here, why not ("no CUDA driver: ...", "no OpenCL loader: ...",
// "not compiled in ...") and its devices (SolveOptions::device indexes them).
// backend="auto" takes the first available one in this order, except that
// OpenCL is taken only when it has a GPU or accelerator.
std::vector<BackendInfo> backends();

// The iteration limit used when SolveOptions::max_iter is 0:
// 10000 + 100 * (longest side of the grid).
std::int64_t default_max_iter(const Grid& grid);

// Solves may run concurrently from several threads (each solve owns its
// buffers; OpenCL programs are compiled once per device and shared). A solve
// blocks its thread until it returns; `SolveOptions::callback` can stop it.
//
// Solve scalar OMT. Throws InvalidInputError for bad input (message names the
// problem and values), BackendUnavailableError when the requested backend
// cannot run, DeviceMemoryError when device memory runs out. A solve that
// reaches max_iter returns normally with converged == false.
Result solve(const ScalarProblem& problem, const SolveOptions& options = {});

// Solve vector OMT and matrix OMT; errors and results as for the scalar solve.
// The matrix inputs must be Hermitian (to 1e-8 relative) and positive
// semidefinite (eigenvalues >= -1e-8 times the largest), k from 1 to 8.
Result solve(const VectorProblem& problem, const SolveOptions& options = {});
Result solve(const MatrixProblem& problem, const SolveOptions& options = {});

}  // namespace omtcore
