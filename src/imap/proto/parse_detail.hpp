#pragma once
// Internal: argument parsers shared by command_parser.cpp and the per-area parser files.
// Each starts after the verb (at the SP before the first argument), fills its struct and
// returns false with the failure recorded in the Lexer.
#include <cstdint>

#include "imap/proto/command.hpp"
#include "imap/proto/lexer.hpp"

namespace valija::imap::proto::detail {

// mailbox_commands.cpp
bool parse_select(Lexer& lx, cmd::Select& out);
bool parse_create(Lexer& lx, cmd::Create& out);
bool parse_list(Lexer& lx, cmd::List& out);
bool parse_lsub(Lexer& lx, cmd::Lsub& out);
bool parse_status(Lexer& lx, cmd::Status& out);
// With `message` false the text ends before the message literal (parse_append_start).
bool parse_append(Lexer& lx, cmd::Append& out, bool message);
// "(" status-att *(SP status-att) ")" into StatusItem bits (also LIST RETURN STATUS).
bool parse_status_items(Lexer& lx, std::uint16_t& items);

// search_parser.cpp
bool parse_search(Lexer& lx, cmd::Search& out);

// fetch_parser.cpp
bool parse_fetch(Lexer& lx, cmd::Fetch& out);

// message_commands.cpp
bool parse_store(Lexer& lx, cmd::Store& out);
bool parse_copy_move(Lexer& lx, cmd::CopyMove& out);

}  // namespace valija::imap::proto::detail
