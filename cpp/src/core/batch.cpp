// Batches (solve_batch in omtcore/solve.hpp): every problem validated first,
// then solved by workers that take the next unsolved problem, while the
// calling thread reports on the whole batch and waits.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <new>
#include <thread>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/host_memory.hpp"
#include "core/multilevel.hpp"
#include "core/problem.hpp"
#include "core/solve_loop.hpp"
#include "omtcore/errors.hpp"
#include "omtcore/solve.hpp"

namespace omtcore {

namespace {

using Clock = std::chrono::steady_clock;

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

// "problem 4" or "problems 2, 4, 7": at most kNamedProblems indices named.
template <class Index>
std::string named(const std::vector<Index>& indices) {
  std::string list = indices.size() > 1 ? "problems " : "problem ";
  for (std::size_t j = 0; j < std::min(indices.size(), kNamedProblems); ++j)
    list += (j ? ", " : "") + std::to_string(indices[j]);
  if (indices.size() > kNamedProblems) list += ", ... (" + std::to_string(indices.size()) + " in all)";
  return list;
}

// The error of the `indices` problems, named in the message, of the same kind.
template <class Index>
[[noreturn]] void rethrow_for(const std::vector<Index>& indices, const std::exception_ptr& error) {
  const std::string where = named(indices) + " of the batch: ";
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
  throw InvalidInputError("batch " + named(bad) + ": problem " + std::to_string(bad[0]) + ": " + first);
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

// Problems at most prepared and solved together at once (run_together);
// CUDA's launches also hold at most 65,535 in their second dimension.
constexpr std::size_t kTogether = 1024;

// The callback of problems solved together: the caller's per-problem
// reports, and on the whole batch at least every kReportEvery (from the
// calling thread, which runs the loop: a Ctrl-C there stops the batch).
struct Together {
  Batch* batch = nullptr;
  std::int64_t done = 0;
  Clock::time_point reported{};
  bool report(bool force) {
    const auto now = Clock::now();
    if (!force && now - reported < kReportEvery) return !batch->stop;
    reported = now;
    Progress whole{0, 0.0, 0.0};
    whole.problem = -1;
    whole.problems_done = done;
    return batch->call(whole);
  }
  static bool forward(const Progress& progress, void* data) {
    auto* t = static_cast<Together*>(data);
    if (!t->report(false)) return false;
    if (progress.problem < 0) return true;
    Progress mine = progress;
    mine.problems_done = t->done;
    return t->batch->call(mine);
  }
};

// A batch on a backend that takes batches (BackendEntry::batches): in
// chunks of up to kTogether, each chunk's problems of one operator (same_operator)
// stepped together, one backend and one launch per step for all of them.
// A run the device cannot hold (it checks before allocating) is halved.
template <class Problem>
void run_together(const std::vector<Problem>& problems, const SolveOptions& options, bool keep_fields,
                  const std::vector<const Result*>& initial, Batch& batch, std::vector<Result>& results,
                  std::vector<char>& started) {
  Together together;
  together.batch = &batch;
  SolveOptions mine = options;
  if (options.callback) {
    mine.callback = Together::forward;
    mine.callback_data = &together;
  }
  const std::size_t count = problems.size();
  // Problems prepared at once: kTogether, or fewer where half the host room
  // would not hold them (each keeps its domain and right-hand side, a
  // stored one and its coarse level's while it is solved).
  const detail::ProblemSize size = detail::problem_size(problems[0]);
  const double per_problem = 1.3 * size.cells * (16.0 * size.planes + (size.masked ? 24 : 4));
  std::size_t chunk = kTogether;
  if (double(chunk) * per_problem >= detail::kUncheckedBytes) {
    const double fit = 0.5 * detail::host_room().bytes / per_problem;
    if (fit < double(kTogether)) chunk = std::max<std::size_t>(1, std::size_t(fit));
  }
  std::vector<detail::Problem> prepared;
  std::function<void(const std::vector<std::size_t>&)> solve_run = [&](const std::vector<std::size_t>& run) {
    std::vector<const detail::Problem*> ps;
    std::vector<const Result*> starts;
    detail::PreparedBatch extras;
    for (std::size_t i : run) {
      ps.push_back(&prepared[i % chunk]);
      if (!initial.empty()) starts.push_back(initial[i]);
      extras.problem.push_back(std::int64_t(i));
      started[i] = 1;
    }
    extras.finished = [&](std::size_t) {
      ++together.done;
      together.report(false);
    };
    std::vector<Result> solved;
    try {
      solved = detail::solve_together(ps, mine, starts, extras);
    } catch (const DeviceMemoryError&) {
      if (run.size() == 1) rethrow_for(run, std::current_exception());
      const std::size_t half = run.size() / 2;
      solve_run(std::vector<std::size_t>(run.begin(), run.begin() + half));
      solve_run(std::vector<std::size_t>(run.begin() + half, run.end()));
      return;
    } catch (...) {
      rethrow_for(run, std::current_exception());
    }
    for (std::size_t j = 0; j < run.size(); ++j) {
      Result& r = results[run[j]];
      r = std::move(solved[j]);
      if (!keep_fields) {
        std::vector<double>().swap(r.flux);
        std::vector<double>().swap(r.exchange);
        std::vector<double>().swap(r.potential);
        std::vector<double>().swap(r.source);
      }
    }
  };
  for (std::size_t first = 0; first < count && !batch.stop; first += chunk) {
    const std::size_t last = std::min(count, first + chunk);
    prepared.clear();
    for (std::size_t i = first; i < last; ++i) prepared.push_back(detail::prepare(problems[i]));
    std::vector<char> taken(last - first, 0);
    for (std::size_t i = first; i < last && !batch.stop; ++i) {
      if (taken[i - first]) continue;
      std::vector<std::size_t> run;
      for (std::size_t j = i; j < last; ++j)
        if (!taken[j - first] && detail::same_operator(prepared[i - first], prepared[j - first])) {
          taken[j - first] = 1;
          run.push_back(j);
        }
      solve_run(run);
    }
  }
  if (options.callback) together.report(true);
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
  std::vector<char> started(problems.size(), 0);  // not vector<bool>: written by several threads
  if (entry.batches && count > 1) {
    run_together(problems, options, keep_fields, initial, batch, results, started);
    for (std::int64_t i = 0; i < count; ++i)
      if (!started[std::size_t(i)]) results[std::size_t(i)] = not_started(entry, options);
    return results;
  }
  SolveOptions each = options;
  each.threads = workers > 1 ? 1 : options.threads;
  each.callback = forward;
  std::vector<std::exception_ptr> errors(problems.size());
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
    if (errors[std::size_t(i)]) rethrow_for(std::vector<std::int64_t>{i}, errors[std::size_t(i)]);
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
