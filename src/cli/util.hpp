#pragma once
// Helpers shared by the admin commands: opening the store, reading passwords, sizes.
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "mail/address.hpp"
#include "store/store.hpp"

namespace valija::cli {

// Prints "valija: error: ..." and returns 1 (usage errors return 2).
int error(const std::string& message);
// The `add` commands (the steps of a setup) create a missing data dir; every other
// command says it is missing rather than leave an empty one behind.
Result<std::unique_ptr<store::Store>> open_store(const std::string& data_dir, bool create = false);
// Reads a password from stdin (first line) or, on a terminal, asks twice without echo.
Result<std::string> read_password(bool from_stdin);
// "ana@example.org" -> mailbox, with a clear error.
Result<mail::Mailbox> parse_address(const std::string& address);
// "500M", "2G", "0" (unlimited), plain bytes.
Result<std::uint64_t> parse_size(const std::string& s);
std::string format_size(std::uint64_t bytes);
// A TXT value in zone-file syntax: quoted character-strings of at most 250 octets (RFC
// 1035 §3.3.14: DNS servers join them again), in parentheses when there are several.
std::string zone_txt(std::string_view value);
// The TXT value that publishes a stored DKIM key ("v=DKIM1; k=rsa; p=...").
std::string dkim_key_record(const store::DkimKey& key);

}  // namespace valija::cli
