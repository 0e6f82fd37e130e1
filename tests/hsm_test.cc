// CA keys in a PKCS#11 token (pki/pkcs11.h, docs/hsm.md), on a real SoftHSM2
// token made for this test process: keys are generated inside it and cannot
// leave it (CKA_EXTRACTABLE and CKA_SENSITIVE read through PKCS#11 here, not
// through llavero), they sign what the passphrase keys sign (a CA hierarchy,
// a CRL, an OCSP answer, a JWT), the custody key opens only what it sealed,
// and the PIN is taken only from where it may come from.
//
// Without SoftHSM2 (Debian softhsm2) the tests are SKIPPED.
#include <dlfcn.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>  // last: its macros are for this file only
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "pki/authority.h"
#include "pki/crl.h"
#include "pki/jwt.h"
#include "pki/ocsp.h"
#include "pki/pkcs11.h"
#include "service/custody.h"
#include "testing.h"
#include "util/error_codes.h"
#include "xades/xades.h"

namespace fs = std::filesystem;

namespace llavero {
namespace {

constexpr const char* kPin = "4321";
constexpr const char* kSoPin = "87654321";
constexpr const char* kLabel = "llavero";

// One SoftHSM2 token for the whole process: its own configuration and
// token directory in a temporary directory (SoftHSM reads SOFTHSM2_CONF when
// the module is initialized).
class SoftHsm {
 public:
  static SoftHsm& get() {
    static SoftHsm instance;
    return instance;
  }
  // Why the token cannot be used here, "" when it can.
  const std::string& unavailable() const { return unavailable_; }
  std::string uri(std::string_view extra = "") const {
    return fmt::format("pkcs11:token={}?module-path={}{}", kLabel, kDefaultPkcs11Module, extra);
  }
  const fs::path& dir() const { return dir_.path(); }

 private:
  SoftHsm() {
    if (!fs::exists(kDefaultPkcs11Module) ||
        std::system("command -v softhsm2-util >/dev/null") != 0) {
      unavailable_ = "falta SoftHSM2 (bash scripts/install-deps.sh instala softhsm2)";
      return;
    }
    fs::create_directories(dir_.path() / "tokens");
    const fs::path conf = dir_.path() / "softhsm2.conf";
    std::ofstream(conf) << "directories.tokendir = " << (dir_.path() / "tokens").string()
                        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    const std::string init =
        fmt::format("softhsm2-util --init-token --free --label {} --pin {} --so-pin {} >/dev/null",
                    kLabel, kPin, kSoPin);
    if (std::system(init.c_str()) != 0) unavailable_ = "softhsm2-util --init-token falló";
  }
  testing::TempDir dir_;
  std::string unavailable_;
};

// The PIN in the environment for one test, as an operator would give it.
class PinInEnvironment {
 public:
  explicit PinInEnvironment(const char* pin) { setenv(kPkcs11PinEnv, pin, 1); }
  ~PinInEnvironment() { unsetenv(kPkcs11PinEnv); }
};

class Hsm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SoftHsm::get().unavailable().empty()) GTEST_SKIP() << SoftHsm::get().unavailable();
    auto opened = open_pkcs11_key_store(SoftHsm::get().uri());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    keys = std::move(*opened);
  }
  PinInEnvironment pin{kPin};
  std::unique_ptr<KeyStore> keys;
};

// The token's view of a private key, asked through the module's own API (the
// same module instance libp11 initialized; login state is per process).
struct TokenAttributes {
  bool found = false;
  CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE, never_extractable = CK_FALSE,
           local = CK_FALSE;
  CK_RV private_exponent = CKR_OK;  // what reading CKA_PRIVATE_EXPONENT answers
};

