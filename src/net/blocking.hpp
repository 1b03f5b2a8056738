#pragma once
// Runs blocking work (SQLite, Argon2id, fsync) on the worker pool and resumes the
// calling coroutine on its own executor (DESIGN.md principle 1).
//
// An exception thrown by the work (bad_alloc, a bug) is rethrown in the awaiting
// coroutine rather than ending a pool thread with the coroutine never resumed.
//
// These are plain functions returning an awaitable, not coroutines: g++ 12 mishandles
// temporaries (such as a lambda argument) that live in a coroutine frame across a
// suspension, so keep the callable in a named variable at the call site too.
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "net/asio.hpp"

namespace valija::net {

template <class F>
awaitable<std::invoke_result_t<F>> run_blocking(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  static_assert(std::is_default_constructible_v<R>, "the result travels beside an exception_ptr");
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, R)>(
      [&pool](auto handler, F fn) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [h, ex, fn = std::move(fn)]() mutable {
          auto r = std::make_shared<R>();
          std::exception_ptr error;
          try {
            *r = fn();
          } catch (...) {
            error = std::current_exception();
          }
          asio::post(ex, [h, r, error]() mutable { (*h)(error, std::move(*r)); });
        });
      },
      asio::use_awaitable, std::move(f));
}

// Awaits a result delivered through a callback, possibly from another thread (the
// group committer). `submit` receives a callable taking R.
template <class R, class Submit>
awaitable<R> await_callback(Submit submit) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [](auto handler, Submit sub) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        std::move(sub)([h, ex](R r) {
          auto shared = std::make_shared<R>(std::move(r));
          asio::post(ex, [h, shared]() mutable { (*h)(std::move(*shared)); });
        });
      },
      asio::use_awaitable, std::move(submit));
}

}  // namespace valija::net
