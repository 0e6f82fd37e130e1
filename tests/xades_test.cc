// XAdES-EPES signatures of comprobantes (docs/api.md): what `firmar` produces, that
// it touches nothing outside the Signature, that an independent
// implementation (the xmlsec1 command) accepts it, and that `verificar` names
// the check that fails for each way a signed document can go wrong.
#include "xades/xades.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/publication_routes.h"
#include "http/server.h"
#include "pki/issue.h"
#include "service/publication.h"
#include "service/revocation_check.h"
#include "testing.h"
#include "util/clock.h"
#include "xades/policy.h"
#include "xml/document.h"

namespace fs = std::filesystem;

namespace llavero {

using namespace llavero::service;
namespace {

using testing::Installation;
using testing::keep_p12;
using testing::make_installation;
using testing::TempDir;

// A small FacturaElectronica-like document with what trips naive
// serializers: accents, an escaped ampersand, a character reference,
// attributes, an empty element and a comment after the root.
constexpr std::string_view kFactura =
    R"(<?xml version="1.0" encoding="UTF-8"?>
<FacturaElectronica xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Clave>50626112600010647095800100001010000000001148213765</Clave>
  <NumeroConsecutivo>00100001010000000001</NumeroConsecutivo>
  <FechaEmision>2026-11-26T10:00:00-06:00</FechaEmision>
  <Emisor>
    <Nombre>CONTRIBUYENTE PEÑA DE PRUEBA</Nombre>
    <Identificacion><Tipo>01</Tipo><Numero>106470958</Numero></Identificacion>
  </Emisor>
  <DetalleServicio>
    <LineaDetalle>
      <NumeroLinea>1</NumeroLinea>
      <Detalle>Consultoría &amp; soporte &#8212; "horas"</Detalle>
      <MontoTotal>250000.00000</MontoTotal>
      <Vacio/>
    </LineaDetalle>
  </DetalleServicio>
  <ResumenFactura><TotalComprobante>282500.00000</TotalComprobante></ResumenFactura>
</FacturaElectronica>
<!-- generado por las pruebas -->
)";

const Pin& pin() {
  static const Pin p = *Pin::parse("1234");
  return p;
}

// A taxpayer's key as the .p12 hands it out.
struct Signer {
  ossl::PKey key;
  ossl::X509Ptr cert;
  std::vector<ossl::X509Ptr> chain;
  std::vector<const X509*> chain_view() const {
    std::vector<const X509*> out;
    for (const auto& c : chain) out.push_back(c.get());
    return out;
  }
};

Signer open_p12(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::Pkcs12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* cas = nullptr;
  EXPECT_EQ(PKCS12_parse(p12.get(), "1234", &key, &cert, &cas), 1);
  Signer s{ossl::PKey(key), ossl::X509Ptr(cert), {}};
  ossl::X509Stack owned(cas);
  while (owned && sk_X509_num(owned.get()) > 0) s.chain.emplace_back(sk_X509_shift(owned.get()));
  return s;
}

Signer new_key(Installation& inst, const std::string& id = "1-0647-0958",
               Environment env = Environment::kPruebas) {
  Bytes p12;
  auto made = inst.service->generate(GenerateRequest{id, env, std::nullopt, false}, pin(),
                                     keep_p12(p12), "test");
  EXPECT_TRUE(made.ok()) << (made ? "" : made.error().message);
  return open_p12(p12);
}

// The installation's CAs as a verifier's trust store.
struct Trust {
  std::vector<ossl::X509Ptr> certs;
  std::unique_ptr<RevocationChecker> checker;
  xades::VerifyOptions options;
};

std::unique_ptr<Trust> trust_of(Installation& inst, bool with_revocation = true) {
  auto t = std::make_unique<Trust>();
  auto authorities = inst.store->authorities();
  EXPECT_TRUE(authorities.ok());
  for (const AuthorityRecord& a : *authorities) {
    t->certs.push_back(std::move(*ossl::x509_from_der(a.certificate_der)));
    (a.kind == CaKind::kRoot ? t->options.trusted_roots : t->options.intermediates)
        .push_back(t->certs.back().get());
  }
  if (with_revocation) {
    t->checker = std::make_unique<RevocationChecker>(inst.store.get());
    t->options.revocation = t->checker->callback();
  }
  return t;
}

std::string sign_or_die(std::string_view xml, const Signer& s, xades::SignOptions options = {}) {
  auto out = xades::sign(xml, *s.key, *s.cert, s.chain_view(), options);
  EXPECT_TRUE(out.ok()) << (out ? "" : out.error().code + ": " + out.error().message);
  return out ? *out : "";
}

xades::Verification verify_or_die(std::string_view xml, const xades::VerifyOptions& options) {
  auto v = xades::verify(xml, options);
  EXPECT_TRUE(v.ok()) << (v ? "" : v.error().message);
  return v ? std::move(*v) : xades::Verification{};
}

std::string describe(const xades::Verification& v) {
  std::string out;
  for (const auto& c : v.checks)
    out += (c.ok ? "  ok  " : "  NO  ") + c.name + ": " + c.reason + "\n";
  return out;
}

// The names of the checks that failed.
std::vector<std::string> failed(const xades::Verification& v) {
  std::vector<std::string> out;
  for (const auto* c : v.failures()) out.push_back(c->name);
  return out;
}

// The document with the Signature element cut out.
std::string without_signature(const std::string& xml) {
  const auto start = xml.find("<ds:Signature");
  const auto end = xml.find("</ds:Signature>");
  if (start == std::string::npos || end == std::string::npos) return "<sin firma>";
  return xml.substr(0, start) + xml.substr(end + std::string_view("</ds:Signature>").size());
}

std::string replace_once(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

void write_pem(const fs::path& path, const X509& cert) {
  write_text(path, *ossl::x509_to_pem(cert));
}

// Runs a shell command; its exit status (or -1).
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have(const char* tool) {
  return shell(std::string("command -v ") + tool + " >/dev/null 2>&1") == 0;
}

const fs::path& repository() {
  static const fs::path root = fs::path(__FILE__).parent_path().parent_path();
  return root;
}

// --- signing and verifying -------------------------------------------------------------

TEST(Xades, SignedDocumentPassesEveryCheck) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string signed_xml = sign_or_die(kFactura, signer);
  auto v = verify_or_die(signed_xml, trust->options);
  EXPECT_TRUE(v.valid) << describe(v);
  const std::vector<std::string_view> expected = {xades::kCheckXml,
                                                  xades::kCheckSignature,
                                                  xades::kCheckDocumentReference,
                                                  xades::kCheckPropertiesReference,
                                                  xades::kCheckSignatureValue,
                                                  xades::kCheckAlgorithms,
                                                  xades::kCheckPolicy,
                                                  xades::kCheckSigningCertificate,
                                                  xades::kCheckChain,
                                                  xades::kCheckValidity,
                                                  xades::kCheckRevocation};
  ASSERT_EQ(v.checks.size(), expected.size()) << describe(v);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(v.checks[i].name, expected[i]);
    EXPECT_TRUE(v.checks[i].ok) << describe(v);
    EXPECT_TRUE(v.checks[i].performed) << describe(v);
    EXPECT_FALSE(v.checks[i].warning) << describe(v);
  }
  ASSERT_TRUE(v.signer);
  EXPECT_EQ(X509_cmp(v.signer.get(), signer.cert.get()), 0);
  EXPECT_EQ(v.role, "emisor");
  ASSERT_TRUE(v.signing_time);
  EXPECT_LE(std::abs(*v.signing_time - now_seconds()), 5);
  EXPECT_TRUE(v.signing_time_text.ends_with("-06:00")) << v.signing_time_text;
}

