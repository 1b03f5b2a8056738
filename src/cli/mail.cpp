// `valija mail list|show`: look into a mailbox from the server side (what arrived,
// with which trace id), so an admin can follow a message without a mail client.
#include <fmt/format.h>

#include <cstdio>

#include "base/clock.hpp"
#include "cli/commands.hpp"
#include "cli/util.hpp"

namespace valija::cli {

void add_mail_commands(CLI::App& app, Context& ctx) {
  auto* noun = app.add_subcommand("mail", "Look at the messages in an account's mailboxes");
  noun->require_subcommand(1);
  auto data = std::make_shared<std::string>("valija-data");
  auto address = std::make_shared<std::string>();
  auto folder = std::make_shared<std::string>("INBOX");
  auto uid = std::make_shared<std::uint32_t>(0);

  auto open_mailbox = [data, address, folder]() -> Result<std::pair<std::unique_ptr<store::Store>, store::MailboxInfo>> {
    auto mb = parse_address(*address);
    if (!mb) return tl::unexpected(mb.error());
    auto st = open_store(*data);
    if (!st) return tl::unexpected(st.error());
    auto acc = (*st)->find_account(mb->local, mb->domain);
    if (!acc) return tl::unexpected(acc.error());
    if (!acc->has_value()) return fail(Errc::NotFound, fmt::format("no account {}", mb->str()));
    auto box = (*st)->find_mailbox((*acc)->id, *folder);
    if (!box) return tl::unexpected(box.error());
    if (!box->has_value()) return fail(Errc::NotFound, fmt::format("{} has no mailbox {}", mb->str(), *folder));
    return std::pair{std::move(*st), **box};
  };

  auto* list = noun->add_subcommand("list", "One line per message: UID, size, arrival (UTC), trace id");
  list->add_option("ADDRESS", *address, "name@domain")->required();
  list->add_option("--folder", *folder, "Mailbox (default INBOX)");
  add_data_option(list, *data);
  list->callback([&ctx, open_mailbox] {
    auto m = open_mailbox();
    if (!m) { ctx.rc = error(m.error().detail); return; }
    auto msgs = m->first->list_messages(m->second.id);
    if (!msgs) { ctx.rc = error(msgs.error().detail); return; }
    for (const auto& msg : *msgs)
      fmt::print("{}\t{}\t{}\t{}\t{}\n", msg.uid, msg.size, clock::rfc5322_date(msg.internal_date), msg.trace_id,
                 msg.flags.empty() ? "-" : msg.flags);
  });

  auto* show = noun->add_subcommand("show", "Print a message exactly as stored");
  show->add_option("ADDRESS", *address, "name@domain")->required();
  show->add_option("UID", *uid, "Message UID (from 'valija mail list')")->required();
  show->add_option("--folder", *folder, "Mailbox (default INBOX)");
  add_data_option(show, *data);
  show->callback([&ctx, open_mailbox, uid] {
    auto m = open_mailbox();
    if (!m) { ctx.rc = error(m.error().detail); return; }
    auto msgs = m->first->list_messages(m->second.id);
    if (!msgs) { ctx.rc = error(msgs.error().detail); return; }
    for (const auto& msg : *msgs) {
      if (msg.uid != *uid) continue;
      auto content = m->first->read_message(msg);
      if (!content) { ctx.rc = error(content.error().detail); return; }
      std::fwrite(content->data(), 1, content->size(), stdout);
      return;
    }
    ctx.rc = error(fmt::format("no message with UID {}", *uid));
  });
}

}  // namespace valija::cli
