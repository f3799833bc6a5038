// The device backends' host side, written once: every problem kind on one
// device, every array there, stepped by the kernels of kernels.cl. The API
// (OpenCL in opencl_backend.cpp, CUDA in cuda_backend.cu) comes in as `Api`,
// a small layer of buffers, copies, launches and synchronisation:
//
//   Real, Potential          iterate and potential types (float or double)
//   Kernel                   a handle of one of kernels.cl's kernels
//   alloc(bytes), release(h) device allocations (release static, noexcept)
//   zero, write, read        on allocations, at byte offsets (read waits for the data)
//   copy(from, at, to, to_at, bytes)  between allocations (or within one, not overlapping)
//   write_async(b, data, bytes)  as write, returning before the copy has run
//                            (data may be reused at once)
//   finish()                 waits for everything issued
//   gpu()                    whether the device is a GPU or accelerator (Backend::iteration_work)
//   check_memory(need, largest)  throws DeviceMemoryError before allocating
//   kernels(setup, index32)  the DeviceKernels for the problem's shape, the
//                            transforms' indices 32-bit where they fit and kNarrowIndices
//   cells(items, problems)   the launch range of a per-cell kernel, each problem
//                            of a batch in the second dimension (OMT_PROBLEM)
//   axis_range(inner, n, outer)  of a transform kernel (OMT_AXIS_ITEMS)
//   max_reduce_groups()      work-groups per problem a reduction may use
//   local_memory(), row_group()  work-group memory and size for omt_dct_rows
//   launch(kernel, range, args)  args: the flattened arguments (KernelArgs)
//   batch(count, key, run)   runs run(), count iterations (a CUDA graph may replay it)
//   scope(), drain()         RAII: the device current for a call (CUDA); drain()
//                            also waits for the device, throwing nothing
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "backends/device/dialect.h"
#include "backends/device/plan.hpp"
#include "transforms/fft.hpp"
#include "core/backend.hpp"
#include "omtcore/errors.hpp"

namespace omtcore::detail {

// A launch: `groups` work-groups of `size` work-items for each of `problems`
// (the second dimension); `fixed` says whether the group size must be `size`
// (else the runtime may pick it: OpenCL). An OpenCL transform's range is 3D
// instead: `axes` (inner, n, outer), the problems among the outer rows.
// `local_bytes`: the work-group memory of the kernel's scratch (OMT_SCRATCH).
struct LaunchRange {
  std::size_t groups, size;
  bool fixed;
  std::array<std::size_t, 3> axes{0, 0, 0};
  std::size_t problems = 1;
  std::size_t local_bytes = 0;
};

// A kernel's arguments as the bytes of each, in order.
struct KernelArgs {
  struct Slot {
    alignas(8) unsigned char bytes[8];
    std::size_t size;
  };
  static constexpr int kMax = 32;
  std::array<Slot, kMax> slot;
  int count = 0;
  template <class V>
  void add(const V& value) {
    static_assert(sizeof(V) <= 8, "kernel arguments are scalars or handles");
    std::memcpy(slot[count].bytes, &value, sizeof value);
    slot[count++].size = sizeof value;
  }
};

// One handle per kernel of kernels.cl, named as there without the omt_ prefix.
template <class Kernel>
struct DeviceKernels {
#define OMT_KERNEL_MEMBER(name, form) Kernel name;
  OMT_DEVICE_KERNELS(OMT_KERNEL_MEMBER)
#undef OMT_KERNEL_MEMBER
};

// Owns one device allocation.
template <class Api>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (handle_) Api::release(handle_);
  }
  void create(Api& api, std::size_t bytes) { handle_ = api.alloc(std::max<std::size_t>(bytes, 8)); }
  void* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  void* handle_ = nullptr;
};

// Arrays are (slot, plane, cells), a batch's problem per slot: the
// transforms treat the slots as more outer rows, per-cell kernels and
// reductions run each slot in their launch's second dimension. Problems
// that have stopped give up their slots: once a quarter of the slots in use
// hold stopped problems, the others move down (compact) and launches cover
// the slots still in use only.
template <class Api>
class DeviceBackend final : public Backend {
  using Real = typename Api::Real;
  using Potential = typename Api::Potential;
  using Array = DeviceArray<Api>;

