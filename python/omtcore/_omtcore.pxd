# The public C++ API (cpp/include/omtcore/*.hpp) as Cython sees it, and the one
# translator from its exceptions to Python's. Every call that can throw is
# declared `except +raise_error`; without it a C++ throw would abort Python.
# Keep in step with the headers: each block names the header it mirrors.

from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t
from libcpp cimport bool as cbool
from libcpp.optional cimport optional
from libcpp.string cimport string
from libcpp.vector cimport vector


# ---- omtcore/errors.hpp ------------------------------------------------------
cdef extern from "omtcore/errors.hpp" namespace "omtcore":
    cdef enum class ErrorKind:
        invalid_input
        backend_unavailable
        device_memory
        internal
        device

    cdef cppclass Error:
        ErrorKind kind()
        const char* what()


# ---- The translator (Python-specific glue) -----------------------------------
# Cython calls an `except +handler` function inside its own catch (...) block,
# where only C++ can name the exception in flight; these helpers hand it
# over (dynamic_cast has no Cython spelling). The exception object stays alive
# until that catch block ends.
cdef extern from *:
    """
    #include <exception>
    #include <new>
    static inline const std::exception* omtcore_exception_in_flight() noexcept {
      try { throw; } catch (const std::exception& e) { return &e; } catch (...) { return nullptr; }
    }
    static inline bool omtcore_is_bad_alloc(const std::exception* e) noexcept {
      return dynamic_cast<const std::bad_alloc*>(e) != nullptr;
    }
    static inline const omtcore::Error* omtcore_as_error(const std::exception* e) noexcept {
      return dynamic_cast<const omtcore::Error*>(e);
    }
    """
    cdef cppclass exception "std::exception":
        const char* what()
    const exception* omtcore_exception_in_flight() noexcept
    cbool omtcore_is_bad_alloc(const exception*) noexcept
    const Error* omtcore_as_error(const exception*) noexcept


cdef inline int raise_error() except -1:
    """Raises the Python exception of the C++ exception in flight: omtcore's
    kinds map to omtcore.errors' classes, std::bad_alloc to MemoryError,
    anything else (a bug) to RuntimeError."""
    from omtcore import errors

    cdef const exception* exc = omtcore_exception_in_flight()
    if exc == NULL:
        raise RuntimeError("omtcore: a C++ exception of unknown type (a bug in omtcore; please report it)")
    message = exc.what().decode("utf-8", "replace")
    cdef const Error* err = omtcore_as_error(exc)
    if err == NULL:
        if omtcore_is_bad_alloc(exc):
            raise MemoryError(f"omtcore: out of host memory ({message})")
        raise RuntimeError(f"omtcore: unexpected C++ exception (a bug in omtcore; please report it): {message}")
    kind = err.kind()
    if kind == ErrorKind.invalid_input:
        raise errors.InvalidInputError(message)
    if kind == ErrorKind.backend_unavailable:
        raise errors.BackendUnavailableError(message)
    if kind == ErrorKind.device_memory:
        raise errors.DeviceMemoryError(message)
    if kind == ErrorKind.device:
        raise errors.DeviceError(message)
    raise RuntimeError(f"omtcore internal error (a bug in omtcore; please report it): {message}")


# ---- omtcore/types.hpp -------------------------------------------------------
cdef extern from "omtcore/types.hpp" namespace "omtcore":
    cdef cppclass Grid:
        vector[int64_t] shape
        vector[double] spacing

    cdef enum class Norm:
        isotropic
        anisotropic
    cdef enum class Dtype:
        float32
        float64
    cdef enum class MatrixNorm:
        frobenius
        nuclear
    cdef enum class Method:
        automatic
        adaptive
        preconditioned
        pdhg

    Norm parse_norm(string) except +raise_error
    Dtype parse_dtype(string) except +raise_error
    Method parse_method(string) except +raise_error
    MatrixNorm parse_matrix_norm(string) except +raise_error
    const char* to_string(Norm)
    const char* to_string(Dtype)
    const char* to_string(Method)
    const char* to_string(MatrixNorm)

    # Read-only float64 or float32 numbers, read where they lie.
    cdef cppclass Values:
        Values()
        Values(const double*)
        Values(const float*)
        Values offset "from"(int64_t) const

    # std::array<int, 2>: one (s, t) edge of a vector problem.
    cdef cppclass Edge "std::array<int, 2>":
        int& operator[](size_t)

    cdef cppclass ScalarProblem:
        Grid grid
        Values a
        Values b
        const uint8_t* mask
        Norm norm
        cbool normalize
        optional[double] unbalanced

    cdef cppclass VectorProblem:
        Grid grid
        int channels
        Values a
        Values b
        optional[vector[Edge]] edges
        vector[double] weights
        double alpha
        const uint8_t* mask
        Norm norm
        cbool normalize
        optional[double] unbalanced

    cdef cppclass MatrixProblem:
        Grid grid
        int k
        Values a
        Values b
        optional[vector[double]] L
        double alpha
        const uint8_t* mask
        MatrixNorm matrix_norm
        cbool normalize
        optional[double] unbalanced

    vector[double] gell_mann(int k) except +raise_error

    cdef cppclass Progress:
        int64_t iteration
        double gap
        double residual
        int level
        int64_t problem
        int64_t problems_done

    ctypedef cbool (*ProgressCallback)(const Progress&, void*) noexcept nogil

    cdef cppclass SolveOptions:
        double tol
        int64_t max_iter
        Method method
        string backend
        int device
        Dtype dtype
        int check_every
        int threads
        uintptr_t native_queue
        ProgressCallback callback
        void* callback_data
        const Result* initial

    cdef cppclass Result:
        double distance
        double lower_bound
        double gap
        double residual
        vector[double] flux
        vector[double] exchange
        vector[double] potential
        vector[double] source
        int64_t iterations
        cbool converged
        cbool stopped_by_callback
        int levels
        double seconds
        string backend
        string device
        string dtype
        string method

    cdef cppclass BackendInfo:
        string name
        cbool available
        string reason
        vector[string] devices


# ---- omtcore/solve.hpp -------------------------------------------------------
cdef extern from "omtcore/solve.hpp" namespace "omtcore":
    vector[BackendInfo] backends() except +raise_error
    int64_t default_max_iter(const Grid&) except +raise_error
    vector[int32_t] domain_parts(const Grid&, const uint8_t* mask) except +raise_error
    Result solve(const ScalarProblem&, const SolveOptions&) except +raise_error nogil
    Result solve(const VectorProblem&, const SolveOptions&) except +raise_error nogil
    Result solve(const MatrixProblem&, const SolveOptions&) except +raise_error nogil
    vector[Result] solve_batch(const vector[ScalarProblem]&, const SolveOptions&, cbool,
                               const vector[const Result*]&) except +raise_error nogil
    vector[Result] solve_batch(const vector[VectorProblem]&, const SolveOptions&, cbool,
                               const vector[const Result*]&) except +raise_error nogil
    vector[Result] solve_batch(const vector[MatrixProblem]&, const SolveOptions&, cbool,
                               const vector[const Result*]&) except +raise_error nogil
