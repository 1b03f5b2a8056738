#pragma once
// Keeping in-memory tables bounded (throttles, caches): when one is full, the older half
// of its entries goes. Entries `keep` spares stay unless nothing else can go, so the
// bound always holds.
#include <algorithm>
#include <cstddef>
#include <vector>

namespace valija {

template <class Map, class TimeOf, class Keep>
void drop_older_half(Map& entries, TimeOf time_of, Keep keep) {
  for (bool spare : {true, false}) {
    using Time = decltype(time_of(entries.begin()->second));
    std::vector<Time> times;
    times.reserve(entries.size());
    for (const auto& [_, v] : entries)
      if (!spare || !keep(v)) times.push_back(time_of(v));
    if (times.empty()) continue;
    auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), mid, times.end());
    auto cutoff = *mid;
    std::size_t before = entries.size();
    for (auto it = entries.begin(); it != entries.end();) {
      if ((!spare || !keep(it->second)) && time_of(it->second) <= cutoff) it = entries.erase(it);
      else ++it;
    }
    if (entries.size() < before) return;
  }
}

}  // namespace valija
