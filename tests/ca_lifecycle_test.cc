// A CA rollover end to end (docs/certificates.md#ca-rollover): two
// administrators, a new generation of the pruebas persona física CA, and
// certificates of both generations that `openssl verify` accepts, with
// their revocation told right by OCSP and by each generation's CRL, and the
// extensions every CA certificate must carry (zlint is not packaged in
// Debian 12: `openssl x509 -text` is read instead).
#include "service/ca_lifecycle.h"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "service/publication.h"
#include "service/token_service.h"
#include "testing.h"
#include "util/error_codes.h"

namespace llavero {

using namespace llavero::service;
namespace {

using testing::Installation;
using testing::OnBothBackends;

constexpr Environment kEnv = Environment::kPruebas;

// Only these two are administrators here.
AdministratorCheck two_administrators() {
  return [](std::string_view user) -> Result<bool> { return user == "ana" || user == "beto"; };
}

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return "popen falló";
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string pem_of(const Bytes& der) {
  auto cert = ossl::x509_from_der(der);
  return cert ? *ossl::x509_to_pem(**cert) : "";
}

std::string crl_pem(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::Owned<X509_CRL, X509_CRL_free> crl(
      d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// The OCSP status of `serial` asked of `issuer`'s responder, or -1.
int ocsp_status(RevocationPublisher& publisher, const X509* issuer, const std::string& serial) {
  BIGNUM* bn = nullptr;
  if (BN_hex2bn(&bn, serial.c_str()) <= 0) return -1;
  ossl::Bignum owned(bn);
  ossl::Asn1Integer asn1(BN_to_ASN1_INTEGER(bn, nullptr));
  ossl::Owned<OCSP_REQUEST, OCSP_REQUEST_free> request(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
                                     X509_get0_pubkey_bitstr(issuer), asn1.get());
  OCSP_request_add0_id(request.get(), id);
  Bytes der(static_cast<std::size_t>(i2d_OCSP_REQUEST(request.get(), nullptr)));
  unsigned char* w = der.data();
  i2d_OCSP_REQUEST(request.get(), &w);
  const Bytes answer = publisher.ocsp(der);
  const unsigned char* p = answer.data();
  ossl::OcspResponse response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.size())));
  if (!response || OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return -1;
  ossl::OcspBasicResponse basic(OCSP_response_get1_basic(response.get()));
  int reason = 0;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  return OCSP_single_get0_status(OCSP_resp_get0(basic.get(), 0), &reason, &revoked, &this_update,
                                 &next_update);
}

class CaRollover : public OnBothBackends {};

// Issues a pf key of `id` in pruebas with `keys`; returns its certificate.
KeyStatus issue(Installation& inst, KeyService& keys, const std::string& id) {
  static const Pin pin = *Pin::parse("1234");
  auto taxpayer = keys.find_taxpayer(id);
  if (!taxpayer) {
    auto made = keys.create_taxpayer(NewTaxpayerRequest{id, "PRUEBA", "ROLLOVER", ""}, "test");
    EXPECT_TRUE(made.ok()) << made.error().message;
  }
  Bytes p12;
  auto key = keys.generate(GenerateRequest{id, kEnv, std::nullopt, false}, pin,
                           testing::keep_p12(p12), "test");
  EXPECT_TRUE(key.ok()) << key.error().message;
  auto status = keys.status(id, kEnv);
  EXPECT_TRUE(status.ok());
  (void)inst;
  return status->front();
}

TEST_P(CaRollover, BothGenerationsVerifyAndAnswerOcspAndCrls) {
  auto inst = install();
  // Before: generation 1 issues one certificate that stays good and one
  // that is revoked.
  const KeyStatus old_good = issue(*inst, *inst->service, "1-0647-0958");
  const KeyStatus old_revoked = issue(*inst, *inst->service, "1-0111-0222");
  ASSERT_TRUE(
      inst->service->revoke("1-0111-0222", kEnv, RevocationReason::kKeyCompromise, "t").ok());

  // The two-person rule.
  CaLifecycle lifecycle(*inst->store, *inst->keyring, inst->config, two_administrators());
  EXPECT_EQ(lifecycle.request(kEnv, CaKind::kPersonaFisica, "carla").error().code,
            errc::kNoEsAdministrador);
  auto request = lifecycle.request(kEnv, CaKind::kPersonaFisica, "ana");
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(lifecycle.request(kEnv, CaKind::kPersonaFisica, "beto").error().code,
            errc::kRenovacionPendiente);
  EXPECT_EQ(lifecycle.approve(*request, "ana").error().code, errc::kMismoOperador);
  EXPECT_EQ(lifecycle.approve(*request, "carla").error().code, errc::kNoEsAdministrador);
  auto made = lifecycle.approve(*request, "beto");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->generation, 2);
  EXPECT_EQ(lifecycle.approve(*request, "beto").error().code, errc::kRenovacionNoPendiente);
  // The database keeps the rule too, whoever writes to it.
  EXPECT_NE(testing::raw_sql(*inst, "UPDATE ca_rollovers SET approved_by = requested_by"), "");
  auto rollovers = lifecycle.rollovers();
  ASSERT_TRUE(rollovers.ok());
  ASSERT_EQ(rollovers->size(), 1u);
  EXPECT_EQ(rollovers->front().requested_by, "ana");
  EXPECT_EQ(rollovers->front().approved_by, "beto");
  std::set<std::string> audited;
  auto log = inst->store->audit_log();
  ASSERT_TRUE(log.ok());
  for (const AuditRow& row : log->rows) audited.insert(row.action);
  EXPECT_TRUE(audited.count("ca.renovar.solicitar") && audited.count("ca.renovar.aprobar"));

