// Pre-generated key pairs (service/key_pool.h, issue 13): Generar takes a
// pair from the pool, each pair once, falls back to generating its own when
// the pool is empty, the setting 0 disables the pool, a refill adds pairs up
// to the target, and taking never waits for a generation in progress.
#include "service/key_pool.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "service/config.h"
#include "testing.h"
#include "util/error_codes.h"

namespace llavero {

using namespace llavero::service;
namespace {

const Pin& pin() {
  static const Pin p = *Pin::parse("1234");
  return p;
}

// The DER of a key's public half: what a certificate carries.
std::string public_der(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(const_cast<EVP_PKEY*>(key), &der);
  std::string out = n > 0 ? std::string(reinterpret_cast<char*>(der), n) : std::string();
  OPENSSL_free(der);
  return out;
}

// Issues a key for the installation's taxpayer; the public key of its certificate.
std::string issue_public_key(KeyService& service) {
  Bytes p12;
  auto made = service.generate(
      GenerateRequest{"1-0647-0958", Environment::kPruebas, std::nullopt, false, false}, pin(),
      testing::keep_p12(p12), "test");
  EXPECT_TRUE(made) << made.error().message;
  if (!made) return "";
  auto keys = service.status("1-0647-0958", Environment::kPruebas);
  EXPECT_TRUE(keys);
  for (const KeyStatus& k : *keys)
    if (k.serial_hex == made->serial_hex) {
      auto cert = ossl::x509_from_der(k.certificate_der);
      EXPECT_TRUE(cert);
      return public_der(X509_get0_pubkey(cert->get()));
    }
  ADD_FAILURE() << "la llave emitida no aparece en el estado";
  return "";
}

TEST(KeyPool, GenerarUsesEachPooledKeyOnceThenGeneratesItsOwn) {
  auto inst = testing::make_installation();
  std::set<std::string> pooled;  // public keys the pool made
  KeyPool pool(2, [&pooled]() -> Result<ossl::PKey> {
    auto key = KeyPool::rsa_2048();
    if (key) pooled.insert(public_der(key->get()));
    return key;
  });
  ASSERT_TRUE(*pool.refill_one());
  ASSERT_TRUE(*pool.refill_one());
  EXPECT_FALSE(*pool.refill_one()) << "the pool is full at its target";
  ASSERT_EQ(pool.available(), 2u);
  ASSERT_EQ(pooled.size(), 2u);
  inst->service->draw_keys_from(&pool);

  std::set<std::string> issued;
  for (int i = 0; i < 4; ++i) issued.insert(issue_public_key(*inst->service));
  // Four certificates, four public keys: no pair went into two of them.
  EXPECT_EQ(issued.size(), 4u);
  EXPECT_EQ(issued.count(""), 0u);
  // Both pooled pairs went into certificates; the other two were generated
  // inline once the pool was empty.
  for (const std::string& key : pooled) EXPECT_EQ(issued.count(key), 1u);
  EXPECT_EQ(pool.available(), 0u);
}

TEST(KeyPool, AnEmptyPoolFallsBackToGeneratingInline) {
  auto inst = testing::make_installation();
  int generated = 0;
  KeyPool pool(3, [&generated]() -> Result<ossl::PKey> {
    ++generated;
    return KeyPool::rsa_2048();
  });
  inst->service->draw_keys_from(&pool);
  EXPECT_FALSE(issue_public_key(*inst->service).empty());
  EXPECT_EQ(generated, 0) << "Generar does not refill the pool itself";
  EXPECT_EQ(pool.available(), 0u);
}

TEST(KeyPool, TheSettingZeroDisablesThePool) {
  auto config = parse_config("llaves_pregeneradas = 0\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->key_pool_size, 0);
  EXPECT_EQ(parse_config("")->key_pool_size, 4);
  EXPECT_FALSE(parse_config("llaves_pregeneradas = -1\n"));
  EXPECT_FALSE(parse_config("llaves_pregeneradas = 65\n"));
  EXPECT_FALSE(parse_config("llaves_pregeneradas = muchas\n"));
  // llavero init writes it with the rest.
  EXPECT_NE(render_config(Config{}).find("\nllaves_pregeneradas = 4\n"), std::string::npos);

  int generated = 0;
  KeyPool pool(static_cast<std::size_t>(config->key_pool_size), [&generated] {
    ++generated;
    return KeyPool::rsa_2048();
  });
  EXPECT_FALSE(*pool.refill_one());
  EXPECT_EQ(generated, 0);
  EXPECT_FALSE(pool.take().has_value());
}

TEST(KeyPool, TakingNeverWaitsForAGenerationInProgress) {
  auto real = KeyPool::rsa_2048();
  ASSERT_TRUE(real);
  std::latch entered(1), release(1);
  int calls = 0;
  KeyPool pool(2, [&]() -> Result<ossl::PKey> {
    if (++calls == 1) return KeyPool::rsa_2048();
    entered.count_down();
    release.wait();  // a generation that takes as long as the test wants
    return std::move(*real);
  });
  ASSERT_TRUE(*pool.refill_one());
  std::thread refill([&pool] { EXPECT_TRUE(*pool.refill_one()); });
  entered.wait();
  // While the second pair is being made: taking, counting and a second
  // refill all answer at once. Were the pool's lock held during the
  // generation, they would hang here (the bound below only ends the test).
  auto asked = std::async(std::launch::async, [&pool] {
    const bool second_refill = *pool.refill_one();
    auto taken = pool.take();
    return std::make_tuple(second_refill, taken.has_value(), pool.available());
  });
  const bool answered = asked.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  release.count_down();
  refill.join();
  ASSERT_TRUE(answered) << "take() waited for the generation in progress";
  auto [second_refill, took, left] = asked.get();
  EXPECT_FALSE(second_refill) << "one generation at a time";
  EXPECT_TRUE(took) << "the pair made before was there to take";
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(pool.available(), 1u) << "the pair that was in progress joined the pool";
}

// The server's refill thread: it fills the pool to its target by itself,
// makes a new pair after each take, runs at idle priority, and a stop ends
// it while it is waiting. The waits below are bounds, not timings.
TEST(KeyPool, TheRefillThreadKeepsThePoolAtItsTargetAndStops) {
  std::atomic<int> generated = 0;
  std::atomic<int> policy = -1;
  KeyPool pool(3, [&]() -> Result<ossl::PKey> {
    int p = 0;
    sched_param param{};
    pthread_getschedparam(pthread_self(), &p, &param);
    policy = p;
    ++generated;
    return KeyPool::rsa_2048();
  });
  std::atomic<int> errors = 0;
  pool.start_refilling([&errors](const Error&) { ++errors; });
  auto wait_until = [](auto done) {
    for (int i = 0; i < 600 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return done();
  };
  ASSERT_TRUE(wait_until([&] { return pool.available() == 3; })) << pool.available();
  EXPECT_EQ(generated.load(), 3) << "no pair beyond the target";
  EXPECT_EQ(policy.load(), SCHED_IDLE) << "a refill runs only on a core no one else wants";

  ASSERT_TRUE(pool.take().has_value());
  ASSERT_TRUE(pool.take().has_value());
  ASSERT_TRUE(wait_until([&] { return pool.available() == 3; })) << pool.available();
  EXPECT_EQ(generated.load(), 5) << "each take is made up once";
  pool.stop_refilling();
  ASSERT_TRUE(pool.take().has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(pool.available(), 2u) << "no refill after the stop";
  EXPECT_EQ(errors.load(), 0);
}

TEST(KeyPool, AFailedGenerationIsReportedAndTriedAgain) {
  std::atomic<int> calls = 0;
  KeyPool pool(1, [&]() -> Result<ossl::PKey> {
    if (++calls == 1) return make_error(llavero::errc::kErrorInterno, "sin entropía");
    return KeyPool::rsa_2048();
  });
  std::mutex mu;
  std::vector<std::string> reported;
  pool.start_refilling([&](const Error& e) {
    std::lock_guard lock(mu);
    reported.push_back(e.message);
  });
  for (int i = 0; i < 600 && pool.available() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(pool.available(), 1u) << "the pool was filled after the failure";
  std::lock_guard lock(mu);
  EXPECT_EQ(reported, std::vector<std::string>{"sin entropía"});
}

}  // namespace
}  // namespace llavero
