#include "imap/proto/sequence_set.hpp"

#include <algorithm>

namespace valija::imap::proto {
namespace {

// RFC 9051 §9: seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT, at most 2^32-1.
bool parse_seq_number(std::string_view s, std::uint32_t& out, bool& zero) {
  if (s == "*") {
    out = kStar;
    return true;
  }
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v == 0) {
    zero = true;
    return false;
  }
  if (s.front() == '0' || v > 0xFFFFFFFFull) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

void append_number(std::string& out, std::uint32_t n) {
  if (n == kStar) out += '*';
  else out += std::to_string(n);
}

}  // namespace

tl::expected<SequenceSet, SequenceSet::Error> SequenceSet::parse(std::string_view text, std::size_t max_ranges) {
  // RFC 5182 §2: "$" stands alone; it is not combined with other ranges.
  if (text == "$") return saved_result();
  SequenceSet set;
  bool zero = false;
  auto bad = [&]() {
    if (zero) return tl::unexpected(Error{Errc::Zero, "0 is not a valid message number"});
    return tl::unexpected(Error{Errc::Syntax, "Invalid sequence set"});
  };
  if (text.empty()) return bad();
  std::size_t pos = 0;
  while (true) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (set.ranges_.size() == max_ranges)
      return tl::unexpected(Error{Errc::TooMany, "Too many ranges in sequence set (limit " + std::to_string(max_ranges) + ")"});
    auto colon = item.find(':');
    SeqRange r;
    if (!parse_seq_number(item.substr(0, colon), r.first, zero)) return bad();
    r.last = r.first;
    if (colon != std::string_view::npos && !parse_seq_number(item.substr(colon + 1), r.last, zero)) return bad();
    set.ranges_.push_back(r);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return set;
}

SequenceSet SequenceSet::saved_result() {
  SequenceSet s;
  s.saved_ = true;
  return s;
}

SequenceSet SequenceSet::of(std::vector<SeqRange> ranges) {
  SequenceSet s;
  s.ranges_ = std::move(ranges);
  return s;
}

bool SequenceSet::has_star() const {
  return std::any_of(ranges_.begin(), ranges_.end(), [](const SeqRange& r) { return r.first == kStar || r.last == kStar; });
}

IdSet SequenceSet::resolve(std::uint32_t star) const {
  std::vector<IdSet::Range> out;
  out.reserve(ranges_.size());
  for (const auto& r : ranges_) {
    std::uint32_t a = r.first == kStar ? star : r.first;
    std::uint32_t b = r.last == kStar ? star : r.last;
    out.push_back({a, b});
  }
  return IdSet::from_ranges(std::move(out));
}

std::string SequenceSet::to_string() const {
  if (saved_) return "$";
  std::string out;
  for (const auto& r : ranges_) {
    if (!out.empty()) out += ',';
    append_number(out, r.first);
    if (r.last != r.first) {
      out += ':';
      append_number(out, r.last);
    }
  }
  return out;
}

IdSet IdSet::from_ranges(std::vector<Range> ranges) {
  IdSet s;
  s.ranges_ = std::move(ranges);
  s.normalise();
  return s;
}

void IdSet::normalise() {
  std::vector<Range> in;
  in.swap(ranges_);
  for (auto& r : in) {
    if (r.first > r.last) std::swap(r.first, r.last);
    if (r.first == 0) r.first = 1;  // 0 never names a message ('*' in an empty mailbox)
  }
  std::erase_if(in, [](const Range& r) { return r.last == 0; });
  std::sort(in.begin(), in.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  for (const auto& r : in) add_range(r.first, r.last);
}

void IdSet::add_range(std::uint32_t first, std::uint32_t last) {
  if (first > last) std::swap(first, last);
  if (first == 0) first = 1;
  if (last == 0) return;
  // Fast path: ascending input follows or extends the last range.
  if (ranges_.empty() || first > static_cast<std::uint64_t>(ranges_.back().last) + 1) {
    ranges_.push_back({first, last});
    return;
  }
  if (first >= ranges_.back().first) {
    ranges_.back().last = std::max(ranges_.back().last, last);
    return;
  }
  // Out of order: insert and merge around the insertion point.
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), first,
                             [](const Range& r, std::uint32_t v) { return static_cast<std::uint64_t>(r.last) + 1 < v; });
  auto end = it;
  Range merged{first, last};
  while (end != ranges_.end() && end->first <= static_cast<std::uint64_t>(merged.last) + 1) {
    merged.first = std::min(merged.first, end->first);
    merged.last = std::max(merged.last, end->last);
    ++end;
  }
  it = ranges_.erase(it, end);
  ranges_.insert(it, merged);
}

bool IdSet::contains(std::uint32_t n) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), n, [](std::uint32_t v, const Range& r) { return v < r.first; });
  if (it == ranges_.begin()) return false;
  --it;
  return n <= it->last;
}

std::uint64_t IdSet::count() const {
  std::uint64_t n = 0;
  for (const auto& r : ranges_) n += static_cast<std::uint64_t>(r.last) - r.first + 1;
  return n;
}

IdSet IdSet::clamped(std::uint32_t max) const {
  IdSet out;
  for (const auto& r : ranges_) {
    if (r.first > max) break;
    out.ranges_.push_back({r.first, std::min(r.last, max)});
  }
  return out;
}

std::string IdSet::to_string() const {
  std::string out;
  for (const auto& r : ranges_) {
    if (!out.empty()) out += ',';
    out += std::to_string(r.first);
    if (r.last != r.first) out += ':' + std::to_string(r.last);
  }
  return out;
}

std::string render_compact(std::span<const std::uint32_t> ids) {
  std::string out;
  std::size_t i = 0;
  while (i < ids.size()) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j] != 0xFFFFFFFFu && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) out += ':' + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace valija::imap::proto
