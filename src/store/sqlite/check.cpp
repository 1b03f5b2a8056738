// valija check: the metadata against the bodies, the cached counters against the rows,
// and what a crash leaves behind. Read-only unless asked to repair; rows are read a page
// at a time (each page a fresh snapshot), so memory stays bounded and a running server
// is never held up. What looks wrong beside a running server is looked at again before
// it is reported (a compaction may have moved the body meanwhile).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "store/sqlite/store_impl.hpp"

namespace valija::store {

std::string_view check_kind_name(CheckKind kind) {
  switch (kind) {
    case CheckKind::Database: return "database";
    case CheckKind::MissingBody: return "missing-body";
    case CheckKind::ShortBody: return "short-body";
    case CheckKind::CorruptBody: return "corrupt-body";
    case CheckKind::MissingBlobRow: return "missing-blob-row";
    case CheckKind::MessageSize: return "message-size";
    case CheckKind::BlobRefs: return "blob-refs";
    case CheckKind::MailboxCounters: return "mailbox-counters";
    case CheckKind::AccountUsage: return "account-usage";
    case CheckKind::PackCounters: return "pack-counters";
    case CheckKind::OrphanFile: return "orphan-file";
    case CheckKind::TempFile: return "temp-file";
  }
  return "?";
}

}  // namespace valija::store

namespace valija::store::sqlite {
namespace {

constexpr int kPage = 256;
// Damaged bodies remembered to name the messages that use them; past this many the
// rest are reported by body only.
constexpr std::size_t kMaxBadBodies = 100000;
constexpr std::size_t kMaxOrphansListed = 100000;

// Seconds since the file was last written; -1 when it is gone.
std::int64_t age_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(std::time(nullptr)) - static_cast<std::int64_t>(st.st_mtime);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string short_id(const std::string& id) { return id.substr(0, 12); }

// Steps `st` (which takes the last key seen as ?1, returns the key in column 0 and
// stops at kPage rows) page after page, each page a fresh read, calling `row` per row.
template <class Key, class F>
Result<void> pages(Stmt& st, Key first, F&& row) {
  Key last = first;
  while (true) {
    st.reset();
    st.bind(1, last);
    int n = 0;
    while (true) {
      auto r = st.step();
      if (!r) {
        st.reset();
        return tl::unexpected(r.error());
      }
      if (!*r) break;
      ++n;
      if constexpr (std::is_same_v<Key, std::int64_t>) last = st.i64(0);
      else last = st.str(0);
      auto done = row(st);
      if (!done) {
        st.reset();
        return done;
      }
    }
    st.reset();
    if (n < kPage) return {};
  }
}

}  // namespace

class Checker {
 public:
  Checker(SqliteStore& s, const CheckOptions& o, Db& db) : s_(s), o_(o), db_(db), repair_(o.repair) {}

  Result<CheckReport> run() {
    auto fine = database();
    TRY(fine);
    if (!*fine) repair_ = false;  // a damaged database is no place for repairs
    TRY(bodies());
    TRY(messages());
    TRY(queue());
    TRY(unnamed_bodies());
    TRY(blob_refs());
    TRY(mailboxes());
    TRY(accounts());
    TRY(packs());
    TRY(orphans());
    // References fixed first: a body whose count was too low is no longer collected.
    if (repair_) TRY(s_.collect_garbage());
    return std::move(report_);
  }

 private:
  struct Bad {
    CheckKind kind;
    std::string what;
    bool named = false;  // a message or queue entry was reported for it
  };

  void emit(CheckKind kind, std::string message, bool repaired, MailboxId mailbox = 0, std::uint32_t uid = 0) {
    CheckProblem p{kind, std::move(message), repaired, mailbox, uid};
    ++report_.problems;
    if (repaired) ++report_.repaired;
    if (o_.on_problem) o_.on_problem(p);
    if (report_.listed.size() < kCheckListed) report_.listed.push_back(std::move(p));
  }

  // One repair in its own durable commit; `f` says whether it changed what it meant to.
  Result<bool> write(const std::function<Result<bool>(Db&)>& f) {
    std::lock_guard lock(s_.write_mu_);
    auto tx = Tx::begin(s_.writer_);
    TRY(tx);
    auto changed = f(s_.writer_);
    TRY(changed);
    TRY(s_.commit_writer(*tx));
    return *changed;
  }

