#include "net/stream.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace valija::net {
namespace {

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  if (!e) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// Errors of our own TLS layer, mapped onto the error codes classify() knows.
const std::error_code kTlsFailed = asio::error::connection_aborted;

}  // namespace

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
  // Reads and writes are tried first and waited for only when the socket would block:
  // an idle connection then holds no read buffer at all (IMAP IDLE at scale).
  socket_.non_blocking(true, ec);
}

Stream::~Stream() {
  deadline_->owner = nullptr;
  ++deadline_->generation;
  if (ssl_) SSL_free(ssl_);
}

void Stream::arm(std::chrono::seconds timeout) {
  deadline_->timed_out = false;
  deadline_at_ = std::chrono::steady_clock::now() + timeout;
  in_op_ = true;
  if (waiting_ && timer_at_ <= deadline_at_) return;  // fires first, then waits on
  wait_until(deadline_at_);  // none pending, or a shorter deadline: the old wait is superseded
}

void Stream::wait_until(std::chrono::steady_clock::time_point at) {
  waiting_ = true;
  timer_at_ = at;
  auto generation = ++deadline_->generation;
  timer_.expires_at(at);
  timer_.async_wait([d = deadline_, generation](const std::error_code& ec) {
    if (d->generation != generation || !d->owner) return;  // superseded, or the Stream is gone
    Stream* s = d->owner;
    s->waiting_ = false;
    if (ec || !s->in_op_) return;  // cancelled, or nothing in flight to time out
    if (std::chrono::steady_clock::now() < s->deadline_at_) {
      s->wait_until(s->deadline_at_);  // the operation started later than this wait
      return;
    }
    d->timed_out = true;
    std::error_code ignored;
    s->socket_.cancel(ignored);
  });
}

void Stream::disarm() {
  ++deadline_->generation;
  timer_.cancel();
  waiting_ = false;
  in_op_ = false;
}

IoStatus Stream::classify(const std::error_code& ec) {
  in_op_ = false;  // a timer completion from now on finds nothing to cancel
  if (!ec) return IoStatus::Ok;
  if (last_error_.empty() || ec != kTlsFailed) last_error_ = ec.message();
  if (deadline_->timed_out) return IoStatus::Timeout;
  if (ec == asio::error::operation_aborted) {
    if (cancelled_) return IoStatus::Cancelled;
    if (interrupted_) return IoStatus::Interrupted;
    return IoStatus::Error;
  }
  if (ec == asio::error::eof || ec == asio::error::connection_reset) return IoStatus::Eof;
  return IoStatus::Error;
}

awaitable<std::error_code> Stream::wait(bool for_write) {
  auto [ec] = co_await socket_.async_wait(for_write ? tcp::socket::wait_write : tcp::socket::wait_read, use_tuple);
  co_return ec;
}

// One step of a TLS operation: what to wait for, or the error that ends it.
awaitable<bool> Stream::tls_retry(int rc, std::error_code& ec) {
  int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    ec = co_await wait(e == SSL_ERROR_WANT_WRITE);
    co_return !ec;
  }
  if (e == SSL_ERROR_ZERO_RETURN) {
    ec = asio::error::eof;  // close_notify
  } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    ec = asio::error::eof;  // the peer went without close_notify
  } else {
    last_error_ = ssl_error_text();
    ec = kTlsFailed;
  }
  co_return false;
}

namespace {

// read_append's scratch. A coroutine may resume on another thread of a pool (IMAP's
// strands), so the buffer is looked up at each synchronous read, never across a wait;
// not inlined, so the compiler cannot keep one thread's address across a suspension.
[[gnu::noinline]] char* scratch_buffer() {
  static thread_local char scratch[16 * 1024];
  return scratch;
}
constexpr std::size_t kScratch = 16 * 1024;

}  // namespace

awaitable<IoStatus> Stream::read_some(char* data, std::size_t size, std::size_t& n, std::chrono::seconds timeout) {
  return read_impl(data, size, nullptr, n, timeout);
}

// Reads into `data`, or with `out` into the scratch and then appended to `out` before
// anything else can run on the thread.
awaitable<IoStatus> Stream::read_impl(char* data, std::size_t size, std::string* out, std::size_t& n,
                                      std::chrono::seconds timeout) {
  arm(timeout);
  interrupted_ = false;
  reading_ = true;
  n = 0;
  std::error_code ec;
  // A TLS read started on an idle socket would allocate OpenSSL's 16 KiB record buffer
  // and keep it while waiting; wait for the socket first, so an idle connection holds
  // none (SSL_MODE_RELEASE_BUFFERS frees it again once the data is consumed).
  if (ssl_ && !SSL_has_pending(ssl_)) ec = co_await wait(false);
  while (!ec) {
    if (ssl_) {
      ERR_clear_error();
      std::size_t got = 0;
      char* buf = out ? scratch_buffer() : data;
      int rc = SSL_read_ex(ssl_, buf, out ? std::min(size, kScratch) : size, &got);
      if (rc == 1) {
        n = got;
        if (out) out->append(buf, got);
        break;
      }
      if (!co_await tls_retry(rc, ec)) break;
    } else {
      char* buf = out ? scratch_buffer() : data;
      n = socket_.read_some(asio::buffer(buf, out ? std::min(size, kScratch) : size), ec);
      if (out && !ec) out->append(buf, n);
      if (ec != asio::error::would_block && ec != asio::error::try_again) break;
      ec = co_await wait(false);
      if (ec) break;
    }
  }
  reading_ = false;
  auto st = classify(ec);
  interrupted_ = false;
  co_return st;
}

