#include "base/error.hpp"

namespace valija {

std::string_view errc_name(Errc e) {
  switch (e) {
    case Errc::NotFound: return "not found";
    case Errc::Exists: return "already exists";
    case Errc::Permission: return "permission denied";
    case Errc::Quota: return "over quota";
    case Errc::TooBig: return "too big";
    case Errc::Limit: return "limit reached";
    case Errc::Invalid: return "invalid";
    case Errc::Temporary: return "temporary failure";
    case Errc::Unavailable: return "unavailable";
    case Errc::NoSpace: return "no space left";
    case Errc::Corrupt: return "corrupt";
    case Errc::Internal: return "internal error";
  }
  return "unknown";
}

std::string Error::message() const {
  if (detail.empty()) return std::string(errc_name(code));
  return detail;
}

}  // namespace valija