  // One guarded statement in a transaction of its own, run only when repairing: whether
  // it changed a row.
  template <class... Args>
  Result<bool> fix(std::string_view sql, const Args&... args) {
    if (!repair_) return false;
    return write([&](Db& w) -> Result<bool> {
      auto up = w.cached(sql);
      TRY(up);
      int i = 0;
      (up->bind(++i, args), ...);
      TRY(up->run());
      return w.changes() > 0;
    });
  }

  // "ana@example.org INBOX"
  Result<std::string> where(MailboxId mailbox) {
    auto st = db_.cached(
        "SELECT a.local || '@' || d.name, b.name FROM mailboxes b JOIN accounts a ON a.id = b.account_id "
        "JOIN domains d ON d.id = a.domain_id WHERE b.id = ?");
    TRY(st);
    st->bind(1, mailbox);
    auto row = st->step();
    TRY(row);
    std::string out = *row ? fmt::format("{} {}", st->str(0), st->str(1)) : fmt::format("mailbox #{}", mailbox);
    st->reset();
    return out;
  }

  // --- 1. the database itself ---
  Result<bool> database() {
    bool fine = true;
    {
      auto st = db_.prepare("PRAGMA quick_check(100)");
      TRY(st);
      while (true) {
        auto row = st->step();
        TRY(row);
        if (!*row) break;
        auto line = st->str(0);
        if (line == "ok") continue;
        emit(CheckKind::Database,
             fmt::format("valija.db: {}{}", line,
                         fine && o_.repair ? " (nothing repaired: restore a backup, or rebuild the database with "
                                             "sqlite3 .recover)"
                                           : ""),
             false);
        fine = false;
      }
    }
    auto st = db_.prepare("PRAGMA foreign_key_check");
    TRY(st);
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      auto table = st->str(0), parent = st->str(2);
      // A message or queue entry naming an unknown body is reported, with its names, below.
      if (parent == "blobs" && (table == "messages" || table == "queue")) continue;
      emit(CheckKind::Database, fmt::format("valija.db: {} row {} names a {} row that does not exist", table,
                                            st->i64(1), parent),
           false);
    }
    return fine;
  }

