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

enum class IoStatus { Ok, Eof, Timeout, Cancelled, Error };

class Stream {
 public:
  explicit Stream(tcp::socket socket);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Reads what is available (at most buf.size()), waiting up to `timeout`.
  awaitable<IoStatus> read_some(char* data, std::size_t size, std::size_t& n, std::chrono::seconds timeout);
  awaitable<IoStatus> write_all(std::string_view bytes, std::chrono::seconds timeout);
  // Server-side TLS handshake. On failure the connection is unusable.
  awaitable<IoStatus> start_tls(std::shared_ptr<asio::ssl::context> ctx, std::chrono::seconds timeout);
  // Cancels the pending read or write (used to drain idle connections at shutdown).
  void cancel();
  awaitable<void> shutdown();

  bool tls() const { return tls_ != nullptr; }
  // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" for Received headers and logs.
  std::string tls_description() const;
  const std::string& remote_ip() const { return remote_ip_; }
  std::uint16_t remote_port() const { return remote_port_; }
  const std::string& local_ip() const { return local_ip_; }
  std::uint16_t local_port() const { return local_port_; }
  // Why the last operation failed (for logs).
  const std::string& last_error() const { return last_error_; }

 private:
  tcp::socket& lowest();
  void arm(std::chrono::seconds timeout);
  IoStatus classify(const std::error_code& ec);

  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
  std::shared_ptr<asio::ssl::context> ctx_;  // keeps the context alive for tls_
  // The deadline. A timer completion can already be queued when the next operation
  // re-arms it, or when the Stream is gone: the handler acts only if its generation is
  // still current and the Stream still exists.
  struct Deadline {
    std::uint64_t generation = 0;
    bool timed_out = false;
    Stream* owner = nullptr;
  };
  asio::steady_timer timer_;
  std::shared_ptr<Deadline> deadline_;
  bool cancelled_ = false;
  std::string remote_ip_, local_ip_;
  std::uint16_t remote_port_ = 0, local_port_ = 0;
  std::string last_error_;
};

}  // namespace valija::net
