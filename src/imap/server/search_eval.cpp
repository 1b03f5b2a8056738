#include "imap/server/search_eval.hpp"

#include <algorithm>
#include <cctype>

#include "base/text.hpp"
#include "mail/charset.hpp"
#include "mail/fold_case.hpp"
#include "mail/header.hpp"
#include "mail/rfc2047.hpp"
#include "mail/search_text.hpp"

namespace valija::imap::server {
namespace {

using proto::SearchKey;
using proto::SearchOp;

constexpr std::size_t kSearchTextMax = 4 << 20;  // decoded text searched per message

bool is_text_key(SearchOp op) {
  switch (op) {
    case SearchOp::Bcc: case SearchOp::Body: case SearchOp::Cc: case SearchOp::From:
    case SearchOp::Subject: case SearchOp::Text: case SearchOp::To: case SearchOp::Header: return true;
    default: return false;
  }
}

// Converts the program's strings to folded UTF-8 and notes what it needs.
void prepare_key(SearchKey& k, const std::string& charset, bool& structure, bool& modseq) {
  if (is_text_key(k.op) || k.op == SearchOp::SentBefore || k.op == SearchOp::SentOn || k.op == SearchOp::SentSince)
    structure = true;
  if (k.op == SearchOp::ModSeq) modseq = true;
  if (k.op == SearchOp::Header) {
    k.value = mail::fold_case(mail::to_utf8(k.value, charset));
  } else if (is_text_key(k.op)) {
    k.text = mail::fold_case(mail::to_utf8(k.text, charset));
  }
  for (auto& c : k.children) prepare_key(c, charset, structure, modseq);
}

std::int64_t days_of(std::int64_t unix) { return unix >= 0 ? unix / 86400 : -((-unix + 86399) / 86400); }

int month_of(std::string_view m) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  for (int i = 0; i < 12; ++i)
    if (m.size() >= 3 && text::iequals(m.substr(0, 3), kMonths[i])) return i + 1;
  return 0;
}

}  // namespace

bool MessageData::fold_field(const mail::mime::Part& structure, Field f, std::string& out) {
  if (!structure.envelope) return false;
  const auto& e = *structure.envelope;
  const auto& raw = f == Field::From ? e.from : f == Field::To ? e.to : f == Field::Cc ? e.cc
                    : f == Field::Bcc ? e.bcc : e.subject;
  if (!raw) return false;
  out = mail::fold_case(mail::decode_header_value(*raw));
  return true;
}

Result<const std::string*> MessageData::folded(const store::MessageInfo& m, Field f) {
  auto p = structure(m);
  if (!p) return tl::unexpected(p.error());
  return fold_field(**p, f, folded_) ? &folded_ : nullptr;
}

std::optional<std::int64_t> rfc5322_days(std::string_view date) {
  // Tokens: [day-name ","] day month year time zone; tolerant of extra spaces and comments.
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < date.size() && tokens.size() < 8) {
    while (i < date.size() && (date[i] == ' ' || date[i] == '\t' || date[i] == ',' || date[i] == '\r' || date[i] == '\n')) ++i;
    auto start = i;
    while (i < date.size() && !(date[i] == ' ' || date[i] == '\t' || date[i] == ',' || date[i] == '\r' || date[i] == '\n')) ++i;
    if (i > start) tokens.push_back(date.substr(start, i - start));
  }
  for (std::size_t t = 0; t + 2 < tokens.size(); ++t) {
    auto day = text::parse_u64(tokens[t]);
    int month = month_of(tokens[t + 1]);
    auto year = text::parse_u64(tokens[t + 2]);
    if (!day || !month || !year || *day < 1 || *day > 31) continue;
    auto y = static_cast<int>(*year);
    if (tokens[t + 2].size() <= 2) y += y < 50 ? 2000 : 1900;  // RFC 5322 §4.3 obsolete years
    else if (tokens[t + 2].size() == 3) y += 1900;
    proto::Date d{y, month, static_cast<int>(*day)};
    return d.days();
  }
  return std::nullopt;
}

struct SearchEvaluator::Message {
  std::uint32_t seq;
  const ViewMessage& v;
  MessageData& source;
  const mail::mime::Part* part = nullptr;
  std::optional<std::string> header;      // the top-level header block, raw
  std::optional<std::string> body, text;  // folded searchable text
  std::optional<std::string> raw;         // the whole message
};

Result<SearchEvaluator> SearchEvaluator::prepare(const SearchKey& program, const std::optional<std::string>& charset,
                                                 SearchScopeInfo scope) {
  std::string cs = charset ? text::to_lower(*charset) : "utf-8";
  if (cs != "utf-8" && cs != "us-ascii" && !mail::charset_known(cs))
    return fail(Errc::Invalid, "unknown charset");
  SearchEvaluator e;
  e.program_ = program;
  e.scope_ = scope;
  prepare_key(e.program_, cs, e.needs_structure_, e.uses_modseq_);
  return e;
}

