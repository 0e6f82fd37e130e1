#include "xades/xades.h"

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <libxml/xmlsave.h>
#include <openssl/rand.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "util/base64.h"

namespace llavero::xades {

namespace {

// --- libxml2 and xmlsec handles --------------------------------------------

void free_xml_string(xmlChar* s) {
  xmlFree(s);
}
using XmlDoc = ossl::Owned<xmlDoc, xmlFreeDoc>;
using XmlString = ossl::Owned<xmlChar, free_xml_string>;
using XmlParser = ossl::Owned<xmlParserCtxt, xmlFreeParserCtxt>;
using XmlBuffer = ossl::Owned<xmlBuffer, xmlBufferFree>;
using DsigContext = ossl::Owned<xmlSecDSigCtx, xmlSecDSigCtxDestroy>;
using DsigReferenceContext = ossl::Owned<xmlSecDSigReferenceCtx, xmlSecDSigReferenceCtxDestroy>;
using SecKey = ossl::Owned<xmlSecKey, xmlSecKeyDestroy>;
using SecKeyData = ossl::Owned<xmlSecKeyData, xmlSecKeyDataDestroy>;

const xmlChar* X(std::string_view s) {
  return reinterpret_cast<const xmlChar*>(s.data());
}
const xmlChar* X(const std::string& s) {
  return reinterpret_cast<const xmlChar*>(s.c_str());
}

// The namespaces as NUL-terminated strings for libxml2.
const std::string kDsigNs(kDsigNamespace);
const std::string kXadesNs(kXadesNamespace);

constexpr const char* kSha256Uri = "http://www.w3.org/2001/04/xmlenc#sha256";
constexpr const char* kEnvelopedUri = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

// xmlsec reports its errors through a callback; the default one prints to
// stderr, which would clutter the command's output with the expected
// "digest mismatch" of a tampered document. The last message is kept for
// internal errors.
thread_local std::string last_xmlsec_error;

void record_xmlsec_error(const char*, int, const char* func, const char* object,
                         const char* subject, int reason, const char* msg) {
  last_xmlsec_error =
      fmt::format("{} ({}{}{}): {} [{}]", func ? func : "?", object ? object : "",
                  subject ? "/" : "", subject ? subject : "", msg ? msg : "", reason);
}

Error xmlsec_error(std::string_view what) {
  return make_error("error_xmlsec",
                    fmt::format("Error interno de la firma XML ({}): {}", what,
                                last_xmlsec_error.empty() ? "sin detalle" : last_xmlsec_error));
}

// libxml2 and xmlsec are initialized once per process; xmlsec is
// thread-safe afterwards as long as each thread uses its own contexts.
const Status& xmlsec_ready() {
  static const Status status = []() -> Status {
    xmlInitParser();
    if (xmlSecInit() < 0) return make_error("error_xmlsec", "No se pudo iniciar xmlsec.");
    if (xmlSecCheckVersion() != 1)
      return make_error("error_xmlsec", "La versión de xmlsec instalada no es compatible.");
    if (xmlSecCryptoAppInit(nullptr) < 0 || xmlSecCryptoInit() < 0)
      return make_error("error_xmlsec", "No se pudo iniciar xmlsec con OpenSSL.");
    xmlSecErrorsSetCallback(record_xmlsec_error);
    return Ok{};
  }();
  return status;
}

// --- parsing untrusted XML ---------------------------------------------------

// A DOCTYPE is where DTDs, entity declarations (billion laughs) and external
// entities come from. Comprobantes never have one, so the parser stops at
// the first sign of it.
void refuse_doctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* parser = static_cast<xmlParserCtxtPtr>(ctx);
  *static_cast<bool*>(parser->_private) = true;
  xmlStopParser(parser);
}

Result<XmlDoc> parse_untrusted(std::string_view xml, std::size_t max_bytes) {
  if (xml.size() > max_bytes)
    return make_error("xml_grande", fmt::format("El XML tiene {} bytes; el máximo es {}.",
                                                xml.size(), max_bytes));
  if (xml.empty()) return make_error("xml_invalido", "El XML está vacío.");
  XmlParser parser(xmlNewParserCtxt());
  if (!parser) return make_error("error_interno", "No se pudo crear el analizador XML.");
  bool saw_doctype = false;
  parser->_private = &saw_doctype;
  parser->sax->internalSubset = refuse_doctype;
  // No XML_PARSE_NOENT (entities are not substituted), no DTDLOAD/DTDATTR,
  // no HUGE (libxml2 keeps its depth and size limits), no network.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  XmlDoc doc(xmlCtxtReadMemory(parser.get(), xml.data(), static_cast<int>(xml.size()), nullptr,
                               nullptr, options));
  if (saw_doctype)
    return make_error("xml_dtd",
                      "El XML tiene una declaración DOCTYPE; no se admiten DTD ni entidades.");
  if (!doc || !parser->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(parser.get());
    std::string detail = e && e->message ? e->message : "error desconocido";
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    return make_error("xml_invalido", fmt::format("El XML no está bien formado (línea {}): {}.",
                                                  e ? e->line : 0, detail));
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr)
    return make_error("xml_dtd",
                      "El XML tiene una declaración DOCTYPE; no se admiten DTD ni entidades.");
  if (xmlDocGetRootElement(doc.get()) == nullptr)
    return make_error("xml_invalido", "El XML no tiene elemento raíz.");
  return doc;
}

// --- tree helpers -----------------------------------------------------------------

bool is_element(const xmlNode* n, const std::string& ns, std::string_view name) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && n->ns != nullptr &&
         xmlStrEqual(n->ns->href, X(ns)) && name == reinterpret_cast<const char*>(n->name);
}

std::vector<xmlNode*> children(const xmlNode* parent, const std::string& ns,
                               std::string_view name) {
  std::vector<xmlNode*> out;
  if (parent == nullptr) return out;
  for (xmlNode* c = parent->children; c != nullptr; c = c->next)
    if (is_element(c, ns, name)) out.push_back(c);
  return out;
}

xmlNode* child(const xmlNode* parent, const std::string& ns, std::string_view name) {
  auto all = children(parent, ns, name);
  return all.empty() ? nullptr : all.front();
}

// Follows a path of elements, each the first child of that name.
xmlNode* descend(const xmlNode* from, const std::string& ns,
                 std::initializer_list<std::string_view> path) {
  const xmlNode* at = from;
  for (std::string_view step : path) {
    at = child(at, ns, step);
    if (at == nullptr) return nullptr;
  }
  return const_cast<xmlNode*>(at);
}

std::string text_of(const xmlNode* n) {
  if (n == nullptr) return "";
  XmlString content(xmlNodeGetContent(n));
  return content ? reinterpret_cast<const char*>(content.get()) : "";
}

std::string trimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> attribute(const xmlNode* n, const char* name) {
  if (n == nullptr) return std::nullopt;
  XmlString value(xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>(name)));
  if (!value) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(value.get()));
}

// Every element of the document in document order (depth is bounded by the parser).
void collect(xmlNode* n, const std::string& ns, std::string_view name, std::vector<xmlNode*>& out) {
  for (; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (is_element(n, ns, name)) out.push_back(n);
    collect(n->children, ns, name, out);
  }
}

