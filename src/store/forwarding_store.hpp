#pragma once
// A Store that passes every call to another one. Tests derive from it to count calls or
// inject faults in the few methods they care about.
#include "store/store.hpp"

namespace valija::store {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : s_(inner) {}

  Result<Domain> add_domain(std::string_view n) override { return s_.add_domain(n); }
  Result<std::vector<Domain>> list_domains() override { return s_.list_domains(); }
  Result<std::optional<Domain>> find_domain(std::string_view n) override { return s_.find_domain(n); }
  Result<void> remove_domain(std::string_view n, bool f) override { return s_.remove_domain(n, f); }
  Result<Account> add_account(std::string_view l, std::string_view d, std::string_view h, std::uint64_t q) override {
    return s_.add_account(l, d, h, q);
  }
  Result<std::optional<Account>> find_account(std::string_view l, std::string_view d) override {
    return s_.find_account(l, d);
  }
  Result<std::vector<Account>> list_accounts(std::optional<std::string_view> d) override { return s_.list_accounts(d); }
  Result<void> set_password(std::string_view l, std::string_view d, std::string_view h) override {
    return s_.set_password(l, d, h);
  }
  Result<void> set_scram(std::string_view l, std::string_view d, std::string_view a, std::string_view b) override {
    return s_.set_scram(l, d, a, b);
  }
  Result<void> set_apop_secret(std::string_view l, std::string_view d, std::string_view s) override {
    return s_.set_apop_secret(l, d, s);
  }
  Result<void> set_quota(std::string_view l, std::string_view d, std::uint64_t b, std::uint64_t m) override {
    return s_.set_quota(l, d, b, m);
  }
  Result<void> remove_account(std::string_view l, std::string_view d) override { return s_.remove_account(l, d); }
  Result<void> add_alias(std::string_view l, std::string_view d, std::span<const std::string> t) override {
    return s_.add_alias(l, d, t);
  }
  Result<std::optional<Alias>> find_alias(std::string_view l, std::string_view d) override { return s_.find_alias(l, d); }
  Result<std::vector<Alias>> list_aliases(std::optional<std::string_view> d) override { return s_.list_aliases(d); }
  Result<void> remove_alias(std::string_view l, std::string_view d, std::string_view t) override {
    return s_.remove_alias(l, d, t);
  }
  Result<void> add_dkim_key(const DkimKey& k) override { return s_.add_dkim_key(k); }
  Result<std::vector<DkimKey>> list_dkim_keys(std::optional<std::string_view> d) override { return s_.list_dkim_keys(d); }
  Result<void> set_dkim_key_state(std::string_view d, std::string_view s, DkimKeyState st) override {
    return s_.set_dkim_key_state(d, s, st);
  }
  Result<void> remove_dkim_key(std::string_view d, std::string_view s) override { return s_.remove_dkim_key(d, s); }
  Result<GreylistDecision> greylist(std::string_view t, std::int64_t now, const GreylistPolicy& p) override {
    return s_.greylist(t, now, p);
  }

  Result<std::vector<MailboxInfo>> list_mailboxes(AccountId a) override { return s_.list_mailboxes(a); }
  Result<std::optional<MailboxInfo>> find_mailbox(AccountId a, std::string_view n) override {
    return s_.find_mailbox(a, n);
  }
  Result<std::vector<MessageInfo>> list_messages(MailboxId m) override { return s_.list_messages(m); }
  Result<std::string> read_message(const MessageInfo& m) override { return s_.read_message(m); }
  Result<std::unique_ptr<MessageReader>> open_message(const MessageInfo& m) override { return s_.open_message(m); }
  Result<std::size_t> expunge(MailboxId m, std::span<const std::uint32_t> uids) override { return s_.expunge(m, uids); }

  Result<MailboxInfo> create_mailbox(AccountId a, std::string_view n, std::string_view su) override {
    return s_.create_mailbox(a, n, su);
  }
  Result<void> delete_mailbox(AccountId a, std::string_view n) override { return s_.delete_mailbox(a, n); }
  Result<void> rename_mailbox(AccountId a, std::string_view f, std::string_view t) override {
    return s_.rename_mailbox(a, f, t);
  }
  Result<void> set_subscribed(AccountId a, std::string_view n, bool on) override { return s_.set_subscribed(a, n, on); }
  Result<std::vector<std::string>> list_subscriptions(AccountId a) override { return s_.list_subscriptions(a); }
  Result<MailboxCounts> count_messages(MailboxId m) override { return s_.count_messages(m); }
  Result<MailboxChanges> changes_since(MailboxId m, std::uint64_t since, bool exp) override {
    return s_.changes_since(m, since, exp);
  }
  Result<FlagResult> store_flags(MailboxId m, std::span<const std::uint32_t> uids, FlagOp op, std::string_view f,
                                 std::optional<std::uint64_t> unchanged) override {
    return s_.store_flags(m, uids, op, f, unchanged);
  }
  Result<CopyOutcome> copy_messages(MailboxId from, std::span<const std::uint32_t> uids, MailboxId to,
                                    bool move) override {
    return s_.copy_messages(from, uids, to, move);
  }
  Result<std::vector<std::uint32_t>> expunge_deleted(MailboxId m,
                                                     std::optional<std::span<const std::uint32_t>> uids) override {
    return s_.expunge_deleted(m, uids);
  }
  Result<std::vector<QueueEntry>> queue_due(std::int64_t now, std::size_t limit) override {
    return s_.queue_due(now, limit);
  }
  Result<std::vector<QueueEntry>> list_queue() override { return s_.list_queue(); }
  Result<std::optional<QueueEntry>> find_queued(std::int64_t id) override { return s_.find_queued(id); }
  Result<std::unique_ptr<MessageReader>> open_queued(const QueueEntry& e) override { return s_.open_queued(e); }
  Result<void> update_queue(std::span<const RecipientUpdate> u) override { return s_.update_queue(u); }
  Result<void> mark_warned(std::int64_t e) override { return s_.mark_warned(e); }
  Result<bool> delete_queued(std::int64_t e) override { return s_.delete_queued(e); }
  Result<std::vector<std::string>> message_meta(MailboxId m, std::span<const std::uint32_t> uids) override {
    return s_.message_meta(m, uids);
  }
  Result<void> set_message_meta(MailboxId m, std::uint32_t uid, std::string_view meta) override {
    return s_.set_message_meta(m, uid, meta);
  }
  Result<std::uint32_t> claim_recent(MailboxId m) override { return s_.claim_recent(m); }
  void set_change_listener(ChangeListener l) override { s_.set_change_listener(std::move(l)); }
  Result<void> batch(const std::function<void()>& body) override { return s_.batch(body); }

  Result<std::vector<std::vector<CopyResult>>> deliver(std::span<const Delivery> b) override { return s_.deliver(b); }
  Result<std::string> put_blob(std::string_view body) override { return s_.put_blob(body); }
  Result<std::size_t> collect_garbage() override { return s_.collect_garbage(); }
  Result<std::size_t> sweep_orphans() override { return s_.sweep_orphans(); }
  Result<Stats> stats() override { return s_.stats(); }
  Result<CheckReport> check(const CheckOptions& o) override { return s_.check(o); }

 protected:
  Store& s_;
};

}  // namespace valija::store
