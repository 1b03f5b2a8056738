// FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE/VANISHED).
#include <fmt/format.h>

#include <algorithm>

#include "base/log.hpp"
#include "imap/proto/output.hpp"
#include "imap/server/message_source.hpp"
#include "imap/server/session.hpp"
#include "mail/bodystructure.hpp"
#include "mail/header.hpp"
#include "mail/section.hpp"
#include "mail/transfer.hpp"

namespace valija::imap::server {
namespace {

using proto::FetchAtt;
using proto::FetchItem;
using proto::SectionText;

bool needs_structure(const FetchItem& it) {
  switch (it.att) {
    case FetchAtt::Envelope:
    case FetchAtt::Body:
    case FetchAtt::BodyStructure:
    case FetchAtt::Rfc822Header:
    case FetchAtt::Rfc822Text:
    case FetchAtt::BinarySection:
    case FetchAtt::BinarySize: return true;
    case FetchAtt::BodySection: return !it.section.part.empty() || it.section.text != SectionText::None;
    default: return false;
  }
}

bool sets_seen(const FetchItem& it) {
  switch (it.att) {
    case FetchAtt::Rfc822:
    case FetchAtt::Rfc822Text: return true;
    case FetchAtt::BodySection:
    case FetchAtt::BinarySection: return !it.peek;
    default: return false;
  }
}

// "BODY[1.2.HEADER.FIELDS (A B)]<0>" as the response names it (RFC 9051 §7.5.2).
std::string section_name(const FetchItem& it) {
  std::string s = it.att == FetchAtt::BinarySection ? "BINARY[" : it.att == FetchAtt::BinarySize ? "BINARY.SIZE[" : "BODY[";
  for (std::size_t i = 0; i < it.section.part.size(); ++i) {
    if (i) s += '.';
    s += std::to_string(it.section.part[i]);
  }
  auto dot = [&] {
    if (!it.section.part.empty()) s += '.';
  };
  switch (it.section.text) {
    case SectionText::None: break;
    case SectionText::Header: dot(); s += "HEADER"; break;
    case SectionText::Text: dot(); s += "TEXT"; break;
    case SectionText::Mime: dot(); s += "MIME"; break;
    case SectionText::HeaderFields:
    case SectionText::HeaderFieldsNot:
      dot();
      s += it.section.text == SectionText::HeaderFields ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (";
      for (std::size_t i = 0; i < it.section.fields.size(); ++i) {
        if (i) s += ' ';
        proto::write_astring(s, it.section.fields[i], false);
      }
      s += ')';
      break;
  }
  s += ']';
  if (it.partial) s += fmt::format("<{}>", it.partial->offset);
  return s;
}

// RFC 9051 §6.4.5 <origin.octets>: the substring, empty past the end.
std::pair<std::uint64_t, std::uint64_t> clip(std::uint64_t begin, std::uint64_t end, const FetchItem& it) {
  if (!it.partial) return {begin, end};
  auto b = begin + std::min(it.partial->offset, end - begin);
  auto e = b + std::min(it.partial->count, end - b);
  return {b, e};
}

mail::mime::SectionPart section_part(SectionText t) {
  switch (t) {
    case SectionText::Header:
    case SectionText::HeaderFields:
    case SectionText::HeaderFieldsNot: return mail::mime::SectionPart::Header;
    case SectionText::Text: return mail::mime::SectionPart::Text;
    case SectionText::Mime: return mail::mime::SectionPart::Mime;
    case SectionText::None: break;
  }
  return mail::mime::SectionPart::Whole;
}

struct Missing {};  // the message is gone (expunged meanwhile)

}  // namespace

// One FETCH of one message; writes "* n FETCH (...)".
class FetchWriter {
 public:
  FetchWriter(const proto::cmd::Fetch& args, const SessionConfig& config, MessageSource& source, store::Store& store,
              bool rev2)
      : args_(args), config_(config), source_(source), store_(store), rev2_(rev2) {}