TEST(Xades, SignatureHasTheShapeHaciendaRequires) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  xades::SignOptions options;
  options.signing_time = *xades::parse_date_time("2026-11-26T10:00:00-06:00");
  options.role = xades::SignerRole::kReceptor;
  const std::string out = sign_or_die(kFactura, signer, options);
  for (
      std::string_view needle :
      {R"(<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id=")",
       R"(<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>)",
       R"(<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>)",
       R"(URI="">)",
       R"(<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>)",
       R"(Type="http://uri.etsi.org/01903#SignedProperties")",
       R"(<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>)",
       R"(<xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#xmldsig-)",
       "<xades:SigningTime>2026-11-26T10:00:00-06:00</xades:SigningTime>",
       "<ds:X509IssuerName>CN=CA PERSONA FISICA - SANDBOX,OU=DGT,O=MINISTERIO DE HACIENDA - "
       "SANDBOX,C=CR</ds:X509IssuerName>",
       "<xades:Identifier>https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
       "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
       "para_efectos_tributarios.pdf</xades:Identifier>",
       "<ds:DigestValue>DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8=</ds:DigestValue>",
       "<xades:ClaimedRole>receptor</xades:ClaimedRole>"})
    EXPECT_NE(out.find(needle), std::string::npos) << needle;
  // The last child of the root, and the certificate first in KeyInfo.
  EXPECT_NE(out.find("</ds:Signature></FacturaElectronica>"), std::string::npos);
  const std::string der_b64 = [&] {
    std::string pem = *ossl::x509_to_pem(*signer.cert);
    std::string body;
    std::istringstream lines(pem);
    for (std::string line; std::getline(lines, line);)
      if (!line.starts_with("-----")) body += line;
    return body;
  }();
  EXPECT_NE(out.find("<ds:X509Data>\n<ds:X509Certificate>" + der_b64), std::string::npos);
  // The serial in decimal.
  ossl::Bignum serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(signer.cert.get()), nullptr));
  ossl::OpensslString decimal(BN_bn2dec(serial.get()));
  EXPECT_NE(
      out.find(std::string("<ds:X509SerialNumber>") + decimal.get() + "</ds:X509SerialNumber>"),
      std::string::npos);
}

TEST(Xades, TheSignerChangesNoByteOutsideTheSignature) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string documents[] = {
      std::string(kFactura),
      // No XML declaration, CRLF line endings, a prefixed root, CDATA.
      "<fe:Factura xmlns:fe=\"urn:ejemplo\"\r\n  a='1'  b=\"2\">\r\n<fe:L><![CDATA[x < y]]></fe:L>"
      "\r\n</fe:Factura  >",
      // ISO-8859-1, with a non-ASCII byte; a processing instruction after the root.
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<Mensaje>Se\xf1or</Mensaje>\n<?fin x?>\n",
      // A default namespace for ds elements would not matter either.
      "<Raiz xmlns=\"http://www.w3.org/2000/09/xmldsig#other\"><Dato>1</Dato></Raiz>",
  };
  for (const std::string& doc : documents) {
    const std::string out = sign_or_die(doc, signer);
    EXPECT_EQ(without_signature(out), doc);
    auto v = verify_or_die(out, trust->options);
    EXPECT_TRUE(v.valid) << doc << "\n" << describe(v);
  }
}

TEST(Xades, TamperingWithTheDocumentFailsTheDocumentReference) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string out = sign_or_die(kFactura, signer);
  auto v = verify_or_die(replace_once(out, "250000.00000", "250001.00000"), trust->options);
  EXPECT_FALSE(v.valid);
  const auto* check = v.find(xades::kCheckDocumentReference);
  ASSERT_NE(check, nullptr);
  EXPECT_FALSE(check->ok);
  // Which reference, with which algorithm, and that the rest is intact.
  EXPECT_TRUE(
      check->reason.starts_with("El XML fue modificado luego de haber sido firmado: el "
                                "resumen de la referencia al documento (URI \"\", Id "))
      << check->reason;
  EXPECT_NE(check->reason.find("SHA-256) no coincide; lo demás que cubre la firma no cambió: "
                               "SignedProperties."),
            std::string::npos)
      << check->reason;
  EXPECT_TRUE(v.find(xades::kCheckPropertiesReference)->ok) << describe(v);
  EXPECT_EQ(failed(v), std::vector<std::string>{"referencia_documento"}) << describe(v);
  EXPECT_FALSE(v.find(xades::kCheckSignatureValue)->ok);
  EXPECT_FALSE(v.find(xades::kCheckSignatureValue)->performed);

  // Whitespace outside the signature is content too.
  auto spaced = verify_or_die(replace_once(out, "<Emisor>", "<Emisor> "), trust->options);
  EXPECT_FALSE(spaced.find(xades::kCheckDocumentReference)->ok);
}

