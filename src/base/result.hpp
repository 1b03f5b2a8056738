#pragma once
// Result<T> = tl::expected<T, Error>; moving to std::expected later is this one line.
#include <tl/expected.hpp>

#include "base/error.hpp"

namespace valija {

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string detail) {
  return tl::unexpected<Error>(Error{code, std::move(detail)});
}

}  // namespace valija