 public:
  DeviceBackend(const ProblemSetup& setup, std::unique_ptr<Api> api)
      : api_(std::move(api)), dom_(*setup.grid.domain), pg_(setup.grid.poisson), d_(dom_.d), n_(dom_.cells),
        planes_(setup.planes),
        cols_(setup.blocks * setup.block_size), problems_(setup.problems), active_(setup.problems),
        pad_(dom_.stride[0]) {
    for (int b = 0; b < problems_; ++b) {
      slot_of_.push_back(b);
      problem_in_.push_back(b);
    }
    for (int s = 0; s < 3; ++s) inv_h_[s] = setup.grid.inv_h[s];
    const std::int64_t total = std::int64_t(problems_) * planes_ * n_,
                       poisson_total = std::int64_t(problems_) * planes_ * pg_.cells;
    fft_items_ = poisson_total;
    for (int s = 0; s < d_; ++s)
      if (uses_chirp_z(pg_.n[s]))
        fft_items_ = std::max(fft_items_, poisson_total / pg_.n[s] * chirp_z_length(pg_.n[s]));
    const LaunchRange all = api_->cells(total);
    index32_ = Api::kNarrowIndices && fft_items_ + std::int64_t(all.groups * all.size) < INT_MAX;
    transform_ = device_transform_from_environment(api_->gpu());
    auto scope = api_->scope();
    kernels_ = api_->kernels(setup, index32_);
    auto arrays = std::make_unique<Arrays>();
    allocate(setup, *arrays);
    a_ = std::move(arrays);  // on a throw above, freed while the device is current
  }

  // Errors are ignored here: a destructor must not throw, and a failed solve
  // has already reported its error. Nothing may still run on the arrays.
  ~DeviceBackend() override {
    auto quiet = api_->drain();
    a_.reset();
  }

  void iterate(const Steps& steps) override {
    auto scope = api_->scope();
    int stopped = 0;
    for (int s = 0; s < active_; ++s) stopped += steps.mu[problem_in_[s]] == 0;
    if (stopped == active_) return;
    if (stopped > 0 && 4 * stopped >= active_) compact(steps);
    const std::size_t B = std::size_t(problems_), S = std::size_t(active_);
    for (int first = 0; first < steps.count; first += int(Api::kMaxBatch)) {
      const int count = std::min(int(Api::kMaxBatch), steps.count - first);
      staged_.resize(3 * S * std::size_t(count));
      for (int j = 0; j < count; ++j)
        for (std::size_t slot = 0; slot < S; ++slot) {
          const std::size_t b = std::size_t(problem_in_[slot]);
          Potential* at = &staged_[3 * (std::size_t(j) * S + slot)];
          at[0] = Potential(steps.mu[b]);
          at[1] = Potential(steps.tau[b]);
          at[2] = Potential(steps.lambda[std::size_t(first + j) * B + b]);
        }
      api_->write_async(a_->steps.get(), staged_.data(), staged_.size() * sizeof(Potential));
      const int key = ((active_ * (Api::kMaxBatch + 1) + count) * 2 + int(steps.preconditioned)) * 2 + int(steps.halpern);
      api_->batch(count, key, [&] {
        for (int j = 0; j < count; ++j) {
          primal(j, steps.halpern);
          dual(j, steps.preconditioned, steps.halpern);
        }
      });
    }
  }

  std::vector<double> residual_l1() override {
    auto scope = api_->scope();
    const std::vector<double> sums = reduce(kernels_.violation, 1, geometry(), a_->bits, a_->coupling, a_->v, a_->x, a_->rhs);
    std::vector<double> out(static_cast<std::size_t>(problems_), 0.0);
    for (int s = 0; s < active_; ++s) out[problem_in_[s]] = sums[s];
    return out;
  }