TEST(Xades, TamperingWithSignedPropertiesFailsThePropertiesReference) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  xades::SignOptions options;
  options.signing_time = now_seconds() - 3600;
  const std::string out = sign_or_die(kFactura, signer, options);
  const std::string time = xades::costa_rica_time(*options.signing_time);
  auto v = verify_or_die(
      replace_once(out, time, xades::costa_rica_time(*options.signing_time - 60)), trust->options);
  EXPECT_FALSE(v.valid);
  EXPECT_TRUE(v.find(xades::kCheckDocumentReference)->ok) << describe(v);
  const auto* check = v.find(xades::kCheckPropertiesReference);
  EXPECT_FALSE(check->ok);
  // The document did not change: its reason is not claimed.
  EXPECT_TRUE(
      check->reason.starts_with("Las propiedades firmadas (SignedProperties) cambiaron "
                                "luego de la firma: el resumen de su referencia (URI \"#"))
      << check->reason;
  EXPECT_NE(check->reason.find("; lo demás que cubre la firma no cambió: el documento."),
            std::string::npos)
      << check->reason;
  for (const auto& c : v.checks)
    EXPECT_EQ(c.reason.find(xades::kModifiedAfterSigning), std::string::npos) << c.reason;

  // A changed role is the same.
  auto role = verify_or_die(replace_once(out, ">emisor<", ">receptor<"), trust->options);
  EXPECT_FALSE(role.find(xades::kCheckPropertiesReference)->ok);
}

TEST(Xades, TamperingWithTheSignatureValueFailsIt) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string out = sign_or_die(kFactura, signer);
  const auto at = out.find("<ds:SignatureValue");
  const auto value = out.find('>', at) + 1;
  std::string bad = out;
  bad[value + 10] = bad[value + 10] == 'A' ? 'B' : 'A';
  auto v = verify_or_die(bad, trust->options);
  EXPECT_EQ(failed(v), std::vector<std::string>{"valor_firma"}) << describe(v);
  EXPECT_EQ(v.find(xades::kCheckSignatureValue)->reason,
            "La firma no es válida (RSA-SHA256, SignedInfo).");
}

TEST(Xades, OnlyTheAdmittedAlgorithmsRun) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string out = sign_or_die(kFactura, signer);
  // HMAC is no signature of a certificate's key.
  auto hmac = verify_or_die(replace_once(out, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                         "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
                            trust->options);
  EXPECT_FALSE(hmac.valid);
  EXPECT_NE(hmac.find(xades::kCheckSignatureValue)->reason.find("no admitidos"), std::string::npos)
      << describe(hmac);
  // An XPath transform is evaluated only when it is the signature exclusion.
  for (const std::string& expression :
       {std::string(), std::string("<ds:XPath>true()</ds:XPath>"),
        std::string("<ds:XPath>not(ancestor-or-self::ds:Signature) or true()</ds:XPath>"),
        std::string(
            "<ds:XPath xmlns:ds=\"urn:otro\">not(ancestor-or-self::ds:Signature)</ds:XPath>")}) {
    auto xpath = verify_or_die(
        replace_once(
            out,
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">" +
                expression + "</ds:Transform>"),
        trust->options);
    EXPECT_FALSE(xpath.valid) << expression;
    EXPECT_EQ(failed(xpath), std::vector<std::string>{"firma_unica"}) << describe(xpath);
    EXPECT_NE(xpath.find(xades::kCheckSignature)->reason.find("XPath no permitida"),
              std::string::npos)
        << describe(xpath);
  }
  // The allowed one runs, and covers the same nodes as enveloped-signature.
  auto exclusion = verify_or_die(
      replace_once(
          out,
          "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
          "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>"
          "not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>"),
      trust->options);
  EXPECT_TRUE(exclusion.find(xades::kCheckDocumentReference)->ok) << describe(exclusion);
  EXPECT_EQ(failed(exclusion), std::vector<std::string>{"valor_firma"}) << describe(exclusion);
}

// The policy is reported, not enforced, unless strict.
TEST(Xades, PolicyProblemsAreAdvertencias) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string right = sign_or_die(kFactura, signer);
  auto ok = verify_or_die(right, trust->options);
  EXPECT_TRUE(ok.valid) << describe(ok);
  EXPECT_FALSE(ok.find(xades::kCheckPolicy)->warning);
  EXPECT_TRUE(ok.warnings().empty());

  xades::SignOptions wrong_hash;
  wrong_hash.policy.sha256_base64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  xades::SignOptions wrong_url;
  wrong_url.policy.identifier = "https://example.com/otra-politica.pdf";
  for (const auto& options : {wrong_hash, wrong_url}) {
    const std::string signed_text = sign_or_die(kFactura, signer, options);
    auto v = verify_or_die(signed_text, trust->options);
    EXPECT_TRUE(v.valid) << describe(v);
    ASSERT_EQ(v.warnings().size(), 1u) << describe(v);
    EXPECT_EQ(v.warnings().front()->name, "politica");
    auto strict_options = trust->options;
    strict_options.strict = true;
    auto strict = verify_or_die(signed_text, strict_options);
    EXPECT_FALSE(strict.valid);
    EXPECT_EQ(failed(strict), std::vector<std::string>{"politica"}) << describe(strict);
    EXPECT_TRUE(strict.warnings().empty());
  }
  EXPECT_NE(verify_or_die(sign_or_die(kFactura, signer, wrong_hash), trust->options)
                .find(xades::kCheckPolicy)
                ->reason.find("no es el del documento publicado"),
            std::string::npos);

  // Editing the hash after signing breaks the properties' digest: that is a failure.
  auto edited = verify_or_die(replace_once(right, "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8=",
                                           "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h9="),
                              trust->options);
  EXPECT_EQ(failed(edited), std::vector<std::string>{"referencia_propiedades"});
}