// Makes `attr` the target of "#value" references. False if another node
// already holds that ID (e.g. an xml:id elsewhere in the document).
bool register_id(xmlDoc* doc, xmlAttr* attr) {
  XmlString value(xmlNodeListGetString(doc, attr->children, 1));
  if (!value) return false;
  if (xmlAttr* existing = xmlGetID(doc, value.get()); existing != nullptr) return existing == attr;
  return xmlAddID(nullptr, doc, value.get(), attr) != nullptr;
}

// --- encodings ---------------------------------------------------------------------

// Signers wrap base64 text across lines (some with &#13;), so it is
// decoded with white space skipped.
constexpr Base64Format kXmlBase64{Base64Alphabet::kStandard, Base64Padding::kRequired, true};

std::optional<Bytes> unbase64(std::string_view text) {
  return base64_decode(text, kXmlBase64);
}

std::string random_id() {
  std::uint8_t b[16];
  if (RAND_bytes(b, sizeof b) != 1) std::memset(b, 0, sizeof b);  // uniqueness, not secrecy
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  const std::string h = to_hex(b);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20));
}

// A name as one RFC 4514 line, UTF-8 kept as it is.
std::string name_line(const X509_NAME* name) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string serial_decimal(const X509& cert) {
  ossl::Bignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(&cert), nullptr));
  if (!bn) return "";
  ossl::OpensslString dec(BN_bn2dec(bn.get()));
  return dec ? std::string(dec.get()) : "";
}

// An RFC 4514 name as (TYPE, value) pairs, so that two writings of the same
// name compare equal: spaces around separators, attribute type case, OIDs
// for the usual types and backslash escapes do not matter.
std::vector<std::pair<std::string, std::string>> dn_parts(std::string_view dn) {
  std::vector<std::pair<std::string, std::string>> parts;
  std::string current;
  auto flush = [&] {
    const auto eq = current.find('=');
    std::string type = trimmed(current.substr(0, eq == std::string::npos ? 0 : eq));
    std::string value =
        eq == std::string::npos ? trimmed(current) : trimmed(current.substr(eq + 1));
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    static const std::pair<const char*, const char*> kAliases[] = {
        {"2.5.4.3", "CN"},           {"2.5.4.6", "C"},  {"2.5.4.7", "L"},
        {"2.5.4.8", "ST"},           {"2.5.4.10", "O"}, {"2.5.4.11", "OU"},
        {"2.5.4.5", "SERIALNUMBER"}, {"S", "ST"},       {"OID.2.5.4.5", "SERIALNUMBER"}};
    for (const auto& [from, to] : kAliases)
      if (type == from) type = to;
    parts.emplace_back(std::move(type), std::move(value));
    current.clear();
  };
  for (std::size_t i = 0; i < dn.size(); ++i) {
    const char c = dn[i];
    if (c == '\\' && i + 1 < dn.size()) {
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      if (i + 2 < dn.size() && hex(dn[i + 1]) >= 0 && hex(dn[i + 2]) >= 0) {
        current.push_back(static_cast<char>(hex(dn[i + 1]) * 16 + hex(dn[i + 2])));
        i += 2;
      } else {
        current.push_back(dn[++i]);
      }
    } else if (c == ',' || c == '+' || c == ';') {
      flush();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty() || !parts.empty()) flush();
  return parts;
}

// --- time --------------------------------------------------------------------------------

constexpr int kCostaRicaOffset = -6 * 3600;  // no daylight saving time

}  // namespace

std::string costa_rica_time(UnixSeconds t) {
  std::time_t local = static_cast<std::time_t>(t + kCostaRicaOffset);
  std::tm tm{};
  gmtime_r(&local, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "-06:00";
}

std::optional<UnixSeconds> parse_date_time(std::string_view text) {
  const std::string s = trimmed(text);
  auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
       minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
      s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60)
    return std::nullopt;
  std::size_t at = 19;
  if (at < s.size() && s[at] == '.') {
    ++at;
    const std::size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == start) return std::nullopt;
  }
  int offset = 0;
  if (at < s.size() && s[at] == 'Z') {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    auto oh = digits(at + 1, 2), om = digits(at + 4, 2);
    if (!oh || !om || at + 3 >= s.size() || s[at + 3] != ':' || *oh > 14 || *om > 59)
      return std::nullopt;
    offset = (*oh * 3600 + *om * 60) * (s[at] == '-' ? -1 : 1);
    at += 6;
  } else {
    return std::nullopt;  // a time without offset is ambiguous
  }
  if (at != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<UnixSeconds>(timegm(&tm)) - offset;
}

const SignaturePolicy& hacienda_policy() {
  static const SignaturePolicy policy{
      "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
      "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
      "para_efectos_tributarios.pdf",
      "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8="};
  return policy;
}

std::string_view signer_role_name(SignerRole role) {
  return role == SignerRole::kEmisor ? "emisor" : "receptor";
}

Result<SignerRole> parse_signer_role(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "emisor") return SignerRole::kEmisor;
  if (lower == "receptor") return SignerRole::kReceptor;
  return make_error(
      "rol_invalido",
      fmt::format("Rol de firmante desconocido \"{}\": use \"emisor\" o \"receptor\".", text));
}