TokenAttributes private_key_attributes(const std::string& label) {
  TokenAttributes out;
  void* module = dlopen(kDefaultPkcs11Module, RTLD_NOW | RTLD_LOCAL);
  if (!module) return out;
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(module, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR f = nullptr;
  if (get_list && get_list(&f) == CKR_OK) {
    const CK_RV init = f->C_Initialize(nullptr);
    EXPECT_TRUE(init == CKR_OK || init == CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CK_SLOT_ID slots[16];
    CK_ULONG count = 16;
    f->C_GetSlotList(CK_TRUE, slots, &count);
    for (CK_ULONG i = 0; i < count && !out.found; ++i) {
      CK_TOKEN_INFO info;
      if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      std::string token_label(reinterpret_cast<char*>(info.label), sizeof info.label);
      token_label.erase(token_label.find_last_not_of(' ') + 1);
      if (token_label != kLabel) continue;
      CK_SESSION_HANDLE session;
      if (f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, nullptr, nullptr, &session) != CKR_OK)
        continue;
      const CK_RV login = f->C_Login(session, CKU_USER,
                                     reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(kPin)), 4);
      EXPECT_TRUE(login == CKR_OK || login == CKR_USER_ALREADY_LOGGED_IN);
      CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
      std::string wanted = label;
      CK_ATTRIBUTE search[] = {{CKA_CLASS, &cls, sizeof cls},
                               {CKA_LABEL, wanted.data(), wanted.size()}};
      CK_OBJECT_HANDLE object;
      CK_ULONG found = 0;
      f->C_FindObjectsInit(session, search, 2);
      f->C_FindObjects(session, &object, 1, &found);
      f->C_FindObjectsFinal(session);
      if (found == 1) {
        out.found = true;
        CK_ATTRIBUTE attributes[] = {
            {CKA_EXTRACTABLE, &out.extractable, sizeof out.extractable},
            {CKA_SENSITIVE, &out.sensitive, sizeof out.sensitive},
            {CKA_NEVER_EXTRACTABLE, &out.never_extractable, sizeof out.never_extractable},
            {CKA_LOCAL, &out.local, sizeof out.local},
        };
        EXPECT_EQ(f->C_GetAttributeValue(session, object, attributes, 4), CKR_OK);
        CK_BYTE exponent[1024];
        CK_ATTRIBUTE secret{CKA_PRIVATE_EXPONENT, exponent, sizeof exponent};
        out.private_exponent = f->C_GetAttributeValue(session, object, &secret, 1);
      }
      f->C_CloseSession(session);
    }
    // No C_Finalize: the module belongs to the key store still open.
  }
  dlclose(module);
  return out;
}

ossl::PKey public_half(const EVP_PKEY& key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(&key, &der);
  const unsigned char* p = der;
  ossl::PKey out(length > 0 ? d2i_PUBKEY(nullptr, &p, length) : nullptr);
  OPENSSL_free(der);
  return out;
}

TEST_F(Hsm, GeneratedKeysStayInTheTokenNotExtractableAndSensitive) {
  auto made = keys->generate_rsa(2048, "prueba-no-extraible");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_TRUE(made->reference.starts_with("pkcs11:object=prueba-no-extraible;id=%"))
      << made->reference;
  const TokenAttributes a = private_key_attributes("prueba-no-extraible");
  ASSERT_TRUE(a.found);
  EXPECT_EQ(a.extractable, CK_FALSE);
  EXPECT_EQ(a.sensitive, CK_TRUE);
  EXPECT_EQ(a.never_extractable, CK_TRUE);
  EXPECT_EQ(a.local, CK_TRUE);  // generated by the token, not imported
  EXPECT_EQ(a.private_exponent, CKR_ATTRIBUTE_SENSITIVE);
  // Nor does OpenSSL get the private numbers out of the handle.
  unsigned char* der = nullptr;
  const int length = i2d_PrivateKey(made->key.get(), &der);
  OPENSSL_free(der);
  ERR_clear_error();
  EXPECT_LE(length, 0);
}

