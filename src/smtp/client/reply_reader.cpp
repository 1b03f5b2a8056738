#include "smtp/client/reply_reader.hpp"

#include <fmt/format.h>

namespace valija::smtp::client {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39
bool valid_code(std::string_view s) {
  return s.size() >= 3 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '5' && digit(s[2]);
}

std::size_t number(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  while (i < s.size() && digit(s[i]) && i - start < 4) ++i;
  return i - start;
}

}  // namespace

std::string_view enhanced_status(std::string_view text, int reply_code) {
  if (text.size() < 5) return {};
  char cls = text[0];
  if ((cls != '2' && cls != '4' && cls != '5') || cls - '0' != reply_code / 100 || text[1] != '.') return {};
  std::size_t i = 2;
  std::size_t n = number(text, i);
  if (n == 0 || n > 3 || i >= text.size() || text[i] != '.') return {};
  ++i;
  n = number(text, i);
  if (n == 0 || n > 3) return {};
  if (i < text.size() && text[i] != ' ') return {};
  return text.substr(0, i);
}

std::optional<Result<proto::Reply>> ReplyReader::next() {
  if (failed_) return Result<proto::Reply>(fail(Errc::Invalid, "the server's replies could not be read"));
  while (true) {
    auto nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (buf_.size() - pos_ > limits_.line_max) {
        failed_ = true;
        return Result<proto::Reply>(fail(Errc::Invalid, fmt::format("reply line longer than {} octets", limits_.line_max)));
      }
      // Keep the buffer from growing with what was consumed.
      if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      return std::nullopt;
    }
    std::string_view line(buf_.data() + pos_, nl - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a bare LF is tolerated
    if (line.size() > limits_.line_max) {
      failed_ = true;
      return Result<proto::Reply>(fail(Errc::Invalid, fmt::format("reply line longer than {} octets", limits_.line_max)));
    }
    if (!valid_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      failed_ = true;
      return Result<proto::Reply>(fail(Errc::Invalid, fmt::format("malformed reply line '{}'", line.substr(0, 80))));
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!partial_.lines.empty() && code != partial_.code) {
      failed_ = true;
      return Result<proto::Reply>(fail(Errc::Invalid, fmt::format("reply code changed from {} to {} within one reply",
                                                                   partial_.code, code)));
    }
    bool last = line.size() == 3 || line[3] == ' ';
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
    auto status = enhanced_status(text, code);
    if (!status.empty()) {
      partial_.status = std::string(status);
      text.remove_prefix(std::min(text.size(), status.size() + 1));
    }
    partial_.code = code;
    partial_.lines.emplace_back(text);
    if (partial_.lines.size() > limits_.lines_max) {
      failed_ = true;
      return Result<proto::Reply>(fail(Errc::Invalid, fmt::format("reply of more than {} lines", limits_.lines_max)));
    }
    if (last) {
      proto::Reply r = std::move(partial_);
      partial_ = proto::Reply();
      return Result<proto::Reply>(std::move(r));
    }
  }
}

}  // namespace valija::smtp::client
