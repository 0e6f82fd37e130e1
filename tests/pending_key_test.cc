// The portal's pending key (docs/portal.md#generar): after Generar the new key
// waits for its download and the active key stays active; a complete download
// supersedes it in one transaction; a window that passes annuls the pending
// key and destroys its file. What the CLI does (active at once) is in
// keys_test.cc.
#include <gtest/gtest.h>

#include <thread>

#include "service/downloads.h"
#include "testing.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero {

using namespace llavero::service;
namespace {

constexpr const char* kId = "1-0647-0958";

// SQL straight to the database, past the service; true if it succeeded.
bool sql_ok(const testing::Installation& inst, const std::string& sql) {
  return testing::raw_sql(inst, sql).empty();
}

const Pin& pin() {
  static const Pin p = *Pin::parse("1234");
  return p;
}

struct Portal {
  explicit Portal(testing::Backend backend) : inst(testing::make_installation(backend)) {}
  std::unique_ptr<testing::Installation> inst;
  testing::TempDir dir;
  DownloadVault vault{*inst->store, *load_or_create_server_key(dir.path() / "portal.key")};
  std::int64_t taxpayer_id = inst->service->find_taxpayer(kId)->id;

  // Generar as the CLI does it: active at once.
  Result<GeneratedKey> generate_now(Environment env = Environment::kPruebas) {
    Bytes p12;
    return inst->service->generate(GenerateRequest{kId, env, std::nullopt, false}, pin(),
                                   testing::keep_p12(p12), "test");
  }
  // Generar as the portal does it; `token` gets the download's token.
  Result<GeneratedKey> generate_pending(std::string& token,
                                        Environment env = Environment::kPruebas) {
    return inst->service->generate(
        GenerateRequest{kId, env, std::nullopt, false, /*until_downloaded=*/true}, pin(),
        [&](const StagedKey& key) -> Status {
          auto put = vault.put(taxpayer_id, env, key.file_name, key.p12, key.certificate_id);
          if (!put) return put.error();
          token = *put;
          return Ok{};
        },
        "test");
  }
  std::vector<KeyStatus> keys(Environment env = Environment::kPruebas) {
    auto status = inst->service->status(kId, env);
    EXPECT_TRUE(status.ok());
    return *status;
  }
  std::optional<KeyStatus> key(const std::string& serial) {
    for (KeyStatus& k : keys())
      if (k.serial_hex == serial) return k;
    return std::nullopt;
  }
  // What the portal does once the download completed.
  Result<std::optional<std::string>> deliver(const std::string& token) {
    auto file = vault.open(token, taxpayer_id);
    if (!file) return file.error();
    EXPECT_TRUE(file->certificate_id.has_value());
    auto done = inst->service->complete_download(taxpayer_id, *file->certificate_id, "test");
    EXPECT_TRUE(vault.wipe(file->token_hash).ok());
    return done;
  }
  int active_rows() {
    int n = 0;
    for (const KeyStatus& k : keys()) n += k.state == KeyState::kActiva;
    return n;
  }
};

// Every test on both stores: SQLite, and PostgreSQL with its row locks.
class PendingKey : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(PendingKey);

TEST_P(PendingKey, AfterGenerarTheOldKeyStaysActiveAndTheNewOneWaits) {
  Portal p(backend());
  auto old = p.generate_now();
  ASSERT_TRUE(old.ok()) << old.error().message;
  std::string token;
  auto fresh = p.generate_pending(token);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_TRUE(fresh->pending);
  EXPECT_FALSE(fresh->superseded_serial.has_value());
  EXPECT_EQ(p.key(old->serial_hex)->state, KeyState::kActiva);
  auto pending = p.key(fresh->serial_hex);
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->state, KeyState::kPendiente);
  EXPECT_TRUE(pending->pending_until.has_value());
  EXPECT_EQ(p.active_rows(), 1);
}

TEST_P(PendingKey, AbandonedTheOldKeyStaysActiveUntilTheWindowPassesAndAfter) {
  Portal p(backend());
  auto old = p.generate_now();
  ASSERT_TRUE(old.ok());
  std::string token;
  auto fresh = p.generate_pending(token);
  ASSERT_TRUE(fresh.ok());
  // Nothing happens while the window is open.
  auto none = p.inst->service->expire_pending(now_seconds());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(p.key(fresh->serial_hex)->state, KeyState::kPendiente);
  // The window (and its grace) passed: annulled, file destroyed, old active.
  auto annulled = p.inst->service->expire_pending(now_seconds() + kDownloadWindowSeconds +
                                                  kPendingGraceSeconds + 1);
  ASSERT_TRUE(annulled.ok()) << annulled.error().message;
  EXPECT_EQ(*annulled, 1);
  auto gone = p.key(fresh->serial_hex);
  EXPECT_EQ(gone->state, KeyState::kRevocada);
  EXPECT_TRUE(gone->never_delivered);
  EXPECT_FALSE(gone->reason.has_value());
  EXPECT_EQ(p.key(old->serial_hex)->state, KeyState::kActiva);
  auto file = p.vault.open(token, p.taxpayer_id);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, errc::kDescargaNoDisponible);
}

