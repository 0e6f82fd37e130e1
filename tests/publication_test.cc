// RevocationPublisher: a revocation is visible at once in OCSP, also on the
// path most relying parties take, a request without a nonce, which is
// answered from the cache of signed answers (the route's fast handler calls
// ocsp_from_cache on the I/O thread). The verifier's checks send a nonce and
// so never see that cache; these ask without one.
#include "service/publication.h"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include "api/publication_routes.h"
#include "pki/names.h"
#include "pki/openssl.h"
#include "testing.h"
#include "util/clock.h"

namespace llavero {

using namespace llavero::service;
namespace {

using testing::Installation;
using testing::keep_p12;
using testing::make_installation;

using OcspRequestPtr = ossl::Owned<OCSP_REQUEST, OCSP_REQUEST_free>;

// A DER request for one serial of the pruebas persona física CA, without a
// nonce: what `openssl ocsp -no_nonce` and most browsers send.
Bytes request_for(Installation& inst, const std::string& serial_hex) {
  auto ca = inst.keyring->certificate(Environment::kPruebas, CaKind::kPersonaFisica);
  EXPECT_TRUE(ca.ok());
  const X509* issuer = (*ca)->certificate.get();
  BIGNUM* bn = nullptr;
  EXPECT_GT(BN_hex2bn(&bn, serial_hex.c_str()), 0);
  ossl::Bignum owned_bn(bn);
  ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn, nullptr));
  OcspRequestPtr request(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
                                     X509_get0_pubkey_bitstr(issuer), serial.get());
  EXPECT_NE(id, nullptr);
  EXPECT_NE(OCSP_request_add0_id(request.get(), id), nullptr);
  const int len = i2d_OCSP_REQUEST(request.get(), nullptr);
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_OCSP_REQUEST(request.get(), &p);
  return der;
}

// V_OCSP_CERTSTATUS_GOOD / _REVOKED / _UNKNOWN of the one answer, or -1.
int status_in(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::OcspResponse response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response || OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return -1;
  ossl::OcspBasicResponse basic(OCSP_response_get1_basic(response.get()));
  if (!basic || OCSP_resp_count(basic.get()) != 1) return -1;
  int reason = 0;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  return OCSP_single_get0_status(OCSP_resp_get0(basic.get(), 0), &reason, &revoked, &this_update,
                                 &next_update);
}

std::string generate(Installation& inst) {
  static const Pin pin = *Pin::parse("1234");
  Bytes p12;
  auto key = inst.service->generate(
      GenerateRequest{"1-0647-0958", Environment::kPruebas, std::nullopt, false}, pin,
      keep_p12(p12), "test");
  EXPECT_TRUE(key.ok()) << key.error().message;
  return key->serial_hex;
}

TEST(OcspCache, ARevocationIsSeenWithoutANonce) {
  auto inst = make_installation();
  RevocationPublisher publisher(*inst->store, *inst->keyring);
  ASSERT_TRUE(publisher.start().ok());
  const Bytes request = request_for(*inst, generate(*inst));

  EXPECT_EQ(status_in(publisher.ocsp(request)), V_OCSP_CERTSTATUS_GOOD);
  // The answer is cached now: the fast path has it.
  auto cached = publisher.ocsp_from_cache(request);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(status_in(*cached), V_OCSP_CERTSTATUS_GOOD);

  ASSERT_TRUE(
      inst->service
          ->revoke("1-0647-0958", Environment::kPruebas, RevocationReason::kKeyCompromise, "test")
          .ok());

  // As the route asks: the cache first, signing only when it has nothing.
  auto fast = publisher.ocsp_from_cache(request);
  if (fast) {
    EXPECT_EQ(status_in(*fast), V_OCSP_CERTSTATUS_REVOKED) << "la caché respondió good";
  }
  EXPECT_EQ(status_in(publisher.ocsp(request)), V_OCSP_CERTSTATUS_REVOKED);
  // And the revoked answer is what is cached from now on.
  auto again = publisher.ocsp_from_cache(request);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(status_in(*again), V_OCSP_CERTSTATUS_REVOKED);
}