TEST_F(Hsm, AKeyOpenedByItsReferenceSignsWhatItsPublicKeyVerifies) {
  auto made = keys->generate_rsa(2048, "prueba-jwt");
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto opened = keys->open(made->reference);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  const boost::json::object claims{{"sub", "prueba"}};
  auto token = sign_jwt(claims, **opened, "kid");
  ASSERT_TRUE(token.ok()) << token.error().message;
  ossl::PKey verifier = public_half(*made->key);
  ASSERT_TRUE(verifier);
  auto verified = verify_jwt(*token, *verifier);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->at("sub").as_string(), "prueba");
  // Another key of the token does not verify it.
  auto other = keys->generate_rsa(2048, "prueba-otra");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(verify_jwt(*token, *public_half(*other->key)).ok());
}

TEST_F(Hsm, AReferenceToNoKeyOfTheTokenIsRefused) {
  auto opened = keys->open("pkcs11:object=no-existe;id=%00%01");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, errc::kLlaveNoEncontrada);
  EXPECT_FALSE(keys->open("-----BEGIN ENCRYPTED PRIVATE KEY-----").ok());
}

TEST_F(Hsm, AHierarchyMadeInTheTokenSignsCertificatesCrlsAndOcsp) {
  HierarchyOptions options;
  options.key_bits = 2048;
  options.now = now_seconds();
  options.keys = keys.get();
  auto hierarchy = create_hierarchy(Environment::kPruebas, options);
  ASSERT_TRUE(hierarchy.ok()) << hierarchy.error().message;
  const Authority& root = (*hierarchy)[0];
  const Authority& pf = (*hierarchy)[1];
  EXPECT_EQ(root.key_reference.rfind("pkcs11:object=pruebas-root;", 0), 0u) << root.key_reference;
  EXPECT_TRUE(private_key_attributes("pruebas-root").found);
  ossl::PKey root_public(X509_get_pubkey(root.certificate.get()));
  EXPECT_EQ(X509_verify(root.certificate.get(), root_public.get()), 1);
  EXPECT_EQ(X509_verify(pf.certificate.get(), root_public.get()), 1);

  // A CRL signed by the issuing CA's token key.
  CrlRequest request{
      &pf, 1, options.now, options.now + 86400, {CrlEntry{"0A1B", options.now, std::nullopt}}};
  auto crl = build_crl(request);
  ASSERT_TRUE(crl.ok()) << crl.error().message;
  const unsigned char* p = crl->data();
  ossl::Owned<X509_CRL, X509_CRL_free> parsed(
      d2i_X509_CRL(nullptr, &p, static_cast<long>(crl->size())));
  ASSERT_TRUE(parsed);
  ossl::PKey pf_public(X509_get_pubkey(pf.certificate.get()));
  EXPECT_EQ(X509_CRL_verify(parsed.get(), pf_public.get()), 1);
  EXPECT_NE(X509_CRL_verify(parsed.get(), root_public.get()), 1);
  ERR_clear_error();

  // An OCSP responder whose key is in the token too.
  auto responder_key = keys->generate_rsa(2048, "ocsp-pruebas-pf");
  ASSERT_TRUE(responder_key.ok());
  auto serial = random_serial();
  auto responder =
      issue_responder_certificate(pf, std::move(responder_key->key), *serial, options.now, 86400);
  ASSERT_TRUE(responder.ok()) << responder.error().message;
  EXPECT_EQ(X509_verify(responder->certificate.get(), pf_public.get()), 1);
  EXPECT_EQ(X509_check_private_key(responder->certificate.get(), responder->key.get()), 1);
}