  void save_restart_point(int problem) override {
    auto scope = api_->scope();
    if (!a_->vr) {
      create_zeroed(a_->vr, v_bytes_);  // saved slot by slot: the rest must hold numbers too
      create_zeroed(a_->xr, x_bytes_);
      create_zeroed(a_->phir, phi_bytes_);
    }
    copy_iterate(a_->vr, a_->xr, a_->phir, slot_of_[problem]);
  }

  void save_anchor() override {
    auto scope = api_->scope();
    copy_iterate(a_->v0, a_->x0, a_->phi0, -1);
  }

  std::vector<std::array<double, 2>> anchor_distances() override {
    auto scope = api_->scope();
    const auto sums = reduce(kernels_.movement, 2, geometry(), a_->bits, a_->coupling, a_->v, a_->v0, a_->x,
                             a_->x0, a_->phi, a_->phi0);
    std::vector<std::array<double, 2>> out(static_cast<std::size_t>(problems_), {0.0, 0.0});
    for (int s = 0; s < active_; ++s) out[problem_in_[s]] = {sums[2 * s], sums[2 * s + 1]};
    return out;
  }

  void read_flux(int problem, std::vector<double>& v) override {
    v = read<Real>(a_->v, pad_ + slot_of_[problem] * flux_size(), std::size_t(flux_size()));
  }
  void read_potential(int problem, std::vector<double>& phi) override {
    phi = read<Potential>(a_->phi, slot_of_[problem] * plane_size(), std::size_t(plane_size()));
  }
  void read_exchange(int problem, std::vector<double>& x) override {
    x = read<Real>(a_->x, slot_of_[problem] * exchange_size(), std::size_t(exchange_size()));
  }

  void write_slice(int problem, Slice slice, int index, const std::vector<double>& values) override {
    const std::int64_t at = std::int64_t(index) * n_;
    problem = slot_of_[problem];
    if (slice == Slice::potential)
      write<Potential>(a_->phi, problem * plane_size() + at, values);
    else if (slice == Slice::flux)
      write<Real>(a_->v, pad_ + problem * flux_size() + at, values);
    else
      write<Real>(a_->x, problem * exchange_size() + at, values);
  }

  void finish() override {
    auto scope = api_->scope();
    api_->finish();
  }
  double iteration_work() const override {
    return (api_->gpu() ? kGpuIterationWork : kCpuIterationWork) * double(n_) * (planes_ + 0.5 * cols_);
  }

 private:
  using Kernel = typename Api::Kernel;

  // Every device array, freed together (see the destructor).
  struct Arrays {
    Array v, vbar, v0, vr, x, xbar, x0, xr, phi, phi0, phir, r, rhs, bits, partial, steps;
    Array extended;                                        // the extended Poisson rectangle, if any
    Array coupling, threshold, modes, shift, eigenvalue;
    Array fft_re[2], fft_im[2];                             // the FFT's ping-pong buffers
    Array cosines[3], sines[3], scale[3], fft_table[3];  // per axis
    Array row_roots[3];                                  // per axis run by omt_dct_rows
  };

  // Kernel arguments whose device type depends on the problem.
  struct IndexArg {  // omt_transform_t
    std::int64_t value;
  };
  struct StepArg {  // iteration j of the staged run: the steps and where j's start
    int j;
  };
  struct Geometry {};  // n, vpad, strides, inverse spacings (OMT_GEOMETRY_PARAMS)
  Geometry geometry() const { return {}; }

  void put(KernelArgs& a, const Array& b) { a.add(b.get()); }
  void put(KernelArgs& a, std::int64_t v) { a.add(v); }
  void put(KernelArgs& a, int v) { a.add(v); }
  void put(KernelArgs& a, IndexArg v) { index32_ ? a.add(int(v.value)) : a.add(v.value); }
  void put(KernelArgs& a, StepArg s) {
    a.add(a_->steps.get());
    a.add(s.j * active_);
  }
  void put(KernelArgs& a, Geometry) {
    a.add(n_);
    a.add(pad_);
    for (int s = 0; s < 3; ++s) a.add(std::int64_t(dom_.stride[s]));
    for (int s = 0; s < 3; ++s) a.add(Real(inv_h_[s]));
  }
  template <class... A>
  void launch(const Kernel& k, const LaunchRange& range, const A&... args) {
    KernelArgs a;
    (put(a, args), ...);
    api_->launch(k, range, a);
  }

