#include "imap/server/message_source.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "mail/envelope.hpp"
#include "mail/mime_cache.hpp"

namespace valija::imap::server {
namespace {

void shift(mail::mime::Part& p, std::uint64_t d) {
  p.header_begin += d;
  p.body_begin += d;
  p.body_end += d;
  for (auto& c : p.children) shift(c, d);
}

}  // namespace

void shift_by_prefix(mail::mime::Part& root, std::uint64_t prefix) {
  if (!prefix) return;
  shift(root, prefix);
  root.header_begin = 0;
}

Result<void> MessageSource::preload(std::span<const store::MessageInfo* const> messages) {
  std::vector<std::uint32_t> uids;
  for (const auto* m : messages)
    if (!cached_.count(m->uid) && !parts_.find(m->uid)) uids.push_back(m->uid);
  if (uids.empty()) return {};
  auto metas = store_.message_meta(mailbox_, uids);
  if (!metas) return tl::unexpected(metas.error());
  for (std::size_t i = 0; i < uids.size(); ++i) cached_[uids[i]] = std::move((*metas)[i]);
  return {};
}

const std::string& PartCache::envelope(std::uint32_t uid) {
  auto& e = parts_.at(uid);
  if (!e.envelope) {
    e.envelope.emplace();
    mail::append_envelope(*e.envelope, e.part->envelope ? *e.part->envelope : mail::Envelope{});
  }
  return *e.envelope;
}

const std::string* PartCache::folded(std::uint32_t uid, MessageData::Field f) {
  auto& e = parts_.at(uid);
  auto i = static_cast<std::size_t>(f);
  if (!(e.folded_done & (1u << i))) {
    std::string value;
    if (MessageData::fold_field(*e.part, f, value)) e.folded[i] = std::move(value);
    e.folded_done |= static_cast<std::uint8_t>(1u << i);
  }
  return e.folded[i] ? &*e.folded[i] : nullptr;
}

Result<const std::string*> MessageSource::folded(const store::MessageInfo& m, Field f) {
  auto p = structure(m);
  if (!p) return tl::unexpected(p.error());
  return parts_.folded(m.uid, f);
}

Result<const std::string*> MessageSource::envelope(const store::MessageInfo& m) {
  auto p = structure(m);
  if (!p) return tl::unexpected(p.error());
  return &parts_.envelope(m.uid);
}

Result<const mail::mime::Part*> MessageSource::structure(const store::MessageInfo& m) {
  if (const auto* p = parts_.find(m.uid)) return p;
  std::optional<mail::mime::Part> part;
  auto c = cached_.find(m.uid);
  if (c == cached_.end()) {
    auto metas = store_.message_meta(mailbox_, std::span<const std::uint32_t>(&m.uid, 1));
    if (!metas) return tl::unexpected(metas.error());
    c = cached_.emplace(m.uid, std::move((*metas)[0])).first;
  }
  if (!c->second.empty()) {
    auto decoded = mail::mime::decode(c->second);
    if (decoded) part = std::move(*decoded);
    else log::warn("event=imap_structure_cache_bad uid={} trace={} error={}", m.uid, m.trace_id,
                   log::q(decoded.error().detail));
  }
  if (!part) {  // stored before the cache existed, or the cache entry was unusable
    auto all = whole(m);
    if (!all) return tl::unexpected(all.error());
    std::string_view body(*all);
    body.remove_prefix(std::min<std::size_t>(m.prefix_size, body.size()));
    part = mail::mime::parse(body);
    (void)store_.set_message_meta(mailbox_, m.uid, mail::mime::encode(*part));
  }
  cached_.erase(c);
  shift_by_prefix(*part, m.prefix_size);
  return parts_.put(m.uid, std::move(*part));
}

Result<store::MessageReader*> MessageSource::reader(const store::MessageInfo& m) {
  if (!reader_ || reader_uid_ != m.uid) {
    reader_.reset();
    auto r = store_.open_message(m);
    if (!r) return tl::unexpected(r.error());
    reader_ = std::move(*r);
    reader_uid_ = m.uid;
  }
  return reader_.get();
}

Result<std::string> MessageSource::read(const store::MessageInfo& m, std::uint64_t begin, std::uint64_t end) {
  end = std::min(end, m.size);
  if (begin >= end) return std::string();
  auto r = reader(m);
  if (!r) return tl::unexpected(r.error());
  std::string out(static_cast<std::size_t>(end - begin), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = (*r)->read_at(begin + done, out.data() + done, out.size() - done);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) break;
    done += *n;
  }
  out.resize(done);
  return out;
}

Result<std::string> MessageSource::whole(const store::MessageInfo& m) { return read(m, 0, m.size); }

}  // namespace valija::imap::server
