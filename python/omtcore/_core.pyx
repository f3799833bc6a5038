# cython: language_level=3, boundscheck=False, wraparound=False
"""Low-level binding of the C++ core. Use the functions in omtcore.api."""

from libc.stdint cimport int64_t, uint8_t, uintptr_t
from libcpp cimport bool as cbool
from libcpp.string cimport string
from libcpp.vector cimport vector

import numpy as np

from .errors import BackendUnavailableError, DeviceMemoryError, InvalidInputError


cdef extern from "Python.h":
    int PyErr_CheckSignals()
    void PyErr_Clear()


cdef extern from "omtcore/omtcore.hpp" namespace "omtcore":
    cdef cppclass Grid:
        vector[int64_t] shape
        vector[double] spacing

    cdef cppclass Norm:
        pass
    cdef cppclass Dtype:
        pass
    cdef cppclass Method:
        pass
    cdef cppclass MatrixNorm:
        pass

    cdef cppclass Progress:
        int64_t iteration
        double gap
        double residual
        int level

    ctypedef cbool (*ProgressCallback)(const Progress&, void*) noexcept nogil

    cdef cppclass ScalarProblem:
        Grid grid
        const double* a
        const double* b
        const uint8_t* mask
        Norm norm
        cbool normalize

    cdef cppclass VectorProblem:
        Grid grid
        int channels
        const double* a
        const double* b
        vector[double] weights
        double alpha
        const uint8_t* mask
        Norm norm
        cbool normalize

    cdef cppclass MatrixProblem:
        Grid grid
        int k
        const double* a
        const double* b
        double alpha
        const uint8_t* mask
        MatrixNorm matrix_norm
        cbool normalize

    cdef cppclass SolveOptions:
        double tol
        int64_t max_iter
        Method method
        string backend
        int device
        Dtype dtype
        int check_every
        uintptr_t native_queue
        ProgressCallback callback
        void* callback_data

    cdef cppclass Result:
        double distance
        double lower_bound
        double gap
        double residual
        vector[double] flux
        vector[double] exchange
        vector[double] potential
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

    vector[BackendInfo] backends() except +
    int64_t default_max_iter(const Grid&) except +


cdef extern from "_bridge.hpp" namespace "omtcore::bridge":
    cdef cppclass Status:
        int kind
        string message
    Result solve_scalar(const ScalarProblem&, const SolveOptions&, Status&) noexcept nogil
    Result solve_vector(VectorProblem, cbool, const vector[int]&, const SolveOptions&, Status&) noexcept nogil
    Result solve_matrix(MatrixProblem, cbool, const vector[double]&, const SolveOptions&, Status&) noexcept nogil
    MatrixNorm matrix_norm_from(const string&, Status&) noexcept
    Norm norm_from(const string&, Status&) noexcept
    Dtype dtype_from(const string&, Status&) noexcept
    Method method_from(const string&, Status&) noexcept


# ErrorKind values (omtcore/errors.hpp) -> Python exception classes.
_ERRORS = {1: InvalidInputError, 2: BackendUnavailableError, 3: DeviceMemoryError, 4: RuntimeError}


cdef int _raise_if_failed(Status& status) except -1:
    if status.kind != 0:
        raise _ERRORS.get(status.kind, RuntimeError)(status.message.decode("utf-8", "replace"))
    return 0


cdef struct CallbackState:
    void* py_callback     # a Python callable or NULL
    cbool interrupted     # Ctrl-C arrived during the solve
    void* errors          # a Python list collecting what the callback raised


cdef cbool _on_progress(const Progress& p, void* data) noexcept nogil:
    cdef CallbackState* state = <CallbackState*>data
    with gil:
        if PyErr_CheckSignals() != 0:
            PyErr_Clear()
            state.interrupted = True
            return False
        # Python callbacks see the grid they asked for; the multilevel warm
        # start's coarse grids (level > 0) only check for Ctrl-C.
        if state.py_callback != NULL and p.level == 0:
            try:
                keep_going = (<object>state.py_callback)(p.iteration, p.gap, p.residual)
            except BaseException as exc:
                (<list>state.errors).append(exc)
                return False
            if keep_going is False:
                return False
    return True


def list_backends():
    """[(name, available, reason, [device names])] for every backend."""
    out = []
    for info in backends():
        out.append((info.name.decode(), bool(info.available), info.reason.decode(),
                    [d.decode("utf-8", "replace") for d in info.devices]))
    return out


def max_iter_default(shape):
    cdef Grid grid
    grid.shape = [int(n) for n in shape]
    return default_max_iter(grid)


cdef int _fill_options(SolveOptions* options, double tol, int64_t max_iter, str method,
                       str backend, int device, str dtype, uintptr_t native_queue) except -1:
    cdef Status status
    options.tol = tol
    options.max_iter = max_iter
    options.method = method_from(method.encode(), status)
    _raise_if_failed(status)
    options.backend = backend.encode()
    options.device = device
    options.native_queue = native_queue
    options.dtype = dtype_from(dtype.encode(), status)
    _raise_if_failed(status)
    return 0


cdef object _as_array(const vector[double]& values):
    out = np.empty(values.size(), dtype=np.float64)
    cdef double[::1] view = out
    cdef size_t i
    for i in range(values.size()):
        view[i] = values[i]
    return out


