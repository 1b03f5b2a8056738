#pragma once
// The IMAP ENVELOPE of a message (RFC 3501 §7.4.2, RFC 9051 §7.5.2): the raw header values it is
// built from, and its rendering.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace valija::mail {

// Raw field values: unfolded (CR and LF removed, WSP kept), leading WSP dropped. nullopt when
// the field is absent.
struct Envelope {
  std::optional<std::string> date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to,
      message_id;
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// Records the field if it is one of the envelope's. A repeated field (RFC 5322 §3.6 allows one)
// is taken as Dovecot does: date, subject, in-reply-to and message-id keep the last value;
// address fields accumulate (joined with ","). Each value is cut to `max_value` octets.
void add_envelope_field(Envelope& env, std::string_view name, std::string_view raw_value,
                        std::size_t max_value);

// All envelope fields of a header block.
Envelope envelope_from_header(std::string_view header_block, std::size_t max_value = 64 * 1024);

// "(" date SP subject SP from SP sender SP reply-to SP to SP cc SP bcc SP in-reply-to SP
// message-id ")" (RFC 3501 §9 envelope). Date, In-Reply-To and Message-ID are the raw values;
// the subject has its whitespace collapsed as Dovecot does; address fields are parsed
// (address_list.hpp), NIL when absent or empty; sender and reply-to fall back to from when
// absent or empty (RFC 3501 §7.4.2).
void append_envelope(std::string& out, const Envelope& env);
std::string render_envelope(const Envelope& env);

}  // namespace valija::mail
