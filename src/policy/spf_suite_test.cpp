// SPF scenarios as data (tests/data/spf/*.txt, format in tests/data/spf/README): each
// case runs a Check against its scenario's zone, one GoogleTest case per line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "policy/spf.hpp"
#include "policy/spf_test_util.hpp"

namespace valija::policy::spf {
namespace {

std::string data_dir() { return std::string(VALIJA_SOURCE_DIR) + "/tests/data/spf"; }

struct Token {
  std::string text;
  bool quoted = false;  // some part was in quotes: TIMEOUT, NODATA, "=>" are then plain text
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Words separated by blanks; "..." quotes (anywhere in a word) with \" \\ \t \r \n \xHH.
bool tokenize(std::string_view line, std::vector<Token>& out, std::string& error) {
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    Token t;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      if (line[i] != '"') {
        t.text += line[i++];
        continue;
      }
      t.quoted = true;
      for (++i;; ++i) {
        if (i >= line.size()) return error = "unterminated quote", false;
        char c = line[i];
        if (c == '"') break;
        if (c != '\\') {
          t.text += c;
          continue;
        }
        if (++i >= line.size()) return error = "backslash at end of line", false;
        switch (line[i]) {
          case 't': t.text += '\t'; break;
          case 'r': t.text += '\r'; break;
          case 'n': t.text += '\n'; break;
          case 'x': {
            int hi = i + 2 < line.size() ? hex_digit(line[i + 1]) : -1, lo = hi >= 0 ? hex_digit(line[i + 2]) : -1;
            if (lo < 0) return error = "bad \\x escape", false;
            t.text += static_cast<char>(hi * 16 + lo);
            i += 2;
            break;
          }
          default: t.text += line[i];
        }
      }
      ++i;  // the closing quote
    }
    out.push_back(std::move(t));
  }
  return true;
}

struct Case {
  std::string id;  // <file>_<case id>, as a GoogleTest name
  std::string where;  // file:line
  std::string error;  // the data file itself is wrong
  std::shared_ptr<testing::Zone> zone;
  Input input;
  Identity identity = Identity::MailFrom;
  Result want = Result::None;
  std::map<std::string, std::string> expect;  // exp, mech, lookups
};

// GoogleTest shows a failing case by its place in the data.
void PrintTo(const Case& c, std::ostream* os) { *os << c.where; }

std::optional<Result> parse_result(std::string_view s) {
  for (auto r : {Result::None, Result::Neutral, Result::Pass, Result::Fail, Result::SoftFail, Result::TempError,
                 Result::PermError})
    if (name(r) == s) return r;
  return std::nullopt;
}

std::optional<dns::RrType> parse_type(std::string_view s) {
  for (auto t : {dns::RrType::A, dns::RrType::Aaaa, dns::RrType::Mx, dns::RrType::Txt, dns::RrType::Ptr})
    if (dns::type_name(t) == s) return t;
  return std::nullopt;
}

std::string test_name(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return out;
}

class FileParser {
 public:
  explicit FileParser(std::string stem) : stem_(std::move(stem)) {}

  // One line; false with `error_` set when it is not understood.
  bool line(const std::vector<Token>& t, const std::string& where, std::vector<Case>& out) {
    const std::string& verb = t[0].text;
    if (verb == "scenario" && t.size() == 2) {
      zone_ = std::make_shared<testing::Zone>();
      defaults_.clear();
      return true;
    }
    if (!zone_) return error_ = "a scenario line must come first", false;
    if (verb == "zone" && t.size() >= 4) return zone_line(t);
    if (verb == "ptr" && t.size() >= 3) {
      auto name = dns::ptr_name(t[1].text);
      if (!name) return error_ = "ptr: not an address", false;
      for (std::size_t i = 2; i < t.size(); ++i) zone_->add(*name, dns::RrType::Ptr, dns::canonical_name(t[i].text));
      return true;
    }
    if (verb == "default") return pairs(t, 1, t.size(), defaults_);
    if (verb == "case" && t.size() >= 4) return case_line(t, where, out);
    return error_ = "unknown line", false;
  }
  const std::string& error() const { return error_; }

 private:
  bool zone_line(const std::vector<Token>& t) {
    auto type = parse_type(t[2].text);
    if (!type) return error_ = "unknown record type " + t[2].text, false;
    if (t.size() == 4 && !t[3].quoted && (t[3].text == "TIMEOUT" || t[3].text == "NODATA")) {
      if (t[3].text == "TIMEOUT") zone_->timeout(t[1].text, *type);
      else zone_->nodata(t[1].text, *type);
      return true;
    }
    for (std::size_t i = 3; i < t.size(); ++i) {
      bool name_valued = *type == dns::RrType::Mx || *type == dns::RrType::Ptr;
      zone_->add(t[1].text, *type, name_valued ? dns::canonical_name(t[i].text) : t[i].text);
    }
    return true;
  }

