#include "base/text.hpp"
#include "mail/header.hpp"
#include "mail/mime.hpp"
#include "mail/mime_fields.hpp"

namespace valija::mail::mime {

bool Part::is_multipart() const { return text::iequals(type, "multipart"); }

bool Part::is_message() const {
  return text::iequals(type, "message") &&
         (text::iequals(subtype, "rfc822") || text::iequals(subtype, "global"));
}

bool Part::is_text() const { return text::iequals(type, "text"); }

namespace detail {
namespace {

std::string raw_value(std::string_view v, std::size_t max) {
  return unfold_trim_leading(v.substr(0, std::min(v.size(), max)));
}

}  // namespace

void apply_header(Part& part, std::string_view header, bool in_digest, bool message_node,
                  const MimeLimits& limits) {
  std::optional<ContentType> ct;
  bool seen_ct = false, seen_cte = false, seen_disposition = false, seen_language = false;
  Envelope env;
  HeaderReader r(header);
  while (auto f = r.next()) {
    auto name = f->name;
    auto value = f->value.substr(0, std::min(f->value.size(), limits.max_field_value));
    if (message_node) add_envelope_field(env, name, f->value, limits.max_field_value);
    if (!text::istarts_with(name, "Content-")) continue;
    // A repeated Content-* field: the first one counts (Dovecot does the same except for
    // Content-Disposition, where it keeps the last).
    if (text::iequals(name, "Content-Type")) {
      if (!seen_ct) ct = parse_content_type(value, limits.max_params);
      seen_ct = true;
    } else if (text::iequals(name, "Content-Transfer-Encoding")) {
      if (!seen_cte)
        if (auto t = parse_first_token(value)) part.encoding = *t;
      seen_cte = true;
    } else if (text::iequals(name, "Content-ID")) {
      if (!part.id) part.id = raw_value(value, limits.max_field_value);
    } else if (text::iequals(name, "Content-Description")) {
      if (!part.description) part.description = raw_value(value, limits.max_field_value);
    } else if (text::iequals(name, "Content-MD5")) {
      if (!part.md5) part.md5 = raw_value(value, limits.max_field_value);
    } else if (text::iequals(name, "Content-Location")) {
      if (!part.location) part.location = raw_value(value, limits.max_field_value);
    } else if (text::iequals(name, "Content-Disposition")) {
      if (!seen_disposition)
        if (auto d = parse_content_disposition(value, limits.max_params)) {
          part.disposition = std::move(d->type);
          part.disposition_params = std::move(d->params);
        }
      seen_disposition = true;
    } else if (text::iequals(name, "Content-Language")) {
      if (!seen_language) part.languages = parse_language_list(value, limits.max_languages);
      seen_language = true;
    }
  }
  if (ct) {
    part.type = std::move(ct->type);
    part.subtype = std::move(ct->subtype);
    part.params = std::move(ct->params);
  } else if (in_digest) {  // RFC 2046 §5.1.5
    part.type = "message";
    part.subtype = "rfc822";
  }
  if (part.is_text() && !find_param(part.params, "charset"))
    part.params.push_back({"charset", "us-ascii"});  // RFC 2045 §5.2
  if (message_node) part.envelope = std::move(env);
}

}  // namespace detail
}  // namespace valija::mail::mime
