# cython: language_level=3, boundscheck=False, wraparound=False
"""Low-level binding of the C++ core (declared in _omtcore.pxd). Use the
functions in omtcore.api: this module takes flat, C-order float64 or float32
arrays and checks nothing that the C++ core checks itself."""

from cpython.buffer cimport PyBUF_FORMAT
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t
from libcpp cimport bool as cbool
from libcpp.vector cimport vector

from ._omtcore cimport (Edge, Grid, MatrixProblem, Progress, Result, ScalarProblem,
                        SolveOptions, Values, VectorProblem, backends, default_max_iter,
                        domain_parts as cpp_domain_parts,
                        gell_mann as cpp_gell_mann, parse_dtype, parse_matrix_norm,
                        parse_method, parse_norm, solve, solve_batch)

import numpy as np


cdef extern from "Python.h":
    int PyErr_CheckSignals()
    void PyErr_Clear()


# ---- Results: C++ vectors handed to numpy without a copy ----------------------

cdef class _DoubleBuffer:
    """Owns a std::vector<double> taken over from a result (swapped in, not
    copied) and lends its storage to numpy through the buffer protocol."""
    cdef vector[double] values
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

    def __getbuffer__(self, Py_buffer* view, int flags):
        self.shape[0] = <Py_ssize_t>self.values.size()
        self.strides[0] = sizeof(double)
        view.buf = <void*>self.values.data() if self.values.size() else <void*>self.shape
        view.obj = self
        view.len = self.shape[0] * sizeof(double)
        view.readonly = 0
        view.itemsize = sizeof(double)
        view.format = <char*>b"d" if flags & PyBUF_FORMAT else NULL
        view.ndim = 1
        view.shape = self.shape
        view.strides = self.strides
        view.suboffsets = NULL
        view.internal = NULL


cdef object _as_array(vector[double]& values):
    """A float64 numpy array over `values`' storage; `values` is left empty."""
    cdef _DoubleBuffer owner = _DoubleBuffer.__new__(_DoubleBuffer)
    owner.values.swap(values)
    return np.asarray(owner)


cdef object _result_dict(Result& res):
    return dict(distance=res.distance, lower_bound=res.lower_bound, gap=res.gap,
                residual=res.residual, flux=_as_array(res.flux),
                exchange=_as_array(res.exchange), potential=_as_array(res.potential),
                source=_as_array(res.source) if res.source.size() else None,
                iterations=res.iterations, converged=bool(res.converged),
                stopped_by_callback=bool(res.stopped_by_callback), levels=res.levels,
                seconds=res.seconds, backend=res.backend.decode(),
                device=res.device.decode("utf-8", "replace"), dtype=res.dtype.decode(),
                method=res.method.decode())


# ---- Progress: Ctrl-C and the Python callback ---------------------------------

cdef struct CallbackState:
    void* py_callback     # a Python callable or NULL
    void* py_report       # batches: a Python callable taking the problems done, or NULL
    cbool batched         # batches: the callback takes the problem's index first
    cbool interrupted     # Ctrl-C arrived during the solve
    void* errors          # a Python list collecting what the callbacks raised


cdef cbool _on_progress(const Progress& p, void* data) noexcept nogil:
    cdef CallbackState* state = <CallbackState*>data
    if state.batched and p.problem >= 0 and state.py_callback == NULL:
        return True  # a worker's report with nothing to call: no GIL needed
    with gil:
        # Signals reach the main thread only: a batch's reports on the whole
        # batch (problem -1) come from the calling thread.
        if PyErr_CheckSignals() != 0:
            PyErr_Clear()
            state.interrupted = True
            return False
        try:
            if p.problem < 0:
                if state.py_report != NULL:
                    (<object>state.py_report)(p.problems_done)
                return True
            # Python callbacks see the grid they asked for; the multilevel warm
            # start's coarse grids (level > 0) only check for Ctrl-C.
            if state.py_callback == NULL or p.level != 0:
                return True
            if state.batched:
                keep_going = (<object>state.py_callback)(p.problem, p.iteration, p.gap, p.residual)
            else:
                keep_going = (<object>state.py_callback)(p.iteration, p.gap, p.residual)
        except BaseException as exc:
            (<list>state.errors).append(exc)
            return False
        if keep_going is False:
            return False
    return True


