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

inline Result solve_scalar(const ScalarProblem& problem, const SolveOptions& options,
                           Status& status) noexcept {
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
inline Method method_from(const std::string& name, Status& st) noexcept { return parse_name<Method, parse_method>(name, st); }

}  // namespace omtcore::bridge
