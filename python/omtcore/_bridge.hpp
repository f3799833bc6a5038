// The one place where C++ exceptions become error codes for the Cython layer,
// which turns each kind into its Python exception class (_core.pyx).
#pragma once

#include <new>
#include <string>

#include "omtcore/omtcore.hpp"

namespace omtcore::bridge {

struct Status {
  int kind = 0;  // 0: ok, else an omtcore::ErrorKind value
  std::string message;
};

// Runs one solve, turning every exception into a Status.
template <class Problem>
inline Result solve_or_status(const Problem& problem, const SolveOptions& options, Status& status) noexcept {
  try {
    return solve(problem, options);
  } catch (const Error& e) {
    status.kind = static_cast<int>(e.kind());
    status.message = e.what();
  } catch (const std::bad_alloc&) {
    status.kind = static_cast<int>(ErrorKind::device_memory);
    status.message = "out of memory";
  } catch (const std::exception& e) {
    status.kind = static_cast<int>(ErrorKind::internal);
    status.message = e.what();
  } catch (...) {
    status.kind = static_cast<int>(ErrorKind::internal);
    status.message = "unknown C++ exception";
  }
  return Result{};
}

inline Result solve_scalar(const ScalarProblem& problem, const SolveOptions& options,
                           Status& status) noexcept {
  return solve_or_status(problem, options, status);
}

// Vector problems: edges as a flat list of pairs; has_edges false means the
// default (all pairs), an empty list with has_edges true means no edges.
inline Result solve_vector(VectorProblem problem, bool has_edges, const std::vector<int>& flat_edges,
                           const SolveOptions& options, Status& status) noexcept {
  if (has_edges) {
    std::vector<std::array<int, 2>> edges;
    for (std::size_t e = 0; e + 1 < flat_edges.size(); e += 2) edges.push_back({flat_edges[e], flat_edges[e + 1]});
    problem.edges = std::move(edges);
  }
  return solve_or_status(problem, options, status);
}

// Matrix problems: has_L false means the default (generalised Gell-Mann).
inline Result solve_matrix(MatrixProblem problem, bool has_L, const std::vector<double>& L,
                           const SolveOptions& options, Status& status) noexcept {
  if (has_L) problem.L = L;
  return solve_or_status(problem, options, status);
}

// Parses a name into an enum, reporting errors through status.
template <class Enum, Enum (*parse)(std::string_view)>
inline Enum parse_name(const std::string& name, Status& status) noexcept {
  try {
    return parse(name);
  } catch (const Error& e) {
    status.kind = static_cast<int>(e.kind());
    status.message = e.what();
    return Enum{};
  }
}

inline Norm norm_from(const std::string& name, Status& st) noexcept { return parse_name<Norm, parse_norm>(name, st); }
inline Dtype dtype_from(const std::string& name, Status& st) noexcept { return parse_name<Dtype, parse_dtype>(name, st); }
inline MatrixNorm matrix_norm_from(const std::string& name, Status& st) noexcept {
  return parse_name<MatrixNorm, parse_matrix_norm>(name, st);
}
inline Method method_from(const std::string& name, Status& st) noexcept { return parse_name<Method, parse_method>(name, st); }

}  // namespace omtcore::bridge