const Check* Verification::find(std::string_view name) const {
  for (const Check& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<const Check*> Verification::failures() const {
  std::vector<const Check*> performed, skipped;
  for (const Check& c : checks)
    if (!c.ok) (c.performed ? performed : skipped).push_back(&c);
  return performed.empty() ? skipped : performed;
}

namespace {

// --- xmlsec contexts ---------------------------------------------------------------

// A signature context that only follows references inside the document and
// only runs the transforms and algorithms a comprobante's signature needs
// (no XPath, XSLT or remote URIs from an untrusted signature).
Result<DsigContext> restricted_context() {
  DsigContext ctx(xmlSecDSigCtxCreate(nullptr));
  if (!ctx) return xmlsec_error("contexto de firma");
  ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
  const xmlSecTransformId c14n[] = {
      xmlSecTransformExclC14NId,   xmlSecTransformExclC14NWithCommentsId,
      xmlSecTransformInclC14NId,   xmlSecTransformInclC14NWithCommentsId,
      xmlSecTransformInclC14N11Id, xmlSecTransformInclC14N11WithCommentsId};
  const xmlSecTransformId digests[] = {xmlSecTransformSha256Id, xmlSecTransformSha384Id,
                                       xmlSecTransformSha512Id};
  const xmlSecTransformId signatures[] = {xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id,
                                          xmlSecTransformRsaSha512Id};
  bool ok = xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId) >= 0;
  for (auto id : c14n)
    ok = ok && xmlSecDSigCtxEnableReferenceTransform(ctx.get(), id) >= 0 &&
         xmlSecDSigCtxEnableSignatureTransform(ctx.get(), id) >= 0;
  for (auto id : digests) ok = ok && xmlSecDSigCtxEnableReferenceTransform(ctx.get(), id) >= 0;
  for (auto id : signatures) ok = ok && xmlSecDSigCtxEnableSignatureTransform(ctx.get(), id) >= 0;
  if (!ok) return xmlsec_error("algoritmos permitidos");
  return ctx;
}

// An xmlsec key holding (a new reference to) an OpenSSL key.
Result<SecKey> xmlsec_key(const EVP_PKEY& key) {
  EVP_PKEY* raw = const_cast<EVP_PKEY*>(&key);
  if (EVP_PKEY_up_ref(raw) != 1) return ossl::internal_error("referencia a la llave");
  ossl::PKey reference(raw);
  SecKeyData data(xmlSecOpenSSLEvpKeyAdopt(reference.get()));
  if (!data) return xmlsec_error("llave");
  reference.release();  // owned by `data` now
  SecKey out(xmlSecKeyCreate());
  if (!out || xmlSecKeySetValue(out.get(), data.get()) < 0) return xmlsec_error("llave");
  data.release();  // owned by `out` now
  return out;
}

// Bounds on what an untrusted signature makes us compute: every reference
// canonicalizes (part of) the document, every certificate is parsed.
constexpr std::size_t kMaxReferences = 8;
constexpr std::size_t kMaxKeyInfoCertificates = 10;

// --- the parts of a signature --------------------------------------------------------

struct Reference {
  xmlNode* node = nullptr;
  std::optional<std::string> uri;
  std::string type;
  std::vector<std::string> transforms;  // Algorithm URIs in order
};

struct SignatureParts {
  xmlNode* signature = nullptr;
  xmlNode* signed_info = nullptr;
  std::vector<Reference> references;
  std::vector<ossl::X509Ptr> key_info_certificates;  // by read_key_info_certificates
  xmlNode* signed_properties = nullptr;
  std::string qualifying_target;
};

// A certificate the caller already holds parsed (a trusted root, an
// intermediate) and its DER: a KeyInfo certificate with the very same bytes
// is that object, not a new decoding (d2i_X509 is most of what a
// certificate costs).
struct KnownCertificate {
  const X509* cert = nullptr;
  Bytes der;
};

std::vector<KnownCertificate> known_certificates(std::span<const X509* const> a,
                                                 std::span<const X509* const> b) {
  std::vector<KnownCertificate> known;
  for (auto list : {a, b})
    for (const X509* c : list)
      if (auto der = ossl::x509_to_der(*c)) known.push_back(KnownCertificate{c, std::move(*der)});
  return known;
}

SignatureParts read_parts(xmlNode* signature) {
  SignatureParts p;
  p.signature = signature;
  p.signed_info = child(signature, kDsigNs, "SignedInfo");
  for (xmlNode* r : children(p.signed_info, kDsigNs, "Reference")) {
    Reference ref{r, attribute(r, "URI"), attribute(r, "Type").value_or(""), {}};
    for (xmlNode* t : children(child(r, kDsigNs, "Transforms"), kDsigNs, "Transform"))
      ref.transforms.push_back(attribute(t, "Algorithm").value_or(""));
    p.references.push_back(std::move(ref));
  }
  for (xmlNode* object : children(signature, kDsigNs, "Object"))
    for (xmlNode* qp : children(object, kXadesNs, "QualifyingProperties"))
      if (xmlNode* sp = child(qp, kXadesNs, "SignedProperties"); sp && !p.signed_properties) {
        p.signed_properties = sp;
        p.qualifying_target = attribute(qp, "Target").value_or("");
      }
  return p;
}

// The certificates of KeyInfo that decode, at most kMaxKeyInfoCertificates of
// them; one identical to a `known` certificate is another reference to it.
std::vector<ossl::X509Ptr> read_key_info_certificates(xmlNode* signature,
                                                      std::span<const KnownCertificate> known) {
  std::vector<ossl::X509Ptr> certs;
  for (xmlNode* data : children(child(signature, kDsigNs, "KeyInfo"), kDsigNs, "X509Data"))
    for (xmlNode* c : children(data, kDsigNs, "X509Certificate")) {
      auto der = certs.size() < kMaxKeyInfoCertificates ? unbase64(text_of(c)) : std::nullopt;
      if (!der) continue;
      auto same = std::find_if(known.begin(), known.end(),
                               [&](const KnownCertificate& k) { return k.der == *der; });
      if (same != known.end() && X509_up_ref(const_cast<X509*>(same->cert)) == 1) {
        ossl::X509Ptr shared(const_cast<X509*>(same->cert));
        certs.push_back(std::move(shared));
      } else if (auto cert = ossl::x509_from_der(*der)) {
        certs.push_back(std::move(*cert));
      }
    }
  return certs;
}

// The signer: the KeyInfo certificate that issued none of the others.
const X509* signer_of(const std::vector<ossl::X509Ptr>& certs) {
  for (const auto& candidate : certs) {
    bool issues_another = false;
    for (const auto& other : certs)
      if (other != candidate && X509_check_issued(candidate.get(), other.get()) == X509_V_OK &&
          X509_cmp(candidate.get(), other.get()) != 0)
        issues_another = true;
    if (!issues_another) return candidate.get();
  }
  return nullptr;
}

bool is_c14n(std::string_view uri) {
  return uri == "http://www.w3.org/2001/10/xml-exc-c14n#" ||
         uri == "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" ||
         uri == "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" ||
         uri == "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" ||
         uri == "http://www.w3.org/2006/12/xml-c14n11" ||
         uri == "http://www.w3.org/2006/12/xml-c14n11#WithComments";
}

const EVP_MD* digest_for(std::string_view uri) {
  if (uri == kSha256Uri) return EVP_sha256();
  if (uri == "http://www.w3.org/2001/04/xmldsig-more#sha384") return EVP_sha384();
  if (uri == "http://www.w3.org/2001/04/xmlenc#sha512") return EVP_sha512();
  return nullptr;
}

Bytes digest(const EVP_MD* md, std::span<const std::uint8_t> data) {
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr);
  out.resize(len);
  return out;
}

// Runs xmlsec on the Signature with the key of `cert`: the references'
// digests and the SignatureValue. Each reference's status in SignedInfo
// order; xmlsec stops at the first bad reference, so the ones after it are
// checked one by one.
struct CoreResult {
  bool processed = false;  // false: xmlsec could not run (see `problem`)
  std::string problem;
  std::vector<bool> reference_ok;
  bool signature_value_ok = false;
};

Result<CoreResult> verify_core(const SignatureParts& parts, const X509& cert) {
  CoreResult result;
  const EVP_PKEY* public_key = X509_get0_pubkey(&cert);
  if (public_key == nullptr || !EVP_PKEY_is_a(public_key, "RSA")) {
    result.problem = "El certificado del firmante no tiene una llave RSA.";
    return result;
  }
  auto ctx = restricted_context();
  if (!ctx) return ctx.error();
  auto key = xmlsec_key(*public_key);
  if (!key) return key.error();
  (*ctx)->signKey = key->release();
  last_xmlsec_error.clear();
  if (xmlSecDSigCtxVerify(ctx->get(), parts.signature) < 0) {
    result.problem = fmt::format(
        "La firma usa una estructura o un algoritmo no admitidos (se admiten C14N, RSA y "
        "SHA-256/384/512){}",
        last_xmlsec_error.empty() ? "." : fmt::format(" [{}].", last_xmlsec_error));
    return result;
  }
  result.processed = true;
  const xmlSecSize done = xmlSecPtrListGetSize(&(*ctx)->signedInfoReferences);
  for (std::size_t i = 0; i < parts.references.size(); ++i) {
    if (i < done) {
      auto* ref = static_cast<xmlSecDSigReferenceCtxPtr>(
          xmlSecPtrListGetItem(&(*ctx)->signedInfoReferences, static_cast<xmlSecSize>(i)));
      result.reference_ok.push_back(ref != nullptr && ref->status == xmlSecDSigStatusSucceeded);
      continue;
    }
    auto alone = restricted_context();
    if (!alone) return alone.error();
    (*alone)->operation = xmlSecTransformOperationVerify;
    DsigReferenceContext ref(
        xmlSecDSigReferenceCtxCreate(alone->get(), xmlSecDSigReferenceOriginSignedInfo));
    if (!ref) return xmlsec_error("referencia");
    const bool ran = xmlSecDSigReferenceCtxProcessNode(ref.get(), parts.references[i].node) >= 0;
    result.reference_ok.push_back(ran && ref->status == xmlSecDSigStatusSucceeded);
  }
  const bool all_references =
      std::all_of(result.reference_ok.begin(), result.reference_ok.end(), [](bool b) { return b; });
  result.signature_value_ok = all_references && (*ctx)->status == xmlSecDSigStatusSucceeded;
  return result;
}

// --- signing -------------------------------------------------------------------------------

// Where the root element's end tag starts in the original text: after it
// only whitespace, comments and processing instructions may follow.
std::optional<std::size_t> root_end_tag(std::string_view xml, std::string_view root_name) {
  std::size_t end = xml.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  for (;;) {
    while (end > 0 && space(xml[end - 1])) --end;
    const std::string_view head = xml.substr(0, end);
    if (head.ends_with("-->")) {
      const auto start = head.rfind("<!--", end - 3);
      if (start == std::string_view::npos) return std::nullopt;
      end = start;
    } else if (head.ends_with("?>")) {
      const auto start = head.rfind("<?", end - 2);
      if (start == std::string_view::npos) return std::nullopt;
      end = start;
    } else {
      break;
    }
  }
  if (end == 0 || xml[end - 1] != '>') return std::nullopt;
  const auto open = xml.rfind("</", end - 1);
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view name = xml.substr(open + 2, end - 1 - (open + 2));
  while (!name.empty() && space(name.back())) name.remove_suffix(1);
  if (name != root_name) return std::nullopt;
  return open;
}

std::string qualified_name(const xmlNode* n) {
  std::string name = reinterpret_cast<const char*>(n->name);
  if (n->ns != nullptr && n->ns->prefix != nullptr)
    name = std::string(reinterpret_cast<const char*>(n->ns->prefix)) + ":" + name;
  return name;
}

xmlNode* add(xmlNode* parent, const char* name, const std::string& ns) {
  return xmlSecAddChild(parent, reinterpret_cast<const xmlChar*>(name), X(ns));
}

xmlNode* add_text(xmlNode* parent, const char* name, const std::string& ns,
                  const std::string& text) {
  xmlNode* n = add(parent, name, ns);
  if (n != nullptr) xmlNodeAddContent(n, X(text));  // escaped on output
  return n;
}

void add_digest(xmlNode* parent, const std::string& algorithm, const std::string& value) {
  xmlNode* method = add(parent, "DigestMethod", kDsigNs);
  if (method != nullptr) xmlSetProp(method, BAD_CAST "Algorithm", X(algorithm));
  add_text(parent, "DigestValue", kDsigNs, value);
}

// The xades:QualifyingProperties of the signature, in the ds:Object.
Result<xmlAttr*> add_qualifying_properties(xmlNode* object, const std::string& signature_id,
                                           const std::string& properties_id,
                                           const std::string& document_reference_id,
                                           const X509& cert, const SignOptions& options,
                                           SignerRole role, const std::string& encoding) {
  xmlNode* qp = xmlNewChild(object, nullptr, BAD_CAST "QualifyingProperties", nullptr);
  if (qp == nullptr) return xmlsec_error("QualifyingProperties");
  xmlNs* xades = xmlNewNs(qp, X(kXadesNs), BAD_CAST "xades");
  xmlSetNs(qp, xades);
  xmlSetProp(qp, BAD_CAST "Target", X("#" + signature_id));
  xmlNode* sp = add(qp, "SignedProperties", kXadesNs);
  if (sp == nullptr) return xmlsec_error("SignedProperties");
  xmlAttr* id = xmlSetProp(sp, BAD_CAST "Id", X(properties_id));

  xmlNode* ssp = add(sp, "SignedSignatureProperties", kXadesNs);
  add_text(ssp, "SigningTime", kXadesNs,
           costa_rica_time(options.signing_time.value_or(now_seconds())));

  auto der = ossl::x509_to_der(cert);
  if (!der) return der.error();
  xmlNode* signing_cert = add(add(ssp, "SigningCertificate", kXadesNs), "Cert", kXadesNs);
  add_digest(add(signing_cert, "CertDigest", kXadesNs), kSha256Uri, base64_encode(sha256(*der)));
  xmlNode* issuer_serial = add(signing_cert, "IssuerSerial", kXadesNs);
  add_text(issuer_serial, "X509IssuerName", kDsigNs, name_line(X509_get_issuer_name(&cert)));
  add_text(issuer_serial, "X509SerialNumber", kDsigNs, serial_decimal(cert));

  xmlNode* policy =
      add(add(ssp, "SignaturePolicyIdentifier", kXadesNs), "SignaturePolicyId", kXadesNs);
  add_text(add(policy, "SigPolicyId", kXadesNs), "Identifier", kXadesNs, options.policy.identifier);
  add_digest(add(policy, "SigPolicyHash", kXadesNs), kSha256Uri, options.policy.sha256_base64);

  add_text(add(add(ssp, "SignerRole", kXadesNs), "ClaimedRoles", kXadesNs), "ClaimedRole", kXadesNs,
           std::string(signer_role_name(role)));

  xmlNode* format =
      add(add(sp, "SignedDataObjectProperties", kXadesNs), "DataObjectFormat", kXadesNs);
  xmlSetProp(format, BAD_CAST "ObjectReference", X("#" + document_reference_id));
  add_text(format, "MimeType", kXadesNs, "text/xml");
  add_text(format, "Encoding", kXadesNs, encoding);
  return id;
}

// The Signature element as text, ASCII only (anything else as a character
// reference), so that it fits in a document of any ASCII-compatible encoding.
Result<std::string> serialize(xmlNode* node) {
  XmlBuffer buffer(xmlBufferCreate());
  if (!buffer) return make_error("error_interno", "Sin memoria para la firma.");
  xmlSaveCtxtPtr save = xmlSaveToBuffer(buffer.get(), "ASCII", XML_SAVE_NO_DECL | XML_SAVE_AS_XML);
  if (save == nullptr) return make_error("error_interno", "No se pudo escribir la firma.");
  const long written = xmlSaveTree(save, node);
  xmlSaveClose(save);
  if (written < 0) return make_error("error_interno", "No se pudo escribir la firma.");
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buffer.get())),
                     static_cast<std::size_t>(xmlBufferLength(buffer.get())));
}

