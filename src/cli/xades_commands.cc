// `llavero firmar` and `llavero verificar`: XAdES-EPES signatures of
// comprobantes from the command line (docs/api.md). The PIN of the .p12 is read
// from stdin or the terminal, never from argv; the signed document is written
// atomically, and only once the signature is made.
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/data_dir.h"
#include "app/extra_roots.h"
#include "cli/commands.h"
#include "cli/prompt.h"
#include "pki/certificate_files.h"
#include "pki/p12.h"
#include "service/revocation_check.h"
#include "util/error_codes.h"
#include "util/files.h"
#include "xades/xades.h"

namespace fs = std::filesystem;

namespace llavero::cli {

using app::DataDir;
using app::default_data_path;
using service::RevocationChecker;

namespace {

constexpr std::size_t kMaxP12Bytes = 1 << 20;

int report(const Error& error) {
  std::cerr << "Error: " << error.message << "\n";
  return 1;
}

Result<std::string> read_file(const fs::path& path, std::size_t limit, std::string_view what) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec)
    return make_error(errc::kEntradaInvalida,
                      fmt::format("No se pudo leer {} {}: {}", what, path.string(), ec.message()));
  if (size > limit)
    return make_error(errc::kEntradaInvalida,
                      fmt::format("{} {} es demasiado grande ({} bytes; máximo {}).", what,
                                  path.string(), size, limit));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in)
    return make_error(errc::kEntradaInvalida, fmt::format("No se pudo leer {} {}: {}", what,
                                                          path.string(), std::strerror(errno)));
  return content.str();
}

struct OpenedP12 {
  ossl::PKey key;
  ossl::X509Ptr certificate;
  std::vector<ossl::X509Ptr> chain;  // issuing CA first, then up to the root
};

// Opens a .p12 (3DES or AES, SHA-1 or SHA-256 MAC) with the PIN. The MAC is
// checked first so that a wrong PIN is told apart from a broken file.
Result<OpenedP12> open_p12(const std::string& file, const fs::path& path, const Pin& pin) {
  const auto* p = reinterpret_cast<const unsigned char*>(file.data());
  ossl::Pkcs12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(file.size())));
  if (!p12) {
    ossl::last_error();
    return make_error(errc::kP12Invalido,
                      fmt::format("{} no es un archivo .p12 válido.", path.string()));
  }
  if (PKCS12_mac_present(p12.get()) &&
      PKCS12_verify_mac(p12.get(), pin.secret().c_str(), static_cast<int>(pin.secret().size())) !=
          1) {
    ossl::last_error();
    return make_error(errc::kPinIncorrecto,
                      "El PIN no corresponde a esta llave criptográfica (.p12). No se firmó nada.");
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* cas = nullptr;
  if (PKCS12_parse(p12.get(), pin.secret().c_str(), &key, &cert, &cas) != 1) {
    ossl::last_error();
    return make_error(errc::kPinIncorrecto,
                      "No se pudo abrir la llave criptográfica con ese PIN. No se firmó nada.");
  }
  OpenedP12 opened{ossl::PKey(key), ossl::X509Ptr(cert), {}};
  ossl::X509Stack owned(cas);
  if (!opened.key || !opened.certificate)
    return make_error(errc::kP12Invalido,
                      fmt::format("{} no tiene una llave y su certificado.", path.string()));
  // The chain in order, whatever order the file keeps it in.
  std::vector<ossl::X509Ptr> rest;
  while (owned && sk_X509_num(owned.get()) > 0) rest.emplace_back(sk_X509_shift(owned.get()));
  const X509* last = opened.certificate.get();
  for (bool found = true; found && !rest.empty();) {
    found = false;
    for (auto it = rest.begin(); it != rest.end(); ++it) {
      if (X509_check_issued(it->get(), const_cast<X509*>(last)) == X509_V_OK &&
          X509_cmp(it->get(), last) != 0) {
        opened.chain.push_back(std::move(*it));
        rest.erase(it);
        last = opened.chain.back().get();
        found = true;
        break;
      }
    }
  }
  return opened;
}

std::string common_name(const X509& cert) {
  char cn[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(&cert), NID_commonName, cn, sizeof cn) < 0)
    return ossl::subject_line(cert);
  return cn;
}

