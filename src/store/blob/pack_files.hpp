#pragma once
// Pack files: many small message bodies appended to one file, packs/pack-<n>. Each body
// keeps its content address (SHA-256, the blob id); the metadata database records where
// it lies (pack, offset, size). One append and one fdatasync store a whole group-commit
// batch, where a file per body would cost a new inode, its fsync and a directory fsync
// each. Bytes appended but never committed (a crash between the sync and the commit)
// are dead space, reclaimed when the pack is compacted.
//
// The writer keeps zeros written ahead of the end (kZeroAhead octets, synced with the
// batch that wrote them), so most appends overwrite blocks the file already has: their
// fdatasync then need not change the file's size and costs about half. close() cuts
// the zeros off; a crash leaves them, and a reopened pack appends after them (dead
// space, as uncommitted bodies are).
//
// Appending is single-threaded (the store's writer); reads may run on any thread.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace valija::store::blob {

class PackFiles {
 public:
  explicit PackFiles(std::string root) : root_(std::move(root)) {}
  PackFiles(const PackFiles&) = delete;
  PackFiles& operator=(const PackFiles&) = delete;
  ~PackFiles() { close(); }

  Result<void> init();  // creates the directory
  std::string path(std::uint64_t pack) const;
  const std::string& root() const { return root_; }

  // --- appending (the writer) ---
  // Opens pack `id` for appending, creating it if missing; appends go after its current
  // end, past any dead bytes a crash left.
  Result<void> open(std::uint64_t id);
  static constexpr std::uint64_t kZeroAhead = 1 << 20;
  bool is_open() const { return fd_ >= 0; }
  std::uint64_t current() const { return id_; }
  std::uint64_t end() const { return end_; }  // where the next body goes
  // Writes the bodies one after the other at the end and starts their writeback
  // (sync_file_range), so the sync() that the caller does later, after its other work,
  // finds them mostly written; returns each one's offset. Not durable until sync().
  // Past the zeros written ahead, writes the next ones too (best effort: a full disk
  // that leaves room for the bodies but not for them is no error).
  Result<std::vector<std::uint64_t>> append(std::span<const std::string_view> bodies);
  // Whether bodies were appended since the last sync(), or lost to a failed write or
  // close before it: a commit that references them must sync() first.
  bool needs_sync() const { return unsynced_ || lost_; }
  // fdatasync, and the directory once after the pack was created. After a failed
  // append or sync the pack is closed for good (what the kernel kept of it is unknown);
  // a sync() after a failure that lost appended bodies fails once, so their commit does.
  Result<void> sync();
  void close();  // syncs what needs it, cuts off the zeros written ahead

  // --- reading and removing (any thread) ---
  Result<std::string> read(std::uint64_t pack, std::uint64_t offset, std::uint64_t size) const;
  Result<void> remove(std::uint64_t pack) const;
  // Ids of the pack files present.
  Result<std::vector<std::uint64_t>> list() const;

 private:
  void fail_closed();
  void zero_ahead();
  std::string root_;
  int fd_ = -1;
  std::uint64_t id_ = 0;
  std::uint64_t end_ = 0;
  std::uint64_t allocated_ = 0;  // the file's size: end_ and the zeros past it
  bool new_file_ = false;  // the directory entry still needs its fsync
  bool unsynced_ = false;  // appended since the last sync
  bool lost_ = false;      // appended, then the pack failed before a sync
};

}  // namespace valija::store::blob
