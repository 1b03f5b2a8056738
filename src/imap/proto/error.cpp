#include "imap/proto/error.hpp"

namespace valija::imap::proto {

std::string_view code_name(Code c) {
  switch (c) {
    case Code::None: return "";
    case Code::TooBig: return "TOOBIG";
    case Code::Limit: return "LIMIT";
    case Code::Cannot: return "CANNOT";
    case Code::ClientBug: return "CLIENTBUG";
    case Code::BadCharset: return "BADCHARSET";
  }
  return "";
}

std::string ParseError::render() const {
  std::string out;
  if (close) out += "* BYE " + text + "\r\n";
  out += tag.empty() ? std::string("*") : tag;
  out += status == Status::Bad ? " BAD " : " NO ";
  if (code != Code::None) {
    out += '[';
    out += code_name(code);
    out += "] ";
  }
  out += text;
  out += "\r\n";
  return out;
}

}  // namespace valija::imap::proto