  void allocate(const ProblemSetup& setup, Arrays& a) {
    const std::size_t n = std::size_t(n_), B = std::size_t(problems_), P = B * std::size_t(planes_),
                      real = sizeof(Real);
    v_bytes_ = (std::size_t(pad_) + P * d_ * n) * real;
    x_bytes_ = B * std::size_t(cols_) * n * real;
    phi_bytes_ = (P * n + std::size_t(pad_)) * sizeof(Potential);
    // Axes of OMTCORE_DEVICE_TRANSFORM=rows run in work-group memory; the
    // FFT's buffers serve the others only.
    bool stage_axes = false;
    for (int s = 0; s < d_; ++s) {
      if (transform_ == DeviceTransform::rows)
        rows_[s] = plan_axis_rows(pg_.n[s], pg_.stride[s], std::int64_t(P) * pg_.cells / pg_.n[s], real,
                                  std::min<std::size_t>(api_->local_memory(), 48 << 10), api_->row_group());
      stage_axes = stage_axes || (pg_.n[s] > 1 && rows_[s].tile == 0);
    }
    const std::size_t plane_bytes = P * n * real, fft_bytes = stage_axes ? std::size_t(fft_items_) * real : 0;
    // The iterate, extrapolation, anchor and restart point of v, x and phi;
    // residual, right-hand side and the FFT's two complex buffers (longer
    // than a plane where an axis runs by chirp-z); the eigenvalues and bits;
    // the rest (tables, coupling) is small.
    const std::size_t extended_bytes = pg_.extends(dom_) ? P * std::size_t(pg_.cells) * real : 0;
    api_->check_memory(4 * (v_bytes_ + x_bytes_ + phi_bytes_) + 2 * plane_bytes + extended_bytes + 4 * fft_bytes +
                           std::size_t(pg_.cells) * real + n,
                       std::max({v_bytes_, x_bytes_, phi_bytes_, fft_bytes}));
    for (Array* b : {&a.v, &a.vbar, &a.v0}) create_zeroed(*b, v_bytes_);  // padding too (cell_math.h)
    for (Array* b : {&a.x, &a.xbar, &a.x0}) create_zeroed(*b, x_bytes_);
    for (Array* b : {&a.phi, &a.phi0}) create_zeroed(*b, phi_bytes_);
    a.r.create(*api_, plane_bytes);
    if (extended_bytes) a.extended.create(*api_, extended_bytes);
    for (Array* b : {&a.fft_re[0], &a.fft_im[0], &a.fft_re[1], &a.fft_im[1]}) b->create(*api_, fft_bytes);
    a.partial.create(*api_, 2 * B * api_->max_reduce_groups() * sizeof(Potential));
    a.steps.create(*api_, 3 * B * Api::kMaxBatch * sizeof(Potential));
    upload(a.rhs, setup.rhs);
    a.bits.create(*api_, n);
    api_->write(a.bits.get(), 0, dom_.bits.data(), n);
    upload(a.coupling, setup.packed_coupling());  // field_math.h's packed layout
    upload(a.threshold, setup.threshold.empty() ? std::vector<double>{0.0} : setup.threshold);
    upload(a.modes, setup.modes.empty() ? std::vector<double>{1.0} : setup.modes);
    upload(a.shift, setup.shift.empty() ? std::vector<double>(std::size_t(planes_), 0.0) : setup.shift);
    // The Poisson solve: per axis, the DCT's twiddles and scaling and the
    // FFT's stages, and the Laplacian's eigenvalue per transform coefficient.
    for (int s = 0; s < d_; ++s) {
      AxisDct plan = plan_axis_dct(pg_.n[s]);
      upload(a.cosines[s], plan.cosines);
      upload(a.sines[s], plan.sines);
      upload(a.scale[s], plan.scale);
      upload(a.fft_table[s], plan.table);
      if (rows_[s].tile) upload(a.row_roots[s], rows_[s].roots);
      fft_[s] = {std::move(plan.stages), plan.chirp_length, plan.chirp, plan.kernel};
    }
    upload(a.eigenvalue, laplacian_per_cell(setup.grid));
    api_->finish();  // lazily allocating drivers report a shortage here, not later
  }