Result<bool> SearchEvaluator::matches(std::uint32_t seq, const ViewMessage& v, MessageData& source) {
  Message m{seq, v, source, nullptr, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  return eval(program_, m);
}

Result<bool> SearchEvaluator::header_contains(Message& m, std::string_view field, const std::string& needle) {
  if (!m.header) {
    auto p = m.source.structure(m.v.info);
    if (!p) return tl::unexpected(p.error());
    auto h = m.source.read(m.v.info, 0, (*p)->body_begin);
    if (!h) return tl::unexpected(h.error());
    m.header = std::move(*h);
  }
  // RFC 9051 §6.4.4 HEADER: any field of that name containing the string ("" matches
  // every message that has the field).
  mail::HeaderReader reader(*m.header);
  while (auto f = reader.next()) {
    if (!text::iequals(f->name, field)) continue;
    if (needle.empty()) return true;
    if (mail::fold_case(mail::decode_header_value(f->value)).find(needle) != std::string::npos) return true;
  }
  return false;
}

Result<bool> SearchEvaluator::text_contains(Message& m, bool whole, const std::string& needle) {
  auto& slot = whole ? m.text : m.body;
  if (!slot) {
    auto p = m.source.structure(m.v.info);
    if (!p) return tl::unexpected(p.error());
    if (!m.raw) {
      auto raw = m.source.whole(m.v.info);
      if (!raw) return tl::unexpected(raw.error());
      m.raw = std::move(*raw);
    }
    slot = mail::fold_case(mail::searchable_text(*m.raw, **p, whole ? mail::SearchScope::Text : mail::SearchScope::Body,
                                                 kSearchTextMax));
  }
  return slot->find(needle) != std::string::npos;
}

Result<bool> SearchEvaluator::eval(const SearchKey& k, Message& m) {
  const auto& info = m.v.info;
  auto envelope = [&]() -> Result<const mail::Envelope*> {
    auto p = m.source.structure(info);
    if (!p) return tl::unexpected(p.error());
    static const mail::Envelope kNone;
    return (*p)->envelope ? &*(*p)->envelope : &kNone;
  };
  auto sent_days = [&]() -> Result<std::optional<std::int64_t>> {
    auto env = envelope();
    if (!env) return tl::unexpected(env.error());
    if (!(*env)->date) return std::optional<std::int64_t>{};
    return rfc5322_days(*(*env)->date);
  };
  switch (k.op) {
    case SearchOp::All: return true;
    case SearchOp::And:
      for (const auto& c : k.children) {
        auto r = eval(c, m);
        if (!r || !*r) return r;
      }
      return true;
    case SearchOp::Or: {
      auto a = eval(k.children[0], m);
      if (!a || *a) return a;
      return eval(k.children[1], m);
    }
    case SearchOp::Not: {
      auto a = eval(k.children[0], m);
      if (!a) return a;
      return !*a;
    }
    case SearchOp::Seq:
      if (k.set.is_saved_result()) {
        return scope_.saved && std::find(scope_.saved->begin(), scope_.saved->end(), info.uid) != scope_.saved->end();
      }
      return k.set.resolve(scope_.exists).contains(m.seq);
    case SearchOp::Uid:
      if (k.set.is_saved_result())
        return scope_.saved && std::find(scope_.saved->begin(), scope_.saved->end(), info.uid) != scope_.saved->end();
      return k.set.resolve(scope_.max_uid).contains(info.uid);
    case SearchOp::Answered: return has_flag(info.flags, "\\Answered");
    case SearchOp::Deleted: return has_flag(info.flags, "\\Deleted");
    case SearchOp::Draft: return has_flag(info.flags, "\\Draft");
    case SearchOp::Flagged: return has_flag(info.flags, "\\Flagged");
    case SearchOp::Seen: return has_flag(info.flags, "\\Seen");
    case SearchOp::Unanswered: return !has_flag(info.flags, "\\Answered");
    case SearchOp::Undeleted: return !has_flag(info.flags, "\\Deleted");
    case SearchOp::Undraft: return !has_flag(info.flags, "\\Draft");
    case SearchOp::Unflagged: return !has_flag(info.flags, "\\Flagged");
    case SearchOp::Unseen: return !has_flag(info.flags, "\\Seen");
    case SearchOp::Recent: return scope_.recent && m.v.recent;
    case SearchOp::New: return scope_.recent && m.v.recent && !has_flag(info.flags, "\\Seen");
    case SearchOp::Old: return !(scope_.recent && m.v.recent);
    case SearchOp::Keyword: return has_flag(info.flags, k.text);
    case SearchOp::Unkeyword: return !has_flag(info.flags, k.text);
    case SearchOp::From:
    case SearchOp::To:
    case SearchOp::Cc:
    case SearchOp::Bcc:
    case SearchOp::Subject: {
      using F = MessageData::Field;
      auto f = k.op == SearchOp::From ? F::From : k.op == SearchOp::To ? F::To : k.op == SearchOp::Cc ? F::Cc
               : k.op == SearchOp::Bcc ? F::Bcc : F::Subject;
      auto value = m.source.folded(info, f);
      if (!value) return tl::unexpected(value.error());
      return *value && (*value)->find(k.text) != std::string::npos;
    }
    case SearchOp::Header: return header_contains(m, k.text, k.value);
    case SearchOp::Body: return text_contains(m, false, k.text);
    case SearchOp::Text: return text_contains(m, true, k.text);
    case SearchOp::Before: return days_of(info.internal_date) < k.date.days();
    case SearchOp::On: return days_of(info.internal_date) == k.date.days();
    case SearchOp::Since: return days_of(info.internal_date) >= k.date.days();
    case SearchOp::SentBefore:
    case SearchOp::SentOn:
    case SearchOp::SentSince: {
      auto d = sent_days();
      if (!d) return tl::unexpected(d.error());
      if (!*d) return false;
      auto want = k.date.days();
      return k.op == SearchOp::SentBefore ? **d < want : k.op == SearchOp::SentOn ? **d == want : **d >= want;
    }
    case SearchOp::Larger: return info.size > k.number;
    case SearchOp::Smaller: return info.size < k.number;
    case SearchOp::ModSeq: return info.modseq >= k.number;  // RFC 7162 §3.1.5
  }
  return false;
}

}  // namespace valija::imap::server
