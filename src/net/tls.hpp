#pragma once
// TLS contexts: the server's (TLS 1.2 and 1.3 only, certificates reloadable on SIGHUP)
// and the SMTP client's.
#include <memory>
#include <mutex>
#include <string>

#include "base/result.hpp"
#include "net/asio.hpp"

namespace valija::net {

struct TlsFiles {
  std::string cert;  // PEM chain
  std::string key;   // PEM private key
};

// Writes a self-signed certificate (EC P-256, SAN = hostname, localhost, 127.0.0.1, ::1)
// when the files do not exist yet. Used by local mode on first start.
Result<void> ensure_self_signed(const TlsFiles& files, const std::string& hostname);

// A client context for outbound SMTP: TLS 1.2 or later. With `verify`, the server's
// chain must lead to a trusted root (the system's, or `ca_file`) and the name is checked
// per connection (Stream::start_tls_client); without, the connection is encrypted
// without authenticating the server (opportunistic TLS, RFC 7435).
Result<std::shared_ptr<asio::ssl::context>> client_tls_context(bool verify, const std::string& ca_file = {});

class TlsContexts {
 public:
  // Loads and checks the certificate and key (a mismatch is an error).
  static Result<std::shared_ptr<asio::ssl::context>> load(const TlsFiles& files);

  explicit TlsContexts(std::shared_ptr<asio::ssl::context> ctx) : ctx_(std::move(ctx)) {}
  // New connections get the current context; existing ones keep theirs.
  std::shared_ptr<asio::ssl::context> current() const {
    std::lock_guard l(mu_);
    return ctx_;
  }
  void replace(std::shared_ptr<asio::ssl::context> ctx) {
    std::lock_guard l(mu_);
    ctx_ = std::move(ctx);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> ctx_;
};

}  // namespace valija::net