  void create_zeroed(Array& b, std::size_t bytes) {
    b.create(*api_, bytes);
    if (bytes) api_->zero(b.get(), bytes);
  }
  void upload(Array& b, const std::vector<double>& values) {
    b.create(*api_, values.size() * sizeof(Real));
    write<Real>(b, 0, values);
  }
  // The iterate into (v, x, phi): one slot's part, or (slot < 0) that of
  // every slot in use, with the padding before the first and after the last.
  void copy_iterate(const Array& v, const Array& x, const Array& phi, int slot) {
    const std::size_t real = sizeof(Real), pot = sizeof(Potential);
    const std::size_t first = std::size_t(std::max(slot, 0)), slots = slot < 0 ? std::size_t(active_) : 1;
    const std::size_t vb = std::size_t(flux_size()) * real, xb = std::size_t(exchange_size()) * real,
                      pb = std::size_t(plane_size()) * pot, pad_v = std::size_t(pad_) * real,
                      pad_phi = std::size_t(pad_) * pot;
    const std::tuple<const Array*, const Array*, std::size_t, std::size_t> parts[] = {
        slot < 0 ? std::tuple{&a_->v, &v, std::size_t(0), pad_v + slots * vb} : std::tuple{&a_->v, &v, pad_v + first * vb, vb},
        {&a_->x, &x, first * xb, slots * xb},
        {&a_->phi, &phi, first * pb, slots * pb + (slot < 0 ? pad_phi : 0)}};
    for (auto [from, to, offset, bytes] : parts)
      if (bytes) api_->copy(from->get(), offset, to->get(), offset, bytes);
  }

  // Moves the problems still running (mu > 0) to the lowest slots, in order.
  void compact(const Steps& steps) {
    const std::size_t real = sizeof(Real), pot = sizeof(Potential);
    const std::size_t vb = std::size_t(flux_size()) * real, xb = std::size_t(exchange_size()) * real,
                      pb = std::size_t(plane_size()) * pot, rb = std::size_t(plane_size()) * real;
    const std::size_t v_at = std::size_t(pad_) * real;
    int to = 0;
    for (int s = 0; s < active_; ++s) {
      const int problem = problem_in_[s];
      if (steps.mu[problem] == 0) {
        slot_of_[problem] = -1;
        continue;
      }
      if (to != s) {
        auto move = [&](const Array& b, std::size_t offset, std::size_t bytes) {
          if (b && bytes) api_->copy(b.get(), offset + s * bytes, b.get(), offset + to * bytes, bytes);
        };
        for (const Array* b : {&a_->v, &a_->vbar, &a_->v0, &a_->vr}) move(*b, v_at, vb);
        for (const Array* b : {&a_->x, &a_->xbar, &a_->x0, &a_->xr}) move(*b, 0, xb);
        for (const Array* b : {&a_->phi, &a_->phi0, &a_->phir}) move(*b, 0, pb);
        move(a_->rhs, 0, rb);
      }
      slot_of_[problem] = to;
      problem_in_[to++] = problem;
    }
    active_ = to;
    problem_in_.resize(std::size_t(to));
  }
  // Entries of one problem's flux (planes * d, cells), potential (planes, cells) and exchange (columns, cells).
  std::int64_t flux_size() const { return std::int64_t(planes_) * d_ * n_; }
  std::int64_t plane_size() const { return std::int64_t(planes_) * n_; }
  std::int64_t exchange_size() const { return std::int64_t(cols_) * n_; }

  void primal(int j, bool halpern) {
    launch(kernels_.primal, api_->cells(n_, active_), geometry(), StepArg{j}, a_->bits, a_->phi, a_->coupling,
           a_->threshold, halpern ? a_->vr : a_->v, a_->v, a_->vbar, halpern && cols_ > 0 ? a_->xr : a_->x, a_->x,
           a_->xbar);
  }

