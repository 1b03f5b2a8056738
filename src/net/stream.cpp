#include "net/stream.hpp"

#include <fmt/format.h>

namespace valija::net {

Stream::Stream(tcp::socket socket)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), deadline_(std::make_shared<Deadline>()) {
  deadline_->owner = this;
  std::error_code ec;
  auto r = socket_.remote_endpoint(ec);
  if (!ec) {
    auto addr = r.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    remote_ip_ = addr.to_string();
    remote_port_ = r.port();
  }
  auto l = socket_.local_endpoint(ec);
  if (!ec) {
    local_ip_ = l.address().to_string();
    local_port_ = l.port();
  }
  socket_.set_option(tcp::no_delay(true), ec);
}

Stream::~Stream() {
  deadline_->owner = nullptr;
  ++deadline_->generation;
}

tcp::socket& Stream::lowest() { return tls_ ? tls_->next_layer() : socket_; }

void Stream::arm(std::chrono::seconds timeout) {
  deadline_->timed_out = false;
  auto generation = ++deadline_->generation;
  timer_.expires_after(timeout);
  timer_.async_wait([d = deadline_, generation](const std::error_code& ec) {
    if (ec || d->generation != generation || !d->owner) return;  // re-armed, cancelled or gone
    d->timed_out = true;
    std::error_code ignored;
    d->owner->lowest().cancel(ignored);
  });
}

IoStatus Stream::classify(const std::error_code& ec) {
  ++deadline_->generation;  // a completion already queued must not fire now
  timer_.cancel();
  if (!ec) return IoStatus::Ok;
  last_error_ = ec.message();
  if (deadline_->timed_out) return IoStatus::Timeout;
  if (ec == asio::error::operation_aborted) return cancelled_ ? IoStatus::Cancelled : IoStatus::Error;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset)
    return IoStatus::Eof;
  return IoStatus::Error;
}

awaitable<IoStatus> Stream::read_some(char* data, std::size_t size, std::size_t& n, std::chrono::seconds timeout) {
  arm(timeout);
  std::error_code ec;
  if (tls_) {
    std::tie(ec, n) = co_await tls_->async_read_some(asio::buffer(data, size), use_tuple);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(data, size), use_tuple);
  }
  co_return classify(ec);
}

awaitable<IoStatus> Stream::write_all(std::string_view bytes, std::chrono::seconds timeout) {
  if (bytes.empty()) co_return IoStatus::Ok;
  arm(timeout);
  std::error_code ec;
  std::size_t n = 0;
  if (tls_) {
    std::tie(ec, n) = co_await asio::async_write(*tls_, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  } else {
    std::tie(ec, n) = co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  }
  co_return classify(ec);
}

awaitable<IoStatus> Stream::start_tls(std::shared_ptr<asio::ssl::context> ctx, std::chrono::seconds timeout) {
  ctx_ = std::move(ctx);
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), *ctx_);
  arm(timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_tuple);
  co_return classify(ec);
}

void Stream::cancel() {
  cancelled_ = true;
  std::error_code ignored;
  lowest().cancel(ignored);
}

awaitable<void> Stream::shutdown() {
  ++deadline_->generation;
  timer_.cancel();
  std::error_code ec;
  if (tls_) {
    // Send close_notify without waiting for the peer's (it may already be gone).
    arm(std::chrono::seconds(2));
    SSL_set_quiet_shutdown(tls_->native_handle(), 0);
    auto [e] = co_await tls_->async_shutdown(use_tuple);
    (void)e;
    ++deadline_->generation;
    timer_.cancel();
  }
  lowest().shutdown(tcp::socket::shutdown_both, ec);
  lowest().close(ec);
}

std::string Stream::tls_description() const {
  if (!tls_) return "";
  SSL* ssl = const_cast<asio::ssl::stream<tcp::socket>&>(*tls_).native_handle();
  return fmt::format("{} with cipher {}", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

}  // namespace valija::net