  // A process started after the approval issues from generation 2 and
  // publishes both.
  CaKeyring keyring(*inst->store, SecretString(testing::kTestPassphrase));
  KeyService keys(*inst->store, inst->config, keyring);
  const KeyStatus new_good = issue(*inst, keys, "1-0333-0444");
  const KeyStatus new_revoked = issue(*inst, keys, "1-0555-0666");
  ASSERT_TRUE(keys.revoke("1-0555-0666", kEnv, RevocationReason::kKeyCompromise, "t").ok());
  RevocationPublisher publisher(*inst->store, keyring);
  ASSERT_TRUE(publisher.start().ok());

  auto generations = keyring.certificates(kEnv, CaKind::kPersonaFisica);
  ASSERT_TRUE(generations.ok());
  ASSERT_EQ(generations->size(), 2u);
  const X509* gen1 = (*generations)[0]->certificate.get();
  const X509* gen2 = (*generations)[1]->certificate.get();
  auto leaf = [](const KeyStatus& k) { return *ossl::x509_from_der(k.certificate_der); };
  EXPECT_EQ(X509_check_issued(const_cast<X509*>(gen1), leaf(old_good).get()), X509_V_OK);
  EXPECT_EQ(X509_check_issued(const_cast<X509*>(gen2), leaf(new_good).get()), X509_V_OK);