cdef class _Progress:
    """Callback state of one solve or batch: the Python callables and what they raised."""
    cdef CallbackState state
    cdef list errors
    cdef object callback
    cdef object report

    def __cinit__(self, callback, report=None, batched=False):
        self.callback = callback
        self.report = report
        self.errors = []
        self.state.py_callback = <void*>callback if callback is not None else NULL
        self.state.py_report = <void*>report if report is not None else NULL
        self.state.batched = batched
        self.state.interrupted = False
        self.state.errors = <void*>self.errors

    cdef int attach(self, SolveOptions* options) except -1:
        options.callback = _on_progress
        options.callback_data = &self.state
        return 0

    cdef int reraise(self) except -1:
        """Ctrl-C, or the callback's own exception, ends the solve with that
        exception (also when the solve then failed for it)."""
        if self.state.interrupted:
            raise KeyboardInterrupt
        if self.errors:
            raise self.errors[0]
        return 0


# ---- Entry points --------------------------------------------------------------

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


def domain_parts(shape, const uint8_t[::1] mask):
    """The connected part of each cell (flat C order, int32; -1 outside the mask)."""
    cdef Grid grid = _grid(shape, [1.0])
    cdef vector[int32_t] parts = cpp_domain_parts(grid, &mask[0] if mask is not None and mask.shape[0] > 0 else NULL)
    return np.asarray(<int32_t[:parts.size()]> parts.data()).copy() if parts.size() else np.zeros(0, np.int32)


def gell_mann(int k):
    """The default L of k x k matrix problems, flat (k^2 - 1, k, k, 2) float64."""
    cdef vector[double] values = cpp_gell_mann(k)
    return _as_array(values)


cdef int _fill_options(SolveOptions* options, double tol, int64_t max_iter, str method,
                       str backend, int device, str dtype, uintptr_t native_queue) except -1:
    options.tol = tol
    options.max_iter = max_iter
    options.method = parse_method(method.encode())
    options.backend = backend.encode()
    options.device = device
    options.native_queue = native_queue
    options.dtype = parse_dtype(dtype.encode())
    return 0


cdef Grid _grid(shape, spacing) except *:
    cdef Grid grid
    grid.shape = [int(n) for n in shape]
    grid.spacing = [float(x) for x in spacing]
    return grid


# The solves: Ctrl-C and the callback's exceptions take precedence over what
# the solve then raised or returned.

ctypedef fused AnyProblem:
    ScalarProblem
    VectorProblem
    MatrixProblem


cdef void _assign(vector[double]& to, values) except *:
    cdef const double[::1] view = values
    if view.shape[0]:
        to.assign(&view[0], &view[0] + view.shape[0])


cdef object _solve(AnyProblem& problem, SolveOptions& options, callback, initial, batch):
    """Runs one solve without the GIL; what the callback raised (or Ctrl-C)
    wins over what the solve then raised. initial: None or a warm start
    (flux, exchange, potential, source), flat float64 in the result layouts;
    for a batch a list of one per problem. batch: None, or (count, values
    per problem, mask cells per problem (0: one shared mask), keep fields,
    report): `problem` is then the first of `count` problems laid out one
    after another, the result a list."""
    cdef Result res
    cdef Result start
    cdef vector[AnyProblem] problems
    cdef vector[Result] results
    cdef vector[Result] starts
    cdef vector[const Result*] start_of
    cdef int64_t count, per_problem, mask_step, q
    cdef cbool keep_fields
    if initial is not None and batch is None:
        _assign(start.flux, initial[0])
        _assign(start.exchange, initial[1])
        _assign(start.potential, initial[2])
        _assign(start.source, initial[3])
        options.initial = &start
    if batch is None:
        progress = _Progress(callback)
        progress.attach(&options)
        try:
            with nogil:
                res = solve(problem, options)
        except BaseException:
            progress.reraise()
            raise
        progress.reraise()
        return _result_dict(res)
    count, per_problem, mask_step, keep_fields, report = batch
    if initial is not None:
        starts.resize(len(initial))
        for q in range(len(initial)):
            _assign(starts[q].flux, initial[q][0])
            _assign(starts[q].exchange, initial[q][1])
            _assign(starts[q].potential, initial[q][2])
            _assign(starts[q].source, initial[q][3])
        for q in range(len(initial)):
            start_of.push_back(&starts[q])
    problems.resize(count, problem)
    for q in range(count):
        problems[q].a = problem.a.offset(q * per_problem)
        problems[q].b = problem.b.offset(q * per_problem)
        if problem.mask != NULL:
            problems[q].mask = problem.mask + q * mask_step
    progress = _Progress(callback, report, True)
    progress.attach(&options)
    try:
        with nogil:
            results = solve_batch(problems, options, keep_fields, start_of)
    except BaseException:
        progress.reraise()
        raise
    progress.reraise()
    return [_result_dict(results[q]) for q in range(count)]