Error not_signable(std::string message) {
  return make_error("xml_no_firmable", std::move(message));
}

}  // namespace

Result<std::string> sign(std::string_view xml, const EVP_PKEY& key, const X509& cert,
                         std::span<const X509* const> chain, const SignOptions& options) {
  LLAVERO_TRY(xmlsec_ready());
  if (!EVP_PKEY_is_a(&key, "RSA"))
    return make_error("llave_invalida", "La llave de firma debe ser RSA.");
  if (X509_check_private_key(&cert, &key) != 1) {
    ossl::last_error();
    return make_error("llave_invalida", "La llave privada no corresponde al certificado.");
  }
  if (xml.find('\0') != std::string_view::npos)
    return not_signable("El XML no está en UTF-8 (ni en otra codificación compatible con ASCII).");
  auto doc = parse_untrusted(xml, kMaxDocumentBytes);
  if (!doc) return doc.error();
  xmlNode* root = xmlDocGetRootElement(doc->get());
  std::vector<xmlNode*> existing;
  collect(root, kDsigNs, "Signature", existing);
  if (!existing.empty()) return not_signable("El documento ya tiene una firma (ds:Signature).");
  const auto splice_at = root_end_tag(xml, qualified_name(root));
  if (!splice_at)
    return not_signable(
        "No se encontró la etiqueta de cierre del elemento raíz (un raíz vacío \"<.../>\" no "
        "se puede firmar).");

  const std::string id = "xmldsig-" + random_id();
  const std::string document_reference_id = id + "-ref0";
  const std::string properties_id = id + "-signedprops";

  xmlNode* signature = xmlSecTmplSignatureCreateNsPref(
      doc->get(), xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, X(id), BAD_CAST "ds");
  if (signature == nullptr) return xmlsec_error("plantilla");
  xmlAddChild(root, signature);  // owned by the document from here on

  xmlNode* document_reference = xmlSecTmplSignatureAddReference(
      signature, xmlSecTransformSha256Id, X(document_reference_id), BAD_CAST "", nullptr);
  xmlNode* properties_reference =
      xmlSecTmplSignatureAddReference(signature, xmlSecTransformSha256Id, nullptr,
                                      X("#" + properties_id), X(kSignedPropertiesType));
  if (document_reference == nullptr || properties_reference == nullptr ||
      xmlSecTmplReferenceAddTransform(document_reference, xmlSecTransformEnvelopedId) == nullptr ||
      xmlSecTmplReferenceAddTransform(document_reference, xmlSecTransformExclC14NId) == nullptr ||
      xmlSecTmplReferenceAddTransform(properties_reference, xmlSecTransformExclC14NId) == nullptr)
    return xmlsec_error("referencias");
  if (xmlNode* value = xmlSecFindChild(signature, BAD_CAST "SignatureValue", X(kDsigNs)))
    xmlSetProp(value, BAD_CAST "Id", X(id + "-sigvalue"));

  // KeyInfo is filled here rather than by xmlsec (the xmlsec key carries no
  // certificate), so that it holds exactly the certificate and the chain.
  xmlNode* key_info = xmlSecTmplSignatureEnsureKeyInfo(signature, nullptr);
  xmlNode* x509_data = key_info ? xmlSecTmplKeyInfoAddX509Data(key_info) : nullptr;
  if (x509_data == nullptr) return xmlsec_error("KeyInfo");
  std::vector<const X509*> certificates{&cert};
  certificates.insert(certificates.end(), chain.begin(), chain.end());
  for (const X509* c : certificates) {
    auto der = ossl::x509_to_der(*c);
    if (!der) return der.error();
    add_text(x509_data, "X509Certificate", kDsigNs, base64_encode(*der));
  }

  xmlNode* object = xmlSecTmplSignatureAddObject(signature, nullptr, nullptr, nullptr);
  if (object == nullptr) return xmlsec_error("Object");
  const std::string encoding =
      (*doc)->encoding ? reinterpret_cast<const char*>((*doc)->encoding) : "UTF-8";
  const SignerRole role = options.role.value_or(xmlStrEqual(root->name, BAD_CAST "MensajeReceptor")
                                                    ? SignerRole::kReceptor
                                                    : SignerRole::kEmisor);
  auto properties_id_attr = add_qualifying_properties(
      object, id, properties_id, document_reference_id, cert, options, role, encoding);
  if (!properties_id_attr) return properties_id_attr.error();
  if (!register_id(doc->get(), *properties_id_attr))
    return not_signable("El documento ya usa el identificador de las propiedades firmadas.");

  auto ctx = restricted_context();
  if (!ctx) return ctx.error();
  auto signing_key = xmlsec_key(key);
  if (!signing_key) return signing_key.error();
  (*ctx)->signKey = signing_key->release();
  last_xmlsec_error.clear();
  if (xmlSecDSigCtxSign(ctx->get(), signature) < 0 || (*ctx)->status != xmlSecDSigStatusSucceeded)
    return xmlsec_error("firmar");

  auto signature_text = serialize(signature);
  if (!signature_text) return signature_text.error();
  std::string out;
  out.reserve(xml.size() + signature_text->size());
  out.append(xml.substr(0, *splice_at));
  out.append(*signature_text);
  out.append(xml.substr(*splice_at));

  // What a receiver parses is the spliced text, not our tree: make sure the
  // digests hold for it before handing it out.
  auto reparsed = parse_untrusted(out, kMaxDocumentBytes + signature_text->size());
  if (!reparsed)
    return make_error("error_interno",
                      "El documento firmado no se pudo releer: " + reparsed.error().message);
  std::vector<xmlNode*> signatures;
  collect(xmlDocGetRootElement(reparsed->get()), kDsigNs, "Signature", signatures);
  if (signatures.size() != 1)
    return make_error("error_interno", "La firma insertada no se encontró.");
  // KeyInfo's certificates are not decoded again: the key to check is `cert`'s.
  SignatureParts parts = read_parts(signatures.front());
  if (parts.signed_properties == nullptr ||
      !register_id(reparsed->get(), xmlHasProp(parts.signed_properties, BAD_CAST "Id")))
    return make_error("error_interno", "La firma insertada no tiene propiedades firmadas.");
  auto core = verify_core(parts, cert);
  if (!core) return core.error();
  if (!core->processed || !core->signature_value_ok)
    return make_error("error_interno",
                      "La firma insertada no se verifica sobre el texto del documento" +
                          (core->problem.empty() ? std::string(".") : ": " + core->problem));
  return out;
}

