#pragma once
// Content-addressed message bodies: blobs/<2 hex>/<sha256 hex>. A write is durable when
// put() returns: temp file written and fsynced, renamed into place, directory fsynced.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace valija::store::blob {

std::string content_id(std::string_view bytes);  // lower-case hex SHA-256
// The content id of `size` octets at `offset` in the open file `fd` (read in pieces, a
// big body is never held whole; a file shorter than that is Corrupt).
Result<std::string> content_id_of(int fd, std::uint64_t offset, std::uint64_t size);
// The same for the file at `path`.
Result<std::string> content_id_of_file(const std::string& path, std::uint64_t offset, std::uint64_t size);

class BlobStore {
 public:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}

  Result<void> init();  // creates the directory tree
  // Writes the blob unless it is already present. The directory fsync is deferred to
  // sync_dirs() so a batch syncs each directory once (group commit).
  Result<void> put(const std::string& id, std::string_view bytes, std::vector<std::string>& dirty_dirs);
  Result<void> sync_dirs(std::vector<std::string>& dirty_dirs);
  // put() followed by the directory sync: durable on return.
  Result<void> put_durable(const std::string& id, std::string_view bytes);
  Result<std::string> get(const std::string& id) const;
  Result<void> remove(const std::string& id);
  // Calls f(name, temp_of_dead_writer) for every blob and temp file in the shards.
  // Temp files of this process (in-flight writes) are not listed.
  Result<void> for_each_file(const std::function<void(const std::string&, bool)>& f) const;
  // Removes a temp file listed by for_each_file.
  bool remove_file(const std::string& name);
  std::string path(const std::string& id) const;
  // ".tmp.<pid>-<nonce>." : this process's temp files start with it. The nonce tells a
  // restarted server's files from those of a dead one that had the same pid.
  static const std::string& temp_prefix();
  // Whether the process that writes the temp file `name` (as for_each_file lists it)
  // still runs: its pid is in the name. Another process (valija check) cannot tell a
  // live writer's files from its own, so it asks this.
  static bool temp_writer_alive(const std::string& name);
  const std::string& root() const { return root_; }

 private:
  std::string dir_of(const std::string& id) const;
  std::string root_;
};

}  // namespace valija::store::blob