cdef Values _values(arr) except *:
    """A flat C-order float64 or float32 array as the core's Values: a view,
    valid while the caller holds the array."""
    cdef const double[::1] f64
    cdef const float[::1] f32
    if arr.shape[0] == 0:
        return Values()
    if arr.dtype == np.float32:
        f32 = arr
        return Values(&f32[0])
    f64 = arr
    return Values(&f64[0])


def solve_scalar_problem(a, b, shape, spacing,
                         const uint8_t[::1] mask, str norm, bint normalize, double tol,
                         int64_t max_iter, str method, str backend, int device, str dtype,
                         callback=None, uintptr_t native_queue=0, initial=None, unbalanced=None, int threads=0,
                         batch=None):
    """Solve one scalar problem; a, b flat C-order float64 or float32 (mask uint8 or None);
    max_iter 0: the core's default."""
    cdef ScalarProblem problem
    cdef SolveOptions options
    problem.grid = _grid(shape, spacing)
    problem.a = _values(a)
    problem.b = _values(b)
    problem.mask = &mask[0] if mask is not None and mask.shape[0] > 0 else NULL
    problem.norm = parse_norm(norm.encode())
    problem.normalize = normalize
    if unbalanced is not None:
        problem.unbalanced = <double>unbalanced
    _fill_options(&options, tol, max_iter, method, backend, device, dtype, native_queue)
    options.threads = threads
    return _solve(problem, options, callback, initial, batch)


def solve_vector_problem(a, b, shape, int channels, edges,
                         weights, double alpha, spacing, const uint8_t[::1] mask, str norm,
                         bint normalize, double tol, int64_t max_iter, str method, str backend,
                         int device, str dtype, callback=None, uintptr_t native_queue=0, initial=None, unbalanced=None, int threads=0,
                         batch=None):
    """Solve one vector problem; a, b flat C-order (cells, channels) float64 or float32;
    edges None (all pairs) or a flat list of channel indices, two per edge."""
    cdef VectorProblem problem
    cdef SolveOptions options
    cdef vector[Edge] edge_list
    cdef Edge edge
    problem.grid = _grid(shape, spacing)
    problem.channels = channels
    problem.a = _values(a)
    problem.b = _values(b)
    problem.mask = &mask[0] if mask is not None and mask.shape[0] > 0 else NULL
    problem.norm = parse_norm(norm.encode())
    problem.normalize = normalize
    if unbalanced is not None:
        problem.unbalanced = <double>unbalanced
    problem.alpha = alpha
    if edges is not None:
        flat = [int(x) for x in edges]
        for e in range(0, len(flat) - 1, 2):
            edge[0] = flat[e]
            edge[1] = flat[e + 1]
            edge_list.push_back(edge)
        problem.edges = edge_list
    if weights is not None:
        problem.weights = [float(x) for x in weights]
    _fill_options(&options, tol, max_iter, method, backend, device, dtype, native_queue)
    options.threads = threads
    return _solve(problem, options, callback, initial, batch)


def solve_matrix_problem(a, b, shape, int k, L,
                         double alpha, spacing, const uint8_t[::1] mask, str matrix_norm,
                         bint normalize, double tol, int64_t max_iter, str method, str backend,
                         int device, str dtype, callback=None, uintptr_t native_queue=0, initial=None, unbalanced=None, int threads=0,
                         batch=None):
    """Solve one matrix problem; a, b flat C-order (cells, k, k, 2) float64 or
    float32 (interleaved complex); L None (Gell-Mann) or flat (N, k, k, 2) float64."""
    cdef MatrixProblem problem
    cdef SolveOptions options
    cdef vector[double] flat_L
    problem.grid = _grid(shape, spacing)
    problem.k = k
    problem.a = _values(a)
    problem.b = _values(b)
    problem.mask = &mask[0] if mask is not None and mask.shape[0] > 0 else NULL
    problem.matrix_norm = parse_matrix_norm(matrix_norm.encode())
    problem.normalize = normalize
    if unbalanced is not None:
        problem.unbalanced = <double>unbalanced
    problem.alpha = alpha
    if L is not None:
        flat_L = [float(x) for x in L]
        problem.L = flat_L
    _fill_options(&options, tol, max_iter, method, backend, device, dtype, native_queue)
    options.threads = threads
    return _solve(problem, options, callback, initial, batch)
