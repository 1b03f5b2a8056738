// CAPABILITY, NOOP, ENABLE, ID, NAMESPACE and QUOTA (RFC 9051, RFC 5161, RFC 2971,
// RFC 2342, RFC 9208).
#include <fmt/format.h>

#include "imap/proto/output.hpp"
#include "imap/server/session.hpp"
#include "base/text.hpp"

namespace valija::imap::server {

Done Session::cmd_capability(const proto::Command&, Output& out) {
  out.text += "* CAPABILITY " + capabilities() + "\r\n";
  return Done::ok("CAPABILITY completed");
}

// RFC 9051 §6.1.2: the point is the untagged updates, which execute() adds.
Done Session::cmd_noop(const proto::Command&, Output&) { return Done::ok("NOOP completed"); }

Done Session::cmd_enable(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Enable>(cmd.args);
  std::string enabled;
  for (const auto& c : args.capabilities) {
    bool* flag = nullptr;
    if (c == "IMAP4REV2") flag = &rev2_;
    else if (c == "CONDSTORE") flag = &condstore_;
    else if (c == "QRESYNC") flag = &qresync_;  // RFC 7162 §3.2.3: implies CONDSTORE
    // RFC 5161 §3.1: unknown or already enabled ones are not listed.
    if (!flag || *flag) continue;
    *flag = true;
    if (flag == &qresync_) condstore_ = true;
    if (flag == &rev2_) utf8_ = true;  // RFC 9051 §6.3.1: names and strings are UTF-8
    enabled += " " + c;
  }
  out.text += "* ENABLED" + enabled + "\r\n";
  return Done::ok("ENABLE completed");
}

Done Session::cmd_id(const proto::Command&, Output& out) {
  // RFC 2971 §3.3: the server's own fields; the client's are only for the log.
  out.text += "* ID (\"name\" \"valija\" \"vendor\" \"valija\" \"support-url\" \"https://valija.email\")\r\n";
  return Done::ok("ID completed");
}

Done Session::cmd_namespace(const proto::Command&, Output& out) {
  // RFC 2342 §5: one personal namespace, no prefix, "/" as the delimiter.
  out.text += "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n";
  return Done::ok("NAMESPACE completed");
}

// RFC 9208 §5.1: one quota root, "", for the whole account.
void Session::write_quota(Output& out) {
  auto fresh = store_.find_account(account_.local, account_.domain);
  if (fresh && *fresh) account_ = **fresh;
  std::string res;
  if (account_.quota_bytes)
    res += fmt::format("STORAGE {} {}", (account_.used_bytes + 1023) / 1024, account_.quota_bytes / 1024);
  if (account_.quota_messages) {
    if (!res.empty()) res += ' ';
    res += fmt::format("MESSAGE {} {}", account_.used_messages, account_.quota_messages);
  }
  out.text += "* QUOTA \"\" (" + res + ")\r\n";
}

Done Session::cmd_getquota(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::QuotaRoot>(cmd.args);
  if (!args.root.empty()) return Done::no("NONEXISTENT", "No such quota root");
  write_quota(out);
  return Done::ok("GETQUOTA completed");
}

Done Session::cmd_getquotaroot(const proto::Command& cmd, Output& out) {
  const auto& args = std::get<proto::cmd::Mailbox>(cmd.args);
  auto name = mailbox_arg(args.mailbox, false);
  if (!name) return name.error();
  auto mb = store_.find_mailbox(account_.id, *name);
  if (!mb) return failed(mb.error());
  if (!*mb || (*mb)->noselect) return Done::no("NONEXISTENT", "No such mailbox");
  out.text += "* QUOTAROOT ";
  proto::write_mailbox(out.text, *name, utf8_);
  out.text += " \"\"\r\n";
  write_quota(out);
  return Done::ok("GETQUOTAROOT completed");
}

Done Session::cmd_setquota(const proto::Command&, Output&) {
  // RFC 9208 §4.4: quotas are the administrator's (valija user quota).
  return Done::no("NOPERM", "Quotas are set by the administrator");
}

}  // namespace valija::imap::server
