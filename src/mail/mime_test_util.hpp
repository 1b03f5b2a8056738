#pragma once
// Test helpers for the MIME tests: the corpus directory and file reading.
#include <fstream>
#include <sstream>
#include <string>

namespace valija::mail::testing {

inline std::string corpus_dir() { return std::string(VALIJA_SOURCE_DIR) + "/tests/data/mime"; }

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string corpus(const std::string& name) { return read_file(corpus_dir() + "/" + name + ".eml"); }

}  // namespace valija::mail::testing
