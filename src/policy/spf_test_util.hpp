#pragma once
// A fake DNS zone for the SPF tests, and the caller's loop of Check::evaluate(): ask what
// it needs, add the answers, evaluate again.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "dns/records.hpp"
#include "policy/spf.hpp"

namespace valija::policy::spf::testing {

// Names as a zone holds them: a name with some record answers NoData for the other types,
// a name with none NXDOMAIN; a (name, type) can be made to time out.
class Zone {
 public:
  void add(std::string_view name, dns::RrType type, std::string record) {
    auto& e = names_[dns::canonical_name(name)][type];
    e.outcome = dns::Outcome::Answer;
    e.records.push_back(std::move(record));
  }
  void nodata(std::string_view name, dns::RrType type) {
    names_[dns::canonical_name(name)][type] = dns::Answer{dns::Outcome::NoData, {}, "NOERROR, no records"};
  }
  void timeout(std::string_view name, dns::RrType type) {
    names_[dns::canonical_name(name)][type] = dns::Answer{dns::Outcome::Temporary, {}, "timeout"};
  }
  dns::Answer resolve(const dns::Query& q) const {
    auto n = names_.find(q.name);
    if (n == names_.end()) return dns::Answer{dns::Outcome::NxDomain, {}, "NXDOMAIN"};
    auto t = n->second.find(q.type);
    if (t == n->second.end()) return dns::Answer{dns::Outcome::NoData, {}, "NOERROR, no records"};
    return t->second;
  }

 private:
  std::map<std::string, std::map<dns::RrType, dns::Answer>> names_;
};

struct Trace {
  int rounds = 0;
  std::vector<std::vector<dns::Query>> asked;  // each round's queries
};

// Runs the check to its end. Fails the test when a query is asked twice (the evaluator
// must only ask what it does not have) or when it does not end in 50 rounds.
inline Outcome run(const Check& check, const Zone& zone, Trace* trace = nullptr) {
  dns::Answers answers;
  std::set<dns::Query> asked;
  for (int round = 0; round < 50; ++round) {
    auto step = check.evaluate(answers);
    if (auto* o = std::get_if<Outcome>(&step)) {
      if (trace) trace->rounds = round;
      return *o;
    }
    auto& queries = std::get<std::vector<dns::Query>>(step);
    EXPECT_FALSE(queries.empty());
    if (trace) trace->asked.push_back(queries);
    for (const auto& q : queries) {
      EXPECT_TRUE(asked.insert(q).second) << "asked twice: " << q.name << " " << dns::type_name(q.type);
      answers.add(q, zone.resolve(q));
    }
  }
  ADD_FAILURE() << "no outcome after 50 rounds";
  return Outcome{};
}

}  // namespace valija::policy::spf::testing
