#pragma once
// Names threads as top -H, ps -L, gdb and perf show them (Linux keeps the first 15
// characters), so an admin can tell the writer from the I/O threads.
#include <pthread.h>

#include <string>
#include <thread>

namespace valija {

inline void name_thread(pthread_t t, const std::string& name) {
  (void)pthread_setname_np(t, name.substr(0, 15).c_str());
}

inline void name_this_thread(const std::string& name) { name_thread(pthread_self(), name); }

// Names `t` from the thread that started it: the name is there as soon as this returns,
// where a thread naming itself may not have run yet (ps right after "ready" would see
// the process's name on it).
inline void name_thread(std::thread& t, const std::string& name) { name_thread(t.native_handle(), name); }

}  // namespace valija