  void dual(int j, bool preconditioned, bool halpern) {
    launch(kernels_.residual, api_->cells(n_, active_), geometry(), a_->bits, a_->coupling, a_->vbar, a_->xbar,
           a_->rhs, a_->r);
    if (preconditioned) {
      if (planes_ > 1) launch(kernels_.modes, api_->cells(n_, active_), n_, 1, a_->modes, a_->r);
      poisson();
      if (planes_ > 1) launch(kernels_.modes, api_->cells(n_, active_), n_, 0, a_->modes, a_->r);
    }
    launch(kernels_.dual_update, api_->cells(plane_size(), active_), plane_size(), StepArg{j}, int(halpern), a_->r,
           halpern ? a_->phir : a_->phi, a_->phi);
  }

  // r <- (Laplacian (x) I + I (x) diag(shift))^+ r for all planes at once:
  // DCT along each axis, divide by the eigenvalues, inverse DCTs, in place.
  // On an extended Poisson grid the solve runs on the rectangle
  // (PoissonGrid, core/backend.hpp): r is extended by zeros and restricted back.
  void poisson() {
    const bool extended = pg_.extends(dom_);
    const std::int64_t total = std::int64_t(active_) * planes_ * pg_.cells;
    const IndexArg big{pg_.cells}, N1{pg_.n[1]}, N2{pg_.n[2]}, n0{dom_.n[0]}, n1{dom_.n[1]}, n2{dom_.n[2]};
    if (extended) launch(kernels_.extend, api_->cells(total), IndexArg{total}, big, N1, N2, n0, n1, n2, a_->r, a_->extended);
    const Array& y = extended ? a_->extended : a_->r;
    // By rows, the last axis' forward DCT, the division and its inverse are one launch.
    const bool fused = rows_[d_ - 1].tile > 0;
    for (int s = 0; s < d_ - int(fused); ++s) dct(s, false, y);
    if (fused)
      dct_rows(d_ - 1, false, true, y);
    else
      launch(kernels_.divide, api_->cells(total), big, IndexArg{total}, planes_, a_->eigenvalue, a_->shift, y);
    for (int s = d_ - 1 - int(fused); s >= 0; --s) dct(s, true, y);
    const std::int64_t grid_total = std::int64_t(active_) * planes_ * n_;
    if (extended)
      launch(kernels_.restrict, api_->cells(grid_total), IndexArg{grid_total}, big, N1, N2, n0, n1, n2, a_->extended,
             a_->r);
  }

