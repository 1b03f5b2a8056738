#include "cli/util.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "base/text.hpp"
#include "policy/dkim.hpp"

namespace valija::cli {

int error(const std::string& message) {
  std::fprintf(stderr, "valija: error: %s\n", message.c_str());
  return 1;
}

namespace {

// root working on a data dir that belongs to another user (the one valija serves as)
// becomes that user first: files it creates (the database's WAL, blobs, packs) must
// stay the server's, or the server could no longer open them.
Result<void> become_data_owner(const std::string& data_dir) {
  if (::geteuid() != 0) return {};
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0 || st.st_uid == 0) return {};
  if (::setgroups(0, nullptr) != 0 || ::setgid(st.st_gid) != 0 || ::setuid(st.st_uid) != 0)
    return fail(Errc::Permission, fmt::format("cannot become uid {} (the owner of {}): {}", st.st_uid, data_dir,
                                              std::strerror(errno)));
  return {};
}

}  // namespace

Result<std::unique_ptr<store::Store>> open_store(const std::string& data_dir, bool create) {
  if (auto owner = become_data_owner(data_dir); !owner) return tl::unexpected(owner.error());
  auto s = store::open_sqlite({data_dir, create});
  if (!s && s.error().code == Errc::NotFound)
    return fail(Errc::NotFound, fmt::format("{} (run 'valija domain add DOMAIN --data {}' or 'valija serve --data {}' "
                                            "to create it)",
                                            s.error().detail, data_dir, data_dir));
  return s;
}

namespace {
std::string read_line_noecho() {
  termios old{};
  bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fputc('\n', stderr);
  }
  return line;
}
}  // namespace

Result<std::string> read_password(bool from_stdin) {
  std::string pw;
  if (from_stdin || !::isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, pw)) return fail(Errc::Invalid, "no password on standard input");
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  } else {
    std::fputs("Password: ", stderr);
    pw = read_line_noecho();
    std::fputs("Again: ", stderr);
    if (read_line_noecho() != pw) return fail(Errc::Invalid, "the passwords differ");
  }
  if (pw.empty()) return fail(Errc::Invalid, "empty password");
  return pw;
}

Result<mail::Mailbox> parse_address(const std::string& address) {
  auto mb = mail::parse_mailbox(address, true);
  if (!mb) return fail(Errc::Invalid, fmt::format("invalid address '{}': {}", address, mail::address_error_text(mb.error())));
  if (mb->domain_literal) return fail(Errc::Invalid, fmt::format("invalid address '{}': use a domain name", address));
  return *mb;
}

Result<std::uint64_t> parse_size(const std::string& s) {
  if (s.empty()) return fail(Errc::Invalid, "empty size");
  std::uint64_t mult = 1;
  std::string digits = s;
  char last = text::lower(s.back());
  if (last == 'k') mult = 1024;
  else if (last == 'm') mult = 1024 * 1024;
  else if (last == 'g') mult = 1024ull * 1024 * 1024;
  else if (last == 't') mult = 1024ull * 1024 * 1024 * 1024;
  if (mult != 1) digits.pop_back();
  auto n = text::parse_u64(digits);
  if (!n || *n > UINT64_MAX / mult) return fail(Errc::Invalid, fmt::format("invalid size '{}' (examples: 0, 500M, 2G)", s));
  return *n * mult;
}

std::string format_size(std::uint64_t b) {
  if (b >= 1024ull * 1024 * 1024) return fmt::format("{:.1f}G", b / (1024.0 * 1024 * 1024));
  if (b >= 1024 * 1024) return fmt::format("{:.1f}M", b / (1024.0 * 1024));
  if (b >= 1024) return fmt::format("{:.1f}K", b / 1024.0);
  return fmt::format("{}B", b);
}

std::string zone_txt(std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); i += 250) {
    if (!out.empty()) out += ' ';
    out += fmt::format("\"{}\"", value.substr(i, 250));
  }
  return value.size() > 250 ? "( " + out + " )" : out;
}

std::string dkim_key_record(const store::DkimKey& key) {
  auto a = policy::dkim::parse_algorithm(key.algorithm);
  return policy::dkim::key_record(a ? *a : policy::dkim::Algorithm::Ed25519Sha256, key.public_key);
}

}  // namespace valija::cli
