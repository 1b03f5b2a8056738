#pragma once
// Case folding for SEARCH (RFC 3501 §6.4.4: matching is case-insensitive; RFC 9051 §6.4.4 asks
// for Unicode-aware matching). Unicode full case folding (CaseFolding.txt, status C+F) for
// ASCII, Latin-1 Supplement, Latin Extended-A/B/Additional, Greek and Greek Extended, Cyrillic,
// Armenian, Georgian, Glagolitic, letterlike symbols, Latin ligatures and fullwidth Latin, from a
// fixed table: deterministic, never depends on the process locale.
#include <string>
#include <string_view>

namespace valija::mail {

// Folds valid UTF-8 (invalid octets become U+FFFD). Two strings match case-insensitively when
// their folds are equal, and one contains the other when the folds do: "AÑO" and "año" both
// fold to "año"; "STRASSE" and "Straße" both to "strasse". One deviation from full folding:
// U+0130 (capital I with dot) folds to plain "i" so that "ISTANBUL" finds "İstanbul".
std::string fold_case(std::string_view utf8);

}  // namespace valija::mail