TEST_P(PendingKey, ACompleteDownloadSupersedesTheOldKeyAtThatMoment) {
  Portal p(backend());
  auto old = p.generate_now();
  ASSERT_TRUE(old.ok());
  std::string token;
  auto fresh = p.generate_pending(token);
  ASSERT_TRUE(fresh.ok());
  auto done = p.deliver(token);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(*done, old->serial_hex);
  EXPECT_EQ(p.key(fresh->serial_hex)->state, KeyState::kActiva);
  EXPECT_FALSE(p.key(fresh->serial_hex)->pending_until.has_value());
  auto previous = p.key(old->serial_hex);
  EXPECT_EQ(previous->state, KeyState::kRevocada);
  EXPECT_EQ(previous->reason, RevocationReason::kSuperseded);
  EXPECT_EQ(p.active_rows(), 1);
  // One download only; a late sweep does not touch an active key.
  EXPECT_FALSE(p.vault.open(token, p.taxpayer_id).ok());
  auto none = p.inst->service->expire_pending(now_seconds() + 24 * 3600);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(p.key(fresh->serial_hex)->state, KeyState::kActiva);
}

TEST_P(PendingKey, WithoutAnActiveKeyTheDownloadMakesTheFirstOne) {
  Portal p(backend());
  std::string token;
  auto fresh = p.generate_pending(token);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(p.active_rows(), 0);
  auto done = p.deliver(token);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->has_value());
  EXPECT_EQ(p.active_rows(), 1);
}

TEST_P(PendingKey, GenerarWhilePendingAnnulsTheEarlierPendingKeyAndItsFile) {
  Portal p(backend());
  auto old = p.generate_now();
  ASSERT_TRUE(old.ok());
  std::string first_token, second_token;
  auto first = p.generate_pending(first_token);
  auto second = p.generate_pending(second_token);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(second->annulled_pending_serial, first->serial_hex);
  auto annulled = p.key(first->serial_hex);
  EXPECT_EQ(annulled->state, KeyState::kRevocada);
  EXPECT_TRUE(annulled->never_delivered);
  EXPECT_FALSE(p.vault.open(first_token, p.taxpayer_id).ok());
  EXPECT_EQ(p.key(old->serial_hex)->state, KeyState::kActiva);
  auto done = p.deliver(second_token);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, old->serial_hex);
  EXPECT_EQ(p.active_rows(), 1);
}

TEST_P(PendingKey, ConcurrentGenerarLeavesOnePendingAndOneActive) {
  Portal p(backend());
  auto old = p.generate_now();
  ASSERT_TRUE(old.ok());
  constexpr int kThreads = 4;
  std::vector<std::string> tokens(kThreads);
  std::vector<bool> ok(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] { ok[i] = p.generate_pending(tokens[i]).ok(); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_TRUE(ok[i]) << i;
  int pending = 0, openable = 0;
  for (const KeyStatus& k : p.keys()) pending += k.state == KeyState::kPendiente;
  for (const std::string& token : tokens) openable += p.vault.open(token, p.taxpayer_id).ok();
  EXPECT_EQ(pending, 1);
  EXPECT_EQ(openable, 1);  // only the pending key's file is left
  EXPECT_EQ(p.active_rows(), 1);
  EXPECT_EQ(p.key(old->serial_hex)->state, KeyState::kActiva);
}

TEST_P(PendingKey, AnAnnulledKeyCannotBecomeActiveLater) {
  Portal p(backend());
  std::string token;
  auto fresh = p.generate_pending(token);
  ASSERT_TRUE(fresh.ok());
  auto file = p.vault.open(token, p.taxpayer_id);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(
      p.inst->service
          ->expire_pending(now_seconds() + kDownloadWindowSeconds + kPendingGraceSeconds + 1)
          .ok());
  auto late = p.inst->service->complete_download(p.taxpayer_id, *file->certificate_id, "test");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, errc::kLlaveNoPendiente);
  EXPECT_EQ(p.active_rows(), 0);
}

TEST_P(PendingKey, TheDatabaseRefusesASecondActiveOrPendingKey) {
  Portal p(backend());
  ASSERT_TRUE(p.generate_now().ok());
  std::string token;
  ASSERT_TRUE(p.generate_pending(token).ok());
  // One active and one pending row: making either one like the other
  // breaks a unique partial index.
  EXPECT_FALSE(
      sql_ok(*p.inst, "UPDATE certificates SET status = 'active' WHERE status = 'pending'"));
  EXPECT_FALSE(sql_ok(*p.inst,
                      "UPDATE certificates SET status = 'pending', pending_until = "
                      "'2030-01-01T00:00:00Z' WHERE status = 'active'"));
  EXPECT_TRUE(sql_ok(*p.inst, "SELECT 1"));
}

}  // namespace
}  // namespace llavero
