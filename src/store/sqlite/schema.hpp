#pragma once
// Versioned schema: migrations[i] takes the database from version i to i + 1.
// PRAGMA user_version holds the version; a newer one than we know is refused.
#include <span>
#include <string_view>

#include "base/result.hpp"
#include "store/sqlite/db.hpp"

namespace valija::store::sqlite {

std::span<const std::string_view> migrations();
int current_version();
Result<int> read_version(Db& db);
// Applies the missing migrations, each in its own transaction. Refuses a newer schema.
Result<void> migrate(Db& db, int target = -1);

}  // namespace valija::store::sqlite