awaitable<IoStatus> Stream::read_append(std::string& out, std::size_t max, std::chrono::seconds timeout) {
  std::size_t n = 0;
  co_return co_await read_impl(nullptr, max, &out, n, timeout);
}

awaitable<IoStatus> Stream::write_all(std::string_view bytes, std::chrono::seconds timeout) {
  if (bytes.empty()) co_return IoStatus::Ok;
  arm(timeout);
  std::error_code ec;
  std::size_t done = 0;
  while (done < bytes.size()) {
    if (ssl_) {
      ERR_clear_error();
      std::size_t put = 0;
      int rc = SSL_write_ex(ssl_, bytes.data() + done, bytes.size() - done, &put);
      if (rc == 1) {
        done += put;
        continue;
      }
      if (!co_await tls_retry(rc, ec)) break;
    } else {
      done += socket_.write_some(asio::buffer(bytes.data() + done, bytes.size() - done), ec);
      if (!ec) continue;
      if (ec != asio::error::would_block && ec != asio::error::try_again) break;
      ec = co_await wait(true);
      if (ec) break;
    }
  }
  co_return classify(ec);
}

awaitable<IoStatus> Stream::start_tls(std::shared_ptr<asio::ssl::context> ctx, std::chrono::seconds timeout) {
  return handshake(std::move(ctx), nullptr, timeout);
}

awaitable<IoStatus> Stream::start_tls_client(std::shared_ptr<asio::ssl::context> ctx, const std::string& host,
                                             std::chrono::seconds timeout) {
  return handshake(std::move(ctx), &host, timeout);
}

awaitable<IoStatus> Stream::handshake(std::shared_ptr<asio::ssl::context> ctx, const std::string* client_host,
                                      std::chrono::seconds timeout) {
  ctx_ = std::move(ctx);
  ssl_ = SSL_new(ctx_->native_handle());
  std::error_code ec;
  if (!ssl_ || SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) {
    last_error_ = ssl_error_text();
    co_return classify(kTlsFailed);
  }
  if (client_host) {
    SSL_set_connect_state(ssl_);
    SSL_set_tlsext_host_name(ssl_, client_host->c_str());
    // Checked only when the context verifies the peer (SSL_VERIFY_PEER).
    SSL_set1_host(ssl_, client_host->c_str());
  } else {
    SSL_set_accept_state(ssl_);
  }
  arm(timeout);
  while (true) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) break;
    if (!co_await tls_retry(rc, ec)) break;
  }
  co_return classify(ec);
}

void Stream::interrupt() {
  if (!reading_ || interrupted_) return;
  interrupted_ = true;
  std::error_code ignored;
  socket_.cancel(ignored);
}

void Stream::cancel() {
  cancelled_ = true;
  std::error_code ignored;
  socket_.cancel(ignored);
}

awaitable<void> Stream::shutdown() {
  disarm();
  std::error_code ec;
  if (ssl_ && SSL_is_init_finished(ssl_)) {
    // Send close_notify without waiting for the peer's (it may already be gone); give a
    // full socket buffer two seconds.
    arm(std::chrono::seconds(2));
    for (int i = 0; i < 4; ++i) {
      ERR_clear_error();
      int rc = SSL_shutdown(ssl_);
      if (rc >= 0) break;
      if (SSL_get_error(ssl_, rc) != SSL_ERROR_WANT_WRITE) break;
      if (co_await wait(true)) break;
    }
    disarm();
  }
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

std::string Stream::tls_exporter() const {
  if (!ssl_ || SSL_version(ssl_) != TLS1_3_VERSION) return "";
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
  std::string out(32, '\0');
  if (SSL_export_keying_material(ssl_, reinterpret_cast<unsigned char*>(out.data()), out.size(), kLabel,
                                 sizeof kLabel - 1, nullptr, 0, 0) != 1)
    return "";
  return out;
}

std::string Stream::tls_server_end_point() const {
  if (!ssl_) return "";
  X509* cert = SSL_get_certificate(ssl_);
  if (!cert) return "";
  // The certificate's signature hash, but SHA-256 for MD5 and SHA-1 (RFC 5929 §4.1).
  int md_nid = NID_undef;
  if (!OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, nullptr)) return "";
  const EVP_MD* md = (md_nid == NID_md5 || md_nid == NID_sha1) ? EVP_sha256() : EVP_get_digestbynid(md_nid);
  if (!md) return "";
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, out, &len) != 1) return "";
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Stream::tls_description() const {
  if (!ssl_) return "";
  return fmt::format("{} with cipher {}", SSL_get_version(ssl_), SSL_get_cipher_name(ssl_));
}

}  // namespace valija::net
