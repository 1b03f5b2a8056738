#include "mail/envelope.hpp"

#include "base/text.hpp"
#include "mail/address_list.hpp"
#include "mail/header.hpp"
#include "mail/imap_string.hpp"

namespace valija::mail {
namespace {

std::string capped(std::string_view raw, std::size_t max_value) {
  std::string v = unfold_trim_leading(raw.substr(0, std::min(raw.size(), max_value + 256)));
  if (v.size() > max_value) v.resize(max_value);
  return v;
}

void set_last(std::optional<std::string>& slot, std::string_view raw, std::size_t max_value) {
  slot = capped(raw, max_value);
}

void accumulate(std::optional<std::string>& slot, std::string_view raw, std::size_t max_value) {
  if (!slot) {
    slot = capped(raw, max_value);
    return;
  }
  if (slot->size() >= max_value) return;
  *slot += ',';
  *slot += capped(raw, max_value - slot->size());
  if (slot->size() > max_value) slot->resize(max_value);
}

void append_addresses(std::string& out, const std::vector<ImapAddress>& list) {
  append_address_list(out, list);
}

std::vector<ImapAddress> addresses(const std::optional<std::string>& raw) {
  if (!raw) return {};
  return parse_address_list(*raw);
}

}  // namespace

void add_envelope_field(Envelope& env, std::string_view name, std::string_view raw,
                        std::size_t max_value) {
  using text::iequals;
  if (iequals(name, "Date")) set_last(env.date, raw, max_value);
  else if (iequals(name, "Subject")) set_last(env.subject, raw, max_value);
  else if (iequals(name, "From")) accumulate(env.from, raw, max_value);
  else if (iequals(name, "Sender")) accumulate(env.sender, raw, max_value);
  else if (iequals(name, "Reply-To")) accumulate(env.reply_to, raw, max_value);
  else if (iequals(name, "To")) accumulate(env.to, raw, max_value);
  else if (iequals(name, "Cc")) accumulate(env.cc, raw, max_value);
  else if (iequals(name, "Bcc")) accumulate(env.bcc, raw, max_value);
  else if (iequals(name, "In-Reply-To")) set_last(env.in_reply_to, raw, max_value);
  else if (iequals(name, "Message-ID")) set_last(env.message_id, raw, max_value);
}

Envelope envelope_from_header(std::string_view header_block, std::size_t max_value) {
  Envelope env;
  HeaderReader r(header_block);
  while (auto f = r.next()) add_envelope_field(env, f->name, f->value, max_value);
  return env;
}

void append_envelope(std::string& out, const Envelope& env) {
  out += '(';
  append_imap_nstring(out, env.date);
  out += ' ';
  if (env.subject) append_imap_string(out, collapse_whitespace(*env.subject));
  else out += "NIL";
  auto from = addresses(env.from);
  auto sender = addresses(env.sender);
  auto reply_to = addresses(env.reply_to);
  out += ' ';
  append_addresses(out, from);
  out += ' ';
  append_addresses(out, sender.empty() ? from : sender);  // RFC 3501 §7.4.2
  out += ' ';
  append_addresses(out, reply_to.empty() ? from : reply_to);
  for (const auto* field : {&env.to, &env.cc, &env.bcc}) {
    out += ' ';
    append_addresses(out, addresses(*field));
  }
  out += ' ';
  append_imap_nstring(out, env.in_reply_to);
  out += ' ';
  append_imap_nstring(out, env.message_id);
  out += ')';
}

std::string render_envelope(const Envelope& env) {
  std::string out;
  append_envelope(out, env);
  return out;
}

}  // namespace valija::mail
