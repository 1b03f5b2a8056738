// Garbage collection of bodies: dead blobs, empty and sparse packs, orphans of crashes.
#include <fmt/format.h>

#include <optional>

#include "base/log.hpp"
#include "store/sqlite/store_impl.hpp"

namespace valija::store::sqlite {

// Holding pin_mu_ from the decision to the unlink: a put_blob() of the same content
// either pinned it first (we skip it) or starts after the file is gone (it rewrites it).
// Bodies in packs are dropped from the metadata; a pack left with no live body is
// deleted, and one mostly dead is compacted (its live bodies copied to the current
// pack, then the file deleted).
Result<std::size_t> SqliteStore::collect_garbage() {
  std::lock_guard lock(write_mu_);
  std::vector<std::string> loose;
  std::vector<std::uint64_t> empty_packs;
  std::size_t removed = 0;
  {
    std::lock_guard pins(pin_mu_);
    auto tx = Tx::begin(writer_);
    TRY(tx);
    struct Dead {
      std::string id;
      std::optional<std::int64_t> pack;
      std::int64_t size;
    };
    std::vector<Dead> dead;
    auto st = writer_.cached("SELECT id, pack_id, size FROM blobs WHERE refs <= 0");
    TRY(st);
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      auto id = st->str(0);
      if (pinned_.count(id)) continue;  // in flight: next time
      dead.push_back(Dead{std::move(id), st->is_null(1) ? std::nullopt : std::optional(st->i64(1)), st->i64(2)});
    }
    st->reset();
    auto del = writer_.cached("DELETE FROM blobs WHERE id = ? AND refs <= 0");
    TRY(del);
    auto live = writer_.cached("UPDATE packs SET live = live - ? WHERE id = ?");
    TRY(live);
    for (const auto& d : dead) {
      del->reset();
      TRY(del->bind(1, d.id).run());
      if (d.pack) {
        live->reset();
        TRY(live->bind(1, d.size).bind(2, *d.pack).run());
      } else {
        loose.push_back(d.id);
      }
    }
    auto empty = writer_.cached("SELECT id FROM packs WHERE live <= 0 AND id != ?");
    TRY(empty);
    empty->bind(1, static_cast<std::int64_t>(current_pack_.load()));
    while (true) {
      auto row = empty->step();
      TRY(row);
      if (!*row) break;
      empty_packs.push_back(static_cast<std::uint64_t>(empty->i64(0)));
    }
    empty->reset();
    auto drop = writer_.cached("DELETE FROM packs WHERE id = ?");
    TRY(drop);
    for (auto id : empty_packs) {
      drop->reset();
      TRY(drop->bind(1, static_cast<std::int64_t>(id)).run());
    }
    TRY(commit_writer(*tx));
    removed = dead.size();
    // Still under pin_mu_: a put_blob() of the same content pinned before this point
    // (its file stays; the delivery recreates the row) or runs after the unlink.
    for (const auto& id : loose)
      if (!pinned_.count(id)) (void)blobs_.remove(id);
  }
  for (auto id : empty_packs) (void)packs_.remove(id);
  auto compacted = compact_packs();
  if (!compacted) log::warn("event=pack_compaction_failed error={}", log::q(compacted.error().detail));
  return removed;
}

// Packs other than the current one whose live bodies fill less than half of them.
Result<void> SqliteStore::compact_packs() {
  std::vector<std::uint64_t> sparse;
  {
    auto st = writer_.cached("SELECT id FROM packs WHERE id != ? AND size >= ? AND live * 2 < size ORDER BY id");
    TRY(st);
    st->bind(1, static_cast<std::int64_t>(current_pack_.load())).bind(2, static_cast<std::int64_t>(compact_min_));
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      sparse.push_back(static_cast<std::uint64_t>(st->i64(0)));
    }
    st->reset();
  }
  // One pack per collection pass, so the writer is never held long; a pack that cannot
  // be compacted (unreadable) is logged and left for the admin, not retried forever.
  for (auto id : sparse) {
    if (failed_compactions_.count(id)) continue;
    auto r = compact_pack(id);
    if (!r) {
      failed_compactions_.insert(id);
      return r;
    }
    break;
  }
  return {};
}

