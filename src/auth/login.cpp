#include "auth/login.hpp"

#include "auth/password.hpp"
#include "base/log.hpp"

namespace valija::auth {
namespace {

// A fixed hash with the default parameters; it matches no password anyone types.
const std::string& dummy_hash() {
  static const std::string h =
      "$argon2id$v=19$m=19456,t=2,p=1$dmFsaWphLWR1bW15LXNhbHQ$yWqZ6WTHUdU5FqfZ6sIDC7hm0c1oF0lfHk6NcW8vHv0";
  return h;
}

// user = local@domain; nullopt on a store error (reason set).
std::optional<std::optional<store::Account>> find(store::Store& store, std::string_view user, LoginCheck& out) {
  auto at = user.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= user.size()) return std::optional<store::Account>{};
  auto found = store.find_account(user.substr(0, at), user.substr(at + 1));
  if (!found) {
    out.reason = found.error().detail;
    return std::nullopt;
  }
  return *found;
}

}  // namespace

LoginCheck check_password(store::Store& store, VerifiedCache& verified, std::string_view user,
                          std::string_view password) {
  LoginCheck out;
  auto account = find(store, user, out);
  if (!account) return out;  // TempFail
  if (!*account) {
    (void)verify_password(password, dummy_hash());
    out.status = LoginStatus::BadCredentials;
    out.reason = "unknown user";
    return out;
  }
  const auto& a = **account;
  auto now = VerifiedCache::Clock::now();
  if (!verified.hit(a.password_hash, password, now)) {
    if (!verify_password(password, a.password_hash)) {
      out.status = LoginStatus::BadCredentials;
      out.reason = "wrong password";
      return out;
    }
    verified.remember(a.password_hash, password, now);
  }
  out.status = LoginStatus::Ok;
  out.account = a.id;
  out.details = a;
  return out;
}

ScramKeys scram_keys_for(store::Store& store, std::string_view user, ScramHash hash) {
  LoginCheck ignored;
  auto account = find(store, user, ignored);
  if (account && *account) {
    const auto& stored = hash == ScramHash::Sha1 ? (*account)->scram_sha1 : (*account)->scram_sha256;
    if (auto keys = scram_decode(stored)) return *keys;
  }
  return scram_fake(hash, user);
}

LoginCheck check_scram(store::Store& store, std::string_view user, sasl::Proof proof) {
  LoginCheck out;
  auto account = find(store, user, out);
  if (!account) return out;  // TempFail
  if (!*account) {
    out.status = LoginStatus::BadCredentials;
    out.reason = "unknown user";
    return out;
  }
  const auto& a = **account;
  if (proof != sasl::Proof::Verified) {
    out.status = LoginStatus::BadCredentials;
    out.reason = a.scram_sha256.empty() ? "no SCRAM keys (password set before SCRAM: set it again)" : "wrong password";
    return out;
  }
  out.status = LoginStatus::Ok;
  out.account = a.id;
  out.details = a;
  return out;
}

LoginCheck check_apop(store::Store& store, std::string_view user, std::string_view timestamp,
                      std::string_view digest) {
  LoginCheck out;
  auto account = find(store, user, out);
  if (!account) return out;
  if (!*account) {
    out.status = LoginStatus::BadCredentials;
    out.reason = "unknown user";
    return out;
  }
  const auto& a = **account;
  if (!verify_apop(timestamp, a.apop_secret, digest)) {
    out.status = LoginStatus::BadCredentials;
    out.reason = a.apop_secret.empty() ? "no APOP secret for the account" : "wrong APOP digest";
    return out;
  }
  out.status = LoginStatus::Ok;
  out.account = a.id;
  out.details = a;
  return out;
}

bool LoginGate::locked_out(const LoginAttempt& a) {
  auto now = Clock::now();
  bool address = throttle_.locked(Throttle::key_of(std::string(a.ip)), now);
  bool account = !address && !a.user.empty() && throttle_.locked(Throttle::Scope::Account, Throttle::account_key(a.user), now);
  if (!address && !account) return false;
  log::warn("event={}_login_failed conn={} client={} user={} method={} reason={}", a.service, a.conn_id, a.ip,
            log::q(a.user), a.method, address ? "locked_out" : "account_locked_out");
  return true;
}

std::chrono::milliseconds LoginGate::failed(const LoginAttempt& a, const LoginCheck& check) {
  if (check.status != LoginStatus::BadCredentials) {  // the store failed: not the client's fault
    log::error("event={}_login_failed conn={} client={} user={} method={} reason={}", a.service, a.conn_id, a.ip,
               log::q(a.user), a.method, log::q(check.reason));
    return std::chrono::milliseconds(0);
  }
  auto key = Throttle::key_of(std::string(a.ip));
  auto now = Clock::now();
  bool now_locked = false, account_locked = false;
  auto delay = throttle_.failed(key, now, now_locked);
  if (!a.user.empty())
    delay = std::max(delay, throttle_.failed(Throttle::Scope::Account, Throttle::account_key(a.user), now, account_locked));
  log::warn("event={}_login_failed conn={} client={} user={} method={} reason={}", a.service, a.conn_id, a.ip,
            log::q(a.user), a.method, log::q(check.reason));
  if (now_locked)
    log::warn("event=auth_lockout client={} key={} service={} seconds={} reason=\"too many failed logins\"", a.ip, key,
              a.service, lockout_.count());
  if (account_locked)
    log::warn("event=auth_account_lockout user={} client={} service={} seconds={} reason=\"too many failed logins for "
              "the account\"", log::q(a.user), a.ip, a.service, lockout_.count());
  return delay;
}

}  // namespace valija::auth