// What sign() writes must parse: a character outside ASCII becomes a
// character reference that verifies, one XML does not allow is refused
// rather than written (the signer no longer re-reads its output).
TEST(Xades, TheSignatureHoldsOnlyXmlCharacters) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  xades::SignOptions accented;
  accented.policy.identifier = "https://example.com/pol\xc3\xadtica.pdf";  // í
  const std::string out = sign_or_die(kFactura, signer, accented);
  EXPECT_NE(out.find("pol&#237;tica.pdf"), std::string::npos) << out;
  auto v = verify_or_die(out, trust->options);
  EXPECT_TRUE(v.valid) << describe(v);
  EXPECT_EQ(v.warnings().size(), 1u) << describe(v);  // not Hacienda's policy

  for (std::string bad : {"https://example.com/\x01", "https://example.com/\xef\xbf\xbe"}) {
    xades::SignOptions options;
    options.policy.identifier = bad;
    auto refused = xades::sign(kFactura, *signer.key, *signer.cert, {}, options);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, "error_interno");
    EXPECT_NE(refused.error().message.find("caracteres que XML no admite"), std::string::npos)
        << refused.error().message;
  }
}

TEST(Xades, ACertificateOfAForeignCaFailsTheChain) {
  auto inst = make_installation();
  auto trust = trust_of(*inst);
  HierarchyOptions options;
  options.key_bits = 2048;
  options.now = now_seconds() - 60;
  options.base_url = "http://127.0.0.1:1";
  auto foreign = create_hierarchy(Environment::kPruebas, options);  // same names, other keys
  ASSERT_TRUE(foreign.ok());
  auto key = ossl::generate_rsa(2048);
  IssueRequest request{&(*foreign)[1],
                       key->get(),
                       {*Identification::parse("1-0647-0958"), "X", "Y"},
                       *random_serial(),
                       now_seconds() - 60,
                       "http://127.0.0.1:1",
                       false};
  auto cert = issue_taxpayer_certificate(request);
  ASSERT_TRUE(cert.ok());
  const X509* chain[] = {(*foreign)[1].certificate.get(), (*foreign)[0].certificate.get()};
  auto out = xades::sign(kFactura, **key, **cert, chain, {});
  ASSERT_TRUE(out.ok()) << out.error().message;
  auto v = verify_or_die(*out, trust->options);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(failed(v), std::vector<std::string>{"cadena"}) << describe(v);
  EXPECT_NE(v.find(xades::kCheckChain)->reason.find("autoridad de confianza"), std::string::npos)
      << v.find(xades::kCheckChain)->reason;
  EXPECT_FALSE(v.find(xades::kCheckRevocation)->performed);
}

TEST(Xades, ProduccionKeysDoNotChainToPruebasRootsAlone) {
  auto inst = make_installation();
  Signer signer = new_key(*inst, "1-0647-0958", Environment::kProduccion);
  auto trust = trust_of(*inst);
  std::erase_if(trust->options.trusted_roots, [](const X509* c) {
    return ossl::subject_line(*c).find("SANDBOX") == std::string::npos;
  });
  auto v = verify_or_die(sign_or_die(kFactura, signer), trust->options);
  EXPECT_FALSE(v.find(xades::kCheckChain)->ok) << describe(v);
}

TEST(Xades, ARevokedSignerFailsTheRevocationCheck) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string out = sign_or_die(kFactura, signer);
  ASSERT_TRUE(verify_or_die(out, trust->options).valid);
  ASSERT_TRUE(
      inst->service
          ->revoke("1-0647-0958", Environment::kPruebas, RevocationReason::kKeyCompromise, "test")
          .ok());
  auto v = verify_or_die(out, trust->options);
  EXPECT_EQ(failed(v), std::vector<std::string>{"revocacion"}) << describe(v);
  const std::string& reason = v.find(xades::kCheckRevocation)->reason;
  EXPECT_NE(reason.find("fue revocado"), std::string::npos) << reason;
  EXPECT_NE(reason.find("llave comprometida"), std::string::npos) << reason;
}

TEST(Xades, WithoutARevocationSourceTheCheckIsReportedAsNotPerformed) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst, /*with_revocation=*/false);
  const std::string out = sign_or_die(kFactura, signer);
  auto v = verify_or_die(out, trust->options);
  EXPECT_TRUE(v.valid) << describe(v);
  EXPECT_FALSE(v.find(xades::kCheckRevocation)->performed);
  trust->options.require_revocation_answer = true;
  auto required = verify_or_die(out, trust->options);
  EXPECT_FALSE(required.valid);
  EXPECT_EQ(failed(required), std::vector<std::string>{"revocacion"});
}

TEST(Xades, ValidityIsJudgedAtSigningTime) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  xades::SignOptions before;
  before.signing_time = now_seconds() - 10 * 86400;  // before the certificate existed
  auto v = verify_or_die(sign_or_die(kFactura, signer, before), trust->options);
  EXPECT_EQ(failed(v), std::vector<std::string>{"vigencia"}) << describe(v);
  EXPECT_NE(v.find(xades::kCheckValidity)->reason.find("aún no era válido"), std::string::npos);

  xades::SignOptions future;
  future.signing_time = now_seconds() + 86400;
  auto f = verify_or_die(sign_or_die(kFactura, signer, future), trust->options);
  EXPECT_EQ(failed(f), std::vector<std::string>{"vigencia"}) << describe(f);

  // A certificate that expired before the signature (issued in the past).
  auto ca = inst->keyring->unlocked(Environment::kPruebas, CaKind::kPersonaFisica);
  ASSERT_TRUE(ca.ok());
  auto key = ossl::generate_rsa(2048);
  IssueRequest request{ca->authority,
                       key->get(),
                       {*Identification::parse("1-0647-0958"), "X", "Y"},
                       *random_serial(),
                       now_seconds() - 5 * 366 * 86400,
                       "http://127.0.0.1:1",
                       false};
  auto old = issue_taxpayer_certificate(request);
  ASSERT_TRUE(old.ok());
  auto expired = xades::sign(kFactura, **key, **old, signer.chain_view(), {});
  ASSERT_TRUE(expired.ok());
  trust->options.revocation = nullptr;  // never stored: the store would not know it
  auto e = verify_or_die(*expired, trust->options);
  EXPECT_EQ(failed(e), std::vector<std::string>{"vigencia"}) << describe(e);
  EXPECT_NE(e.find(xades::kCheckValidity)->reason.find("vencido"), std::string::npos);
}

