// SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH results (RFC 4731), SEARCHRES
// (RFC 5182) and MODSEQ (RFC 7162 §3.1.5).
#include <fmt/format.h>

#include "base/log.hpp"
#include "imap/proto/output.hpp"
#include "imap/proto/sequence_set.hpp"
#include "imap/server/search_eval.hpp"
#include "imap/server/session.hpp"

namespace valija::imap::server {

Done Session::cmd_search(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Search>(cmd.args);
  SearchScopeInfo scope;
  scope.exists = view_.exists();
  auto uids = view_.uids();
  scope.max_uid = uids.empty() ? 0 : uids.back();
  scope.saved = saved_ ? &*saved_ : nullptr;
  scope.recent = !rev2_;
  auto eval = SearchEvaluator::prepare(args.program, args.charset, scope);
  if (!eval) return Done::no("BADCHARSET (US-ASCII UTF-8)", "Unsupported charset");
  if (eval->uses_modseq()) condstore_ = true;  // RFC 7162 §3.1
  MessageSource source(store_, view_.info().id, parts_);
  if (eval->needs_structure()) {
    std::vector<const store::MessageInfo*> infos;
    for (std::uint32_t s = 1; s <= view_.exists(); ++s)
      if (!view_.at(s).expunged) infos.push_back(&view_.at(s).info);
    if (auto r = source.preload(infos); !r) return failed(r.error());
  }
  std::vector<std::uint32_t> hits;  // sequence numbers
  std::uint64_t top_modseq = 0;
  for (std::uint32_t s = 1; s <= view_.exists(); ++s) {
    const auto& v = view_.at(s);
    if (v.expunged) continue;
    auto r = eval->matches(s, v, source);
    if (!r) {
      if (r.error().code != Errc::NotFound)
        log::error("event=imap_search_failed user={} uid={} trace={} error={}", log::q(account_.address()),
                   v.info.uid, v.info.trace_id, log::q(r.error().detail));
      continue;
    }
    if (!*r) continue;
    hits.push_back(s);
    top_modseq = std::max(top_modseq, v.info.modseq);
  }
  auto id_of = [&](std::uint32_t s) { return args.uid ? view_.at(s).info.uid : s; };
  // RFC 9051 §6.4.4: an IMAP4rev2 client gets ESEARCH (ALL when no RETURN options).
  std::optional<proto::SearchReturn> ret = args.ret;
  if (!ret && rev2_) ret = proto::SearchReturn{false, false, true, false, false};
  if (!ret) {
    out.text += "* SEARCH";
    for (auto s : hits) out.text += fmt::format(" {}", id_of(s));
    if (eval->uses_modseq() && !hits.empty()) out.text += fmt::format(" (MODSEQ {})", top_modseq);
    out.text += "\r\n";
    return Done::ok("SEARCH completed");
  }
  proto::SearchReturn r = *ret;
  if (!r.min && !r.max && !r.all && !r.count && !r.save) r.all = true;  // "RETURN ()"
  if (r.save) {  // RFC 5182 §2.1: with MIN/MAX only those are saved
    saved_.emplace();
    if (!hits.empty() && (r.min || r.max) && !r.all && !r.count) {
      if (r.min) saved_->push_back(view_.at(hits.front()).info.uid);
      if (r.max && (!r.min || hits.size() > 1)) saved_->push_back(view_.at(hits.back()).info.uid);
    } else {
      for (auto s : hits) saved_->push_back(view_.at(s).info.uid);
    }
    if (!r.min && !r.max && !r.all && !r.count) return Done::ok("SEARCH completed, result saved");
  }
  out.text += "* ESEARCH (TAG ";
  proto::write_string(out.text, cmd.tag, false);
  out.text += ")";
  if (args.uid) out.text += " UID";
  if (!hits.empty()) {
    if (r.min) out.text += fmt::format(" MIN {}", id_of(hits.front()));
    if (r.max) out.text += fmt::format(" MAX {}", id_of(hits.back()));
    if (r.all) {
      proto::IdSet all;
      for (auto s : hits) all.add(id_of(s));
      out.text += " ALL " + all.to_string();
    }
  }
  if (r.count) out.text += fmt::format(" COUNT {}", hits.size());
  if (eval->uses_modseq() && !hits.empty()) out.text += fmt::format(" MODSEQ {}", top_modseq);
  out.text += "\r\n";
  return Done::ok("SEARCH completed");
}

}  // namespace valija::imap::server
