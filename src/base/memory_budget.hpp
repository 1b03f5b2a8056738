#pragma once
// A server-wide bound on memory held for message content in flight. Each connection
// reserves what it buffers as the message grows and gives it back when the transaction
// ends; when the budget is spent the transaction gets a temporary failure (SMTP 452
// 4.3.1) instead of the server growing without bound (SECURITY-CASES: memory).
#include <atomic>
#include <cstdint>

namespace valija {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::uint64_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  bool try_take(std::uint64_t n) {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_.load(std::memory_order_relaxed) || used > limit_.load(std::memory_order_relaxed) - n)
        return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  void give_back(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t available() const {
    auto u = used(), l = limit_.load(std::memory_order_relaxed);
    return u >= l ? 0 : l - u;
  }
  // On reload: a smaller limit takes effect as reservations are given back.
  void set_limit(std::uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> limit_;
  std::atomic<std::uint64_t> used_{0};
};

// One holder's share of a budget; grows with its buffer, returned on release or
// destruction.
class MemoryReservation {
 public:
  MemoryReservation() = default;
  explicit MemoryReservation(MemoryBudget& budget) : budget_(&budget) {}
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;
  ~MemoryReservation() { release(); }

  // Makes the reservation at least n bytes. False (and unchanged) when the budget is spent.
  bool grow_to(std::uint64_t n) {
    if (n <= held_ || !budget_) return true;
    if (!budget_->try_take(n - held_)) return false;
    held_ = n;
    return true;
  }
  void release() {
    if (budget_ && held_) budget_->give_back(held_);
    held_ = 0;
  }
  std::uint64_t held() const { return held_; }

 private:
  MemoryBudget* budget_ = nullptr;
  std::uint64_t held_ = 0;
};

}  // namespace valija