  // r <- its orthonormal DCT-II along axis s (inverse: DCT-III), every plane:
  // the FFT's stages (stage_role), then the post-pass where it is separate.
  void dct(int s, bool inverse, const Array& y) {
    if (rows_[s].tile) return dct_rows(s, inverse, false, y);
    if (fft_[s].chirp_length) return chirp_z_dct(s, inverse, y);
    const IndexArg len{pg_.n[s]}, inner{pg_.stride[s]}, total{std::int64_t(active_) * planes_ * pg_.cells};
    const LaunchRange range = api_->axis_range(inner.value, len.value, total.value / (len.value * inner.value));
    const std::vector<FftStage>& stages = fft_[s].stages;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const FftStage& st = stages[i];
      const StageRole role = stage_role(i, stages.size());
      launch(kernels_.fft_stage, range, total, len, inner, st.radix, IndexArg{st.span}, st.twiddles, st.roots,
             a_->fft_table[s], role.first, role.last, int(inverse), y, a_->cosines[s], a_->sines[s],
             a_->scale[s], a_->fft_re[role.in], a_->fft_im[role.in], a_->fft_re[role.out], a_->fft_im[role.out]);
    }
    if (stages.size() == 1)
      launch(kernels_.dct_post, range, total, len, inner, int(inverse), a_->fft_re[0], a_->fft_im[0], a_->cosines[s],
             a_->sines[s], a_->scale[s], y);
  }

  // As dct, by omt_dct_rows: a work-group per tile of lines (plan_axis_rows);
  // fused: the forward DCT, the division by the eigenvalues and the inverse.
  void dct_rows(int s, bool inverse, bool fused, const Array& y) {
    const AxisRows& plan = rows_[s];
    const std::int64_t n = pg_.n[s], inner = pg_.stride[s], total = std::int64_t(active_) * planes_ * pg_.cells,
                       lines = total / n, tile = plan.tile;
    const std::int64_t groups = inner == 1 ? (lines + tile - 1) / tile : total / (n * inner) * ((inner + tile - 1) / tile);
    const LaunchRange range{std::size_t(groups), std::size_t(api_->row_group()), true, {0, 0, 0}, 1,
                            plan.local_bytes(n, sizeof(Real))};
    launch(kernels_.dct_rows, range, IndexArg{lines}, IndexArg{n}, IndexArg{inner}, plan.tile, int(inverse),
           int(fused), plan.radices, a_->row_roots[s], a_->cosines[s], a_->sines[s], a_->scale[s],
           IndexArg{pg_.cells}, planes_, a_->eigenvalue, a_->shift, y);
  }

  // As dct, by the chirp-z transform (kernels.cl): rows padded to the
  // convolution length in the FFT's buffers, two FFTs of that length.
  void chirp_z_dct(int s, bool inverse, const Array& y) {
    const AxisFft& fft = fft_[s];
    const IndexArg len{pg_.n[s]}, padded{fft.chirp_length}, inner{pg_.stride[s]},
        total{std::int64_t(active_) * planes_ * pg_.cells};
    const std::int64_t outer = total.value / (len.value * inner.value);
    const IndexArg padded_total{outer * padded.value * inner.value};
    const LaunchRange rows = api_->axis_range(inner.value, len.value, outer);
    const LaunchRange padded_rows = api_->axis_range(inner.value, padded.value, outer);
    launch(kernels_.chirp_in, padded_rows, padded_total, len, padded, inner, int(inverse), y, a_->cosines[s],
           a_->sines[s], a_->scale[s], a_->fft_table[s], fft.chirp, a_->fft_re[0], a_->fft_im[0]);
    int cur = 0;
    auto stages = [&] {
      for (const FftStage& st : fft.stages) {
        launch(kernels_.fft_stage, padded_rows, padded_total, padded, inner, st.radix, IndexArg{st.span},
               st.twiddles, st.roots, a_->fft_table[s], 0, 0, int(inverse), y, a_->cosines[s], a_->sines[s],
               a_->scale[s], a_->fft_re[cur], a_->fft_im[cur], a_->fft_re[cur ^ 1], a_->fft_im[cur ^ 1]);
        cur ^= 1;
      }
    };
    stages();
    launch(kernels_.chirp_multiply, padded_rows, padded_total, padded, inner, a_->fft_table[s], fft.kernel,
           a_->fft_re[cur], a_->fft_im[cur]);
    stages();
    launch(kernels_.chirp_out, rows, total, len, padded, inner, int(inverse), a_->fft_re[cur], a_->fft_im[cur],
           a_->fft_table[s], fft.chirp, a_->cosines[s], a_->sines[s], a_->scale[s], y);
  }

  // Runs a reduction kernel and sums each slot's work-groups' `values`
  // partial sums on the host, in double: (slot, value) for the slots in use.
  template <class... A>
  std::vector<double> reduce(const Kernel& k, int values, const A&... args) {
    const std::size_t wanted = (std::size_t(n_) + OMT_REDUCE_GROUP - 1) / OMT_REDUCE_GROUP;
    const std::size_t groups = std::max<std::size_t>(1, std::min(wanted, api_->max_reduce_groups()));
    const std::size_t B = std::size_t(active_);
    launch(k, LaunchRange{groups, OMT_REDUCE_GROUP, true, {0, 0, 0}, B}, args..., a_->partial);
    const std::vector<double> partial = read<Potential>(a_->partial, 0, B * groups * values);
    std::vector<double> sums(B * values, 0.0);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t g = 0; g < groups; ++g)
        for (int j = 0; j < values; ++j) sums[b * values + j] += partial[(b * groups + g) * values + j];
    return sums;
  }

  // `count` values of type U from entry `offset`, as double.
  template <class U>
  std::vector<double> read(const Array& b, std::int64_t offset, std::size_t count) {
    auto scope = api_->scope();
    std::vector<U> host(count);
    if (count) api_->read(b.get(), std::size_t(offset) * sizeof(U), host.data(), count * sizeof(U));
    return std::vector<double>(host.begin(), host.end());
  }
  // `values` as U from entry `offset` (the call returns once they are staged).
  template <class U>
  void write(const Array& b, std::int64_t offset, const std::vector<double>& values) {
    auto scope = api_->scope();
    const std::vector<U> converted(values.begin(), values.end());
    if (!values.empty()) api_->write(b.get(), std::size_t(offset) * sizeof(U), converted.data(), values.size() * sizeof(U));
  }

  std::unique_ptr<Api> api_;
  const Domain& dom_;
  const PoissonGrid pg_;  // the rectangle of the Poisson solve (the grid, or extended)
  int d_;
  std::int64_t n_;
  int planes_, cols_, problems_;
  int active_;                                // slots in use
  std::vector<int> slot_of_, problem_in_;     // problem -> slot (-1: stopped), slot -> problem
  std::int64_t pad_;
  double inv_h_[3];
  bool index32_ = true;
  std::size_t v_bytes_ = 0, x_bytes_ = 0, phi_bytes_ = 0;
  DeviceKernels<Kernel> kernels_{};
  std::unique_ptr<Arrays> a_;
  std::vector<Potential> staged_;  // a run's step sizes on their way to a_->steps
  struct AxisFft {  // the FFT of an axis (plan_axis_dct)
    std::vector<FftStage> stages;
    std::int64_t chirp_length = 0, chirp = 0, kernel = 0;
  };
  AxisFft fft_[3];
  DeviceTransform transform_ = DeviceTransform::stages;
  AxisRows rows_[3];  // tile 0: the axis runs by the FFT's stages
  std::int64_t fft_items_ = 0;  // complex entries of an FFT buffer: the longest padded axis
};

