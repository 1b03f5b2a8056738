#pragma once
// Inside the SASL module: the interface each mechanism implements (sasl.cpp: PLAIN,
// LOGIN; scram.cpp: SCRAM). Not for protocol code, which sees only SaslServer.
#include <memory>

#include "auth/sasl.hpp"

namespace valija::auth {

class SaslServer::Exchange {
 public:
  virtual ~Exchange() = default;
  // The first step; `response` is the decoded initial response, nullopt when none.
  virtual SaslStep start(std::optional<std::string_view> response) = 0;
  virtual SaslStep next(std::string_view response) = 0;
  virtual SaslStep keys(const ScramKeys&) { return sasl::Failed{SaslErrc::Finished, "no keys expected"}; }
};

std::unique_ptr<SaslServer::Exchange> make_scram_exchange(SaslMechanism m, const ChannelBindings& bindings);

}  // namespace valija::auth