// --- verification --------------------------------------------------------------------------

namespace {

// The element of `subtree` whose Id attribute is `value`, or null; `duplicate`
// is set if there is more than one.
xmlAttr* find_id(xmlNode* subtree, std::string_view value, bool& duplicate) {
  xmlAttr* found = nullptr;
  std::vector<xmlNode*> stack{subtree};
  while (!stack.empty()) {
    xmlNode* n = stack.back();
    stack.pop_back();
    if (n->type != XML_ELEMENT_NODE) continue;
    if (xmlAttr* a = xmlHasProp(n, BAD_CAST "Id"); a != nullptr && a->ns == nullptr) {
      if (attribute(n, "Id") == std::string(value)) {
        if (found != nullptr) duplicate = true;
        found = a;
      }
    }
    for (xmlNode* c = n->children; c != nullptr; c = c->next) stack.push_back(c);
  }
  return found;
}

std::optional<UnixSeconds> asn1_time_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<UnixSeconds>(timegm(&tm));
}

std::string common_name(const X509_NAME* name) {
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return name_line(name);
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

// Chain building at SigningTime goes on past expired or not yet valid
// certificates, recording them, so that "chain" and "validity" are reported
// apart.
struct ChainState {
  std::vector<std::pair<int, int>> time_errors;  // (depth, X509_V_ERR_*)
};

int note_time_errors(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  const int error = X509_STORE_CTX_get_error(ctx);
  if (error != X509_V_ERR_CERT_HAS_EXPIRED && error != X509_V_ERR_CERT_NOT_YET_VALID) return ok;
  if (auto* state = static_cast<ChainState*>(X509_STORE_CTX_get_app_data(ctx)))
    state->time_errors.emplace_back(X509_STORE_CTX_get_error_depth(ctx), error);
  return 1;
}

std::string chain_failure(int error, const X509& signer) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return fmt::format(
          "El certificado del firmante no fue emitido por una autoridad de confianza (emisor: "
          "{}).",
          name_line(X509_get_issuer_name(&signer)));
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "La firma de un certificado de la cadena no es válida.";
    default:
      return fmt::format("La cadena de certificados no es válida: {}.",
                         X509_verify_cert_error_string(error));
  }
}

