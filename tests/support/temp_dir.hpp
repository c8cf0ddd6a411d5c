#pragma once
/// \file
/// Scratch directories for tests: fresh_dir() hands out a new empty directory
/// under one per-process root, which is removed when the process exits.

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace strata::testing {

class TempRoot {
 public:
  TempRoot() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strata-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempRoot(const TempRoot&) = delete;
  TempRoot& operator=(const TempRoot&) = delete;
  ~TempRoot() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::filesystem::path fresh() {
    const auto dir = path_ / std::to_string(next_.fetch_add(1));
    std::filesystem::create_directories(dir);
    return dir;
  }

 private:
  std::filesystem::path path_;
  std::atomic<int> next_{0};
};

/// A new, empty directory that lives until the test process exits.
inline std::filesystem::path fresh_dir() {
  static TempRoot root;
  return root.fresh();
}

}  // namespace strata::testing
