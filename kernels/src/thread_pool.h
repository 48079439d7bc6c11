// A persistent pool of worker threads for the forward pass: threads are created once with the
// model and reused by every kernel of every step (creating threads per op would cost more than
// a decode-sized matmul). Tasks are claimed dynamically from a shared counter; kernels make each
// task's result independent of which thread runs it, so scheduling never changes the numbers.
// A decode step dispatches a few hundred short jobs: idle threads spin briefly (about the gap
// between two kernels of one step) before blocking, so a wake-up costs no futex round trip,
// while an idle pool between steps, or on an oversubscribed machine, sleeps.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace m2 {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// Runs fn(task, thread) for task in [0, tasks) on all threads (the caller included) and
  /// returns when every task is done. thread is in [0, size()) and indexes per-thread scratch.
  /// An exception thrown by a task is rethrown here (the first one; the other tasks still run).
  template <class F>
  void run(int tasks, F&& fn) {
    if (tasks <= 0) return;
    if (workers_.empty() || tasks == 1) {
      for (int t = 0; t < tasks; ++t) fn(t, 0);
      return;
    }
    dispatch(tasks, &invoke<F>, &fn);
  }

 private:
  using TaskFn = void (*)(void* ctx, int task, int thread);
  template <class F>
  static void invoke(void* ctx, int task, int thread) {
    (*static_cast<F*>(ctx))(task, thread);
  }
  void dispatch(int tasks, TaskFn fn, void* ctx);
  void work(int thread);
  void drain(int thread);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  std::atomic<unsigned long long> generation_{0};
  std::atomic<bool> stop_{false};
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> next_{0};
  std::atomic<int> active_workers_{0};
  std::exception_ptr error_;
};

}  // namespace m2
