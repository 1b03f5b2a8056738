#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) and runs each for a while.
#   scripts/fuzz.sh            30 s per target
#   scripts/fuzz.sh 600        10 minutes per target (a longer hunt)
#   scripts/fuzz.sh 60 smtp_engine
# New interesting inputs go to build-fuzz/corpus/<target>; crashes to build-fuzz/crashes/.
# A crash found is a bug: add the input to fuzz/corpus/<target>/ and a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-30}"
ONLY="${2:-}"
B=build-fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B "$B" -G Ninja -DVALIJA_FUZZ=ON -DVALIJA_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$B" fuzz
mkdir -p "$B/crashes"
status=0
for dir in fuzz/corpus/*/; do
  name=$(basename "$dir")
  [ -n "$ONLY" ] && [ "$name" != "$ONLY" ] && continue
  work="$B/corpus/$name"
  mkdir -p "$work"
  dict=()
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  echo "fuzz: $name for ${SECONDS_PER_TARGET}s"
  if ! "$B/fuzz/fuzz_$name" "$work" "$dir" "${dict[@]}" -max_total_time="$SECONDS_PER_TARGET" \
      -max_len=8192 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$B/crashes/$name-" \
      -print_final_stats=0 2>"$B/$name.log"; then
    echo "fuzz: $name FAILED (see $B/$name.log and $B/crashes/)"
    tail -30 "$B/$name.log"
    status=1
  fi
done
exit $status
