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

// The connected parts of a grid's domain (cells joined by shared faces):
// one entry per cell in C order, the part's index from 0, -1 outside the
// mask. Balanced problems balance on each part, and the gradient of a
// balanced distance is centred per part. Without a mask (nullptr) every cell
// is in part 0. Throws InvalidInputError for a bad shape or spacing.
std::vector<std::int32_t> domain_parts(const Grid& grid, const std::uint8_t* mask = nullptr);

// Solves may run concurrently from several threads (each solve owns its
// buffers; OpenCL programs are compiled once per device and shared). A solve
// blocks its thread until it returns; `SolveOptions::callback` can stop it.
//
// Solve scalar OMT. Throws InvalidInputError for bad input (message names the
// problem and values), BackendUnavailableError when the requested backend
// cannot run, DeviceMemoryError when the device's memory or the host's (the
// least of available memory, the address-space limit and the cgroup limit)
// cannot hold the solve, estimated before anything grid-sized is
// allocated; the message names the estimate and the room. A solve that
// reaches max_iter returns normally with converged == false.
Result solve(const ScalarProblem& problem, const SolveOptions& options = {});

// Solve vector OMT and matrix OMT; errors and results as for the scalar solve.
// The matrix inputs must be Hermitian (to 1e-8 relative) and positive
// semidefinite (eigenvalues >= -1e-8 times the largest), k from 1 to 8.
Result solve(const VectorProblem& problem, const SolveOptions& options = {});
Result solve(const MatrixProblem& problem, const SolveOptions& options = {});

// Batches: many independent problems of one kind in one call, each
// converging, stopping and certified on its own; problem i's Result is the
// one solve(problems[i], options) gives with options.threads = 1 on the CPU
// backend (on a device: with the same options). Every problem is validated
// before any work starts: an InvalidInputError names the offending problems'
// indices and the first one's message. On the CPU backend small problems
// (under 32768 cells) run side by side, one thread each, larger ones one at a
// time on every thread; on a device backend one at a time. options.threads
// bounds the threads of the whole call (0: every core); fewer problems run at
// once where host memory would not hold more, and a DeviceMemoryError is
// raised before any work when one problem (or the results kept) would not
// fit. The callback sees Progress::problem and ::problems_done; returning
// false stops the batch: problems under way stop at their next check (and
// are certified as far as they got), problems not yet started come back with
// iterations 0, distance infinity, lower_bound 0, gap 1 and
// stopped_by_callback. A problem's error during the solve ends the batch
// with that error, its index in the message. With keep_fields false the
// results' flux, exchange, potential and source are empty (freed as each
// problem finishes). Warm starts: `initial` empty, or one entry per problem
// (null: none for that problem), each as SolveOptions::initial for its
// problem; options.initial itself must be null (InvalidInputError).
std::vector<Result> solve_batch(const std::vector<ScalarProblem>& problems, const SolveOptions& options = {},
                                bool keep_fields = true, const std::vector<const Result*>& initial = {});
std::vector<Result> solve_batch(const std::vector<VectorProblem>& problems, const SolveOptions& options = {},
                                bool keep_fields = true, const std::vector<const Result*>& initial = {});
std::vector<Result> solve_batch(const std::vector<MatrixProblem>& problems, const SolveOptions& options = {},
                                bool keep_fields = true, const std::vector<const Result*>& initial = {});

}  // namespace omtcore
