#pragma once
// A compact, versioned binary form of a parsed tree, stored at delivery so FETCH BODYSTRUCTURE,
// ENVELOPE and BODY[section] need no reparse. decode() is safe on any input: it checks every
// length, count, offset and the nesting, and answers Errc::Corrupt instead of trusting it.
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "mail/mime.hpp"

namespace valija::mail::mime {

// Format version written by encode(); decode() accepts only this (an older cache entry is
// Corrupt, and the server parses the message again).
inline constexpr unsigned kCacheVersion = 1;

// Layout: version octet, then the tree in preorder. Numbers are LEB128 varints; offsets are
// deltas (a part from the end of its previous sibling or its parent's body start), strings are
// a varint (length << 1) and the octets, or (index << 1 | 1) into a fixed table of common
// values ("text", "plain", "charset", "us-ascii", "7bit", "boundary"...). A plain text message
// with a typical envelope takes about 150-250 octets, most of it the envelope.
std::string encode(const Part& message);

// Rebuilds the tree; Errc::Corrupt on anything malformed, truncated or past `limits`
// (nesting, parts, parameters, languages).
Result<Part> decode(std::string_view data, const MimeLimits& limits = {});

}  // namespace valija::mail::mime
