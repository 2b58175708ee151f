// The thread pool's contract: every task of every job runs exactly once, a job returns only after
// its tasks are done, and workers that arrive late (descheduled, slept) never run a finished job's
// task or a task twice.
#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace taec {
namespace {

TEST(ThreadPool, EveryTaskOfManyShortJobsRunsExactlyOnce) {
  ThreadPool pool(3);
  for (int job = 0; job < 20000; ++job) {
    const size_t tasks = 1 + job % 7;
    std::vector<int> runs(tasks, 0);  // on this stack frame: a late worker touching it would be a bug ASan sees
    auto fn = [&](size_t t, int thread) {
      ASSERT_GE(thread, 0);
      ASSERT_LT(thread, 3);
      ++runs[t];
    };
    pool.parallel_for(tasks, fn);
    for (size_t t = 0; t < tasks; ++t) ASSERT_EQ(runs[t], 1) << "job " << job << " task " << t;
  }
}

TEST(ThreadPool, ReturnsOnlyWhenTheSlowestTaskIsDone) {
  ThreadPool pool(2);
  std::atomic<int> finished{0};
  auto fn = [&](size_t t, int) {
    if (t == 0) std::this_thread::sleep_for(std::chrono::milliseconds(30));
    finished.fetch_add(1);
  };
  pool.parallel_for(4, fn);
  EXPECT_EQ(finished.load(), 4);
}

TEST(ThreadPool, JobsAfterASleepStillRunEverything) {
  ThreadPool pool(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the worker is asleep now
  std::atomic<int> sum{0};
  auto fn = [&](size_t t, int) { sum.fetch_add(static_cast<int>(t)); };
  pool.parallel_for(100, fn);
  EXPECT_EQ(sum.load(), 4950);
}

}  // namespace
}  // namespace taec