TEST(Xades, ExactlyOneSignatureInTheRoot) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  const std::string out = sign_or_die(kFactura, signer);
  auto again = xades::sign(out, *signer.key, *signer.cert, signer.chain_view(), {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "xml_no_firmable");

  auto unsigned_doc = verify_or_die(kFactura, trust->options);
  EXPECT_EQ(failed(unsigned_doc), std::vector<std::string>{"firma_unica"});

  const auto start = out.find("<ds:Signature");
  const auto end = out.find("</ds:Signature>") + std::string_view("</ds:Signature>").size();
  std::string twice = out;
  twice.insert(end, out.substr(start, end - start));
  EXPECT_EQ(failed(verify_or_die(twice, trust->options)), std::vector<std::string>{"firma_unica"});

  // A reference that points outside the signature is refused before xmlsec
  // resolves it (no signature wrapping).
  std::string wrapped = replace_once(out, "<Emisor>", "<Emisor Id=\"otro\">");
  const auto uri = wrapped.find("URI=\"#");
  wrapped.replace(uri, wrapped.find('"', uri + 5) - uri + 1, "URI=\"#otro\"");
  auto w = verify_or_die(wrapped, trust->options);
  EXPECT_EQ(failed(w), std::vector<std::string>{"firma_unica"}) << describe(w);

  // Each reference costs a canonicalization of the document: a bounded number.
  const auto ref_start = out.find("<ds:Reference ");
  const auto ref_end = out.find("</ds:Reference>") + std::string_view("</ds:Reference>").size();
  std::string many = out;
  for (int i = 0; i < 8; ++i) many.insert(ref_end, out.substr(ref_start, ref_end - ref_start));
  auto m = verify_or_die(many, trust->options);
  EXPECT_EQ(failed(m), std::vector<std::string>{"firma_unica"}) << describe(m);
}

TEST(Xades, SigningNeedsTheMatchingKey) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto other = ossl::generate_rsa(2048);
  auto out = xades::sign(kFactura, **other, *signer.cert, {}, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "La llave privada no corresponde al certificado.");
  auto empty_root = xades::sign("<Factura/>", *signer.key, *signer.cert, {}, {});
  EXPECT_FALSE(empty_root.ok());
}

TEST(Xades, DangerousXmlIsRefusedSafely) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  TempDir dir;
  write_text(dir.path() / "secreto.txt", "SECRETO");
  const std::string external =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE Factura [<!ENTITY e SYSTEM \"file://" +
      (dir.path() / "secreto.txt").string() + "\">]>\n<Factura>&e;</Factura>";
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i)
    laughs += "<!ENTITY lol" + std::to_string(i) + " \"" + [&] {
      std::string s;
      for (int j = 0; j < 10; ++j)
        s += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
      return s;
    }() + "\">";
  laughs += "]>\n<lolz>&lol9;</lolz>";
  const std::string unclosed(100000, '<');
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "<a>";
  for (int i = 0; i < 5000; ++i) nested += "</a>";

  for (const std::string& xml : {external, laughs}) {
    auto v = verify_or_die(xml, trust->options);
    EXPECT_FALSE(v.valid);
    EXPECT_EQ(failed(v), std::vector<std::string>{"xml"});
    EXPECT_NE(v.checks[0].reason.find("DOCTYPE"), std::string::npos) << v.checks[0].reason;
    auto s = xades::sign(xml, *signer.key, *signer.cert, {}, {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "xml_dtd");
    EXPECT_EQ(s.error().message.find("SECRETO"), std::string::npos);
  }
  for (const std::string& xml :
       {unclosed, nested, std::string("<a>&undefined;</a>"), std::string()}) {
    auto v = verify_or_die(xml, trust->options);
    EXPECT_EQ(failed(v), std::vector<std::string>{"xml"}) << v.checks[0].reason;
  }
  xades::VerifyOptions small = trust->options;
  small.max_bytes = 100;
  EXPECT_EQ(failed(verify_or_die(kFactura, small)), std::vector<std::string>{"xml"});
}

TEST(Xades, SignsAndVerifiesFromManyThreads) {
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst, false);
  std::atomic<int> bad = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto out = xades::sign(kFactura, *signer.key, *signer.cert, signer.chain_view(), {});
        auto v =
            out ? xades::verify(*out, trust->options) : Result<xades::Verification>(out.error());
        if (!v || !v->valid) ++bad;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, 0);
}

TEST(Xades, TimesAreWrittenInCostaRicaTime) {
  EXPECT_EQ(xades::costa_rica_time(1795708800), "2026-11-26T10:00:00-06:00");
  EXPECT_EQ(xades::parse_date_time("2026-11-26T10:00:00-06:00"), 1795708800);
  EXPECT_EQ(xades::parse_date_time("2026-11-26T16:00:00Z"), 1795708800);
  EXPECT_EQ(xades::parse_date_time("2026-11-26T16:00:00.250Z"), 1795708800);
  EXPECT_FALSE(xades::parse_date_time("2026-11-26T10:00:00"));
  EXPECT_FALSE(xades::parse_date_time("26/11/2026"));
  // Old documents were signed at -07:00, Java and DSS write milliseconds.
  EXPECT_EQ(xades::parse_date_time("2026-11-26T09:00:00-07:00"), 1795708800);
  EXPECT_EQ(xades::parse_date_time("2026-11-26T10:00:00.123-06:00"), 1795708800);
}

