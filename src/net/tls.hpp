#pragma once
// TLS server contexts: TLS 1.2 and 1.3 only, certificates reloadable on SIGHUP.
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
