#pragma once
// IMAP commands (RFC 9051 §6, RFC 3501 §6 and the extensions valija implements) as typed
// values: parse_command() turns one assembled command from the CommandReader into a
// Command or a ParseError carrying the tag, BAD/NO, response code and text. Pure: no
// session state; mailbox arguments stay as sent (mailbox_name.hpp decodes them).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <variant>
#include <vector>

#include "imap/proto/datetime.hpp"
#include "imap/proto/error.hpp"
#include "imap/proto/fetch.hpp"
#include "imap/proto/limits.hpp"
#include "imap/proto/search.hpp"
#include "imap/proto/sequence_set.hpp"

namespace valija::imap::proto {

enum class Verb : std::uint8_t {
  Capability, Noop, Logout, StartTls, Authenticate, Login,
  Select, Examine, Create, Delete, Rename, Subscribe, Unsubscribe, List, Lsub, Namespace, Status, Append,
  Check, Close, Unselect, Expunge, UidExpunge,
  Search, UidSearch, Fetch, UidFetch, Store, UidStore, Copy, UidCopy, Move, UidMove,
  Idle, Enable, Id, GetQuota, GetQuotaRoot, SetQuota,
};
std::string_view verb_name(Verb v);  // "UID FETCH"

namespace cmd {

// CAPABILITY NOOP LOGOUT STARTTLS NAMESPACE CHECK CLOSE UNSELECT EXPUNGE IDLE
struct NoArgs {
  bool operator==(const NoArgs&) const = default;
};

struct Authenticate {  // RFC 9051 §6.2.2, RFC 4959 (SASL-IR)
  std::string mechanism;                        // upper-cased
  std::optional<std::string> initial_response;  // base64 as sent; "" for "=" (empty response)
  bool operator==(const Authenticate&) const = default;
};

struct Login {
  std::string user;
  std::string password;
  bool operator==(const Login&) const = default;
};

struct Qresync {  // RFC 7162 §3.2.5
  std::uint32_t uidvalidity = 0;
  std::uint64_t modseq = 0;
  std::optional<SequenceSet> known_uids;
  std::optional<std::pair<SequenceSet, SequenceSet>> seq_match;  // (sequence numbers, UIDs)
  bool operator==(const Qresync&) const = default;
};

struct Select {  // SELECT and EXAMINE
  std::string mailbox;
  bool condstore = false;  // RFC 7162 §3.1.8
  std::optional<Qresync> qresync;
  bool operator==(const Select&) const = default;
};

struct Create {
  std::string mailbox;
  std::vector<std::string> use;  // RFC 6154 §3: "\\Drafts" etc., canonical case
  bool operator==(const Create&) const = default;
};

struct Mailbox {  // DELETE SUBSCRIBE UNSUBSCRIBE GETQUOTAROOT
  std::string mailbox;
  bool operator==(const Mailbox&) const = default;
};

struct Rename {
  std::string from;
  std::string to;
  bool operator==(const Rename&) const = default;
};

// RFC 9051 §6.3.10 STATUS items as bits.
enum StatusItem : std::uint16_t {
  kMessages = 1, kUidNext = 2, kUidValidity = 4, kUnseen = 8, kDeleted = 16, kSize = 32, kRecent = 64,
  kHighestModSeq = 128,
};

struct List {  // LIST (RFC 9051 §6.3.9, RFC 5258, RFC 5819, RFC 6154)
  std::string reference;
  std::vector<std::string> patterns;  // at least one; "" asks for the delimiter
  // Selection options
  bool subscribed = false, remote = false, recursive_match = false, special_use = false;
  // Return options
  bool return_subscribed = false, return_children = false, return_special_use = false;
  std::optional<std::uint16_t> return_status;  // StatusItem bits (RFC 5819)
  bool extended = false;  // LIST-EXTENDED syntax was used (RFC 5258 §3)
  bool operator==(const List&) const = default;
};

struct Lsub {
  std::string reference;
  std::string pattern;
  bool operator==(const Lsub&) const = default;
};

struct Status {
  std::string mailbox;
  std::uint16_t items = 0;  // StatusItem bits
  bool operator==(const Status&) const = default;
};

struct Append {
  std::string mailbox;
  std::vector<std::string> flags;
  std::optional<DateTime> date;
  bool binary = false;                 // literal8 (RFC 3516 §4.2)
  std::optional<std::string> message;  // absent when the reader streams the literal
  bool operator==(const Append&) const = default;
};

struct Search {  // SEARCH, UID SEARCH
  bool uid = false;
  std::optional<SearchReturn> ret;  // present: answer with ESEARCH (RFC 4731)
  std::optional<std::string> charset;
  SearchKey program;  // one key, or And of the top-level keys
  bool modseq = false;  // the program uses MODSEQ (RFC 7162 §3.1.5: reply with MODSEQ)
  bool operator==(const Search&) const = default;
};

struct Fetch {  // FETCH, UID FETCH
  bool uid = false;
  SequenceSet set;
  std::vector<FetchItem> items;
  std::optional<std::uint64_t> changed_since;  // RFC 7162 §3.1.4.1
  bool vanished = false;                       // RFC 7162 §3.2.6, UID FETCH only
  bool operator==(const Fetch&) const = default;
};

struct Store {  // STORE, UID STORE
  enum class Mode : std::uint8_t { Replace, Add, Remove };
  bool uid = false;
  SequenceSet set;
  Mode mode = Mode::Replace;
  bool silent = false;
  std::vector<std::string> flags;
  std::optional<std::uint64_t> unchanged_since;  // RFC 7162 §3.1.3
  bool operator==(const Store&) const = default;
};

struct CopyMove {  // COPY, MOVE and their UID forms
  bool uid = false;
  SequenceSet set;
  std::string mailbox;
  bool operator==(const CopyMove&) const = default;
};

struct UidExpunge {  // RFC 9051 §6.4.9
  SequenceSet set;
  bool operator==(const UidExpunge&) const = default;
};

struct Enable {  // RFC 5161
  std::vector<std::string> capabilities;  // upper-cased
  bool operator==(const Enable&) const = default;
};

struct Id {  // RFC 2971; absent params: "ID NIL"
  std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> params;
  bool operator==(const Id&) const = default;
};

struct QuotaRoot {  // GETQUOTA
  std::string root;
  bool operator==(const QuotaRoot&) const = default;
};

struct SetQuota {  // RFC 9208 §4.4 (parsed; valija refuses it)
  std::string root;
  std::vector<std::pair<std::string, std::uint64_t>> limits;  // resource (upper-cased), limit
  bool operator==(const SetQuota&) const = default;
};

}  // namespace cmd

using Args = std::variant<cmd::NoArgs, cmd::Authenticate, cmd::Login, cmd::Select, cmd::Create, cmd::Mailbox,
                          cmd::Rename, cmd::List, cmd::Lsub, cmd::Status, cmd::Append, cmd::Search, cmd::Fetch,
                          cmd::Store, cmd::CopyMove, cmd::UidExpunge, cmd::Enable, cmd::Id, cmd::QuotaRoot,
                          cmd::SetQuota>;

struct Command {
  std::string tag;
  Verb verb = Verb::Noop;
  Args args;
  bool operator==(const Command&) const = default;
};

// One command as assembled by the CommandReader (no final CRLF).
tl::expected<Command, ParseError> parse_command(std::string_view text, const ParserLimits& limits = {});

// The part of an APPEND before its message literal, as the reader's AppendLiteral event
// gives it ("A1 APPEND INBOX (\\Seen) "): a Command holding cmd::Append without message.
tl::expected<Command, ParseError> parse_append_start(std::string_view prefix, const ParserLimits& limits = {});

// IDLE ends with a line "DONE" (RFC 2177 §3, RFC 9051 §6.3.13), case-insensitive.
bool is_idle_done(std::string_view line);

}  // namespace valija::imap::proto
