#include "base/line_splitter.hpp"

namespace valija {

void LineSplitter::feed(std::string_view bytes) {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

LineSplitter::Status LineSplitter::next(std::string& line) {
  auto view = std::string_view(buf_).substr(pos_);
  auto lf = view.find('\n');
  if (lf == std::string_view::npos) {
    if (view.size() > max_) {  // the line is already too long: drop what we have
      discarding_ = true;
      buf_.resize(pos_);
    }
    return Status::NeedMore;
  }
  pos_ += lf + 1;
  if (discarding_ || lf + 1 > max_) {
    discarding_ = false;
    line.clear();
    return Status::TooLong;
  }
  auto raw = view.substr(0, lf);
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  line.assign(raw);
  return Status::Line;
}

std::string LineSplitter::take_pending() {
  std::string out = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  return out;
}

void LineSplitter::clear() {
  buf_.clear();
  pos_ = 0;
  discarding_ = false;
}

}  // namespace valija