template <class Api, class... A>
std::unique_ptr<Backend> make_device_backend(const ProblemSetup& setup, A&&... api_args) {
  return std::make_unique<DeviceBackend<Api>>(setup, std::make_unique<Api>(std::forward<A>(api_args)...));
}

// A backend's devices (`device=` indexes them), or why there are none.
template <class Ref>
struct DeviceList {
  std::vector<Ref> devices;
  std::string why;
};

// The index in a list of `count` devices that options.device names (-1: `fallback`).
inline std::size_t device_index(const std::string& backend, const char* queue_kind, std::size_t count,
                                const SolveOptions& options, std::size_t fallback) {
  if (options.native_queue && options.device >= 0)
    throw InvalidInputError("pass either device= or a native " + std::string(queue_kind) + " to the " + backend +
                            " backend, not both");
  if (options.device >= 0 && std::size_t(options.device) >= count)
    throw InvalidInputError("the " + backend + " backend has " + std::to_string(count) + " device(s) (indices 0.." +
                            std::to_string(int(count) - 1) + "); got device=" + std::to_string(options.device));
  return options.device < 0 ? fallback : std::size_t(options.device);
}

// The registry entry of a device backend: `discover()` lists its devices
// (each with a `name`), `target(options)` is the device a solve runs on
// (`.dev.name`), `make` builds the backend.
template <class Discover, class Target>
BackendEntry device_backend_entry(const std::string& name, Discover discover, Target target,
                                  std::unique_ptr<Backend> (*make)(const ProblemSetup&, const SolveOptions&),
                                  std::function<bool()> accelerates) {
  BackendEntry e;
  e.name = name;
  e.probe = [name, discover] {
    const auto& found = discover();
    BackendInfo info{name, !found.devices.empty(), found.why, {}};
    for (const auto& dev : found.devices) info.devices.push_back(dev.name);
    return info;
  };
  e.make = make;
  e.device_name = [target](const SolveOptions& options) { return target(options).dev.name; };
  e.accelerates = std::move(accelerates);
  e.batches = true;
  return e;
}

}  // namespace omtcore::detail
