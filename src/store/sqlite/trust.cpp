// Mail-authentication data of the SQLite engine: DKIM signing keys per domain and the
// greylist.
#include <fmt/format.h>

#include "base/text.hpp"
#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {

Result<void> SqliteStore::add_dkim_key(const DkimKey& key) {
  std::lock_guard lock(write_mu_);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto did = domain_id(writer_, text::to_lower(key.domain));
  TRY(did);
  auto ins = writer_.cached(
      "INSERT INTO dkim_keys(domain_id, selector, algorithm, private_key, public_key, created, state) "
      "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
  TRY(ins);
  TRY(ins->bind(1, *did).bind(2, text::to_lower(key.selector)).bind(3, key.algorithm).bind(4, key.private_key)
          .bind(5, key.public_key).bind(6, key.created).bind(7, static_cast<std::int64_t>(key.state)).run());
  if (writer_.changes() == 0)
    return fail(Errc::Exists, fmt::format("{} has a DKIM key with selector {} already", key.domain, key.selector));
  return commit_writer(*tx);
}

Result<std::vector<DkimKey>> SqliteStore::list_dkim_keys(std::optional<std::string_view> domain) {
  auto rd = reader();
  TRY(rd);
  auto st = rd->db().cached(
      "SELECT d.name, k.selector, k.algorithm, k.private_key, k.public_key, k.created, k.state "
      "FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE ?1 IS NULL OR d.name = ?1 "
      "ORDER BY d.name, k.created, k.selector");
  TRY(st);
  if (domain) st->bind(1, text::to_lower(*domain));
  else st->bind_null(1);
  std::vector<DkimKey> out;
  while (true) {
    auto row = st->step();
    TRY(row);
    if (!*row) break;
    DkimKey k;
    k.domain = st->str(0);
    k.selector = st->str(1);
    k.algorithm = st->str(2);
    k.private_key = st->str(3);
    k.public_key = st->str(4);
    k.created = st->i64(5);
    k.state = static_cast<DkimKeyState>(st->i64(6));
    out.push_back(std::move(k));
  }
  st->reset();
  return out;
}

Result<void> SqliteStore::set_dkim_key_state(std::string_view domain, std::string_view selector, DkimKeyState state) {
  std::lock_guard lock(write_mu_);
  auto st = writer_.cached(
      "UPDATE dkim_keys SET state = ? WHERE selector = ? AND domain_id = (SELECT id FROM domains WHERE name = ?)");
  TRY(st);
  TRY(st->bind(1, static_cast<std::int64_t>(state)).bind(2, text::to_lower(selector)).bind(3, text::to_lower(domain)).run());
  if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no DKIM key {} for {}", selector, domain));
  return {};
}

Result<void> SqliteStore::remove_dkim_key(std::string_view domain, std::string_view selector) {
  std::lock_guard lock(write_mu_);
  auto st = writer_.cached(
      "DELETE FROM dkim_keys WHERE selector = ? AND domain_id = (SELECT id FROM domains WHERE name = ?)");
  TRY(st);
  TRY(st->bind(1, text::to_lower(selector)).bind(2, text::to_lower(domain)).run());
  if (writer_.changes() == 0) return fail(Errc::NotFound, fmt::format("no DKIM key {} for {}", selector, domain));
  return {};
}

Result<GreylistDecision> SqliteStore::greylist(std::string_view triplet, std::int64_t now, const GreylistPolicy& p) {
  std::lock_guard lock(write_mu_);
  auto tx = Tx::begin(writer_);
  TRY(tx);
  // Forget attempts never retried in time and passes unused for too long.
  auto old = writer_.cached("DELETE FROM greylist WHERE (passed = 0 AND first_seen < ?) OR last_seen < ?");
  TRY(old);
  TRY(old->bind(1, now - p.retry_window).bind(2, now - p.pass_lifetime).run());
  auto sel = writer_.cached("SELECT first_seen, passed FROM greylist WHERE triplet = ?");
  TRY(sel);
  sel->bind(1, triplet);
  auto row = sel->step();
  TRY(row);
  GreylistDecision d;
  if (!*row) {
    sel->reset();
    auto ins = writer_.cached("INSERT INTO greylist(triplet, first_seen, last_seen) VALUES(?, ?, ?)");
    TRY(ins);
    TRY(ins->bind(1, triplet).bind(2, now).bind(3, now).run());
    d.retry_after = p.delay;
  } else {
    auto first = sel->i64(0);
    bool passed = sel->i64(1) != 0;
    sel->reset();
    d.pass = passed || now - first >= p.delay;
    if (!d.pass) d.retry_after = first + p.delay - now;
    auto up = writer_.cached("UPDATE greylist SET last_seen = ?, passed = ? WHERE triplet = ?");
    TRY(up);
    TRY(up->bind(1, now).bind(2, d.pass ? 1 : 0).bind(3, triplet).run());
  }
  TRY(commit_writer(*tx));
  return d;
}

}  // namespace valija::store::sqlite