  // false: the message's data could not be read (gone, or damaged); nothing was written.
  Result<void> write(Output& out, std::uint32_t seq, const ViewMessage& v, bool with_uid, bool with_flags,
                     bool with_modseq) {
    std::string text = fmt::format("* {} FETCH (", seq);
    std::vector<Output::Slice> slices;
    const char* sep = "";
    auto item = [&](std::string_view name) {
      text += sep;
      text += name;
      sep = " ";
    };
    if (with_uid) item(fmt::format("UID {}", v.info.uid));
    for (const auto& it : args_.items) {
      switch (it.att) {
        case FetchAtt::Uid:
          if (!with_uid) item(fmt::format("UID {}", v.info.uid));
          break;
        case FetchAtt::Flags:
          if (!with_flags) {
            item("FLAGS ");
            write_flags(text, v, !rev2_);
          }
          break;
        case FetchAtt::InternalDate:
          item("INTERNALDATE ");
          proto::write_date_time(text, v.info.internal_date, 0);
          break;
        case FetchAtt::Rfc822Size: item(fmt::format("RFC822.SIZE {}", v.info.size)); break;
        case FetchAtt::ModSeq:
          if (!with_modseq) item(fmt::format("MODSEQ ({})", v.info.modseq));
          break;
        case FetchAtt::Envelope: {
          auto e = source_.envelope(v.info);
          if (!e) return tl::unexpected(e.error());
          item("ENVELOPE ");
          text += **e;
          break;
        }
        case FetchAtt::Body:
        case FetchAtt::BodyStructure: {
          auto p = source_.structure(v.info);
          if (!p) return tl::unexpected(p.error());
          item(it.att == FetchAtt::Body ? "BODY " : "BODYSTRUCTURE ");
          text += it.att == FetchAtt::Body ? mail::mime::body(**p, rev2_) : mail::mime::body_structure(**p, rev2_);
          break;
        }
        case FetchAtt::Rfc822:
        case FetchAtt::Rfc822Header:
        case FetchAtt::Rfc822Text:
        case FetchAtt::BodySection: {
          auto r = body_section(text, slices, sep, it, v);
          if (!r) return r;
          sep = " ";
          break;
        }
        case FetchAtt::BinarySection:
        case FetchAtt::BinarySize: {
          auto r = binary(text, sep, it, v);
          if (!r) return r;
          sep = " ";
          break;
        }
      }
    }
    if (with_flags) {
      item("FLAGS ");
      write_flags(text, v, !rev2_);
    }
    if (with_modseq) item(fmt::format("MODSEQ ({})", v.info.modseq));
    text += ")\r\n";
    for (auto& s : slices) s.at += out.text.size();
    out.text += text;
    for (auto& s : slices) out.slices.push_back(std::move(s));
    return {};
  }

  bool unknown_cte = false;

 private:
  Result<void> body_section(std::string& text, std::vector<Output::Slice>& slices, const char* sep,
                            const FetchItem& it, const ViewMessage& v) {
    std::string name;
    std::uint64_t begin = 0, end = v.info.size;
    SectionText what = it.section.text;
    if (it.att == FetchAtt::Rfc822) name = "RFC822";
    else if (it.att == FetchAtt::Rfc822Header) name = "RFC822.HEADER", what = SectionText::Header;
    else if (it.att == FetchAtt::Rfc822Text) name = "RFC822.TEXT", what = SectionText::Text;
    else name = section_name(it);
    text += sep;
    text += name;
    text += ' ';
    if (!it.section.part.empty() || what != SectionText::None) {
      auto p = source_.structure(v.info);
      if (!p) return tl::unexpected(p.error());
      auto range = mail::mime::find_section(**p, it.section.part, section_part(what));
      if (!range) {  // no such part: NIL, as Dovecot answers
        text += "NIL";
        return {};
      }
      begin = range->begin;
      end = range->end;
    }
    if (what == SectionText::HeaderFields || what == SectionText::HeaderFieldsNot) {
      auto block = source_.read(v.info, begin, end);
      if (!block) return tl::unexpected(block.error());
      std::vector<std::string_view> names(it.section.fields.begin(), it.section.fields.end());
      auto selected = mail::select_fields(*block, names, what == SectionText::HeaderFieldsNot);
      auto [b, e] = clip(0, selected.size(), it);
      proto::write_literal(text, std::string_view(selected).substr(b, e - b));
      return {};
    }
    auto [b, e] = clip(begin, end, it);
    if (e - b > config_.inline_literal || inlined_ + (e - b) > config_.inline_total) {  // streamed by the connection
      auto reader = store_.open_message(v.info);
      if (!reader) return tl::unexpected(reader.error());
      text += fmt::format("{{{}}}\r\n", e - b);
      slices.push_back(Output::Slice{text.size(), std::shared_ptr<store::MessageReader>(std::move(*reader)), b, e - b});
      return {};
    }
    auto data = source_.read(v.info, b, e);
    if (!data) return tl::unexpected(data.error());
    inlined_ += data->size();
    proto::write_literal(text, *data);
    return {};
  }

  // RFC 3516 §4.2: the part's content, transfer encoding undone.
  Result<void> binary(std::string& text, const char* sep, const FetchItem& it, const ViewMessage& v) {
    auto p = source_.structure(v.info);
    if (!p) return tl::unexpected(p.error());
    std::string data;
    if (it.section.part.empty()) {
      auto all = source_.whole(v.info);
      if (!all) return tl::unexpected(all.error());
      data = std::move(*all);
    } else {
      const auto* part = mail::mime::find_part(**p, it.section.part);
      if (!part || part->is_multipart()) {
        text += sep;
        text += section_name(it) + " NIL";
        return {};
      }
      auto raw = source_.read(v.info, part->body_begin, part->body_end);
      if (!raw) return tl::unexpected(raw.error());
      auto decoded = mail::decode_body(*raw, part->encoding, config_.limits.append);
      if (decoded.unknown_encoding) unknown_cte = true;
      data = std::move(decoded.data);
    }
    text += sep;
    text += section_name(it);
    if (it.att == FetchAtt::BinarySize) {
      text += fmt::format(" {}", data.size());
      return {};
    }
    auto [b, e] = clip(0, data.size(), it);
    std::string_view slice = std::string_view(data).substr(b, e - b);
    text += ' ';
    proto::write_literal(text, slice, slice.find('\0') != std::string_view::npos);  // literal8 for NUL
    return {};
  }

