// Batches (solve_batch in omtcore/solve.hpp): every problem validated first,
// then solved by workers that take the next unsolved problem, while the
// calling thread reports on the whole batch and waits.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <new>
#include <thread>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/host_memory.hpp"
#include "core/problem.hpp"
#include "core/solve_loop.hpp"
#include "omtcore/errors.hpp"
#include "omtcore/solve.hpp"

namespace omtcore {

namespace {

// Problems below this many cells run side by side, one thread each: the CPU
// backend runs a scalar problem that small on one thread anyway
// (kMinParallelWork in cpu_backend.cpp), so side by side is where the other
// cores pay (benchmarks/RESULTS.md, "2026-12-03 · 2-core CPU · batches").
constexpr double kSideBySideCells = 32768;
// The calling thread reports on the batch at least this often.
constexpr auto kReportEvery = std::chrono::milliseconds(100);
// At most this many problems named in a validation error.
constexpr std::size_t kNamedProblems = 10;

int cores() {
#if defined(_OPENMP)
  return std::max(1, omp_get_num_procs());
#else
  return std::max(1u, std::thread::hardware_concurrency());
#endif
}

struct Batch {
  const SolveOptions* options = nullptr;
  std::mutex callback_mutex;  // the caller's callback: one call at a time
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> next{0};
  std::mutex done_mutex;
  std::condition_variable done_changed;
  std::int64_t done = 0;  // under done_mutex

