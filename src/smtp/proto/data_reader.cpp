#include "smtp/proto/data_reader.hpp"

#include <algorithm>
#include <cstring>

namespace valija::smtp::proto {

void DataReader::emit(char c) {
  ++size_;
  if (size_ <= max_ && !dropped_) out_.push_back(c);
}

bool has_bare_newline(std::string_view s) {
  for (std::size_t i = s.find_first_of("\r\n"); i != std::string_view::npos; i = s.find_first_of("\r\n", i + 1)) {
    if (s[i] == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') return true;
      ++i;  // the LF of this CRLF
    } else {
      return true;  // an LF not after CR
    }
  }
  return false;
}

void DataReader::drop() {
  dropped_ = true;
  std::string().swap(out_);
}

// A byte inside a line. A bare LF is not a line end here: it neither ends the data
// nor starts a line that dot-unstuffing or the end marker would look at.
void DataReader::mid(char c) {
  if (c == '\r') {
    state_ = State::Cr;
  } else {
    if (c == '\n') bare_lf_ = true;
    emit(c);
    state_ = State::Mid;
  }
}

void DataReader::emit_run(std::string_view run) {
  if (!dropped_ && size_ < max_) out_.append(run.data(), static_cast<std::size_t>(std::min<std::uint64_t>(max_ - size_, run.size())));
  size_ += run.size();
}

std::size_t DataReader::feed(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() && state_ != State::Done) {
    if (state_ == State::Mid) {
      // Inside a line, everything up to the next CR is plain content: copy it at once.
      // An LF in it has no CR before it: a bare LF.
      const char* start = in.data() + i;
      const void* cr = std::memchr(start, '\r', in.size() - i);
      std::size_t n = cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - start) : in.size() - i;
      if (n > 0) {
        if (std::memchr(start, '\n', n)) bare_lf_ = true;
        emit_run(std::string_view(start, n));
        i += n;
        continue;
      }
    }
    char c = in[i++];
    switch (state_) {
      case State::LineStart:
        if (c == '.') state_ = State::Dot;
        else mid(c);
        break;
      case State::Mid:
        mid(c);
        break;
      case State::Cr:
        if (c == '\n') {
          emit('\r');
          emit('\n');
          state_ = State::LineStart;
        } else {
          bare_cr_ = true;
          emit('\r');
          mid(c);
        }
        break;
      case State::Dot:
        // RFC 5321 §4.5.2: a leading period is removed; "." alone then CRLF ends data.
        if (c == '\r') state_ = State::DotCr;
        else mid(c);
        break;
      case State::DotCr:
        if (c == '\n') {
          state_ = State::Done;
        } else {
          bare_cr_ = true;
          emit('\r');
          mid(c);
        }
        break;
      case State::Done:
        break;
    }
  }
  return i;
}

}  // namespace valija::smtp::proto