  // OCSP: each generation's responder answers for its own certificates.
  EXPECT_EQ(ocsp_status(publisher, gen1, old_good.serial_hex), V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(ocsp_status(publisher, gen1, old_revoked.serial_hex), V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(ocsp_status(publisher, gen2, new_good.serial_hex), V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(ocsp_status(publisher, gen2, new_revoked.serial_hex), V_OCSP_CERTSTATUS_REVOKED);
  // A serial of one generation is unknown to the other.
  EXPECT_EQ(ocsp_status(publisher, gen2, old_good.serial_hex), V_OCSP_CERTSTATUS_UNKNOWN);

  // openssl verify with every CRL (the root's ARL and each generation's).
  testing::TempDir dir;
  const auto root = keyring.certificate(kEnv, CaKind::kRoot);
  write(dir.path() / "root.pem", *ossl::x509_to_pem(*(*root)->certificate));
  write(dir.path() / "cas.pem", *ossl::x509_to_pem(*gen1) + *ossl::x509_to_pem(*gen2));
  std::string crls;
  for (auto [kind, generation] : {std::pair{CaKind::kRoot, 1}, std::pair{CaKind::kPersonaFisica, 1},
                                  std::pair{CaKind::kPersonaFisica, 2}}) {
    auto der = publisher.crl(kEnv, kind, generation);
    ASSERT_TRUE(der.ok()) << der.error().message;
    crls += crl_pem(**der);
  }
  write(dir.path() / "crls.pem", crls);
  const std::string verify = "openssl verify -crl_check_all -CAfile " +
                             (dir.path() / "root.pem").string() + " -untrusted " +
                             (dir.path() / "cas.pem").string() + " -CRLfile " +
                             (dir.path() / "crls.pem").string() + " ";
  for (const KeyStatus* k : {&old_good, &old_revoked, &new_good, &new_revoked}) {
    const auto path = dir.path() / (k->serial_hex + ".pem");
    write(path, pem_of(k->certificate_der));
    const std::string out = run(verify + path.string());
    const bool revoked = k == &old_revoked || k == &new_revoked;
    if (revoked)
      EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
    else
      EXPECT_NE(out.find(": OK"), std::string::npos) << out;
  }

  // The generations are told apart by their URLs.
  const std::string new_text = run("openssl x509 -noout -text -in " +
                                   (dir.path() / (new_good.serial_hex + ".pem")).string());
  EXPECT_NE(new_text.find("/stag/ocsp/pf-g2"), std::string::npos) << new_text;
  EXPECT_NE(new_text.find("/stag/intermediate-pf-g2-pem.crt"), std::string::npos);
  EXPECT_NE(new_text.find("/stag/intermediate-pf-g2.crl"), std::string::npos);
  const std::string old_text = run("openssl x509 -noout -text -in " +
                                   (dir.path() / (old_good.serial_hex + ".pem")).string());
  EXPECT_NE(old_text.find("/stag/ocsp/pf\n"), std::string::npos) << old_text;

  // What zlint asks of every subordinate CA certificate.
  for (const X509* ca : {gen1, gen2}) {
    write(dir.path() / "ca.pem", *ossl::x509_to_pem(*ca));
    const std::string text =
        run("openssl x509 -noout -text -in " + (dir.path() / "ca.pem").string());
    EXPECT_NE(text.find("X509v3 CRL Distribution Points"), std::string::npos) << text;
    EXPECT_NE(text.find("/stag/root.crl"), std::string::npos) << text;
    EXPECT_NE(text.find("X509v3 Certificate Policies"), std::string::npos) << text;
  }
}

LLAVERO_ON_BOTH_BACKENDS(CaRollover);

std::string access_token(TokenService& tokens, const NewApiPassword& user) {
  const Realm& realm = realm_of(kEnv);
  TokenAnswer answer = tokens.token(realm,
                                    {{"grant_type", "password"},
                                     {"client_id", std::string(realm.client_id)},
                                     {"username", user.username},
                                     {"password", std::string(user.password.view())}},
                                    "127.0.0.1");
  EXPECT_EQ(answer.status, 200u);
  return std::string(answer.body["access_token"].as_string());
}

// The token signing key rolls over too: during the overlap the JWKS has both
// keys and a token signed by either is accepted.
TEST(TokenKeyRollover, BothKeysArePublishedAndAccepted) {
  auto inst = testing::make_installation();
  AccountService accounts(*inst->store, inst->config);
  auto user = accounts.generate_api_password("1-0647-0958", kEnv, "test");
  ASSERT_TRUE(user.ok());
  TokenService before(*inst->store, accounts, *inst->keyring, inst->config);
  ASSERT_TRUE(before.start().ok());
  const std::string old_token = access_token(before, *user);
  ASSERT_EQ(before.jwks(realm_of(kEnv))["keys"].as_array().size(), 1u);

  auto kid = TokenService::roll_over_key(*inst->store, *inst->keyring, kEnv, "operador:ana");
  ASSERT_TRUE(kid.ok()) << kid.error().message;
  TokenService after(*inst->store, accounts, *inst->keyring, inst->config);
  ASSERT_TRUE(after.start().ok());
  const std::string new_token = access_token(after, *user);
  const auto keys = after.jwks(realm_of(kEnv))["keys"].as_array();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].as_object().at("kid").as_string(), *kid);
  EXPECT_NE(old_token, new_token);
  EXPECT_TRUE(after.check_bearer("bearer " + old_token, kEnv).ok());
  EXPECT_TRUE(after.check_bearer("bearer " + new_token, kEnv).ok());
  // The server that started before the rollover does not know the new key.
  EXPECT_FALSE(before.check_bearer("bearer " + new_token, kEnv).ok());
  // A second rollover drops the first key from the JWKS and the check.
  ASSERT_TRUE(TokenService::roll_over_key(*inst->store, *inst->keyring, kEnv, "t").ok());
  TokenService later(*inst->store, accounts, *inst->keyring, inst->config);
  ASSERT_TRUE(later.start().ok());
  EXPECT_EQ(later.jwks(realm_of(kEnv))["keys"].as_array().size(), 2u);
  EXPECT_FALSE(later.check_bearer("bearer " + old_token, kEnv).ok());
  EXPECT_TRUE(later.check_bearer("bearer " + new_token, kEnv).ok());
}

}  // namespace
}  // namespace llavero