int run_sign(const std::string& p12_path, bool pin_stdin, const std::string& input,
             const std::string& output, const std::string& role_text) {
  for (const auto& [value, option] :
       {std::pair{p12_path, "--p12"}, {input, "--entrada"}, {output, "--salida"}})
    if (value.empty())
      return report(make_error(errc::kOpcionFaltante,
                               fmt::format("Falta la opción obligatoria {}.", option)));
  std::optional<xades::SignerRole> role;
  if (!role_text.empty()) {
    auto parsed = xades::parse_signer_role(role_text);
    if (!parsed) return report(parsed.error());
    role = *parsed;
  }
  auto p12_file = read_file(p12_path, kMaxP12Bytes, "el archivo .p12");
  if (!p12_file) return report(p12_file.error());
  auto xml = read_file(input, xades::kMaxDocumentBytes, "el documento");
  if (!xml) return report(xml.error());

  SecretString typed;
  if (pin_stdin) {
    auto read = read_pin_from_stdin();
    if (!read) return report(read.error());
    typed = std::move(read->pin);
  } else {
    auto asked = ask_existing_pin_on_terminal();
    if (!asked) return report(asked.error());
    typed = std::move(*asked);
  }
  auto pin = Pin::parse(typed.view());
  if (!pin) return report(pin.error());
  auto opened = open_p12(*p12_file, p12_path, *pin);
  if (!opened) return report(opened.error());

  std::vector<const X509*> chain;
  for (const auto& c : opened->chain) chain.push_back(c.get());
  xades::SignOptions options;
  options.role = role;
  auto signed_xml = xades::sign(*xml, *opened->key, *opened->certificate, chain, options);
  if (!signed_xml) return report(signed_xml.error());
  if (Status written = write_file_atomically(output, *signed_xml); !written)
    return report(written.error());
  std::cerr << fmt::format("Documento firmado (XAdES-EPES) por {}, certificado serie {}.\n",
                           common_name(*opened->certificate),
                           ossl::serial_hex(*opened->certificate));
  std::cout << output << "\n";
  return 0;
}

std::string_view check_label(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kLabels[] = {
      {xades::kCheckXml, "XML"},
      {xades::kCheckSignature, "Firma"},
      {xades::kCheckDocumentReference, "Referencia al documento"},
      {xades::kCheckPropertiesReference, "Referencia a las propiedades firmadas"},
      {xades::kCheckOtherReference, "Otra referencia"},
      {xades::kCheckSignatureValue, "Valor de la firma"},
      {xades::kCheckAlgorithms, "Algoritmos"},
      {xades::kCheckPolicy, "Política de firma"},
      {xades::kCheckSigningCertificate, "Certificado del firmante"},
      {xades::kCheckChain, "Cadena de confianza"},
      {xades::kCheckValidity, "Vigencia"},
      {xades::kCheckRevocation, "Revocación"}};
  for (const auto& [tag, label] : kLabels)
    if (tag == name) return label;
  return name;
}

// The trust of `verificar`: the certificates it holds, and the options
// pointing at them.
struct VerifyTrust {
  std::vector<ossl::X509Ptr> certificates;
  std::unique_ptr<DataDir> data;
  std::unique_ptr<RevocationChecker> revocation;
};

// --confianza DIR: every certificate there is an anchor by itself (a leaf or
// an issuing CA is enough when the root is not at hand); revocation is asked
// of each certificate's OCSP responder or CRL.
Status trust_directory(const std::string& dir, VerifyTrust& trust, xades::VerifyOptions& options) {
  auto certs = read_certificate_directory(dir);
  if (!certs) return make_error(certs.error().code, "--confianza: " + certs.error().message);
  trust.certificates = std::move(*certs);
  for (const auto& c : trust.certificates) options.trusted_roots.push_back(c.get());
  options.partial_chain = true;
  trust.revocation = std::make_unique<RevocationChecker>(nullptr);
  return Ok{};
}

// The data directory: its CAs (roots as anchors, the rest as links) and the
// extra roots an operator put in its confianza/ folder, as the reception
// trusts them.
Status trust_data_dir(const std::string& data_flag, VerifyTrust& trust,
                      xades::VerifyOptions& options) {
  const fs::path path = default_data_path(data_flag);
  auto opened = DataDir::open(path);
  if (!opened)
    return make_error(errc::kSinConfianza,
                      fmt::format("No hay con qué certificados de confianza verificar. {} O "
                                  "indique --confianza DIR con los certificados (PEM) de "
                                  "confianza.",
                                  opened.error().message));
  trust.data = std::move(*opened);
  auto authorities = trust.data->store().authorities();
  if (!authorities) return authorities.error();
  for (const AuthorityRecord& a : *authorities) {
    auto cert = ossl::x509_from_der(a.certificate_der);
    if (!cert) return cert.error();
    trust.certificates.push_back(std::move(*cert));
  }
  auto extra = app::extra_trust_roots(trust.data->path());
  if (!extra) return extra.error();
  for (auto& c : *extra) trust.certificates.push_back(std::move(c));
  for (const auto& c : trust.certificates) {
    // Self-signed certificates are the anchors; the rest only link to them.
    const bool root = X509_check_issued(c.get(), c.get()) == X509_V_OK;
    (root ? options.trusted_roots : options.intermediates).push_back(c.get());
  }
  trust.revocation = std::make_unique<RevocationChecker>(&trust.data->store());
  return Ok{};
}

// "✓", "✗", "!" (an advertencia) or "–" (not performed: no source to ask, or
// pointless after an earlier failure).
std::string_view mark(const xades::Check& c) {
  if (!c.performed) return "–";
  if (c.ok) return c.warning ? "!" : "✓";
  return "✗";
}

// "ok", "advertencia" or "error": the severity of a check for programs.
std::string_view severity(const xades::Check& c) {
  if (!c.ok) return "error";
  return c.warning ? "advertencia" : "ok";
}

