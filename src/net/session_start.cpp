#include "net/session_start.hpp"

#include "base/log.hpp"

namespace valija::net {

constexpr std::chrono::seconds kHandshakeTimeout{30};

bool is_loopback(std::string_view ip) { return ip.starts_with("127.") || ip == "::1"; }

awaitable<bool> open_session(Stream& stream, Connections& connections, std::optional<ConnectionSlot>& slot,
                             const SessionStart& how) {
  auto admitted = connections.admit(stream);
  if (!admitted) {
    log::warn("event={}_refused client={} reason={}", how.protocol, stream.remote_ip(), log::q(admitted.error().detail));
    if (!how.implicit_tls && how.refusal)
      (void)co_await stream.write_all(how.refusal(admitted.error().detail), std::chrono::seconds(10));
    co_await stream.shutdown();
    co_return false;
  }
  slot.emplace(connections, *admitted);
  log::info("event={}_connect conn={} client={}:{} service={} local={}:{}", how.protocol, how.conn_id,
            stream.remote_ip(), stream.remote_port(), how.service, stream.local_ip(), stream.local_port());
  if (!how.implicit_tls) co_return true;
  // RFC 8314 §3.3: TLS from the first byte.
  IoStatus st = IoStatus::Error;
  if (how.tls) st = co_await stream.start_tls(how.tls->current(), kHandshakeTimeout);
  if (st != IoStatus::Ok) {
    log::info("event=tls_failed conn={} client={} error={}", how.conn_id, stream.remote_ip(),
              log::q(how.tls ? stream.last_error() : "no certificate"));
    co_await stream.shutdown();
    co_return false;
  }
  co_return true;
}

awaitable<IoStatus> upgrade_to_tls(Stream& stream, TlsContexts& tls, std::string_view conn_id) {
  auto st = co_await stream.start_tls(tls.current(), kHandshakeTimeout);
  if (st != IoStatus::Ok)
    log::info("event=tls_failed conn={} client={} error={}", conn_id, stream.remote_ip(), log::q(stream.last_error()));
  co_return st;
}

}  // namespace valija::net
