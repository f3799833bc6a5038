"""The OpenCL backend beyond the shared backend matrix: how it reports being
unavailable, device selection (indices and pyopencl objects), pyopencl arrays
in and out, and out-of-memory as an exception the process survives.

The exactness tests (POT, the conic models, certificates, bad input) run on
OpenCL through the ``backend`` fixture in the other test files; agreement with
the CPU backend on identical inputs is test_backend_parity.py.
"""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import omtcore
from conftest import use_backend
from references import emd_l1

TOL = 1e-5


@pytest.fixture
def opencl():
    return use_backend("opencl")


def random_pair(shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    b = rng.random(shape)
    return a, b * (a.sum() / b.sum())


def random_psd(shape, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=shape + (k, k)) + 1j * rng.normal(size=shape + (k, k))
    A = X @ np.conj(np.swapaxes(X, -1, -2)) / k
    return A


def test_every_listed_device_solves(opencl):
    (info,) = [i for i in omtcore.backends() if i.name == "opencl"]
    a = np.zeros((5, 5)); a[0, 0] = 1
    b = np.zeros((5, 5)); b[4, 3] = 1
    for index, name in enumerate(info.devices):
        res = omtcore.scalar_omt(a, b, norm="anisotropic", backend="opencl", device=index,
                                 tol=1e-6, dtype="float32")
        assert res.device == name
        assert res.distance == pytest.approx(7, rel=1e-5)


def test_device_index_out_of_range(opencl):
    (info,) = [i for i in omtcore.backends() if i.name == "opencl"]
    a, b = random_pair((4, 4), seed=0)
    with pytest.raises(omtcore.InvalidInputError, match="device"):
        omtcore.scalar_omt(a, b, backend="opencl", device=len(info.devices))


def test_out_of_device_memory_is_an_exception_and_the_process_goes_on(opencl):
    # 64 channels, all 2016 pairs: the exchange alone needs 2016 floats per
    # cell and copy, and the solve four copies or more (32 KiB per cell). The
    # grid is sized to need about twice the largest device's memory (PoCL
    # reports a share of the host's, which varies from run to run).
    cl = pytest.importorskip("pyopencl", reason="sizing this test needs pyopencl")
    devices = [d for p in cl.get_platforms() for d in p.get_devices()]
    memory = max(d.global_mem_size for d in devices)
    n = max(512, int(np.ceil(np.sqrt(2 * memory / (2016 * 4 * 4)))))
    if n > 2048:
        pytest.skip(f"a device has {memory >> 30} GiB: this test's inputs would not fit the host")
    rng = np.random.default_rng(0)
    a = rng.random((n, n, 64)).astype(np.float32)
    b = a[::-1].copy()
    with pytest.raises(omtcore.DeviceMemoryError, match="MiB"):
        omtcore.vector_omt(a, b, backend="opencl", norm="anisotropic")
    del a, b
    x, y = random_pair((6, 6), seed=1)
    res = omtcore.scalar_omt(x, y, backend="opencl", norm="anisotropic", tol=1e-5)
    assert res.distance == pytest.approx(emd_l1(x, y, 1.0), rel=1e-4)


def _run(code, cwd=None, **env):
    full = dict(os.environ, **env)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, env=full, timeout=120, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout


REPORT = """
    import omtcore
    (info,) = [i for i in omtcore.backends() if i.name == "opencl"]
    print(info.available, info.reason, sep="|")
    try:
        omtcore.scalar_omt([1.0, 0.0], [0.0, 1.0], backend="opencl")
    except omtcore.BackendUnavailableError as e:
        print("raised", e)
    print(omtcore.scalar_omt([1.0, 0.0], [0.0, 1.0]).backend)
"""


def test_no_loader_is_reported_not_fatal():
    out = _run(REPORT, OMTCORE_OPENCL_LIBRARY="libOpenCL-that-does-not-exist.so.1")
    available, reason = out.splitlines()[0].split("|", 1)
    assert available == "False"
    assert reason.startswith("no OpenCL loader"), reason
    assert "raised backend 'opencl' is unavailable: no OpenCL loader" in out
    assert out.splitlines()[-1] in ("cpu", "cuda")  # auto falls back


def test_no_platform_is_reported_not_fatal(tmp_path):
    # ocl-icd reads the vendor list from OCL_ICD_VENDORS: an empty directory
    # leaves the loader with no platform.
    if not os.path.exists("/etc/OpenCL/vendors"):
        pytest.skip("this check needs the ocl-icd loader (/etc/OpenCL/vendors)")
    out = _run(REPORT, OCL_ICD_VENDORS=str(tmp_path))
    available, reason = out.splitlines()[0].split("|", 1)
    if available == "True":
        # Seen on an NVIDIA machine: its loader still listed PoCL and NVIDIA's
        # platform with an empty OCL_ICD_VENDORS, so no platform-free process
        # can be made this way there.
        pytest.skip("this OpenCL loader ignores OCL_ICD_VENDORS (it still lists platforms)")
    assert available == "False"
    assert reason.startswith(("no OpenCL platform", "no OpenCL loader")), reason


# A loader in front of the real one whose clCreateContext fails as a device
# that has gone away would; every other call resolves to the real loader (the
# shim's dependency), so discovery works and the first solve's context fails.
FAILING_CONTEXT_SHIM = r"""
typedef int cl_int;
void* clCreateContext(const void* properties, unsigned num_devices, const void* devices,
                      void* notify, void* user_data, cl_int* errcode) {
  if (errcode) *errcode = -2; /* CL_DEVICE_NOT_AVAILABLE */
  return 0;
}
"""


def test_a_failing_driver_call_is_a_device_error(opencl, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build the failing loader shim")
    loader = os.environ.get("OMTCORE_OPENCL_LIBRARY") or "libOpenCL.so.1"
    link = [loader, f"-Wl,-rpath,{os.path.dirname(loader)}"] if os.path.isabs(loader) else [f"-l:{loader}"]
    (tmp_path / "shim.c").write_text(FAILING_CONTEXT_SHIM)
    shim = tmp_path / "libOpenCL-failing-context.so"
    built = subprocess.run([cc, "-shared", "-fPIC", "-o", str(shim), str(tmp_path / "shim.c"),
                            "-Wl,--no-as-needed", *link], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot link a shim over the OpenCL loader {loader}: {built.stderr[-300:]}")
    out = _run("""
        import os
        if os.path.isabs(os.environ["OMTCORE_LOADER_UNDER_SHIM"]):  # pyopencl's bundled loader finds PoCL once pyopencl loaded it
            import pyopencl._cl
        import omtcore
        try:
            omtcore.scalar_omt([1.0, 0.0], [0.0, 1.0], backend="opencl")
        except omtcore.DeviceError as e:
            print(isinstance(e, RuntimeError), e)
    """, OMTCORE_OPENCL_LIBRARY=str(shim), OMTCORE_LOADER_UNDER_SHIM=loader)
    assert out.startswith("True OpenCL: clCreateContext failed: CL_DEVICE_NOT_AVAILABLE (-2)"), out


# ---- pyopencl interop ---------------------------------------------------------

@pytest.fixture
def cl(opencl):
    return pytest.importorskip("pyopencl", reason="pyopencl is an optional extra (omtcore[opencl])")


def test_pyopencl_device_context_and_queue(cl):
    a, b = random_pair((6, 5), seed=2)
    exact = emd_l1(a, b, 1.0)
    platform_devices = [d for p in cl.get_platforms() for d in p.get_devices()]
    device = platform_devices[0]
    ctx = cl.Context([device])
    queue = cl.CommandQueue(ctx)
    for handle in (device, ctx, queue):
        res = omtcore.scalar_omt(a, b, norm="anisotropic", device=handle, tol=TOL)
        assert res.backend == "opencl"
        assert device.name in res.device
        assert res.distance == pytest.approx(exact, rel=1e-4)
        assert isinstance(res.flux, np.ndarray)
    with pytest.raises(omtcore.InvalidInputError, match="opencl"):
        omtcore.scalar_omt(a, b, device=queue, backend="cpu")


def test_pyopencl_arrays_in_and_out(cl):
    import pyopencl.array as cla

    ctx = cl.Context([cl.get_platforms()[0].get_devices()[0]])
    queue = cl.CommandQueue(ctx)
    a, b = random_pair((6, 5), seed=7)
    res = omtcore.scalar_omt(cla.to_device(queue, a), cla.to_device(queue, b), norm="anisotropic",
                             tol=TOL, dtype="float64")
    assert res.backend == "opencl"
    assert isinstance(res.flux, cla.Array) and isinstance(res.potential, cla.Array)
    assert res.flux.queue is queue and res.flux.shape == (2, 6, 5)
    host = omtcore.scalar_omt(a, b, norm="anisotropic", tol=TOL, dtype="float64", backend="opencl")
    np.testing.assert_allclose(res.flux.get(), host.flux)
    np.testing.assert_allclose(res.potential.get(), host.potential)
    assert res.distance == pytest.approx(emd_l1(a, b, 1.0), rel=1e-4)

    A = random_psd((3, 3), 2, seed=1)
    B = random_psd((3, 3), 2, seed=2)
    B *= np.trace(A, axis1=-2, axis2=-1).sum().real / np.trace(B, axis1=-2, axis2=-1).sum().real
    mres = omtcore.matrix_omt(cla.to_device(queue, A), cla.to_device(queue, B), tol=1e-4)
    assert isinstance(mres.flux, cla.Array) and mres.flux.dtype == np.complex128
    assert isinstance(mres.exchange, cla.Array) and mres.exchange.shape == (3, 3, 3, 2, 2)
    with pytest.raises(omtcore.InvalidInputError, match="not both"):
        omtcore.scalar_omt(cla.to_device(queue, a), cla.to_device(queue, b), device=0)
    with pytest.raises(omtcore.InvalidInputError, match="'opencl'"):
        omtcore.scalar_omt(cla.to_device(queue, a), cla.to_device(queue, b), backend="cpu")


def test_pip_only_route_through_pyopencls_loader():
    # Without a system loader (simulated: a library name that does not exist),
    # omtcore uses the loader bundled in pyopencl's wheel, which pyopencl has
    # loaded first; the ICDs it finds are the machine's (here /etc/OpenCL).
    pytest.importorskip("pyopencl", reason="pyopencl is an optional extra (omtcore[opencl])")
    use_backend("opencl")
    out = _run("""
        import os
        from omtcore._opencl_loader import use_pyopencl_loader_if_needed
        used = use_pyopencl_loader_if_needed("libOpenCL-that-does-not-exist.so.1")
        print(used, os.environ.get("OMTCORE_OPENCL_LIBRARY", ""))
        import omtcore
        (info,) = [i for i in omtcore.backends() if i.name == "opencl"]
        print(info.available, info.reason)
        r = omtcore.scalar_omt([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], norm="anisotropic", backend="opencl")
        print(round(r.distance, 4))
    """, OMTCORE_OPENCL_LIBRARY="")
    first, second, third = out.splitlines()[-3:]
    if first.startswith("False"):
        pytest.skip("this pyopencl wheel bundles no ICD loader (pyopencl/.libs)")
    assert "pyopencl" in first and ".libs" in first, first
    assert second.startswith("True"), second
    assert third == "2.0"


def test_concurrent_solves_from_threads(opencl):
    # Solves release the GIL: several threads share the cached program and the
    # device's queue, each with its own kernels and buffers.
    from concurrent.futures import ThreadPoolExecutor

    pairs = [random_pair((8, 9), seed=s) for s in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda ab: omtcore.scalar_omt(*ab, norm="anisotropic", backend="opencl",
                                                               tol=1e-6, dtype="float64"), pairs))
    for (a, b), res in zip(pairs, results):
        assert res.distance == pytest.approx(emd_l1(a, b, 1.0), rel=1e-5)


def test_device_without_double_precision(opencl, tmp_path):
    # OMTCORE_OPENCL_DISABLE_FP64 makes omtcore treat the devices as lacking
    # cl_khr_fp64: float64 is refused naming the device, float32 runs with the
    # potential and the reductions in float and still certifies its answer.
    out = _run("""
        import numpy as np, omtcore
        rng = np.random.default_rng(0)
        a = rng.random((12, 10)); b = rng.random((12, 10)); b *= a.sum() / b.sum()
        try:
            omtcore.scalar_omt(a, b, backend="opencl", dtype="float64")
        except omtcore.InvalidInputError as e:
            print("refused:", e)
        np.save("pair.npy", np.stack([a, b]))
        for norm in ("anisotropic", "isotropic"):
            r = omtcore.scalar_omt(a, b, backend="opencl", dtype="float32", norm=norm, tol=1e-4)
            c = omtcore.scalar_omt(a, b, backend="cpu", dtype="float64", norm=norm, tol=1e-7)
            print(norm, r.converged, r.lower_bound <= c.distance * (1 + 1e-12) and c.lower_bound <= r.distance * (1 + 1e-12),
                  abs(r.distance - c.distance) / c.distance, r.distance, r.lower_bound)
    """, cwd=tmp_path, OMTCORE_OPENCL_DISABLE_FP64="1")
    lines = out.splitlines()
    assert lines[0].startswith("refused:") and "cl_khr_fp64" in lines[0], out
    for line in lines[1:]:
        norm, converged, consistent, diff, distance, lower = line.split()
        assert converged == "True" and consistent == "True", line
        assert float(diff) <= 2e-4, line
        if norm == "anisotropic":  # the exact value, independently (POT)
            a, b = np.load(tmp_path / "pair.npy")
            exact = emd_l1(a, b, 1.0)
            assert float(lower) <= exact * (1 + 1e-9) and exact <= float(distance) * (1 + 1e-9)
            assert float(distance) == pytest.approx(exact, rel=2e-4)