TEST_F(Hsm, TheCustodyKeyOfTheTokenOpensOnlyWhatItSealed) {
  auto inst = testing::make_installation();
  auto created = service::create_token_custody_key(*keys);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto custody_key = service::open_token_custody_key(*keys);
  ASSERT_TRUE(custody_key.ok()) << custody_key.error().message;
  const TokenAttributes a = private_key_attributes(service::kCustodyKeyLabel);
  ASSERT_TRUE(a.found);
  EXPECT_EQ(a.extractable, CK_FALSE);

  service::KeyCustody custody(*inst->store, *inst->keyring, std::move(*custody_key));
  inst->service->keep_in_custody_with(&custody);
  Bytes p12;
  auto made = inst->service->generate(
      service::GenerateRequest{"1-0647-0958", Environment::kPruebas, std::nullopt, true, false},
      *Pin::parse("8642"), testing::keep_p12(p12), "test");
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto taxpayer = inst->service->find_taxpayer("1-0647-0958");
  auto kept = custody.find(taxpayer->id, Environment::kPruebas);
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->wrapped_key.at(0), 2);  // sealed to the token's key

  auto signed_xml = custody.sign(**kept, "<Prueba><A>1</A></Prueba>");
  ASSERT_TRUE(signed_xml.ok()) << signed_xml.error().message;
  EXPECT_NE(signed_xml->find("SignatureValue"), std::string::npos);

  // A file KEK does not open it, nor does it open under another serial.
  testing::TempDir other;
  service::KeyCustody by_file(*inst->store, *inst->keyring,
                              *service::load_or_create_custody_key(other.path(), ""));
  EXPECT_FALSE(by_file.sign(**kept, "<a/>").ok());
  CustodyRecord moved = **kept;
  moved.serial_hex = "01";
  EXPECT_FALSE(custody.sign(moved, "<a/>").ok());
}

TEST(Pkcs11Uri, ReadsTheTokenTheModuleAndThePinSourceAndRefusesAPinInIt) {
  auto uri = Pkcs11Uri::parse(
      "pkcs11:token=mi%20token;object=raiz;id=%01%ff?module-path=/m.so&pin-source=file:/p");
  ASSERT_TRUE(uri.ok()) << uri.error().message;
  EXPECT_EQ(uri->token, "mi token");
  EXPECT_EQ(uri->object, "raiz");
  EXPECT_EQ(uri->id, (Bytes{0x01, 0xff}));
  EXPECT_EQ(uri->module_path, "/m.so");
  EXPECT_EQ(uri->pin_source, "/p");
  for (const char* bad : {"token=llavero", "pkcs11:token=llavero;pin-value=1234",
                          "pkcs11:token=llavero?pin-value=1234", "pkcs11:token=%zz"}) {
    auto refused = Pkcs11Uri::parse(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, errc::kConfigInvalida) << bad;
  }
}

TEST(Pkcs11Open, WithoutAPinAWrongPinOrAnUnknownTokenItRefusesToOpen) {
  if (!SoftHsm::get().unavailable().empty()) GTEST_SKIP() << SoftHsm::get().unavailable();
  unsetenv(kPkcs11PinEnv);
  auto no_pin = open_pkcs11_key_store(SoftHsm::get().uri());
  ASSERT_FALSE(no_pin.ok());
  EXPECT_EQ(no_pin.error().code, errc::kPinNoDisponible);

  // From a file named by pin-source (its first line).
  const fs::path pin_file = SoftHsm::get().dir() / "pin";
  std::ofstream(pin_file) << kPin << "\n";
  auto from_file = open_pkcs11_key_store(SoftHsm::get().uri("&pin-source=" + pin_file.string()));
  EXPECT_TRUE(from_file.ok()) << from_file.error().message;
  if (from_file) from_file->reset();  // one open token at a time: close it

  {
    PinInEnvironment wrong("0000");
    auto refused = open_pkcs11_key_store(SoftHsm::get().uri());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, errc::kTokenPkcs11);
    EXPECT_EQ(refused.error().message.find("0000"), std::string::npos);
  }
  PinInEnvironment right(kPin);
  auto unknown =
      open_pkcs11_key_store(fmt::format("pkcs11:token=otro?module-path={}", kDefaultPkcs11Module));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, errc::kTokenPkcs11);
  auto no_module = open_pkcs11_key_store("pkcs11:token=llavero?module-path=/no/existe.so");
  ASSERT_FALSE(no_module.ok());
  EXPECT_EQ(no_module.error().code, errc::kTokenPkcs11);
}

}  // namespace
}  // namespace llavero
