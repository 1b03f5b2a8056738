#pragma once
// Internal: the case folding table behind fold_case() (generated; see fold_case_table.cpp).
#include <cstddef>

namespace valija::mail::detail {

struct FoldSingle {
  char32_t from;
  char32_t to;
};
struct FoldMulti {
  char32_t from;
  const char* to;  // UTF-8
};

// Both sorted by `from`.
extern const FoldSingle kFoldSingle[];
extern const std::size_t kFoldSingleCount;
extern const FoldMulti kFoldMulti[];
extern const std::size_t kFoldMultiCount;

}  // namespace valija::mail::detail