void print_json(const xades::Verification& v) {
  boost::json::array checks;
  for (const xades::Check& c : v.checks)
    checks.push_back(boost::json::object{{"nombre", c.name},
                                         {"ok", c.ok},
                                         {"severidad", severity(c)},
                                         {"motivo", c.reason},
                                         {"realizada", c.performed}});
  boost::json::array warnings;
  for (const xades::Check* c : v.warnings()) warnings.push_back(boost::json::string(c->reason));
  boost::json::object out;
  out["valida"] = v.valid;
  out["verificaciones"] = std::move(checks);
  out["advertencias"] = std::move(warnings);
  out["firmante"] = v.signer ? boost::json::value(ossl::subject_line(*v.signer)) : nullptr;
  out["fecha_firma"] = v.signing_time_text.empty() ? boost::json::value(nullptr)
                                                   : boost::json::value(v.signing_time_text);
  out["rol"] = v.role.empty() ? boost::json::value(nullptr) : boost::json::value(v.role);
  std::cout << boost::json::serialize(out) << "\n";
}

void print_text(const xades::Verification& v) {
  for (const xades::Check& c : v.checks)
    std::cout << fmt::format("{} {}: {}\n", mark(c), check_label(c.name), c.reason);
  if (v.signer) std::cout << "Firmante: " << ossl::subject_line(*v.signer) << "\n";
  if (!v.signing_time_text.empty())
    std::cout << "Fecha de la firma: " << v.signing_time_text << "\n";
  if (!v.role.empty()) std::cout << "Rol: " << v.role << "\n";
  const std::size_t warnings = v.warnings().size();
  if (!v.valid)
    std::cout << "La firma NO es válida.\n";
  else if (warnings > 0)
    std::cout << fmt::format("La firma es válida, con {} advertencia{} (--estricto las rechaza).\n",
                             warnings, warnings == 1 ? "" : "s");
  else
    std::cout << "La firma es válida.\n";
}

int run_verify(const std::string& data_flag, const std::string& input, const std::string& trust_dir,
               bool strict, bool as_json) {
  if (input.empty())
    return report(make_error(errc::kOpcionFaltante, "Falta la opción obligatoria --entrada."));
  auto xml = read_file(input, xades::kMaxDocumentBytes, "el documento");
  if (!xml) return report(xml.error());

  VerifyTrust trust;
  xades::VerifyOptions options;
  options.strict = strict;
  const Status trusted = trust_dir.empty() ? trust_data_dir(data_flag, trust, options)
                                           : trust_directory(trust_dir, trust, options);
  if (!trusted) return report(trusted.error());
  options.revocation = trust.revocation->callback();

  auto result = xades::verify(*xml, options);
  if (!result) return report(result.error());
  if (as_json)
    print_json(*result);
  else
    print_text(*result);
  return result->valid ? 0 : 1;
}

}  // namespace

std::vector<Command> add_xades_commands(CLI::App& app) {
  struct SignFlags {
    std::string p12, input, output, role;
    bool pin_stdin = false;
  };
  struct VerifyFlags {
    std::string input, trust;
    bool strict = false;
    bool json = false;
  };
  // Owned by the callbacks, which live as long as the app.
  auto sign = std::make_shared<SignFlags>();
  auto check = std::make_shared<VerifyFlags>();

  auto* firmar =
      app.add_subcommand("firmar", "Firma un comprobante XML (XAdES-EPES) con su llave .p12");
  firmar->add_option("--p12", sign->p12, "Archivo .p12 de la llave criptográfica");
  firmar->add_flag("--pin-stdin", sign->pin_stdin,
                   "Lee el PIN de la entrada estándar (si no, lo pregunta en la terminal)");
  firmar->add_option("--entrada", sign->input, "Comprobante XML sin firmar");
  firmar->add_option("--salida", sign->output, "Archivo donde escribir el comprobante firmado");
  firmar->add_option(
      "--rol", sign->role,
      "emisor o receptor (por omisión: receptor para un MensajeReceptor, si no emisor)");

  auto* verificar =
      app.add_subcommand("verificar", "Verifica la firma XAdES-EPES de un comprobante");
  verificar->add_option("--entrada", check->input, "Comprobante XML firmado");
  verificar->add_option("--confianza", check->trust,
                        "Directorio con certificados (PEM o DER) de confianza: cada uno basta por "
                        "sí mismo, raíz, CA emisora o el del firmante (por omisión, las CA de "
                        "este directorio de datos y las de su carpeta confianza/)");
  verificar->add_flag("--estricto", check->strict,
                      "Las advertencias (política de firma ausente o desconocida, RSA-SHA1) "
                      "cuentan como fallas");
  verificar->add_flag("--json", check->json, "Salida JSON para programas");

  return {Command{firmar,
                  [sign](const std::string&) {
                    return run_sign(sign->p12, sign->pin_stdin, sign->input, sign->output,
                                    sign->role);
                  }},
          Command{verificar, [check](const std::string& data_flag) {
                    return run_verify(data_flag, check->input, check->trust, check->strict,
                                      check->json);
                  }}};
}

}  // namespace llavero::cli
