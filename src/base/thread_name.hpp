#pragma once
// Names the calling thread as top -H, ps -L, gdb and perf show it (Linux keeps the
// first 15 characters), so an admin can tell the writer from the I/O threads.
#include <pthread.h>

#include <string>

namespace valija {

inline void name_this_thread(const std::string& name) {
  (void)pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace valija
