#pragma once
// Password logins for every protocol (POP3, IMAP, later SMTP AUTH): the credential check
// that runs on the password pool, and the gate around it (throttling per client
// address, with the log lines fail2ban-style tools watch).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/scram.hpp"
#include "auth/throttle.hpp"
#include "auth/verified_cache.hpp"
#include "store/store.hpp"

namespace valija::auth {

enum class LoginStatus { Ok, BadCredentials, TempFail };

struct LoginCheck {
  LoginStatus status = LoginStatus::TempFail;
  std::string reason;  // for the log
  store::AccountId account = 0;
  store::Account details;  // the account, when Ok
};

// Blocking: one store lookup and (unless the verified cache knows it) one Argon2id
// verification. An unknown user costs a verification too, against a fixed hash, so
// timing does not tell which users exist.
LoginCheck check_password(store::Store& store, VerifiedCache& verified, std::string_view user,
                          std::string_view password);
// RFC 1939 §7 APOP: the digest against the account's APOP secret.
LoginCheck check_apop(store::Store& store, std::string_view user, std::string_view timestamp,
                      std::string_view digest);

// SCRAM: the stored keys of `user` for this hash; fake ones (see scram_fake) for an
// unknown user or an account whose password predates SCRAM, so the exchange goes on
// the same way and ends Rejected. Blocking (one store lookup).
ScramKeys scram_keys_for(store::Store& store, std::string_view user, ScramHash hash);
// After a SCRAM exchange: the account when the proof verified.
LoginCheck check_scram(store::Store& store, std::string_view user, sasl::Proof proof);

// Who is trying, for the throttle and the logs ("event=<service>_login_failed").
struct LoginAttempt {
  std::string_view service;  // "pop3", "imap"
  std::string_view conn_id;
  std::string_view ip;
  std::string_view user;
  std::string_view method;  // "USER", "PLAIN", "LOGIN", "APOP"...
};

class LoginGate {
 public:
  using Clock = Throttle::Clock;
  LoginGate(Throttle& throttle, std::chrono::seconds lockout) : throttle_(throttle), lockout_(lockout) {}
  // True (and logged) when the client's address, or the account it names, is locked
  // out: it must not even try.
  bool locked_out(const LoginAttempt& a);
  // Logs a failed check; a bad password also counts against the address and the account
  // and returns how long to wait before answering.
  std::chrono::milliseconds failed(const LoginAttempt& a, const LoginCheck& check);

 private:
  Throttle& throttle_;
  std::chrono::seconds lockout_;
};

}  // namespace valija::auth
