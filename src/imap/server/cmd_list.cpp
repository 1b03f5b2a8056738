// LIST (RFC 9051 §6.3.9 with LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, CHILDREN
// RFC 3348, SPECIAL-USE RFC 6154) and LSUB (RFC 3501 §6.3.9).
#include <algorithm>
#include <map>
#include <set>

#include "imap/proto/mailbox_name.hpp"
#include "imap/proto/output.hpp"
#include "imap/server/session.hpp"

namespace valija::imap::server {
namespace {

struct Entry {
  bool exists = false;
  bool noselect = false;
  bool subscribed = false;
  bool has_children = false;
  bool subscribed_child = false;  // a subscribed name lies below (RECURSIVEMATCH)
  std::string special_use;
  const store::MailboxInfo* info = nullptr;
};

std::string parent_of(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? std::string() : name.substr(0, slash);
}

}  // namespace

// Reference and pattern arrive as sent: modified UTF-7 unless UTF-8 is enabled (the
// decoder leaves the wildcards alone).
std::optional<proto::ListPattern> Session::list_pattern(const std::string& reference, const std::string& pattern) const {
  if (utf8_) return proto::ListPattern(reference, pattern, config_.limits);
  auto r = proto::mutf7_decode(reference), p = proto::mutf7_decode(pattern);
  if (!r || !p) return std::nullopt;
  return proto::ListPattern(*r, *p, config_.limits);
}

Done Session::cmd_list(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::List>(cmd.args);
  // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
  if (args.patterns.size() == 1 && args.patterns[0].empty() && !args.extended) {
    out.text += "* LIST (\\Noselect) \"/\" \"\"\r\n";
    return Done::ok("LIST completed");
  }
  auto mailboxes = store_.list_mailboxes(account_.id);
  if (!mailboxes) return failed(mailboxes.error());
  auto subs = store_.list_subscriptions(account_.id);
  if (!subs) return failed(subs.error());

  std::map<std::string, Entry> entries;
  for (const auto& m : *mailboxes) {
    auto& e = entries[m.name];
    e.exists = true;
    e.noselect = m.noselect;
    e.special_use = m.special_use;
    e.info = &m;
    auto p = parent_of(m.name);
    if (!p.empty()) entries[p].has_children = true;
  }
  for (const auto& s : *subs) {
    entries[s].subscribed = true;
    for (auto p = parent_of(s); !p.empty(); p = parent_of(p)) entries[p].subscribed_child = true;
  }
  bool want_subscribed = args.subscribed || args.return_subscribed;
  std::vector<proto::ListPattern> patterns;
  for (const auto& p : args.patterns) {
    auto pattern = list_pattern(args.reference, p);
    if (!pattern) return Done::bad("Malformed modified UTF-7 in the pattern");
    patterns.push_back(std::move(*pattern));
  }
  auto matches = [&](const std::string& name) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) { return p.matches(name); });
  };
  for (const auto& [name, e] : entries) {
    if (!matches(name)) continue;
    bool childinfo = false;
    if (args.subscribed && !e.subscribed) {
      // RFC 5258 §3.5: a parent of subscribed names is listed with CHILDINFO.
      if (!args.recursive_match || !e.subscribed_child) continue;
      childinfo = true;
    }
    // A subscription naming no mailbox shows only when subscriptions are listed.
    if (!e.exists && !(args.subscribed && e.subscribed)) continue;
    if (args.special_use && e.special_use.empty()) continue;
    std::vector<std::string_view> attrs;
    if (!e.exists) attrs.push_back("\\NonExistent");
    else if (e.noselect) attrs.push_back("\\Noselect");
    if (e.exists) attrs.push_back(e.has_children ? "\\HasChildren" : "\\HasNoChildren");
    if (want_subscribed && e.subscribed) attrs.push_back("\\Subscribed");
    if (!e.special_use.empty()) attrs.push_back(e.special_use);
    out.text += "* LIST (";
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      if (i) out.text += ' ';
      out.text += attrs[i];
    }
    out.text += ") \"/\" ";
    proto::write_mailbox(out.text, name, utf8_);
    if (childinfo) out.text += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    out.text += "\r\n";
    // RFC 5819 §2: STATUS right after the LIST of each selectable mailbox.
    if (args.return_status && e.exists && !e.noselect && e.info)
      if (auto err = write_status(out, *e.info, *args.return_status)) return failed(*err);
  }
  return Done::ok("LIST completed");
}

Done Session::cmd_lsub(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Lsub>(cmd.args);
  auto subs = store_.list_subscriptions(account_.id);
  if (!subs) return failed(subs.error());
  auto mailboxes = store_.list_mailboxes(account_.id);
  if (!mailboxes) return failed(mailboxes.error());
  std::set<std::string> selectable;
  for (const auto& m : *mailboxes)
    if (!m.noselect) selectable.insert(m.name);
  auto pattern = list_pattern(args.reference, args.pattern);
  if (!pattern) return Done::bad("Malformed modified UTF-7 in the pattern");
  std::set<std::string> listed;
  std::set<std::string> implied;  // RFC 3501 §6.3.9: "%" lists unsubscribed parents as \Noselect
  for (const auto& s : *subs) {
    if (pattern->matches(s)) listed.insert(s);
    for (auto p = parent_of(s); !p.empty(); p = parent_of(p))
      if (pattern->matches(p)) implied.insert(p);
  }
  std::set<std::string> all(listed);
  all.insert(implied.begin(), implied.end());
  for (const auto& name : all) {
    bool noselect = !listed.count(name) || !selectable.count(name);
    out.text += noselect ? "* LSUB (\\Noselect) \"/\" " : "* LSUB () \"/\" ";
    proto::write_mailbox(out.text, name, utf8_);
    out.text += "\r\n";
  }
  return Done::ok("LSUB completed");
}

}  // namespace valija::imap::server
