#pragma once
// The policies behind the SMTP listeners: port 25 accepts mail for local recipients
// only (never an open relay); submission requires authentication (AUTH arrives with
// the submission issue, so until then it refuses MAIL with 530).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "delivery/group_commit.hpp"
#include "delivery/router.hpp"
#include "net/asio.hpp"
#include "queue/srs.hpp"
#include "smtp/server/policy.hpp"
#include "store/store.hpp"

namespace valija::server {

class MailChecks;
class DkimSigner;

struct PolicyDeps {
  store::Store& store;
  asio::thread_pool& workers;  // store lookups
  asio::thread_pool& blob_io;  // writing and fsyncing bodies, many at once
  delivery::GroupCommitter& committer;
  std::string hostname;
  std::string postmaster_domain;
  Limits limits;
  const queue::Srs* srs = nullptr;  // rewrites senders of forwarded mail; verifies bounces to them
  std::function<void()> queued;     // something was put in the outbound queue (wakes the runner)
  // Clients that may relay through port 25 without AUTH ("192.0.2.0/24", "2001:db8::/32");
  // empty (the default): nobody.
  std::vector<std::string> trusted_networks;
  MailChecks* checks = nullptr;  // port 25's SPF, DKIM, DMARC and connection checks; null: none
  DkimSigner* signer = nullptr;  // signs mail sent for our domains; null: none
  bool sign_forwarded = false;   // forwarded mail signed by the forwarding domain ([dkim])
};

std::unique_ptr<smtp::server::SmtpPolicy> make_inbound_policy(PolicyDeps deps);
std::unique_ptr<smtp::server::SmtpPolicy> make_submission_policy(PolicyDeps deps);

}  // namespace valija::server
