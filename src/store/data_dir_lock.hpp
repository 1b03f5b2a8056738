#pragma once
// The data dir's lock (DATA/valija.lock, flock): `valija serve` holds it while it runs,
// `valija check --repair` while it writes. Held until the descriptor is closed (or the
// process ends).
#include <string>

#include "base/result.hpp"

namespace valija::store {

// The lock's descriptor. Errc::Exists: another process holds it.
Result<int> lock_data_dir(const std::string& dir);

}  // namespace valija::store
