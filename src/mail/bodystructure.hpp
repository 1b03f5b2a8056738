#pragma once
// FETCH BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, RFC 9051 §7.5.2) from a parsed or cached tree.
#include <string>

#include "mail/mime.hpp"

namespace valija::mail::mime {

struct RenderOptions {
  bool extensions = true;  // BODYSTRUCTURE; false for BODY (no extension data)
  // IMAP4rev2 grammar: message/global carries envelope, body and lines like message/rfc822
  // (RFC 9051 §9 media-message). IMAP4rev1 knows only MESSAGE/RFC822, so there message/global
  // is a basic body (Dovecot 2.3 renders it so too).
  bool imap4rev2 = false;
};

// Appends the `body` production for the message `message` (a message node: the tree's root, or
// an encapsulated message), outer parentheses included: the text that follows "BODYSTRUCTURE ".
// Choices where the RFCs leave them, as Dovecot 2.3 makes them: all four extension fields of a
// non-multipart part are always sent (MD5 disposition language location), the language as a
// list even for one tag; a multipart with no parts is sent with one empty text/plain part.
void append_body(std::string& out, const Part& message, const RenderOptions& options = {});

std::string body_structure(const Part& message, bool imap4rev2 = false);  // FETCH BODYSTRUCTURE
std::string body(const Part& message, bool imap4rev2 = false);            // FETCH BODY

}  // namespace valija::mail::mime
