#include "base/thread_pool.h"

#include <immintrin.h>
#include <sched.h>

namespace taec {
namespace {

// Pauses a worker spins for the next job before it sleeps: a few microseconds, enough for jobs
// that follow each other at once. Spinning longer (it was 20000, about half a millisecond) made 2
// threads slower than 1 with one core busy with another process: the spinning worker spent the
// share of the core that the scheduler would have given to real work (taef2 1024x1024, one core
// busy: 3.0 s against 2.4 s; the same when idle; bench/compare_contention.py).
constexpr int kWorkerSpins = 200;
// Pauses the calling thread spins for other threads' last tasks before it yields instead.
constexpr int kWaitSpins = 2000;

}  // namespace

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int max_threads() { return 2 * usable_cores(); }

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = usable_cores();
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    start_job_locked();
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_tasks(uint64_t job, int thread) {
  uint64_t c = claim_.load(std::memory_order_acquire);
  while ((c >> 32) == job) {
    const size_t tasks = tasks_.load(std::memory_order_relaxed);
    const Task fn = fn_.load(std::memory_order_relaxed);
    void* context = context_.load(std::memory_order_relaxed);
    if ((c & 0xffffffffu) >= tasks) return;
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    fn(context, c & 0xffffffffu, thread);
    done_.fetch_add(1, std::memory_order_release);
    c = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::start_job_locked() {
  const uint64_t next = (job() + 1) & 0xffffffffu;
  claim_.store(next << 32, std::memory_order_release);
}

void ThreadPool::parallel_for(size_t tasks, Task fn, void* context) {
  if (workers_.empty() || tasks <= 1) {
    for (size_t t = 0; t < tasks; ++t) fn(context, t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.store(tasks, std::memory_order_relaxed);
    fn_.store(fn, std::memory_order_relaxed);
    context_.store(context, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    start_job_locked();
  }
  wake_.notify_all();
  run_tasks(job(), 0);
  // Only tasks still running on another thread are waited for, never a worker that has not woken.
  // Past a short spin the wait yields: the thread running the last task may be waiting for this
  // very core.
  for (int spin = 0; done_.load(std::memory_order_acquire) != tasks; ++spin) {
    if (spin < kWaitSpins) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  while (true) {
    for (int spin = 0; spin < kWorkerSpins && job() == seen; ++spin) _mm_pause();
    if (job() == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return job() != seen; });
    }
    if (stop_) return;
    seen = job();
    run_tasks(seen, index);
  }
}

}  // namespace taec