  const proto::cmd::Fetch& args_;
  const SessionConfig& config_;
  MessageSource& source_;
  store::Store& store_;
  bool rev2_;
  std::uint64_t inlined_ = 0;  // message octets read into this command's response
};

Done Session::cmd_fetch(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Fetch>(cmd.args);
  if (!args.uid && !seqs_valid(args.set)) return Done::bad("Message sequence number out of range");
  if (args.vanished && !qresync_) return Done::bad("Enable QRESYNC first");  // RFC 7162 §3.2.6
  bool want_modseq = args.changed_since.has_value();
  for (const auto& it : args.items) want_modseq |= it.att == FetchAtt::ModSeq;
  if (want_modseq) condstore_ = true;  // RFC 7162 §3.1
  auto seqs = resolve(args.set, args.uid);
  if (args.vanished) {  // RFC 7162 §3.2.6: expunged UIDs of the set since CHANGEDSINCE
    auto ch = store_.changes_since(view_.info().id, *args.changed_since, true);
    if (!ch) return failed(ch.error());
    auto uids = view_.uids();
    auto set = args.set.resolve(uids.empty() ? 0 : uids.back());
    proto::IdSet gone;
    for (auto u : ch->expunged)
      if (set.contains(u)) gone.add(u);
    if (!gone.empty()) out.text += "* VANISHED (EARLIER) " + gone.to_string() + "\r\n";
  }
  std::vector<std::uint32_t> chosen;
  for (auto s : seqs)
    if (!args.changed_since || view_.at(s).info.modseq > *args.changed_since) chosen.push_back(s);

  bool structure = false, seen = false;
  for (const auto& it : args.items) {
    structure |= needs_structure(it);
    seen |= sets_seen(it);
  }
  MessageSource source(store_, view_.info().id, parts_);
  if (structure) {
    std::vector<const store::MessageInfo*> infos;
    for (auto s : chosen) infos.push_back(&view_.at(s).info);
    if (auto r = source.preload(infos); !r) return failed(r.error());
  }
  // RFC 9051 §6.4.5: fetching a body sets \Seen (not in a read-only mailbox); the new
  // flags go with the data.
  std::vector<std::uint32_t> seen_now;
  if (seen && !read_only_) {
    std::vector<std::uint32_t> unseen;
    for (auto s : chosen) {
      const auto& v = view_.at(s);
      if (!v.expunged && !has_flag(v.info.flags, "\\Seen")) unseen.push_back(v.info.uid);
    }
    if (!unseen.empty()) {
      auto r = write([&] { return store_.store_flags(view_.info().id, unseen, store::FlagOp::Add, "\\Seen", std::nullopt); });
      if (!r) return failed(r.error());
      for (const auto& m : r->messages) {
        view_.flags_by_us(m.uid, m.flags, m.modseq);
        if (m.changed) seen_now.push_back(m.uid);
      }
    }
  }
  FetchWriter writer(args, config_, source, store_, rev2_);
  bool missing = false, damaged = false;
  for (auto s : chosen) {
    const auto& v = view_.at(s);
    bool flags_changed = std::find(seen_now.begin(), seen_now.end(), v.info.uid) != seen_now.end();
    auto r = writer.write(out, s, v, args.uid || qresync_, flags_changed, want_modseq);
    if (!r) {
      if (r.error().code != Errc::NotFound) {
        log::error("event=imap_fetch_failed user={} uid={} trace={} error={}", log::q(account_.address()), v.info.uid,
                   v.info.trace_id, log::q(r.error().detail));
        damaged = true;
      } else {
        missing = true;
      }
    }
  }
  // The other messages were answered; the damaged ones are the administrator's to repair.
  if (damaged) return Done::no("SERVERBUG", "Stored data of some of the requested messages is damaged; the "
                                            "administrator has been told");
  if (writer.unknown_cte) return Done::no("UNKNOWN-CTE", "A part has an unknown content transfer encoding");
  // RFC 9051 §7.1 EXPUNGEISSUED: some messages went while the command ran.
  if (missing) return Done::no("EXPUNGEISSUED", "Some of the requested messages no longer exist");
  return Done::ok("FETCH completed");
}

}  // namespace valija::imap::server