// Each case of the policy table (docs/firmas.md): only a known identifier
// with its known digest is ok; the reason says what is odd.
TEST(XadesPolicy, EveryPolicyCaseHasItsVerdict) {
  const std::string v44(xades::kHaciendaPolicyIdentifier);
  const std::string sha256 = "http://www.w3.org/2001/04/xmlenc#sha256";
  const std::string sha1 = "http://www.w3.org/2000/09/xmldsig#sha1";
  const std::string right(xades::kHaciendaPolicySha256);
  struct Case {
    std::string identifier, algorithm, value;
    bool warning;
    std::string says;
  };
  const std::vector<Case> cases = {
      {v44, sha256, right, false, "versión 4.4, con su hash SHA-256"},
      // Anexo 2 spells it /xmlschemas/; and accents may come unescaped.
      {"https://cdn.comprobanteselectronicos.go.cr/xmlschemas/"
       "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
       "para_efectos_tributarios.pdf",
       sha256, right, false, "versión 4.4"},
      {"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
       "Resolución_General_sobre_disposiciones_técnicas_comprobantes_electrónicos_para_efectos_"
       "tributarios.pdf",
       sha256, right, false, "versión 4.4"},
      // The base64 of the hexadecimal text of the digest.
      {v44, sha256,
       "MGQ2YzYyOWY1YzU2MzllMjNjM2FlNTkwNWRhY2UxZTE1OGNiNTgwNjgyMmMwMDNkZTc4N2E2ZWMzMzIxZDIxZg==",
       true, "texto hexadecimal"},
      // 20 bytes labelled SHA-256.
      {v44, sha256, "V8lVVNGDCPen6VELRD1Ja8HARFk=", true, "20 bytes declarado como SHA-256"},
      // A SHA-1 of the v4.2 PDF (or of anything): not the known digest.
      {"https://tribunet.hacienda.go.cr/docs/esquemas/2016/v4.2/"
       "ResolucionComprobantesElectronicosDGT-R-48-2016_4.2.pdf",
       sha1, "Ohixl6upD6av8N7pEvDABhEL6hM=", true, "versión 4.2"},
      {v44, sha1, "Ohixl6upD6av8N7pEvDABhEL6hM=", true, "no es el del documento publicado"},
      {"https://example.com/politica.pdf", sha256, right, true,
       "no es una de las que Hacienda publicó"},
  };
  for (const Case& c : cases) {
    const auto verdict = xades::judge_policy(true, c.identifier, c.algorithm, c.value);
    EXPECT_EQ(verdict.warning, c.warning) << c.identifier << " " << c.value;
    EXPECT_NE(verdict.reason.find(c.says), std::string::npos) << verdict.reason;
  }
  const auto none = xades::judge_policy(false, "", "", "");
  EXPECT_TRUE(none.warning);
  EXPECT_NE(none.reason.find("XAdES-BES"), std::string::npos);
  // Every entry of the table names a version and an https identifier.
  for (const auto& p : xades::known_policies()) {
    EXPECT_FALSE(p.version.empty());
    EXPECT_TRUE(p.identifier.starts_with("https://")) << p.identifier;
  }
}

// --- the one XML parser and the builder (xml/document.h) ---------------------------------

std::string nested(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += "<a>";
  for (int i = 0; i < depth; ++i) out += "</a>";
  return out;
}

TEST(XmlDocument, TheParserRefusesDoctypesAndKeepsItsLimits) {
  auto doctype =
      xml::parse("<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", 1000);
  ASSERT_FALSE(doctype.ok());
  EXPECT_EQ(doctype.error().code, "xml_dtd");
  EXPECT_EQ(doctype.error().message,
            "El XML tiene una declaración DOCTYPE; no se admiten DTD ni entidades.");
  auto large = xml::parse("<a>12345</a>", 11);
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.error().code, "xml_grande");
  EXPECT_EQ(large.error().message, "El XML tiene 12 bytes; el máximo es 11.");
  EXPECT_EQ(xml::parse("", 100).error().message, "El XML está vacío.");
  auto broken = xml::parse("<a><b></a>", 100);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, "xml_invalido");
  EXPECT_EQ(broken.error().message.rfind("El XML no está bien formado (línea 1): ", 0), 0u)
      << broken.error().message;
  EXPECT_EQ(xml::parse("<a>&undefined;</a>", 100).error().code, "xml_invalido");
  // libxml2's depth limit, without XML_PARSE_HUGE: the root and kMaxDepth
  // levels under it.
  EXPECT_TRUE(xml::parse(nested(xml::kMaxDepth + 1), 1 << 20).ok());
  EXPECT_EQ(xml::parse(nested(xml::kMaxDepth + 2), 1 << 20).error().code, "xml_invalido");
}

TEST(XmlDocument, ElementsAreFoundByNamespaceOrByPath) {
  auto doc = xml::parse(
      "<r xmlns=\"urn:a\" xmlns:b=\"urn:b\"><x>1</x><b:x>2</b:x><y><z> 3 </z></y><x>4</x></r>",
      1000);
  ASSERT_TRUE(doc.ok());
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  EXPECT_EQ(xml::children(root, "urn:a", "x").size(), 2u);
  EXPECT_EQ(xml::text(xml::child(root, "urn:b", "x")), "2");
  EXPECT_EQ(xml::text(xml::descend(root, "urn:a", {"y", "z"})), " 3 ");
  EXPECT_EQ(xml::trimmed(xml::text(xml::find_path(root, "y/z"))), "3");
  EXPECT_EQ(xml::find_path(root, "y/w"), nullptr);
  EXPECT_EQ(xml::text(nullptr), "");
  EXPECT_EQ(xml::descendants(const_cast<xmlNode*>(root), "urn:a", "z").size(), 1u);
}

TEST(XmlDocument, TheBuilderLetsLibxml2Escape) {
  xml::Document doc = xml::new_document("M", "urn:m");
  ASSERT_TRUE(doc);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  const std::string text = "PEÑA & <hijos> \"comillas\" ]]>";
  ASSERT_NE(xml::add_element(root, "Nombre", text), nullptr);
  ASSERT_NE(xml::add_element(root, "Vacio"), nullptr);
  auto out = xml::to_string(doc.get());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<M xmlns=\"urn:m\"><Nombre>PEÑA &amp; "
            "&lt;hijos&gt; \"comillas\" ]]&gt;</Nombre><Vacio></Vacio></M>\n");
  auto back = xml::parse(*out, 1000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(xml::text(xml::find_path(xmlDocGetRootElement(back->get()), "Nombre")), text);
}