bool may_sign(const X509& cert) {
  X509* c = const_cast<X509*>(&cert);
  if ((X509_get_extension_flags(c) & EXFLAG_KUSAGE) == 0) return true;
  return (X509_get_key_usage(c) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0;
}

}  // namespace

Result<Verification> verify(std::string_view xml, const VerifyOptions& options) {
  LLAVERO_TRY(xmlsec_ready());
  Verification v;
  auto check = [&v](std::string_view name, bool ok, std::string reason, bool performed = true) {
    v.checks.push_back(Check{std::string(name), ok, std::move(reason), performed});
  };
  auto finish = [&v]() -> Result<Verification> {
    v.valid = !v.checks.empty() &&
              std::all_of(v.checks.begin(), v.checks.end(), [](const Check& c) { return c.ok; });
    return std::move(v);
  };

  // The document and its one signature.
  auto doc = parse_untrusted(xml, options.max_bytes);
  if (!doc) {
    check(kCheckXml, false, doc.error().message);
    return finish();
  }
  check(kCheckXml, true, "El XML está bien formado, sin DTD ni entidades.");
  xmlNode* root = xmlDocGetRootElement(doc->get());
  std::vector<xmlNode*> signatures;
  collect(root, kDsigNs, "Signature", signatures);
  if (signatures.size() != 1) {
    check(
        kCheckSignature, false,
        signatures.empty()
            ? "El documento no está firmado: no tiene ds:Signature."
            : fmt::format("El documento tiene {} firmas ds:Signature; debe tener exactamente una.",
                          signatures.size()));
    return finish();
  }
  xmlNode* signature = signatures.front();
  SignatureParts parts = read_parts(signature);
  parts.key_info_certificates = read_key_info_certificates(
      signature, known_certificates(options.trusted_roots, options.intermediates));
  std::string structure_problem;
  if (signature->parent != root)
    structure_problem = "La firma no está en el elemento raíz del documento (firma envuelta).";
  else if (parts.signed_info == nullptr || child(signature, kDsigNs, "SignatureValue") == nullptr ||
           parts.references.empty())
    structure_problem = "La firma no tiene SignedInfo, referencias y SignatureValue.";
  else if (parts.references.size() > kMaxReferences)
    structure_problem = fmt::format("La firma tiene {} referencias; el máximo es {}.",
                                    parts.references.size(), kMaxReferences);
  // Besides the document itself, a reference may only point inside the
  // signature; those targets are the only IDs xmlsec may resolve.
  for (const Reference& ref : parts.references) {
    if (!structure_problem.empty()) break;
    if (!ref.uri) {
      structure_problem = "Una referencia de la firma no tiene URI.";
    } else if (ref.uri->empty()) {
      continue;
    } else if (ref.uri->front() != '#' || ref.uri->find('(') != std::string::npos) {
      structure_problem = fmt::format(
          "La referencia \"{}\" no está permitida: solo el documento y elementos de la firma.",
          *ref.uri);
    } else {
      bool duplicate = false;
      xmlAttr* target = find_id(signature, std::string_view(*ref.uri).substr(1), duplicate);
      if (target == nullptr)
        structure_problem =
            fmt::format("La referencia \"{}\" no apunta a un elemento de la firma.", *ref.uri);
      else if (duplicate || !register_id(doc->get(), target))
        structure_problem = fmt::format("El identificador \"{}\" está repetido en el documento.",
                                        ref.uri->substr(1));
    }
  }
  if (!structure_problem.empty()) {
    check(kCheckSignature, false, structure_problem);
    return finish();
  }
  check(kCheckSignature, true, "El documento tiene una sola firma, envuelta en el elemento raíz.");

  // What each reference must be.
  const Reference* document_reference = nullptr;
  const Reference* properties_reference = nullptr;
  std::string document_problem, properties_problem;
  int document_count = 0, properties_count = 0;
  for (const Reference& ref : parts.references) {
    if (ref.uri && ref.uri->empty()) {
      ++document_count;
      document_reference = &ref;
    }
    if (ref.type == kSignedPropertiesType) {
      ++properties_count;
      properties_reference = &ref;
    }
  }
  if (document_count != 1) {
    document_problem = document_count == 0
                           ? "La firma no cubre el documento: falta la referencia con URI=\"\"."
                           : "La firma tiene más de una referencia al documento.";
  } else if (document_reference->transforms.empty() ||
             document_reference->transforms.front() != kEnvelopedUri) {
    document_problem = "La referencia al documento no usa la transformación enveloped-signature.";
  } else {
    for (std::size_t i = 1; i < document_reference->transforms.size(); ++i)
      if (!is_c14n(document_reference->transforms[i]))
        document_problem =
            fmt::format("La referencia al documento usa una transformación no permitida ({}).",
                        document_reference->transforms[i]);
  }
  const std::string properties_id =
      parts.signed_properties ? attribute(parts.signed_properties, "Id").value_or("") : "";
  const std::string signature_id = attribute(signature, "Id").value_or("");
  if (parts.signed_properties == nullptr) {
    properties_problem =
        "La firma no tiene propiedades firmadas (xades:SignedProperties): no es XAdES.";
  } else if (properties_count != 1) {
    properties_problem =
        properties_count == 0
            ? fmt::format(
                  "Ninguna referencia de la firma es a las propiedades firmadas (Type=\"{}\").",
                  kSignedPropertiesType)
            : "La firma tiene más de una referencia a propiedades firmadas.";
  } else if (properties_id.empty() || properties_reference->uri != "#" + properties_id) {
    properties_problem =
        "La referencia a las propiedades firmadas no apunta a las xades:SignedProperties de "
        "esta firma.";
  } else if (signature_id.empty() || parts.qualifying_target != "#" + signature_id) {
    properties_problem =
        "Las propiedades de la firma (QualifyingProperties Target) no son de esta firma.";
  } else {
    for (const std::string& t : properties_reference->transforms)
      if (!is_c14n(t))
        properties_problem = fmt::format(
            "La referencia a las propiedades firmadas usa una transformación no permitida ({}).",
            t);
  }

  // The cryptography, with the certificate from KeyInfo.
  const X509* signer = signer_of(parts.key_info_certificates);
  if (signer != nullptr && X509_up_ref(const_cast<X509*>(signer)) == 1)
    v.signer.reset(const_cast<X509*>(signer));
  std::optional<CoreResult> core;
  if (signer != nullptr) {
    auto result = verify_core(parts, *signer);
    if (!result) return result.error();
    core = std::move(*result);
  }
  auto reference_result = [&](const Reference* ref) -> std::optional<bool> {
    if (!core || !core->processed || ref == nullptr) return std::nullopt;
    return core->reference_ok[static_cast<std::size_t>(ref - parts.references.data())];
  };
  const std::string not_computed =
      signer == nullptr ? "No se pudo comprobar: la firma no incluye el certificado del firmante."
      : core && !core->processed ? "No se pudo comprobar: " + core->problem
                                 : "No se pudo comprobar.";

  if (!document_problem.empty()) {
    check(kCheckDocumentReference, false, document_problem);
  } else if (auto ok = reference_result(document_reference)) {
    check(
        kCheckDocumentReference, *ok,
        *ok ? "El documento no cambió desde que fue firmado." : std::string(kModifiedAfterSigning));
  } else {
    check(kCheckDocumentReference, false, not_computed, false);
  }

  if (!properties_problem.empty()) {
    check(kCheckPropertiesReference, false, properties_problem);
  } else if (auto ok = reference_result(properties_reference)) {
    check(kCheckPropertiesReference, *ok,
          *ok ? "Las propiedades firmadas (SignedProperties) no cambiaron desde la firma."
              : fmt::format("{}: las propiedades firmadas (SignedProperties) no coinciden con su "
                            "resumen.",
                            kModifiedAfterSigning));
  } else {
    check(kCheckPropertiesReference, false, not_computed, false);
  }

  if (signer == nullptr) {
    check(kCheckSignatureValue, false,
          "La firma no incluye el certificado del firmante (KeyInfo/X509Data/X509Certificate).");
  } else if (!core->processed) {
    check(kCheckSignatureValue, false, core->problem);
  } else {
    std::string other_reference_failed;
    for (std::size_t i = 0; i < parts.references.size(); ++i) {
      const Reference* ref = &parts.references[i];
      if (ref != document_reference && ref != properties_reference && !core->reference_ok[i])
        other_reference_failed = ref->uri.value_or("");
    }
    const bool main_references_ok = reference_result(document_reference).value_or(false) &&
                                    reference_result(properties_reference).value_or(false);
    if (!other_reference_failed.empty())
      check(kCheckSignatureValue, false,
            fmt::format("{}: la referencia \"{}\" no coincide con su resumen.",
                        kModifiedAfterSigning, other_reference_failed));
    else if (!core->signature_value_ok && !main_references_ok)
      check(kCheckSignatureValue, false,
            "No se comprobó el valor de la firma porque el contenido firmado cambió.", false);
    else
      check(kCheckSignatureValue, core->signature_value_ok,
            core->signature_value_ok
                ? "El valor de la firma corresponde a la llave del certificado del firmante."
                : std::string(kInvalidSignature));
  }

  // The signed properties.
  xmlNode* ssp = child(parts.signed_properties, kXadesNs, "SignedSignatureProperties");
  v.signing_time_text = trimmed(text_of(child(ssp, kXadesNs, "SigningTime")));
  v.signing_time = parse_date_time(v.signing_time_text);
  v.role = trimmed(text_of(descend(ssp, kXadesNs, {"SignerRole", "ClaimedRoles", "ClaimedRole"})));
  std::transform(v.role.begin(), v.role.end(), v.role.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

  const SignaturePolicy& policy = options.policy;
  xmlNode* policy_id = descend(ssp, kXadesNs, {"SignaturePolicyIdentifier", "SignaturePolicyId"});
  if (policy_id == nullptr) {
    check(kCheckPolicy, false,
          "La firma no indica la política de firma (SignaturePolicyIdentifier): no es XAdES-EPES.");
  } else {
    const std::string identifier =
        trimmed(text_of(descend(policy_id, kXadesNs, {"SigPolicyId", "Identifier"})));
    xmlNode* hash = child(policy_id, kXadesNs, "SigPolicyHash");
    const std::string algorithm =
        attribute(child(hash, kDsigNs, "DigestMethod"), "Algorithm").value_or("");
    const std::string value = trimmed(text_of(child(hash, kDsigNs, "DigestValue")));
    if (identifier != policy.identifier)
      check(kCheckPolicy, false,
            fmt::format("La política de firma \"{}\" no es la de Hacienda ({}).", identifier,
                        policy.identifier));
    else if (algorithm != kSha256Uri || value != policy.sha256_base64)
      check(kCheckPolicy, false,
            fmt::format("El hash de la política de firma (SigPolicyHash) no es el de la política "
                        "de Hacienda (SHA-256 {}).",
                        policy.sha256_base64));
    else
      check(kCheckPolicy, true, "La política de firma es la de Hacienda, con su hash SHA-256.");
  }

  if (signer == nullptr) {
    check(kCheckSigningCertificate, false, "La firma no incluye el certificado del firmante.");
  } else {
    auto der = ossl::x509_to_der(*signer);
    if (!der) return der.error();
    const xmlNode* matched = nullptr;
    const auto certs = children(child(ssp, kXadesNs, "SigningCertificate"), kXadesNs, "Cert");
    for (const xmlNode* c : certs) {
      const xmlNode* cert_digest = child(c, kXadesNs, "CertDigest");
      const EVP_MD* md = digest_for(
          attribute(child(cert_digest, kDsigNs, "DigestMethod"), "Algorithm").value_or(""));
      auto value = unbase64(text_of(child(cert_digest, kDsigNs, "DigestValue")));
      if (md != nullptr && value && *value == digest(md, *der)) matched = c;
    }
    if (certs.empty()) {
      check(
          kCheckSigningCertificate, false,
          "Las propiedades firmadas no indican el certificado del firmante (SigningCertificate).");
    } else if (matched == nullptr) {
      check(kCheckSigningCertificate, false,
            "El certificado de KeyInfo no es el de SigningCertificate (CertDigest no coincide).");
    } else {
      const xmlNode* issuer_serial = child(matched, kXadesNs, "IssuerSerial");
      const std::string issuer = text_of(child(issuer_serial, kDsigNs, "X509IssuerName"));
      const std::string serial =
          trimmed(text_of(child(issuer_serial, kDsigNs, "X509SerialNumber")));
      const bool same_issuer =
          dn_parts(issuer) == dn_parts(name_line(X509_get_issuer_name(signer)));
      const bool same_serial = !serial.empty() && serial == serial_decimal(*signer);
      if (issuer_serial == nullptr || !same_issuer || !same_serial)
        check(kCheckSigningCertificate, false,
              "IssuerSerial de SigningCertificate no corresponde al certificado del firmante "
              "(emisor o número de serie).");
      else
        check(
            kCheckSigningCertificate, true,
            "El certificado del firmante es el de SigningCertificate (CertDigest e IssuerSerial).");
    }
  }

  // The chain at SigningTime, validity and revocation.
  if (signer == nullptr) {
    check(kCheckChain, false, "No hay certificado del firmante para validar su cadena.");
    check(kCheckValidity, false, "No hay certificado del firmante para validar su vigencia.");
    check(kCheckRevocation, false, "No hay certificado del firmante para consultar su revocación.",
          false);
    return finish();
  }
  ossl::X509Store store(X509_STORE_new());
  ossl::X509Stack untrusted(sk_X509_new_null());
  ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return ossl::internal_error("almacén de confianza");
  for (const X509* root_cert : options.trusted_roots)
    if (X509_STORE_add_cert(store.get(), const_cast<X509*>(root_cert)) != 1) ossl::last_error();
  // Every intermediate, and every KeyInfo certificate but the signer's own
  // entry. A KeyInfo certificate identical to one of the caller's shares its
  // object, so the signer's entry is told by position, not by pointer.
  for (const X509* c : options.intermediates) ossl::push_shared(untrusted.get(), c);
  const auto signer_entry =
      std::find_if(parts.key_info_certificates.begin(), parts.key_info_certificates.end(),
                   [&](const ossl::X509Ptr& c) { return c.get() == signer; });
  for (auto c = parts.key_info_certificates.begin(); c != parts.key_info_certificates.end(); ++c)
    if (c != signer_entry) ossl::push_shared(untrusted.get(), c->get());
  ChainState state;
  if (X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(signer), untrusted.get()) != 1)
    return ossl::internal_error("validar cadena");
  X509_STORE_CTX_set_app_data(ctx.get(), &state);
  X509_STORE_CTX_set_verify_cb(ctx.get(), note_time_errors);
  if (v.signing_time) X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(*v.signing_time));
  const bool chain_ok = options.trusted_roots.empty() ? false : X509_verify_cert(ctx.get()) == 1;
  const int chain_error = X509_STORE_CTX_get_error(ctx.get());
  ossl::last_error();  // whatever OpenSSL queued is in chain_error
  STACK_OF(X509)* chain = chain_ok ? X509_STORE_CTX_get0_chain(ctx.get()) : nullptr;

  if (options.trusted_roots.empty())
    check(kCheckChain, false, "No hay certificados raíz de confianza configurados.");
  else if (!chain_ok)
    check(kCheckChain, false, chain_failure(chain_error, *signer));
  else if (!may_sign(*signer))
    check(kCheckChain, false,
          "El certificado del firmante no está autorizado para firmar (keyUsage).");
  else
    check(kCheckChain, true,
          fmt::format(
              "El certificado fue emitido por {} y encadena a una raíz de confianza ({}).",
              common_name(X509_get_issuer_name(signer)),
              common_name(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)))));

  const UnixSeconds now = options.now.value_or(now_seconds());
  const auto not_before = asn1_time_seconds(X509_get0_notBefore(signer));
  const auto not_after = asn1_time_seconds(X509_get0_notAfter(signer));
  if (!v.signing_time) {
    check(kCheckValidity, false,
          v.signing_time_text.empty()
              ? "Falta la fecha de la firma (SigningTime) en las propiedades firmadas."
              : fmt::format("La fecha de la firma \"{}\" no es una fecha válida.",
                            v.signing_time_text));
  } else if (*v.signing_time > now + 300) {
    check(kCheckValidity, false,
          fmt::format("La fecha de la firma ({}) está en el futuro.", v.signing_time_text));
  } else if (!not_before || !not_after || *v.signing_time < *not_before) {
    check(kCheckValidity, false,
          fmt::format("El certificado del firmante aún no era válido en la fecha de la firma ({}); "
                      "es válido desde {}.",
                      v.signing_time_text, not_before ? costa_rica_time(*not_before) : "?"));
  } else if (*v.signing_time > *not_after) {
    check(kCheckValidity, false,
          fmt::format("El certificado del firmante estaba vencido en la fecha de la firma ({}); "
                      "venció el {}.",
                      v.signing_time_text, costa_rica_time(*not_after)));
  } else if (auto upper = std::find_if(state.time_errors.begin(), state.time_errors.end(),
                                       [](const auto& e) { return e.first > 0; });
             upper != state.time_errors.end()) {
    check(kCheckValidity, false,
          "Un certificado de la cadena del firmante no era válido en la fecha de la firma.");
  } else {
    check(kCheckValidity, true,
          fmt::format("El certificado estaba vigente en la fecha de la firma ({}).",
                      v.signing_time_text));
  }

  if (chain == nullptr || sk_X509_num(chain) < 2) {
    check(kCheckRevocation, false,
          "No se consultó la revocación porque la cadena de certificados no es válida.", false);
  } else if (!options.revocation) {
    check(kCheckRevocation, !options.require_revocation_answer,
          "No se consultó la revocación: no hay una fuente configurada.", false);
  } else {
    auto answer = options.revocation(*signer, *sk_X509_value(chain, 1));
    if (!answer) return answer.error();
    const std::string from = answer->source.empty() ? "" : fmt::format(" ({})", answer->source);
    const std::string detail = answer->detail.empty() ? "" : ": " + answer->detail;
    switch (answer->status) {
      case RevocationStatus::kGood:
        check(kCheckRevocation, true, "El certificado del firmante no está revocado" + from + ".");
        break;
      case RevocationStatus::kRevoked:
        check(kCheckRevocation, false,
              fmt::format("El certificado del firmante fue revocado el {}{}{}.",
                          costa_rica_time(answer->revoked_at),
                          answer->reason ? fmt::format(" (motivo: {})",
                                                       revocation_reason_label(*answer->reason))
                                         : "",
                          from));
        break;
      case RevocationStatus::kUnknown:
        check(kCheckRevocation, false,
              "El emisor no reconoce el certificado del firmante" + from + detail + ".");
        break;
      case RevocationStatus::kNotChecked:
        check(kCheckRevocation, !options.require_revocation_answer,
              "No se pudo consultar la revocación" + from + detail + ".", false);
        break;
    }
  }
  return finish();
}

}  // namespace llavero::xades
