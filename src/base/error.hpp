#pragma once
// The error value every layer returns (docs/ARCHITECTURE.md "Errors").
#include <string>
#include <string_view>

namespace valija {

enum class Errc {
  NotFound,
  Exists,
  Permission,
  Quota,
  TooBig,
  Limit,
  Invalid,
  Temporary,
  Unavailable,
  NoSpace,  // the disk (or the file system quota) is full: temporary, for the client too
  Corrupt,
  Internal,
};

std::string_view errc_name(Errc e);

struct Error {
  Errc code = Errc::Internal;
  std::string detail;

  Error() = default;
  Error(Errc c, std::string d) : code(c), detail(std::move(d)) {}

  std::string message() const;
};

}  // namespace valija
