#include "mail/bodystructure.hpp"

#include "base/text.hpp"
#include "mail/imap_string.hpp"

namespace valija::mail::mime {
namespace {

void append_params(std::string& out, const std::vector<MimeParam>& params) {
  if (params.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  for (const auto& p : params) {
    if (!first) out += ' ';
    first = false;
    append_imap_string(out, p.name);
    out += ' ';
    append_imap_string(out, p.value);
  }
  out += ')';
}

// RFC 3501 §9 body-ext-1part / body-ext-mpart after the MD5 or the parameters.
void append_disposition_language_location(std::string& out, const Part& p) {
  out += ' ';
  if (p.disposition) {  // body-fld-dsp
    out += '(';
    append_imap_string(out, *p.disposition);
    out += ' ';
    append_params(out, p.disposition_params);
    out += ')';
  } else {
    out += "NIL";
  }
  out += ' ';
  if (p.languages.empty()) {  // body-fld-lang
    out += "NIL";
  } else {
    out += '(';
    for (std::size_t i = 0; i < p.languages.size(); ++i) {
      if (i) out += ' ';
      append_imap_string(out, p.languages[i]);
    }
    out += ')';
  }
  out += ' ';
  append_imap_nstring(out, p.location);  // body-fld-loc
}

// What Dovecot sends for a multipart without parts, whose grammar needs at least one.
void append_empty_part(std::string& out, bool extensions) {
  out += "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";
  if (extensions) out += " NIL NIL NIL NIL";
  out += ')';
}

constexpr std::string_view kEmptyEnvelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

void append_part(std::string& out, const Part& p, const RenderOptions& o) {
  out += '(';
  if (p.is_multipart()) {  // body-type-mpart
    if (p.children.empty()) append_empty_part(out, o.extensions);
    for (const auto& c : p.children) append_part(out, c, o);
    out += ' ';
    append_imap_string(out, p.subtype);
    if (o.extensions) {
      out += ' ';
      append_params(out, p.params);
      append_disposition_language_location(out, p);
    }
    out += ')';
    return;
  }
  // body-fields: params, id, description, encoding, octets
  append_imap_string(out, p.type);
  out += ' ';
  append_imap_string(out, p.subtype);
  out += ' ';
  append_params(out, p.params);
  out += ' ';
  append_imap_nstring(out, p.id);
  out += ' ';
  append_imap_nstring(out, p.description);
  out += ' ';
  append_imap_string(out, p.encoding);
  out += ' ';
  out += std::to_string(p.body_octets());
  bool message = text::iequals(p.type, "message") &&
                 (text::iequals(p.subtype, "rfc822") || (o.imap4rev2 && text::iequals(p.subtype, "global")));
  if (message) {  // body-type-msg: envelope, body, lines
    out += ' ';
    if (!p.children.empty() && p.children[0].envelope) append_envelope(out, *p.children[0].envelope);
    else out += kEmptyEnvelope;
    out += ' ';
    if (!p.children.empty()) append_part(out, p.children[0], o);
    else append_empty_part(out, o.extensions);
    out += ' ';
    out += std::to_string(p.body_lines);
  } else if (p.is_text()) {  // body-type-text
    out += ' ';
    out += std::to_string(p.body_lines);
  }
  if (o.extensions) {
    out += ' ';
    append_imap_nstring(out, p.md5);
    append_disposition_language_location(out, p);
  }
  out += ')';
}

}  // namespace

void append_body(std::string& out, const Part& message, const RenderOptions& options) {
  append_part(out, message, options);
}

std::string body_structure(const Part& message, bool imap4rev2) {
  std::string out;
  append_part(out, message, RenderOptions{true, imap4rev2});
  return out;
}

std::string body(const Part& message, bool imap4rev2) {
  std::string out;
  append_part(out, message, RenderOptions{false, imap4rev2});
  return out;
}

}  // namespace valija::mail::mime