// Another process (the CLI) revokes through its own connection to the same
// database: only the store's revocation epoch tells this publisher.
TEST(OcspCache, ARevocationByAnotherConnectionIsSeenWithoutANonce) {
  auto inst = make_installation();
  RevocationPublisher publisher(*inst->store, *inst->keyring);
  ASSERT_TRUE(publisher.start().ok());
  const Bytes request = request_for(*inst, generate(*inst));
  EXPECT_EQ(status_in(publisher.ocsp(request)), V_OCSP_CERTSTATUS_GOOD);
  ASSERT_TRUE(publisher.ocsp_from_cache(request).has_value());

  auto other = SqliteStore::open(inst->db_path(), false);
  ASSERT_TRUE(other.ok());
  KeyService other_service(**other, inst->config, *inst->keyring);
  ASSERT_TRUE(
      other_service.revoke("1-0647-0958", Environment::kPruebas, std::nullopt, "otro").ok());

  auto fast = publisher.ocsp_from_cache(request);
  if (fast) {
    EXPECT_EQ(status_in(*fast), V_OCSP_CERTSTATUS_REVOKED) << "la caché respondió good";
  }
  EXPECT_EQ(status_in(publisher.ocsp(request)), V_OCSP_CERTSTATUS_REVOKED);
}

// The CRL too: the one built before the revocation is not served after it.
TEST(CrlPublication, ARevocationIsInTheNextCrl) {
  auto inst = make_installation();
  RevocationPublisher publisher(*inst->store, *inst->keyring);
  ASSERT_TRUE(publisher.start().ok());
  const std::string serial = generate(*inst);
  auto serial_in = [&](const Bytes& der) {
    const unsigned char* p = der.data();
    ossl::X509Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    EXPECT_TRUE(crl);
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, serial.c_str());
    ossl::Bignum owned_bn(bn);
    ossl::Asn1Integer asn1(BN_to_ASN1_INTEGER(bn, nullptr));
    X509_REVOKED* entry = nullptr;
    return X509_CRL_get0_by_serial(crl.get(), &entry, asn1.get()) == 1;
  };
  auto before = publisher.crl(Environment::kPruebas, CaKind::kPersonaFisica);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(serial_in(**before));
  ASSERT_TRUE(inst->service->revoke("1-0647-0958", Environment::kPruebas, std::nullopt, "t").ok());
  auto after = publisher.crl(Environment::kPruebas, CaKind::kPersonaFisica);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(serial_in(**after));
}

// GET of a CRL hands the server the publisher's own buffer (RouteContext::
// shared_body), which the server writes without copying (server_limits_test:
// Server.ASharedBodyIsWrittenFromTheOneBufferToEveryClient): two clients get
// the same bytes, the current CRL, and a revocation gives the next ones a new
// buffer.
TEST(CrlPublication, EveryGetOfTheCrlIsServedFromTheOneBuffer) {
  auto inst = make_installation();
  RevocationPublisher publisher(*inst->store, *inst->keyring);
  ASSERT_TRUE(publisher.start().ok());
  generate(*inst);  // 1-0647-0958's pruebas key, revoked below
  http::Router router;
  api::add_publication_routes(router, publisher);
  const std::string path = crl_path(Environment::kPruebas, CaKind::kPersonaFisica);
  const http::Router::Match match = router.find(http::verb::get, path);
  ASSERT_NE(match.route, nullptr);
  ASSERT_TRUE(match.route->slow);
  http::Request request(http::verb::get, path, 11);
  auto get = [&](http::RouteContext& context) {
    context.path = path;
    http::Response response = match.route->slow(request, context);
    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(response[http::field::content_type], "application/pkix-crl");
    EXPECT_TRUE(response.body().empty()) << "the CRL was copied into the response";
    EXPECT_NE(context.shared_body, nullptr);
    return context.shared_body;
  };
  auto entries = [](const http::SharedBytes& der) {
    const unsigned char* p = der->data();
    ossl::X509Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
    EXPECT_TRUE(crl) << "not a DER CRL";
    return crl ? std::max(0, sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get()))) : -1;
  };

  http::RouteContext first_client, second_client;
  http::SharedBytes first = get(first_client), second = get(second_client);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first.get(), second.get()) << "each GET got its own copy of the CRL";
  auto current = publisher.crl(Environment::kPruebas, CaKind::kPersonaFisica);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(first.get(), current->get()) << "not the publisher's buffer";
  EXPECT_EQ(entries(first), 0) << "nothing is revoked yet";

  ASSERT_TRUE(inst->service->revoke("1-0647-0958", Environment::kPruebas, std::nullopt, "t").ok());
  http::RouteContext third_client;
  http::SharedBytes third = get(third_client);
  ASSERT_TRUE(third);
  EXPECT_NE(third.get(), first.get()) << "a revocation must give a new CRL";
  EXPECT_EQ(entries(third), 1);
  EXPECT_EQ(entries(first), 0) << "the buffer a client is being sent never changes";
}

}  // namespace
}  // namespace llavero
