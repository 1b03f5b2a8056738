// SEARCH evaluation: a program (first line) run against a message (the rest), parsed and
// decoded as the server would (RFC 2047 headers, transfer encodings, charsets, case
// folding). Must never crash, and stays bounded by the parser's key and depth limits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "imap/proto/command.hpp"
#include "imap/server/search_eval.hpp"

namespace {

using namespace valija;

class Memory final : public imap::server::MessageData {
 public:
  explicit Memory(std::string_view m) : message_(m), part_(mail::mime::parse(m)) {}
  Result<const mail::mime::Part*> structure(const store::MessageInfo&) override { return &part_; }
  Result<std::string> read(const store::MessageInfo&, std::uint64_t b, std::uint64_t e) override {
    if (b >= message_.size() || b >= e) return std::string();
    return std::string(message_.substr(b, e - b));
  }
  Result<std::string> whole(const store::MessageInfo&) override { return std::string(message_); }

 private:
  std::string_view message_;
  mail::mime::Part part_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  if (nl == std::string_view::npos) return 0;
  auto cmd = imap::proto::parse_command("a SEARCH " + std::string(in.substr(0, nl)));
  if (!cmd) return 0;
  const auto& search = std::get<imap::proto::cmd::Search>(cmd->args);
  imap::server::SearchScopeInfo scope;
  scope.exists = 3;
  scope.max_uid = 9;
  auto eval = imap::server::SearchEvaluator::prepare(search.program, search.charset, scope);
  if (!eval) return 0;
  Memory memory(in.substr(nl + 1));
  imap::server::ViewMessage v;
  v.info.uid = 7;
  v.info.modseq = 5;
  v.info.size = size - nl - 1;
  v.info.internal_date = 1700000000;
  v.info.flags = "\\Seen $Work";
  (void)eval->matches(2, v, memory);
  return 0;
}