// --- an independent implementation ---------------------------------------------------

// xmlsec1 --verify checks the XMLDSig core (both references, the
// SignatureValue) and the certificate chain from our roots.
struct XmlsecCli {
  TempDir dir;
  fs::path root, ca;
  explicit XmlsecCli(const Signer& signer)
      : root(dir.path() / "root.pem"), ca(dir.path() / "ca.pem") {
    write_pem(ca, *signer.chain.at(0));
    write_pem(root, *signer.chain.at(1));
  }
  std::string command(const fs::path& file) const {
    return "xmlsec1 --verify --id-attr:Id 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties' "
           "--trusted-pem '" +
           root.string() + "' --untrusted-pem '" + ca.string() + "' '" + file.string() + "' >'" +
           (dir.path() / "xmlsec.log").string() + "' 2>&1";
  }
  int verify(std::string_view xml, const std::string& name = "firmado.xml") const {
    const fs::path file = dir.path() / name;
    write_text(file, xml);
    return shell(command(file));
  }
  std::string log() const { return read_text(dir.path() / "xmlsec.log"); }
};

TEST(XadesInterop, Xmlsec1CommandVerifiesOurSignatures) {
  if (!have("xmlsec1")) GTEST_SKIP() << "xmlsec1 no está instalado";
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  XmlsecCli cli(signer);
  const std::string out = sign_or_die(kFactura, signer);
  EXPECT_EQ(cli.verify(out), 0) << cli.log();
  EXPECT_NE(cli.verify(replace_once(out, "250000.00000", "250001.00000"), "alterado.xml"), 0);
}

TEST(XadesInterop, ExamplesSignVerifyAndStayValidAgainstTheOfficialSchema) {
  const fs::path examples = repository() / "examples";
  if (!fs::exists(examples / "factura-electronica.xml")) GTEST_SKIP() << "no hay examples/";
  auto inst = make_installation();
  Signer signer = new_key(*inst);
  auto trust = trust_of(*inst);
  XmlsecCli cli(signer);
  const bool xsd = have("xmllint") && fs::exists(examples / "validate.sh");
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(examples)) {
    if (entry.path().extension() != ".xml") continue;
    ++seen;
    const std::string name = entry.path().filename().string();
    const std::string original = read_text(entry.path());
    const bool receptor = original.find("<MensajeReceptor") != std::string::npos;
    const std::string out = sign_or_die(original, signer);  // the role follows the document
    EXPECT_EQ(without_signature(out), original) << name;
    auto v = verify_or_die(out, trust->options);
    EXPECT_TRUE(v.valid) << name << "\n" << describe(v);
    EXPECT_EQ(v.role, receptor ? "receptor" : "emisor") << name;
    EXPECT_EQ(cli.verify(out, "firmado-" + name), 0) << name << "\n" << cli.log();
    if (xsd) {
      const fs::path file = cli.dir.path() / ("firmado-" + name);
      EXPECT_EQ(shell("bash '" + (examples / "validate.sh").string() + "' '" +
                      entry.path().string() + "' '" + file.string() + "' >/dev/null 2>&1"),
                0)
          << name << " no es válido contra el XSD oficial antes o después de firmar";
    }
  }
  EXPECT_GT(seen, 0);
}

// --- revocation over the network ---------------------------------------------------------

// `llavero serve`'s publication routes on a free port, as the URLs in the
// certificates point relying parties to.
class PublicationServer {
 public:
  explicit PublicationServer(Installation& inst) : publisher_(*inst.store, *inst.keyring) {
    EXPECT_TRUE(publisher_.start().ok());
    http::Router router;
    api::add_publication_routes(router, publisher_);
    http::ServerOptions options;
    options.port = 0;
    options.handle_signals = false;
    server_ = std::make_unique<http::Server>(options, std::move(router));
    EXPECT_TRUE(server_->listen().ok());
    thread_ = std::thread([this] { server_->run(); });
  }
  ~PublicationServer() {
    server_->stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  RevocationPublisher publisher_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

TEST(RevocationCheck, AsksOcspThenCrlFromTheCertificateUrls) {
  auto inst = make_installation();
  PublicationServer server(*inst);
  inst->config.base_url = server.base_url();  // printed in the certificates issued from now on
  Signer signer = new_key(*inst);
  const X509& issuer = *signer.chain.at(0);

  RevocationChecker ocsp(nullptr, RevocationCheckOptions{std::chrono::seconds(5), true, false});
  RevocationChecker crl(nullptr, RevocationCheckOptions{std::chrono::seconds(5), false, true});
  auto good = ocsp.check(*signer.cert, issuer);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->status, RevocationStatus::kGood) << good->detail;
  EXPECT_TRUE(good->source.starts_with("OCSP http://127.0.0.1:")) << good->source;
  auto good_crl = crl.check(*signer.cert, issuer);
  ASSERT_TRUE(good_crl.ok());
  EXPECT_EQ(good_crl->status, RevocationStatus::kGood) << good_crl->detail;
  EXPECT_TRUE(good_crl->source.starts_with("CRL http://127.0.0.1:")) << good_crl->source;

  ASSERT_TRUE(inst->service
                  ->revoke("1-0647-0958", Environment::kPruebas,
                           RevocationReason::kCessationOfOperation, "test")
                  .ok());
  for (RevocationChecker* checker : {&ocsp, &crl}) {
    auto revoked = checker->check(*signer.cert, issuer);
    ASSERT_TRUE(revoked.ok());
    EXPECT_EQ(revoked->status, RevocationStatus::kRevoked) << revoked->source << revoked->detail;
    EXPECT_EQ(revoked->reason, RevocationReason::kCessationOfOperation);
    EXPECT_LE(std::abs(revoked->revoked_at - now_seconds()), 60);
  }

  // Through the verifier, with no local store: the network says revoked.
  auto trust = trust_of(*inst, false);
  RevocationChecker network(nullptr);
  trust->options.revocation = network.callback();
  auto v = verify_or_die(sign_or_die(kFactura, signer), trust->options);
  EXPECT_EQ(failed(v), std::vector<std::string>{"revocacion"}) << describe(v);

  // An answer about another issuer's certificate is not trusted.
  auto wrong_issuer = ocsp.check(*signer.cert, *signer.chain.at(1));
  ASSERT_TRUE(wrong_issuer.ok());
  EXPECT_NE(wrong_issuer->status, RevocationStatus::kGood);
}

TEST(RevocationCheck, AnUnreachableSourceIsNotChecked) {
  auto inst = make_installation();
  inst->config.base_url = "http://127.0.0.1:1";  // nothing listens there
  Signer signer = new_key(*inst);
  RevocationChecker checker(nullptr, RevocationCheckOptions{std::chrono::seconds(2)});
  auto answer = checker.check(*signer.cert, *signer.chain.at(0));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, RevocationStatus::kNotChecked);
  EXPECT_NE(answer->detail.find("OCSP"), std::string::npos) << answer->detail;
  EXPECT_NE(answer->detail.find("CRL"), std::string::npos) << answer->detail;
}