  bool pairs(const std::vector<Token>& t, std::size_t from, std::size_t to, std::map<std::string, std::string>& out) {
    for (std::size_t i = from; i < to; ++i) {
      auto eq = t[i].text.find('=');
      if (eq == std::string::npos) return error_ = "expected key=value: " + t[i].text, false;
      out[t[i].text.substr(0, eq)] = t[i].text.substr(eq + 1);
    }
    return true;
  }

  bool case_line(const std::vector<Token>& t, const std::string& where, std::vector<Case>& out) {
    auto arrow = std::find_if(t.begin(), t.end(), [](const Token& k) { return !k.quoted && k.text == "=>"; });
    if (arrow == t.end() || arrow + 1 == t.end()) return error_ = "case without '=> result'", false;
    std::size_t at = static_cast<std::size_t>(arrow - t.begin());
    std::map<std::string, std::string> in = defaults_;
    Case c;
    if (!pairs(t, 2, at, in) || !pairs(t, at + 2, t.size(), c.expect)) return false;
    auto want = parse_result(t[at + 1].text);
    if (!want) return error_ = "unknown result " + t[at + 1].text, false;
    c.want = *want;
    c.id = test_name(stem_ + "_" + t[1].text);
    c.where = where;
    c.zone = zone_;
    c.input.ip = in["ip"];
    c.input.sender = in["from"];
    c.input.helo = in.count("helo") ? in["helo"] : "mail.example.net";
    c.input.receiver = in.count("receiver") ? in["receiver"] : "mx.example.org";
    c.input.now = in.count("now") ? std::stoll(in["now"]) : 0;
    c.identity = in["identity"] == "helo" ? Identity::Helo : Identity::MailFrom;
    for (const auto& [k, v] : in)
      if (k != "ip" && k != "from" && k != "helo" && k != "receiver" && k != "now" && k != "identity")
        return error_ = "unknown input " + k, false;
    for (const auto& [k, v] : c.expect)
      if (k != "exp" && k != "mech" && k != "lookups") return error_ = "unknown expectation " + k, false;
    out.push_back(std::move(c));
    return true;
  }

  std::string stem_;
  std::shared_ptr<testing::Zone> zone_;
  std::map<std::string, std::string> defaults_;
  std::string error_;
};

void load_file(const std::filesystem::path& path, std::vector<Case>& out) {
  std::ifstream f(path);
  FileParser parser(path.stem().string());
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    std::string where = path.filename().string() + ":" + std::to_string(n);
    auto hash = line.find_first_not_of(" \t");
    if (hash == std::string::npos || line[hash] == '#') continue;
    std::vector<Token> tokens;
    std::string error;
    if (!tokenize(line, tokens, error) || !parser.line(tokens, where, out)) {
      Case bad;
      bad.id = test_name(path.stem().string() + "_line_" + std::to_string(n));
      bad.where = where;
      bad.error = error.empty() ? parser.error() : error;
      out.push_back(std::move(bad));
      return;
    }
  }
}

std::vector<Case> load_all() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(data_dir()))
    if (e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Case> out;
  for (const auto& f : files) load_file(f, out);
  return out;
}

const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = load_all();
  return cases;
}

// Lines end in CRLF, each line after the first is a continuation, nothing else breaks a line.
bool one_field(const std::string& h) {
  if (h.size() < 2 || h.substr(h.size() - 2) != "\r\n") return false;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r')) return false;
    if (h[i] == '\r' && (i + 1 >= h.size() || h[i + 1] != '\n')) return false;
    if (h[i] == '\n' && i + 1 < h.size() && h[i + 1] != ' ') return false;
  }
  return true;
}

class SpfScenario : public ::testing::TestWithParam<Case> {};

TEST_P(SpfScenario, Evaluates) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.where);
  ASSERT_TRUE(c.error.empty()) << c.error;
  auto o = testing::run(Check(c.input, c.identity), *c.zone);
  EXPECT_EQ(name(o.result), name(c.want)) << "problem: " << o.problem;
  auto expected = [&](const char* key) { return c.expect.count(key) ? &c.expect.at(key) : nullptr; };
  if (auto* e = expected("exp")) {
    EXPECT_EQ(o.explanation, *e);
  }
  if (auto* m = expected("mech")) {
    EXPECT_EQ(o.mechanism, *m);
  }
  if (auto* l = expected("lookups")) {
    EXPECT_EQ(std::to_string(o.lookups), *l);
  }
  // Whatever the result, the header field built from it stays one well-formed field.
  EXPECT_TRUE(one_field(received_spf(o, c.input)));
}

INSTANTIATE_TEST_SUITE_P(Rfc7208, SpfScenario, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.id; });

TEST(SpfSuite, CoversTheRfcCategories) {
  std::size_t n = 0;
  for (const auto& c : all_cases()) n += c.error.empty();
  EXPECT_GE(n, 120u);
}

}  // namespace
}  // namespace valija::policy::spf
