// A fixed set of worker threads for fork-join loops. Workers spin briefly between jobs (plans
// issue thousands of short steps per run, and sleeping/waking costs more than the step), then
// sleep on a condition variable. parallel_for never allocates.
//
// A job ends when its tasks are done, not when every worker has seen it: on a machine with a busy
// core a descheduled worker would otherwise hold up every step until the OS ran it again (2
// threads were 2.6x slower with one core busy, slower than 1 thread). Whoever runs takes the next
// task; a worker that wakes late finds the job finished and claims nothing, because a claim is a
// compare-and-swap on (job generation, next task) together.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace taec {

// Cores this process may run on (its CPU affinity), at least 1.
int usable_cores();
// The most threads a plan may use: twice the usable cores. More only adds scheduling overhead
// (and spinning workers); 1024 threads on 2 cores made a decode take minutes.
int max_threads();

class ThreadPool {
 public:
  // threads: total parallelism including the calling thread; 0 = hardware concurrency.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, thread_index) for task in [0, tasks), tasks handed out dynamically; returns
  // when all are done. fn must not throw.
  using Task = void (*)(void* context, size_t task, int thread);
  void parallel_for(size_t tasks, Task fn, void* context);

  template <typename F>
  void parallel_for(size_t tasks, F& fn) {
    parallel_for(tasks, [](void* c, size_t t, int th) { (*static_cast<F*>(c))(t, th); }, &fn);
  }

 private:
  void worker_loop(int index);
  void run_tasks(uint64_t job, int thread);
  uint64_t job() const { return claim_.load(std::memory_order_acquire) >> 32; }
  void start_job_locked();  // the next generation, task 0

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // Job generation << 32 | next task index; a new generation is stored under mutex_, so the
  // sleepers' wait sees it.
  std::atomic<uint64_t> claim_{0};
  std::atomic<size_t> done_{0};          // tasks of the current job finished
  // The current job; atomics because a late worker may read them while the next job is set up
  // (its claim then fails and it uses nothing it read).
  std::atomic<size_t> tasks_{0};
  std::atomic<Task> fn_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<bool> stop_{false};  // read by spinning workers without the lock
};

}  // namespace taec
