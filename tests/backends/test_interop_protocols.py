"""CUDA arrays are recognised by protocol (DLPack's __dlpack_device__ first,
__cuda_array_interface__ as the fallback), not by the name of their module.
Small fake objects stand in for the libraries: nothing here needs CUDA (the
real CuPy and PyTorch round trips are test_cuda_interop.py)."""

import numpy as np
import pytest

import omtcore
from omtcore import interop
from omtcore.interop import CudaArrayInfo, cuda_array_info


class DLPackOnly:
    """A DLPack producer: its device, and a host copy on request (DLPack 1.0)."""

    def __init__(self, host, device=(2, 0)):
        self.host = np.asarray(host, dtype=np.float64)
        self.device = device

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if dl_device is None or tuple(dl_device) != (1, 0):
            raise BufferError("this fake only exports copies to the host")
        return self.host.__dlpack__(max_version=max_version, dl_device=dl_device, copy=copy)


class InterfaceOnly:
    """A __cuda_array_interface__ producer (as pycuda's GPUArray) with get()."""

    def __init__(self, host, stream=None):
        self.host = np.asarray(host, dtype=np.float64)
        self.__cuda_array_interface__ = {"shape": self.host.shape, "typestr": "<f8",
                                         "data": (0xDEAD0000, False), "version": 3,
                                         "stream": stream}

    def get(self):
        return self.host.copy()


class Refusing:
    """A host object whose array interface refuses (as PyTorch CPU tensors do)."""

    @property
    def __cuda_array_interface__(self):
        raise AttributeError("not on a CUDA device")


class Both(InterfaceOnly):
    """DLPack and the array interface (as CuPy and PyTorch CUDA tensors)."""

    def __init__(self, host, device=(2, 1), stream=None):
        super().__init__(host, stream)
        self.device = device

    def __dlpack_device__(self):
        return self.device


def test_dlpack_cuda_and_managed_devices_are_cuda_arrays():
    assert cuda_array_info(DLPackOnly([1.0], (2, 3))) == CudaArrayInfo(device=3, stream=0)
    assert cuda_array_info(DLPackOnly([1.0], (13, 1))) == CudaArrayInfo(device=1, stream=0)


def test_dlpack_host_arrays_are_not_cuda_arrays():
    assert cuda_array_info(np.zeros(3)) is None  # numpy speaks DLPack, on the CPU
    assert cuda_array_info(DLPackOnly([1.0], (1, 0))) is None
    assert cuda_array_info(DLPackOnly([1.0], (3, 0))) is None  # pinned host memory
    assert cuda_array_info([1.0, 2.0]) is None
    assert cuda_array_info(Refusing()) is None


def test_cuda_array_interface_is_the_fallback_and_names_the_stream():
    assert cuda_array_info(InterfaceOnly([1.0])) == CudaArrayInfo(device=-1, stream=0)
    assert cuda_array_info(InterfaceOnly([1.0], stream=0x1234)).stream == 0x1234
    for default_stream in (1, 2):  # legacy and per-thread default streams cannot be handed on
        assert cuda_array_info(InterfaceOnly([1.0], stream=default_stream)).stream == 0


def test_dlpack_gives_the_device_and_the_interface_the_stream():
    assert cuda_array_info(Both([1.0], (2, 1), stream=0x99)) == CudaArrayInfo(device=1, stream=0x99)
    # a DLPack host array is not a CUDA array, whatever else it claims
    assert cuda_array_info(Both([1.0], (1, 0), stream=0x99)) is None


def test_host_copies_by_dlpack_else_by_the_producers_get():
    got = interop.to_host(DLPackOnly([1.0, 2.0]))
    np.testing.assert_array_equal(got, [1.0, 2.0])
    got = interop.to_host(InterfaceOnly([3.0, 4.0]))
    np.testing.assert_array_equal(got, [3.0, 4.0])


def test_unknown_producers_and_mixes_are_refused_before_any_solve():
    a, b = [1.0, 0.0], [0.0, 1.0]
    with pytest.raises(omtcore.InvalidInputError, match="CuPy, PyTorch and pycuda"):
        omtcore.scalar_omt(DLPackOnly(a), DLPackOnly(b))
    with pytest.raises(omtcore.InvalidInputError, match="mix"):
        omtcore.scalar_omt(DLPackOnly(a), np.array(b))
    with pytest.raises(omtcore.InvalidInputError, match="'cuda'"):
        omtcore.scalar_omt(InterfaceOnly(a), InterfaceOnly(b), backend="cpu")
    with pytest.raises(omtcore.InvalidInputError, match="different devices"):
        omtcore.scalar_omt(DLPackOnly(a, (2, 0)), DLPackOnly(b, (2, 1)))