TEST(RevocationCheck, TheStoreAnswersForThisInstallationsCas) {
  auto inst = make_installation();
  inst->config.base_url = "http://127.0.0.1:1";
  Signer first = new_key(*inst);
  Signer second = new_key(*inst);  // supersedes the first
  RevocationChecker checker(inst->store.get());
  auto a = checker.check(*first.cert, *first.chain.at(0));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, RevocationStatus::kRevoked);
  EXPECT_EQ(a->reason, RevocationReason::kSuperseded);
  auto b = checker.check(*second.cert, *second.chain.at(0));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->status, RevocationStatus::kGood);
  EXPECT_EQ(b->source, "almacén de esta instalación");
}

// --- the command ---------------------------------------------------------------------------

// The llavero binary beside this test's directory (build/llavero).
fs::path llavero_binary() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path().parent_path() / "llavero";
}

TEST(XadesCommand, FirmarAndVerificar) {
  const fs::path llavero = llavero_binary();
  if (llavero.empty() || !fs::exists(llavero)) GTEST_SKIP() << "no se encontró build/llavero";
  auto inst = make_installation();
  Bytes p12;
  ASSERT_TRUE(inst->service
                  ->generate(GenerateRequest{"1-0647-0958", Environment::kPruebas,
                                             P12Profile::kModerno, false},
                             pin(), keep_p12(p12), "test")
                  .ok());
  // The test installation as a data directory for `verificar`.
  const fs::path data = inst->dir.path();
  write_text(data / "llavero.conf", render_config(inst->config));
  TempDir work;
  const fs::path key = work.path() / "010647095876.p12", in = work.path() / "factura.xml",
                 out = work.path() / "firmada.xml", log = work.path() / "log.txt";
  write_text(key, std::string_view(reinterpret_cast<const char*>(p12.data()), p12.size()));
  write_text(in, kFactura);
  const std::string bin = "'" + llavero.string() + "'";
  const std::string redirect = " >'" + log.string() + "' 2>&1";
  auto firmar = [&](const std::string& pin_text) {
    return shell("printf '" + pin_text + "\\n' | " + bin + " firmar --p12 '" + key.string() +
                 "' --pin-stdin --entrada '" + in.string() + "' --salida '" + out.string() + "'" +
                 redirect);
  };

  EXPECT_EQ(firmar("9999"), 1);
  EXPECT_NE(read_text(log).find("El PIN no corresponde"), std::string::npos) << read_text(log);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(firmar("12"), 1);
  EXPECT_FALSE(fs::exists(out));

  ASSERT_EQ(firmar("1234"), 0) << read_text(log);
  EXPECT_EQ(without_signature(read_text(out)), std::string(kFactura));
  for (const auto& e : fs::directory_iterator(work.path()))
    EXPECT_FALSE(e.path().filename().string().ends_with(".tmp")) << e.path();

  const std::string verificar = bin + " --data '" + data.string() + "' verificar --entrada '";
  EXPECT_EQ(shell(verificar + out.string() + "'" + redirect), 0) << read_text(log);
  EXPECT_NE(read_text(log).find("✓ Referencia al documento"), std::string::npos) << read_text(log);
  EXPECT_EQ(shell(verificar + out.string() + "' --json" + redirect), 0);
  const std::string json = read_text(log);
  EXPECT_NE(json.find("\"valida\":true"), std::string::npos) << json;
  EXPECT_NE(json.find("\"rol\":\"emisor\""), std::string::npos) << json;

  write_text(out, replace_once(read_text(out), "250000.00000", "250001.00000"));
  EXPECT_EQ(shell(verificar + out.string() + "'" + redirect), 1);
  EXPECT_NE(read_text(log).find(
                "✗ Referencia al documento: El XML fue modificado luego de haber sido firmado"),
            std::string::npos)
      << read_text(log);

  // --confianza instead of the data directory; and neither is an error.
  const fs::path trust = work.path() / "confianza";
  fs::create_directories(trust);
  Signer signer = open_p12(p12);
  write_pem(trust / "raiz.pem", *signer.chain.at(1));
  write_pem(trust / "pf.crt", *signer.chain.at(0));
  ASSERT_EQ(firmar("1234"), 0);
  EXPECT_EQ(shell(bin + " verificar --entrada '" + out.string() + "' --confianza '" +
                  trust.string() + "'" + redirect),
            0)
      << read_text(log);
  EXPECT_EQ(shell("cd '" + work.path().string() + "' && env -u LLAVERO_DATA " + bin +
                  " verificar --entrada '" + out.string() + "'" + redirect),
            1);
  EXPECT_NE(read_text(log).find("--confianza"), std::string::npos) << read_text(log);
}

}  // namespace
}  // namespace llavero
