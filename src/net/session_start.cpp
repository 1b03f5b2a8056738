#include "net/session_start.hpp"

#include "base/log.hpp"

namespace valija::net {

constexpr std::chrono::seconds kHandshakeTimeout{30};

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

awaitable<bool> pace_command(ConnectionSlot& slot, std::string_view protocol, std::string_view conn_id,
                             const std::function<awaitable<bool>()>& flush) {
  auto wait = slot.pace();
  if (wait <= TokenBucket::Clock::duration::zero()) co_return true;
  auto& entry = slot.entry();
  if (!entry.paced) {
    entry.paced = true;
    log::warn("event=rate_limited limit=commands_per_second protocol={} conn={} client={} rate={} action=delay",
              protocol, conn_id, entry.ip, slot.rate());
  }
  if (!co_await flush()) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  co_await timer.async_wait(use_tuple);
  co_return true;
}

awaitable<IoStatus> upgrade_to_tls(Stream& stream, TlsContexts& tls, std::string_view conn_id) {
  auto st = co_await stream.start_tls(tls.current(), kHandshakeTimeout);
  if (st != IoStatus::Ok)
    log::info("event=tls_failed conn={} client={} error={}", conn_id, stream.remote_ip(), log::q(stream.last_error()));
  co_return st;
}

}  // namespace valija::net