  bool call(Progress progress) {
    if (!options->callback) return !stop;
    std::lock_guard<std::mutex> lock(callback_mutex);
    if (stop) return false;
    if (!options->callback(progress, options->callback_data)) stop = true;
    return !stop;
  }
};

// One worker's view: the batch and the problem it is solving.
struct Slot {
  Batch* batch = nullptr;
  std::int64_t index = 0;
};

bool forward(const Progress& progress, void* data) {
  const auto* slot = static_cast<const Slot*>(data);
  Batch& batch = *slot->batch;
  if (batch.stop) return false;
  if (!batch.options->callback) return true;
  Progress mine = progress;
  mine.problem = slot->index;
  {
    std::lock_guard<std::mutex> lock(batch.done_mutex);
    mine.problems_done = batch.done;
  }
  return batch.call(mine);
}

// The error of problem `index`, its index in the message, of the same kind.
[[noreturn]] void rethrow_for(std::int64_t index, const std::exception_ptr& error) {
  const std::string where = "problem " + std::to_string(index) + " of the batch: ";
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    const std::string message = where + e.what();
    switch (e.kind()) {
      case ErrorKind::invalid_input: throw InvalidInputError(message);
      case ErrorKind::backend_unavailable: throw BackendUnavailableError(message);
      case ErrorKind::device_memory: throw DeviceMemoryError(message);
      case ErrorKind::device: throw DeviceError(message);
      default: throw Error(e.kind(), message);
    }
  } catch (const std::bad_alloc&) {
    throw DeviceMemoryError(where + "host memory ran out (std::bad_alloc)");
  }
}

// Each problem is prepared here and again by its solve: keeping B prepared
// problems would hold B domains and balances at once, and preparing is a
// pass over the inputs, small beside the iterations.
template <class Problem>
void validate(const std::vector<Problem>& problems, const std::vector<const Result*>& initial) {
  std::vector<std::int64_t> bad;
  std::string first;
  for (std::size_t i = 0; i < problems.size(); ++i) {
    try {
      const detail::Problem prepared = detail::prepare(problems[i]);
      if (!initial.empty() && initial[i]) detail::check_warm_start(prepared, *initial[i]);
    } catch (const InvalidInputError& e) {
      if (bad.empty()) first = e.what();
      bad.push_back(std::int64_t(i));
    }
  }
  if (bad.empty()) return;
  std::string list;
  for (std::size_t j = 0; j < std::min(bad.size(), kNamedProblems); ++j)
    list += (j ? ", " : "") + std::to_string(bad[j]);
  if (bad.size() > kNamedProblems) list += ", ... (" + std::to_string(bad.size()) + " in all)";
  throw InvalidInputError("batch problem" + std::string(bad.size() > 1 ? "s " : " ") + list + ": problem " +
                          std::to_string(bad[0]) + ": " + first);
}

// The name of the device with `threads` threads (the CPU backend's name counts them).
std::string call_device(const detail::BackendEntry& entry, const SolveOptions& options, int threads) {
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::string name = detail::device_name(entry, options);
  omp_set_num_threads(saved);
  return name;
#else
  (void)threads;
  return detail::device_name(entry, options);
#endif
}

Result not_started(const detail::BackendEntry& entry, const SolveOptions& options) {
  Result r;
  r.distance = std::numeric_limits<double>::infinity();
  r.lower_bound = 0;
  r.gap = 1;
  r.residual = std::numeric_limits<double>::infinity();
  r.stopped_by_callback = true;
  r.backend = entry.name;
  r.device = detail::device_name(entry, options);
  r.dtype = to_string(options.dtype);
  r.method = to_string(options.method);
  return r;
}

template <class Problem>
std::vector<Result> run_batch(const std::vector<Problem>& problems, const SolveOptions& options, bool keep_fields,
                              const std::vector<const Result*>& initial) {
  detail::check_options(options);
  if (options.initial)
    throw InvalidInputError("a batch takes its warm starts one per problem (solve_batch's `initial`), "
                            "not SolveOptions::initial");
  if (!initial.empty() && initial.size() != problems.size())
    throw InvalidInputError("a batch of " + std::to_string(problems.size()) + " problems got " +
                            std::to_string(initial.size()) + " warm starts (one per problem, or none)");
  const detail::BackendEntry& entry = detail::pick_backend(options.backend);
  validate(problems, initial);
  const std::int64_t count = std::int64_t(problems.size());
  std::vector<Result> results(problems.size());
  if (count == 0) return results;

  // How many problems at once: side by side on the CPU while small, and as
  // many as host memory holds beside the results kept.
  const bool cpu = entry.name == "cpu";
  const int threads = options.threads > 0 ? options.threads : cores();
  double most_cells = 0, peak = 0, kept = 0;
  for (const auto& p : problems) {
    const detail::ProblemSize size = detail::problem_size(p);
    most_cells = std::max(most_cells, size.cells);
    peak = std::max(peak, detail::host_peak_bytes(size, options.dtype, cpu));
    if (keep_fields) kept += detail::result_bytes(size);
  }
  std::int64_t workers = cpu && most_cells < kSideBySideCells ? std::min<std::int64_t>(threads, count) : 1;
  if (kept + double(workers) * peak >= detail::kUncheckedBytes) {
    const detail::HostRoom room = detail::host_room();
    if (kept + peak > room.bytes)
      throw DeviceMemoryError("host memory: this batch needs about " + detail::mib(kept) + " for the results kept and " +
                              detail::mib(peak) + " for one solve; " + detail::mib(room.bytes) +
                              " can be allocated (" + room.limit +
                              "); solve it in parts, or without its fields (keep_fields false, fields=False)");
    workers = std::clamp<std::int64_t>(std::int64_t((room.bytes - kept) / peak), 1, workers);
  }

  Batch batch;
  batch.options = &options;
  SolveOptions each = options;
  each.threads = workers > 1 ? 1 : options.threads;
  each.callback = forward;
  std::vector<std::exception_ptr> errors(problems.size());
  std::vector<char> started(problems.size(), 0);  // not vector<bool>: written by several threads
  std::vector<Slot> slots{std::size_t(workers)};
  auto work = [&](Slot& slot) {
    SolveOptions mine = each;
    mine.callback_data = &slot;
    for (;;) {
      if (batch.stop) break;
      const std::int64_t i = batch.next.fetch_add(1);
      if (i >= count) break;
      slot.index = i;
      started[std::size_t(i)] = 1;  // each index is written by one worker only
      mine.initial = initial.empty() ? nullptr : initial[std::size_t(i)];
      try {
        results[std::size_t(i)] = solve(problems[std::size_t(i)], mine);
        if (!keep_fields) {
          Result& r = results[std::size_t(i)];
          std::vector<double>().swap(r.flux);
          std::vector<double>().swap(r.exchange);
          std::vector<double>().swap(r.potential);
          std::vector<double>().swap(r.source);
        }
      } catch (...) {
        errors[std::size_t(i)] = std::current_exception();
        batch.stop = true;
      }
      {
        std::lock_guard<std::mutex> lock(batch.done_mutex);
        ++batch.done;
      }
      batch.done_changed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(slots.size());
  for (auto& slot : slots) {
    slot.batch = &batch;
    pool.emplace_back(work, std::ref(slot));
  }
  // The calling thread reports on the whole batch: every kReportEvery and
  // whenever problems finish (so that a caller's Ctrl-C, which only this
  // thread may see, reaches the workers).
  {
    std::int64_t reported = -1;
    std::unique_lock<std::mutex> lock(batch.done_mutex);
    for (;;) {
      batch.done_changed.wait_for(lock, kReportEvery, [&] { return batch.done != reported; });
      const std::int64_t done = batch.done;
      lock.unlock();
      if (options.callback) {
        Progress report{0, 0.0, 0.0};
        report.problem = -1;
        report.problems_done = done;
        batch.call(report);
      }
      reported = done;
      if (done == count || batch.stop) break;  // stopped: the workers leave at their next check
      lock.lock();
    }
  }
  for (auto& t : pool) t.join();
  for (std::int64_t i = 0; i < count; ++i)
    if (errors[std::size_t(i)]) rethrow_for(i, errors[std::size_t(i)]);
  for (std::int64_t i = 0; i < count; ++i)
    if (!started[std::size_t(i)]) results[std::size_t(i)] = not_started(entry, options);
  // The device as the whole call used it (a worker's name says one thread).
  const std::string device = call_device(entry, options, workers > 1 ? int(workers) : threads);
  for (auto& r : results) r.device = device;
  return results;
}

}  // namespace

std::vector<Result> solve_batch(const std::vector<ScalarProblem>& problems, const SolveOptions& options,
                                bool keep_fields, const std::vector<const Result*>& initial) {
  return run_batch(problems, options, keep_fields, initial);
}
std::vector<Result> solve_batch(const std::vector<VectorProblem>& problems, const SolveOptions& options,
                                bool keep_fields, const std::vector<const Result*>& initial) {
  return run_batch(problems, options, keep_fields, initial);
}
std::vector<Result> solve_batch(const std::vector<MatrixProblem>& problems, const SolveOptions& options,
                                bool keep_fields, const std::vector<const Result*>& initial) {
  return run_batch(problems, options, keep_fields, initial);
}

}  // namespace omtcore
