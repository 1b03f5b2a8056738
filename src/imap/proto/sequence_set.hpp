#pragma once
// Sequence sets (RFC 9051 §9 sequence-set, RFC 5182 "$") as ranges, never as lists of
// numbers: "1:4294967295" is one range. SequenceSet is what the client sent ('*' not yet
// resolved); IdSet is the resolved, sorted, merged form the session works with.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace valija::imap::proto {

// '*' in a parsed range: 0 is never a valid sequence number or UID (RFC 9051 §9 nz-number).
constexpr std::uint32_t kStar = 0;

struct SeqRange {
  std::uint32_t first = 0;  // as sent: first may exceed last ("5:3"), kStar for '*'
  std::uint32_t last = 0;
  bool operator==(const SeqRange&) const = default;
};

class IdSet;

class SequenceSet {
 public:
  enum class Errc { Syntax, Zero, TooMany };
  struct Error {
    Errc code;
    std::string text;
  };

  SequenceSet() = default;
  // `text` is the whole set ("1:3,5,*" or "$"); at most `max_ranges` ranges.
  static tl::expected<SequenceSet, Error> parse(std::string_view text, std::size_t max_ranges);
  static SequenceSet saved_result();  // "$" (RFC 5182 §2)
  static SequenceSet of(std::vector<SeqRange> ranges);

  bool is_saved_result() const { return saved_; }
  bool has_star() const;
  bool empty() const { return !saved_ && ranges_.empty(); }
  const std::vector<SeqRange>& ranges() const { return ranges_; }

  // Resolves '*' to `star`, the highest sequence number or UID in use (0 when the mailbox
  // is empty: ranges reduced to '*' vanish). RFC 9051 §6.4.8: "559:*" with 100 as the
  // highest UID means 100:559, so it still names the last message.
  IdSet resolve(std::uint32_t star) const;
  std::string to_string() const;  // as sent, "$" for the saved result
  bool operator==(const SequenceSet&) const = default;

 private:
  std::vector<SeqRange> ranges_;
  bool saved_ = false;
};

// Numbers >= 1 as sorted, disjoint, non-adjacent ranges.
class IdSet {
 public:
  struct Range {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    bool operator==(const Range&) const = default;
  };

  IdSet() = default;
  // Any ranges (first > last swapped, 0 dropped): sorted and merged.
  static IdSet from_ranges(std::vector<Range> ranges);

  // O(1) when numbers come in ascending order (building COPYUID/VANISHED sets).
  void add(std::uint32_t n) { add_range(n, n); }
  void add_range(std::uint32_t first, std::uint32_t last);

  bool empty() const { return ranges_.empty(); }
  bool contains(std::uint32_t n) const;
  std::uint64_t count() const;  // up to 2^32 - 1
  std::uint32_t min() const { return ranges_.empty() ? 0 : ranges_.front().first; }
  std::uint32_t max() const { return ranges_.empty() ? 0 : ranges_.back().last; }
  const std::vector<Range>& ranges() const { return ranges_; }
  // Numbers above `max` dropped (sequence numbers against the message count).
  IdSet clamped(std::uint32_t max) const;

  // Calls f(n) for each n of `present` (ascending, e.g. the mailbox's UIDs) in the set:
  // O(ranges · log present + matches), whatever the size of the ranges.
  template <class F>
  void for_each_present(std::span<const std::uint32_t> present, F&& f) const;

  std::string to_string() const;  // "1:3,5" (RFC 4315 uid-set, RFC 7162 VANISHED)
  bool operator==(const IdSet&) const = default;

 private:
  void normalise();
  std::vector<Range> ranges_;
};

// Compact rendering of numbers in their given order: ascending runs become ranges
// ("1:3,7,5"). COPYUID pairs source and destination UIDs by position (RFC 4315 §3), so
// the order is kept.
std::string render_compact(std::span<const std::uint32_t> ids);

template <class F>
void IdSet::for_each_present(std::span<const std::uint32_t> present, F&& f) const {
  auto it = present.begin();
  for (const auto& r : ranges_) {
    it = std::lower_bound(it, present.end(), r.first);
    for (; it != present.end() && *it <= r.last; ++it) f(*it);
    if (it == present.end()) return;
  }
}

}  // namespace valija::imap::proto
