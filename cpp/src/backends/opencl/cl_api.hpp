// The OpenCL API, loaded at run time: omtcore never links libOpenCL, so the
// library (and the Python wheel) loads on machines without any OpenCL and the
// backend then reports why it is unavailable. Only OpenCL 1.2 entry points are
// used, which every ICD loader exports.
#pragma once

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <string>

namespace omtcore::detail::ocl {

// One pointer per entry point, named like the function it points to.
#define OMT_CL_FUNCTIONS(X)                                                                  \
  X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo)              \
  X(clCreateContext) X(clRetainContext) X(clReleaseContext) X(clGetContextInfo)              \
  X(clCreateCommandQueue) X(clRetainCommandQueue) X(clReleaseCommandQueue)                   \
  X(clGetCommandQueueInfo) X(clCreateBuffer) X(clReleaseMemObject)                           \
  X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clEnqueueCopyBuffer) X(clEnqueueFillBuffer) \
  X(clCreateProgramWithSource) X(clBuildProgram) X(clGetProgramBuildInfo) X(clReleaseProgram) \
  X(clCreateKernel) X(clReleaseKernel) X(clSetKernelArg) X(clGetKernelWorkGroupInfo)         \
  X(clEnqueueNDRangeKernel) X(clFinish)

struct Api {
#define OMT_CL_POINTER(f) decltype(&::f) f = nullptr;
  OMT_CL_FUNCTIONS(OMT_CL_POINTER)
#undef OMT_CL_POINTER
};

// The loaded API, or nullptr with `why` set (no loader, missing symbol).
// Loads once per process: OMTCORE_OPENCL_LIBRARY names the library to open,
// else libOpenCL.so.1 (libOpenCL.dylib / OpenCL.dll elsewhere).
const Api* api(std::string* why = nullptr);

// "CL_OUT_OF_RESOURCES (-5)" for an error code.
std::string error_name(cl_int code);

// Throws DeviceMemoryError for the allocation failures, Error otherwise,
// naming `what` and the code, when code != CL_SUCCESS.
void check(cl_int code, const char* what);

}  // namespace omtcore::detail::ocl