  // --- 2. every body where its row says ---
  Result<std::optional<Bad>> inspect(const std::string& id, const SqliteStore::BodyPlace& p) {
    std::string path = p.pack ? s_.packs_.path(*p.pack) : s_.blobs_.path(id);
    std::uint64_t offset = p.pack ? p.offset : 0;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Bad{CheckKind::MissingBody, fmt::format("body {} is missing ({})", short_id(id), path)};
      return Bad{CheckKind::MissingBody, fmt::format("body {}: {}: {}", short_id(id), path, std::strerror(errno))};
    }
    auto file = static_cast<std::uint64_t>(st.st_size);
    if (file < offset + p.size)
      return Bad{CheckKind::ShortBody, fmt::format("body {} is cut short: {} has {} octets, the body needs {} at {}",
                                                   short_id(id), path, file, p.size, offset)};
    if (!p.pack && file != p.size)
      return Bad{CheckKind::CorruptBody, fmt::format("body {}: {} has {} octets, its row says {}", short_id(id), path,
                                                     file, p.size)};
    if (o_.deep) {
      auto sum = blob::content_id_of_file(path, offset, p.size);
      if (!sum) return Bad{CheckKind::CorruptBody, fmt::format("body {}: {}", short_id(id), sum.error().detail)};
      if (*sum != id)
        return Bad{CheckKind::CorruptBody,
                   fmt::format("body {} in {} does not match its content address (its SHA-256 is {})", short_id(id),
                               path, short_id(*sum))};
    }
    return std::optional<Bad>{};
  }

  Result<void> bodies() {
    auto st = db_.cached(
        fmt::format("SELECT id, pack_id, pack_offset, size FROM blobs WHERE id > ?1 ORDER BY id LIMIT {}", kPage));
    TRY(st);
    return pages(*st, std::string(), [&](Stmt& row) -> Result<void> {
      ++report_.bodies;
      auto id = row.str(0);
      SqliteStore::BodyPlace place;
      if (!row.is_null(1)) place.pack = static_cast<std::uint64_t>(row.i64(1));
      place.offset = static_cast<std::uint64_t>(row.i64(2));
      place.size = static_cast<std::uint64_t>(row.i64(3));
      auto bad = inspect(id, place);
      TRY(bad);
      if (!*bad) return {};
      // Beside a running server the body may have been collected or moved meanwhile.
      auto now = s_.body_place(id);
      if (!now && now.error().code == Errc::NotFound) return {};
      TRY(now);
      if (now->pack != place.pack || now->offset != place.offset) {
        bad = inspect(id, *now);
        TRY(bad);
        if (!*bad) return {};
      }
      if (bad_.size() < kMaxBadBodies) bad_.emplace(id, std::move(**bad));
      else emit((*bad)->kind, (*bad)->what, false);
      return {};
    });
  }

  // A message or queue entry naming a body without a row: a loose file of that content
  // becomes the row again (with repair); otherwise nothing can be done for it.
  Result<bool> adopt(const std::string& id) {
    auto path = s_.blobs_.path(id);
    if (!exists(path)) return false;
    rowless_.insert(id);  // never an orphan: a message names it
    if (!repair_) return false;
    auto sum = blob::content_id_of_file(path, 0, static_cast<std::uint64_t>(std::max<std::int64_t>(0, size_of(path))));
    if (!sum || *sum != id) {
      keep_orphans_ = true;
      return false;
    }
    return write([&](Db& w) -> Result<bool> {
      // Rare (a damaged store), so counting its users with a scan is fine.
      auto ins = w.cached(
          "INSERT INTO blobs(id, size, refs) VALUES(?1, ?2, (SELECT count(*) FROM messages WHERE blob_id = ?1) + "
          "(SELECT count(*) FROM queue WHERE blob_id = ?1)) ON CONFLICT(id) DO NOTHING");
      TRY(ins);
      TRY(ins->bind(1, id).bind(2, size_of(path)).run());
      return true;
    });
  }

  static std::int64_t size_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
  }

  // A reported damaged body, named by the message that has it.
  void name_bad(const std::string& blob, const std::string& who, MailboxId mailbox = 0, std::uint32_t uid = 0) {
    auto it = bad_.find(blob);
    if (it == bad_.end()) return;
    it->second.named = true;
    emit(it->second.kind, fmt::format("{}: {}", who, it->second.what), false, mailbox, uid);
  }

  // --- 3. messages and queue entries: their bodies' rows, their sizes ---
  Result<void> messages() {
    auto st = db_.cached(fmt::format(
        "SELECT m.id, m.mailbox_id, m.uid, m.size, length(m.prefix), m.trace_id, m.blob_id, b.size, b.id IS NULL "
        "FROM messages m LEFT JOIN blobs b ON b.id = m.blob_id WHERE m.id > ?1 ORDER BY m.id LIMIT {}",
        kPage));
    TRY(st);
    return pages(*st, std::int64_t{0}, [&](Stmt& row) -> Result<void> {
      ++report_.messages;
      auto blob = row.str(6);
      bool rowless = row.i64(8) != 0;
      bool bad = bad_.count(blob) > 0;
      auto size = row.i64(3), expected = row.i64(4) + row.i64(7);
      if (!rowless && !bad && size == expected) return {};
      auto mailbox = row.i64(1);
      auto uid = static_cast<std::uint32_t>(row.i64(2));
      auto trace = row.str(5);
      auto place = where(mailbox);
      TRY(place);
      auto who = fmt::format("{} UID {} (trace {})", *place, uid, trace);
      if (rowless) {
        auto adopted = adopt(blob);
        TRY(adopted);
        emit(CheckKind::MissingBlobRow,
             fmt::format("{}: its body {} has no row{}", who, short_id(blob),
                         *adopted ? " (taken back from its file)" : ""),
             *adopted, mailbox, uid);
      } else if (bad) {
        name_bad(blob, who, mailbox, uid);
      } else {
        emit(CheckKind::MessageSize, fmt::format("{}: size {}, but its trace headers and body make {}", who, size,
                                                 expected),
             false, mailbox, uid);
      }
      return {};
    });
  }

  Result<void> queue() {
    auto st = db_.cached(fmt::format(
        "SELECT q.id, q.blob_id, q.trace_id, b.id IS NULL FROM queue q LEFT JOIN blobs b ON b.id = q.blob_id "
        "WHERE q.id > ?1 ORDER BY q.id LIMIT {}",
        kPage));
    TRY(st);
    return pages(*st, std::int64_t{0}, [&](Stmt& row) -> Result<void> {
      ++report_.messages;
      auto blob = row.str(1);
      auto who = fmt::format("queue entry {} (trace {})", row.i64(0), row.str(2));
      if (row.i64(3) != 0) {
        auto adopted = adopt(blob);
        TRY(adopted);
        emit(CheckKind::MissingBlobRow,
             fmt::format("{}: its body {} has no row{}", who, short_id(blob),
                         *adopted ? " (taken back from its file)" : ""),
             *adopted);
      } else {
        name_bad(blob, who);
      }
      return {};
    });
  }

  // Damaged bodies no message named (still referenced: the counts disagree too).
  Result<void> unnamed_bodies() {
    for (auto& [id, bad] : bad_) {
      if (bad.named) continue;
      auto st = db_.cached("SELECT refs FROM blobs WHERE id = ?");
      TRY(st);
      st->bind(1, id);
      auto row = st->step();
      TRY(row);
      bool referenced = *row && st->i64(0) > 0;
      st->reset();
      if (referenced) emit(bad.kind, bad.what, false);
    }
    return {};
  }

  // --- 3. cached counters ---
  Result<void> blob_refs() {
    // Bodies no longer referenced (refs <= 0, no user) await collection: not a problem.
    auto st = db_.prepare(
        "WITH n(blob_id, n) AS (SELECT blob_id, count(*) FROM (SELECT blob_id FROM messages UNION ALL "
        "SELECT blob_id FROM queue) GROUP BY blob_id) "
        "SELECT b.id, b.refs, coalesce(n.n, 0) FROM blobs b LEFT JOIN n ON n.blob_id = b.id "
        "WHERE b.refs != coalesce(n.n, 0) AND NOT (b.refs <= 0 AND n.n IS NULL)");
    TRY(st);
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      auto id = st->str(0);
      auto refs = st->i64(1), users = st->i64(2);
      auto fixed = fix("UPDATE blobs SET refs = ? WHERE id = ? AND refs = ?", users, id, refs);
      TRY(fixed);
      emit(CheckKind::BlobRefs,
           fmt::format("body {}: {} references counted, {} messages and queue entries name it{}", short_id(id), refs,
                       users, users > refs ? " (it could have been collected while in use)" : ""),
           *fixed);
    }
    return {};
  }

  Result<void> mailboxes() {
    auto st = db_.prepare(
        "SELECT b.id, b.messages, b.uidnext, b.highest_modseq, b.recent_uid, coalesce(m.n, 0), "
        "max(coalesce(m.maxuid, 0), coalesce(e.maxuid, 0)), max(coalesce(m.maxmod, 0), coalesce(e.maxmod, 0)) "
        "FROM mailboxes b "
        "LEFT JOIN (SELECT mailbox_id, count(*) n, max(uid) maxuid, max(modseq) maxmod FROM messages "
        "GROUP BY mailbox_id) m ON m.mailbox_id = b.id "
        "LEFT JOIN (SELECT mailbox_id, max(uid) maxuid, max(modseq) maxmod FROM expunged GROUP BY mailbox_id) e "
        "ON e.mailbox_id = b.id "
        "WHERE b.messages != coalesce(m.n, 0) OR b.uidnext <= max(coalesce(m.maxuid, 0), coalesce(e.maxuid, 0)) "
        "OR b.highest_modseq < max(coalesce(m.maxmod, 0), coalesce(e.maxmod, 0)) OR b.recent_uid > b.uidnext");
    TRY(st);
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      auto id = st->i64(0);
      auto count = st->i64(1), uidnext = st->i64(2), modseq = st->i64(3), recent = st->i64(4);
      auto n = st->i64(5), max_uid = st->i64(6), max_modseq = st->i64(7);
      // UIDNEXT and HIGHESTMODSEQ only ever go up (clients cache by them).
      auto new_uidnext = std::max(uidnext, max_uid + 1), new_modseq = std::max(modseq, max_modseq);
      auto new_recent = std::min(recent, new_uidnext);
      std::vector<std::string> what;
      if (count != n) what.push_back(fmt::format("{} messages counted, {} there", count, n));
      if (uidnext <= max_uid) what.push_back(fmt::format("UIDNEXT {} not above UID {}", uidnext, max_uid));
      if (modseq < max_modseq) what.push_back(fmt::format("HIGHESTMODSEQ {} below MODSEQ {}", modseq, max_modseq));
      if (recent > uidnext) what.push_back(fmt::format("\\Recent mark {} above UIDNEXT {}", recent, uidnext));
      auto fixed = fix(
          "UPDATE mailboxes SET messages = ?, uidnext = ?, highest_modseq = ?, recent_uid = ? "
          "WHERE id = ? AND messages = ? AND uidnext = ? AND highest_modseq = ?",
          n, new_uidnext, new_modseq, new_recent, id, count, uidnext, modseq);
      TRY(fixed);
      auto place = where(id);
      TRY(place);
      emit(CheckKind::MailboxCounters, fmt::format("{}: {}", *place, fmt::join(what, ", ")), *fixed);
    }
    auto uv = db_.prepare(
        "SELECT (SELECT value FROM counters WHERE name = 'uidvalidity'), (SELECT max(uidvalidity) FROM mailboxes)");
    TRY(uv);
    TRY(uv->step());
    if (!uv->is_null(1) && (uv->is_null(0) || uv->i64(0) < uv->i64(1))) {
      auto top = uv->i64(1);
      auto counter = uv->is_null(0) ? std::string("missing") : std::to_string(uv->i64(0));
      auto fixed = fix(
          "INSERT INTO counters(name, value) VALUES('uidvalidity', ?1) ON CONFLICT(name) DO UPDATE "
          "SET value = max(value, ?1)",
          top);
      TRY(fixed);
      emit(CheckKind::MailboxCounters,
           fmt::format("the UIDVALIDITY counter ({}) is below a mailbox's UIDVALIDITY ({})", counter, top), *fixed);
    }
    return {};
  }

  Result<void> accounts() {
    auto st = db_.prepare(
        "SELECT a.id, a.local || '@' || d.name, a.used_bytes, a.used_messages, coalesce(s.bytes, 0), "
        "coalesce(s.n, 0) FROM accounts a JOIN domains d ON d.id = a.domain_id "
        "LEFT JOIN (SELECT b.account_id, sum(m.size) bytes, count(*) n FROM messages m "
        "JOIN mailboxes b ON b.id = m.mailbox_id GROUP BY b.account_id) s ON s.account_id = a.id "
        "WHERE a.used_bytes != coalesce(s.bytes, 0) OR a.used_messages != coalesce(s.n, 0)");
    TRY(st);
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      auto id = st->i64(0);
      auto name = st->str(1);
      auto bytes = st->i64(2), count = st->i64(3), real_bytes = st->i64(4), real_count = st->i64(5);
      auto fixed = fix(
          "UPDATE accounts SET used_bytes = ?, used_messages = ? WHERE id = ? AND used_bytes = ? AND used_messages = ?",
          real_bytes, real_count, id, bytes, count);
      TRY(fixed);
      emit(CheckKind::AccountUsage,
           fmt::format("{}: quota usage {} octets in {} messages, the messages make {} in {}", name, bytes, count,
                       real_bytes, real_count),
           *fixed);
    }
    return {};
  }

  Result<void> packs() {
    auto st = db_.prepare(
        "SELECT p.id, p.size, p.live, coalesce(s.live, 0), coalesce(s.end, 0) FROM packs p "
        "LEFT JOIN (SELECT pack_id, sum(size) live, max(pack_offset + size) end FROM blobs "
        "WHERE pack_id IS NOT NULL GROUP BY pack_id) s ON s.pack_id = p.id "
        "WHERE p.live != coalesce(s.live, 0) OR p.size < coalesce(s.end, 0)");
    TRY(st);
    while (true) {
      auto row = st->step();
      TRY(row);
      if (!*row) break;
      auto id = st->i64(0);
      auto size = st->i64(1), live = st->i64(2), real_live = st->i64(3), end = st->i64(4);
      auto fixed = fix("UPDATE packs SET live = ?, size = ? WHERE id = ? AND live = ? AND size = ?", real_live,
                       std::max(size, end), id, live, size);
      TRY(fixed);
      emit(CheckKind::PackCounters,
           fmt::format("pack-{}: {} live octets counted, its bodies have {}; size {}, its bodies end at {}", id, live,
                       real_live, size, end),
           *fixed);
    }
    // Bodies in a pack without a row: the orphan sweep would take their file.
    auto rowless = db_.prepare(
        "SELECT pack_id, sum(size), max(pack_offset + size), count(*) FROM blobs WHERE pack_id IS NOT NULL AND "
        "pack_id NOT IN (SELECT id FROM packs) GROUP BY pack_id");
    TRY(rowless);
    while (true) {
      auto row = rowless->step();
      TRY(row);
      if (!*row) break;
      auto id = rowless->i64(0);
      auto live = rowless->i64(1), end = rowless->i64(2), n = rowless->i64(3);
      rowless_packs_.insert(static_cast<std::uint64_t>(id));
      std::int64_t file = repair_ ? size_of(s_.packs_.path(static_cast<std::uint64_t>(id))) : 0;
      auto fixed = fix("INSERT INTO packs(id, size, live) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING", id,
                       std::max(end, file), live);
      TRY(fixed);
      emit(CheckKind::PackCounters, fmt::format("pack-{} holds {} bodies but has no row", id, n), *fixed);
    }
    return {};
  }

  // --- 4. what a crash leaves behind ---
  struct Orphan {
    CheckKind kind;
    std::string path, message;
  };

  void orphan(CheckKind kind, std::string path, std::string message) {
    if (!repair_) {
      emit(kind, std::move(message), false);
      return;
    }
    if (found_.size() < kMaxOrphansListed) found_.push_back({kind, std::move(path), std::move(message)});
    else ++unlisted_orphans_;
  }

  Result<void> orphans() {
    auto st = db_.cached("SELECT pack_id IS NULL FROM blobs WHERE id = ?");
    TRY(st);
    const auto& root = s_.blobs_.root();
    std::optional<Error> failed;
    auto r = s_.blobs_.for_each_file([&](const std::string& name, bool temp) {
      if (failed) return;
      ++report_.files;
      auto path = temp ? root + "/" + name : s_.blobs_.path(name);
      if (temp) {
        if (!repair_ && blob::BlobStore::temp_writer_alive(name)) return;  // a write in flight
        orphan(CheckKind::TempFile, path, fmt::format("{}: temp file of a writer that died", path));
        return;
      }
      if (rowless_.count(name)) return;
      st->reset();
      st->bind(1, name);
      auto row = st->step();
      bool loose = row && *row && st->i64(0) != 0, packed = row && *row && !loose;
      st->reset();
      if (!row) {
        failed = row.error();
        return;
      }
      if (loose) return;
      if (!repair_ && age_of(path) < o_.in_flight_grace) return;  // maybe a delivery not committed yet
      orphan(CheckKind::OrphanFile, path,
             fmt::format("{}: {}", path, packed ? "its body is in a pack (a spare copy)" : "no body row names it"));
    });
    TRY(r);
    if (failed) return tl::unexpected(*failed);
    auto files = s_.packs_.list();
    TRY(files);
    auto known = db_.cached("SELECT 1 FROM packs WHERE id = ?");
    TRY(known);
    for (auto id : *files) {
      ++report_.files;
      known->reset();
      known->bind(1, static_cast<std::int64_t>(id));
      auto row = known->step();
      known->reset();
      TRY(row);
      // The sweep leaves the current pack (and newer) alone: a write may be on its way.
      if (*row || rowless_packs_.count(id) || id >= s_.current_pack_.load()) continue;
      auto path = s_.packs_.path(id);
      if (!repair_ && age_of(path) < o_.in_flight_grace) continue;
      orphan(CheckKind::OrphanFile, path, fmt::format("{}: no row names this pack", path));
    }
    if (!repair_) return {};
    // A body file a message needs but could not take back stays: no sweep then.
    if (!keep_orphans_) TRY(s_.sweep_orphans());
    for (auto& o : found_) {
      bool gone = !exists(o.path);
      emit(o.kind, gone ? std::move(o.message) : o.message + (keep_orphans_ ? " (kept: a message names a body "
                                                                              "file without a row)"
                                                                            : ""),
           gone);
    }
    if (unlisted_orphans_)
      emit(CheckKind::OrphanFile, fmt::format("{} more orphan files", unlisted_orphans_), !keep_orphans_);
    return {};
  }

  SqliteStore& s_;
  const CheckOptions& o_;
  Db& db_;
  bool repair_;
  CheckReport report_;
  std::unordered_map<std::string, Bad> bad_;            // damaged bodies, by id
  std::unordered_set<std::string> rowless_;             // body files messages name without a row
  std::unordered_set<std::uint64_t> rowless_packs_;     // packs with bodies but no row
  bool keep_orphans_ = false;
  std::vector<Orphan> found_;                           // with repair: reported after the sweep
  std::uint64_t unlisted_orphans_ = 0;
};

Result<CheckReport> SqliteStore::check(const CheckOptions& options) {
  auto rd = reader();
  TRY(rd);
  Checker c(*this, options, rd->db());
  return c.run();
}

}  // namespace valija::store::sqlite