cdef object _result_dict(Result& res):
    return dict(distance=res.distance, lower_bound=res.lower_bound, gap=res.gap,
                residual=res.residual, flux=_as_array(res.flux),
                exchange=_as_array(res.exchange), potential=_as_array(res.potential),
                iterations=res.iterations, converged=bool(res.converged),
                stopped_by_callback=bool(res.stopped_by_callback), levels=res.levels,
                seconds=res.seconds, backend=res.backend.decode(),
                device=res.device.decode("utf-8", "replace"), dtype=res.dtype.decode(),
                method=res.method.decode())


cdef class _Progress:
    """Callback state of one solve: the Python callback and what it raised."""
    cdef CallbackState state
    cdef list errors
    cdef object callback

    def __cinit__(self, callback):
        self.callback = callback
        self.errors = []
        self.state.py_callback = <void*>callback if callback is not None else NULL
        self.state.interrupted = False
        self.state.errors = <void*>self.errors

    cdef int attach(self, SolveOptions* options) except -1:
        options.callback = _on_progress
        options.callback_data = &self.state
        return 0

    cdef int finish(self, Status& status) except -1:
        if self.state.interrupted:
            raise KeyboardInterrupt
        if self.errors:
            raise self.errors[0]
        _raise_if_failed(status)
        return 0


def solve_vector_problem(const double[::1] a, const double[::1] b, shape, int channels, edges,
                         weights, double alpha, spacing, const uint8_t[::1] mask, str norm,
                         bint normalize, double tol, int64_t max_iter, str method, str backend,
                         int device, str dtype, callback=None, uintptr_t native_queue=0):
    """Solve one vector problem; a, b flat C-order (cells, channels) float64;
    edges None (all pairs) or a flat list of channel indices."""
    cdef Status status
    cdef VectorProblem problem
    cdef SolveOptions options
    cdef Result res
    cdef vector[int] flat_edges
    cdef cbool has_edges = edges is not None
    problem.grid.shape = [int(n) for n in shape]
    problem.grid.spacing = [float(x) for x in spacing]
    problem.channels = channels
    problem.a = &a[0] if a.shape[0] > 0 else NULL
    problem.b = &b[0] if b.shape[0] > 0 else NULL
    problem.mask = &mask[0] if mask is not None and mask.shape[0] > 0 else NULL
    problem.norm = norm_from(norm.encode(), status)
    _raise_if_failed(status)
    problem.normalize = normalize
    problem.alpha = alpha
    if edges is not None:
        flat_edges = [int(x) for x in edges]
    if weights is not None:
        problem.weights = [float(x) for x in weights]
    _fill_options(&options, tol, max_iter, method, backend, device, dtype, native_queue)
    progress = _Progress(callback)
    progress.attach(&options)
    with nogil:
        res = solve_vector(problem, has_edges, flat_edges, options, status)
    progress.finish(status)
    return _result_dict(res)


def solve_matrix_problem(const double[::1] a, const double[::1] b, shape, int k, L,
                         double alpha, spacing, const uint8_t[::1] mask, str matrix_norm,
                         bint normalize, double tol, int64_t max_iter, str method, str backend,
                         int device, str dtype, callback=None, uintptr_t native_queue=0):
    """Solve one matrix problem; a, b flat C-order (cells, k, k, 2) float64
    (interleaved complex); L None (Gell-Mann) or flat (N, k, k, 2) float64."""
    cdef Status status
    cdef MatrixProblem problem
    cdef SolveOptions options
    cdef Result res
    cdef vector[double] flat_L
    cdef cbool has_L = L is not None
    problem.grid.shape = [int(n) for n in shape]
    problem.grid.spacing = [float(x) for x in spacing]
    problem.k = k
    problem.a = &a[0] if a.shape[0] > 0 else NULL
    problem.b = &b[0] if b.shape[0] > 0 else NULL
    problem.mask = &mask[0] if mask is not None and mask.shape[0] > 0 else NULL
    problem.matrix_norm = matrix_norm_from(matrix_norm.encode(), status)
    _raise_if_failed(status)
    problem.normalize = normalize
    problem.alpha = alpha
    if L is not None:
        flat_L = [float(x) for x in L]
    _fill_options(&options, tol, max_iter, method, backend, device, dtype, native_queue)
    progress = _Progress(callback)
    progress.attach(&options)
    with nogil:
        res = solve_matrix(problem, has_L, flat_L, options, status)
    progress.finish(status)
    return _result_dict(res)


def solve_scalar_problem(const double[::1] a, const double[::1] b, shape, spacing,
                         const uint8_t[::1] mask, str norm, bint normalize, double tol,
                         int64_t max_iter, str method, str backend, int device, str dtype,
                         callback=None, uintptr_t native_queue=0):
    """Solve one scalar problem; arrays are flat C-order float64 (mask uint8 or None)."""
    cdef Status status
    cdef ScalarProblem problem
    cdef SolveOptions options
    cdef Result res
    problem.grid.shape = [int(n) for n in shape]
    problem.grid.spacing = [float(x) for x in spacing]
    problem.a = &a[0] if a.shape[0] > 0 else NULL
    problem.b = &b[0] if b.shape[0] > 0 else NULL
    problem.mask = &mask[0] if mask is not None and mask.shape[0] > 0 else NULL
    problem.norm = norm_from(norm.encode(), status)
    _raise_if_failed(status)
    problem.normalize = normalize
    _fill_options(&options, tol, max_iter, method, backend, device, dtype, native_queue)
    progress = _Progress(callback)
    progress.attach(&options)
    with nogil:
        res = solve_scalar(problem, options, status)
    progress.finish(status)
    return _result_dict(res)
