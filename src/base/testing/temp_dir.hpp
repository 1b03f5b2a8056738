#pragma once
// A temporary directory for tests, removed with everything in it when it goes out of scope.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace valija::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "valija-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace valija::test
