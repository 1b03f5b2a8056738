#pragma once
// A client connection that starts in cleartext and may switch to TLS (STARTTLS) or
// begin with it (implicit TLS). Reads and writes carry a deadline: when it passes,
// the pending operation is cancelled and reports a timeout.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "net/asio.hpp"

namespace valija::net {

// Interrupted: interrupt() woke a pending read (IMAP IDLE has news); nothing was lost,
// the next read continues the stream.
enum class IoStatus { Ok, Eof, Timeout, Cancelled, Interrupted, Error };

class Stream {
 public:
  explicit Stream(tcp::socket socket);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Reads what is available (at most buf.size()), waiting up to `timeout`.
  awaitable<IoStatus> read_some(char* data, std::size_t size, std::size_t& n, std::chrono::seconds timeout);
  // Appends what is available (at most `max`, up to 16 KiB) to `out`, waiting up to
  // `timeout`. The bytes go through a scratch buffer of the I/O thread, so a connection
  // waiting for input holds no buffer of its own.
  awaitable<IoStatus> read_append(std::string& out, std::size_t max, std::chrono::seconds timeout);
  awaitable<IoStatus> write_all(std::string_view bytes, std::chrono::seconds timeout);
  // Server-side TLS handshake. On failure the connection is unusable.
  awaitable<IoStatus> start_tls(std::shared_ptr<asio::ssl::context> ctx, std::chrono::seconds timeout);
  // Client-side TLS handshake with `host` as SNI; when the context verifies, the
  // certificate must also name `host` (RFC 6125). On failure the connection is unusable.
  awaitable<IoStatus> start_tls_client(std::shared_ptr<asio::ssl::context> ctx, const std::string& host,
                                       std::chrono::seconds timeout);
  // Cancels the pending read or write (used to drain idle connections at shutdown).
  void cancel();
  // Wakes a pending read with IoStatus::Interrupted; without one, a no-op. Only reads
  // may be interrupted: a cancelled TLS write could leave a partial record.
  void interrupt();
  awaitable<void> shutdown();

  // Where the connection's coroutine, timers and completions run: its I/O thread's
  // context, or its strand of the pool.
  asio::any_io_executor executor() { return socket_.get_executor(); }
  bool tls() const { return ssl_ != nullptr; }
  // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" for Received headers and logs.
  std::string tls_description() const;
  // TLS channel bindings of this (server side) session for SCRAM-PLUS: tls-exporter
  // (RFC 9266, TLS 1.3 only) and tls-server-end-point (RFC 5929 §4.1); empty when
  // not available.
  std::string tls_exporter() const;
  std::string tls_server_end_point() const;
  const std::string& remote_ip() const { return remote_ip_; }
  std::uint16_t remote_port() const { return remote_port_; }
  const std::string& local_ip() const { return local_ip_; }
  std::uint16_t local_port() const { return local_port_; }
  // Why the last operation failed (for logs).
  const std::string& last_error() const { return last_error_; }

 private:
  void arm(std::chrono::seconds timeout);
  void wait_until(std::chrono::steady_clock::time_point at);
  void disarm();
  IoStatus classify(const std::error_code& ec);
  awaitable<std::error_code> wait(bool for_write);
  // After an SSL call returned rc <= 0: waits for what it wants (true: try again) or
  // sets `ec` (false).
  awaitable<bool> tls_retry(int rc, std::error_code& ec);
  awaitable<IoStatus> read_impl(char* data, std::size_t size, std::string* out, std::size_t& n,
                                std::chrono::seconds timeout);
  awaitable<IoStatus> handshake(std::shared_ptr<asio::ssl::context> ctx, const std::string* client_host,
                                std::chrono::seconds timeout);

  // A non-blocking socket; TLS is OpenSSL directly on its descriptor (no BIO pair, no
  // Asio buffers), with SSL_MODE_RELEASE_BUFFERS: an idle TLS connection costs a few
  // KiB, not the 80 asio::ssl::stream holds (two 17 KiB buffers, a BIO pair, OpenSSL's
  // own record buffers).
  tcp::socket socket_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<asio::ssl::context> ctx_;  // keeps the context alive for ssl_
  // The deadline of the operation in flight (deadline_at_). The timer is not reset for
  // every read and write (a cancel and a new wait each, on the I/O thread): one wait is
  // kept pending, and when it fires before the current deadline it just waits again.
  // A timer completion can already be queued when the Stream re-arms or is gone: the
  // handler acts only if its generation is still current and the Stream still exists.
  struct Deadline {
    std::uint64_t generation = 0;
    bool timed_out = false;
    Stream* owner = nullptr;
  };
  asio::steady_timer timer_;
  std::shared_ptr<Deadline> deadline_;
  std::chrono::steady_clock::time_point deadline_at_;
  std::chrono::steady_clock::time_point timer_at_;  // when the pending wait fires
  bool waiting_ = false;                            // a wait is pending on timer_
  bool in_op_ = false;                              // an operation is in flight
  bool cancelled_ = false;
  bool interrupted_ = false;
  bool reading_ = false;
  std::string remote_ip_, local_ip_;
  std::uint16_t remote_port_ = 0, local_port_ = 0;
  std::string last_error_;
};

}  // namespace valija::net