Result<void> SqliteStore::compact_pack(std::uint64_t old) {
  struct Body {
    std::string id;
    std::uint64_t offset, size;
    std::string bytes;
  };
  std::vector<Body> bodies;
  {
    auto st = writer_.cached("SELECT id, pack_offset, size FROM blobs WHERE pack_id = ?");
    TRY(st);
    st->bind(1, static_cast<std::int64_t>(old));
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      bodies.push_back(Body{st->str(0), static_cast<std::uint64_t>(st->i64(1)), static_cast<std::uint64_t>(st->i64(2)), {}});
    }
    st->reset();
  }
  std::vector<std::string_view> views;
  std::uint64_t bytes = 0;
  for (auto& b : bodies) {
    auto r = packs_.read(old, b.offset, b.size);
    TRY(r);
    b.bytes = std::move(*r);
    views.push_back(b.bytes);
    bytes += b.size;
  }
  std::vector<std::uint64_t> offsets;
  if (!views.empty()) {
    auto appended = append_to_pack(views);
    TRY(appended);
    offsets = std::move(*appended);
  }
  auto tx = Tx::begin(writer_);
  TRY(tx);
  auto to = static_cast<std::int64_t>(current_pack_.load());
  if (!views.empty()) TRY(record_pack_growth(bytes));
  auto move = writer_.cached("UPDATE blobs SET pack_id = ?, pack_offset = ? WHERE id = ?");
  TRY(move);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    move->reset();
    TRY(move->bind(1, to).bind(2, static_cast<std::int64_t>(offsets[i])).bind(3, bodies[i].id).run());
  }
  auto drop = writer_.cached("DELETE FROM packs WHERE id = ?");
  TRY(drop);
  TRY(drop->bind(1, static_cast<std::int64_t>(old)).run());
  TRY(commit_writer(*tx));
  log::info("event=pack_compacted pack={} bodies={} bytes={} into={}", old, bodies.size(), bytes, to);
  (void)packs_.remove(old);
  if (packs_.end() >= pack_max_) next_pack();
  return {};
}

// Runs beside deliveries without stopping them: no writer lock, and the pin lock is
// held only while one file is judged. A file is garbage when nothing pins it (no
// write in flight) and no committed row names it; pins are dropped only after the
// commit, so a fresh read sees the row of any blob that was just delivered.
Result<std::size_t> SqliteStore::sweep_orphans() {
  auto rd = reader();
  TRY(rd);
  // A body file is garbage when no row names it, or when its row says the body lives
  // in a pack (the same content was packed while this file was being written).
  auto st = rd->db().cached("SELECT 1 FROM blobs WHERE id = ? AND pack_id IS NULL");
  TRY(st);
  std::size_t removed = 0;
  std::optional<Error> failed;
  auto r = blobs_.for_each_file([&](const std::string& name, bool temp_of_dead_writer) {
    if (failed) return;
    if (temp_of_dead_writer) {
      removed += blobs_.remove_file(name) ? 1 : 0;
      return;
    }
    std::lock_guard pins(pin_mu_);
    if (pinned_.count(name)) return;
    st->reset();
    st->bind(1, name);
    auto row = st->step();
    st->reset();  // ends the read transaction: the next file gets a fresh snapshot
    if (!row) {
      failed = row.error();
      return;
    }
    if (!*row && blobs_.remove(name)) ++removed;
  });
  TRY(r);
  if (failed) return tl::unexpected(*failed);
  // Pack files older than the current one that no row knows: created, then the commit
  // naming them never came (a crash).
  auto files = packs_.list();
  TRY(files);
  auto known = rd->db().cached("SELECT 1 FROM packs WHERE id = ?");
  TRY(known);
  for (auto id : *files) {
    if (id >= current_pack_.load()) continue;
    known->reset();
    known->bind(1, static_cast<std::int64_t>(id));
    auto row = known->step();
    known->reset();
    TRY(row);
    if (!*row && packs_.remove(id)) ++removed;
  }
  return removed;
}

}  // namespace valija::store::sqlite
