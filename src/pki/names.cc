#include "pki/names.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero {

CaKind issuing_ca_for(IdType type) {
  return type == IdType::kJuridica ? CaKind::kPersonaJuridica : CaKind::kPersonaFisica;
}

namespace {

Status add_entry(X509_NAME* name, const char* field, int type, std::string_view value) {
  if (X509_NAME_add_entry_by_txt(name, field, type,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1)
    return make_error(errc::kNombreInvalido,
                      fmt::format("No se pudo codificar {}=\"{}\" en el certificado: {}", field,
                                  value, ossl::last_error()));
  return Ok{};
}

}  // namespace

Result<ossl::X509Name> ca_subject(const CaNaming& naming, Environment env, CaKind kind,
                                  int generation) {
  const bool sandbox = env == Environment::kPruebas;
  const std::string suffix = sandbox ? naming.sandbox_suffix : "";
  std::string cn;
  switch (kind) {
    case CaKind::kRoot: cn = naming.root_cn; break;
    case CaKind::kPersonaFisica: cn = naming.persona_fisica_cn; break;
    case CaKind::kPersonaJuridica: cn = naming.persona_juridica_cn; break;
  }
  if (generation > 1) cn += fmt::format(" G{}", generation);
  ossl::X509Name name(X509_NAME_new());
  if (!name) return ossl::internal_error("X509_NAME_new");
  LLAVERO_TRY(add_entry(name.get(), "C", V_ASN1_PRINTABLESTRING, naming.country));
  LLAVERO_TRY(add_entry(name.get(), "O", MBSTRING_UTF8, naming.organization + suffix));
  LLAVERO_TRY(add_entry(name.get(), "OU", MBSTRING_UTF8, naming.organizational_unit));
  LLAVERO_TRY(add_entry(name.get(), "CN", MBSTRING_UTF8, cn + suffix));
  return name;
}

std::string taxpayer_common_name(const TaxpayerSubject& subject) {
  if (subject.id.type() == IdType::kJuridica || subject.apellidos.empty()) return subject.nombre;
  return subject.nombre + " " + subject.apellidos;
}

Result<ossl::X509Name> taxpayer_subject(const TaxpayerSubject& subject) {
  ossl::X509Name name(X509_NAME_new());
  if (!name) return ossl::internal_error("X509_NAME_new");
  X509_NAME* n = name.get();
  // MBSTRING_UTF8 makes OpenSSL write a UTF8String; an explicit
  // V_ASN1_PRINTABLESTRING type writes the bytes as they are.
  LLAVERO_TRY(
      add_entry(n, "serialNumber", V_ASN1_PRINTABLESTRING, subject.id.certificate_serial_number()));
  const bool juridica = subject.id.type() == IdType::kJuridica;
  if (!juridica) {
    LLAVERO_TRY(add_entry(n, "SN", MBSTRING_UTF8, subject.apellidos));
    LLAVERO_TRY(add_entry(n, "GN", MBSTRING_UTF8, subject.nombre));
  }
  LLAVERO_TRY(add_entry(n, "C", V_ASN1_PRINTABLESTRING, "CR"));
  LLAVERO_TRY(add_entry(n, "O", MBSTRING_UTF8, juridica ? "PERSONA JURIDICA" : "PERSONA FISICA"));
  LLAVERO_TRY(add_entry(n, "OU", MBSTRING_UTF8, subject.id.organizational_unit()));
  LLAVERO_TRY(add_entry(n, "CN", MBSTRING_UTF8, taxpayer_common_name(subject)));
  return name;
}

namespace {
// "pf", or "pf-g2" for a later generation.
std::string generation_name(CaKind kind, int generation) {
  if (generation <= 1) return std::string(ca_kind_name(kind));
  return fmt::format("{}-g{}", ca_kind_name(kind), generation);
}
}  // namespace

std::string ca_certificate_path(Environment env, CaKind kind, int generation) {
  if (kind == CaKind::kRoot) return fmt::format("/{}/root-pem.crt", environment_short(env));
  return fmt::format("/{}/intermediate-{}-pem.crt", environment_short(env),
                     generation_name(kind, generation));
}

std::string crl_path(Environment env, CaKind kind, int generation) {
  if (kind == CaKind::kRoot) return fmt::format("/{}/root.crl", environment_short(env));
  return fmt::format("/{}/intermediate-{}.crl", environment_short(env),
                     generation_name(kind, generation));
}

std::string ocsp_path(Environment env, CaKind kind, int generation) {
  return fmt::format("/{}/ocsp/{}", environment_short(env), generation_name(kind, generation));
}

PublicationUrls publication_urls(std::string_view base_url, Environment env, CaKind kind,
                                 int generation) {
  std::string base(base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return {base + ca_certificate_path(env, kind, generation), base + crl_path(env, kind, generation),
          base + ocsp_path(env, kind, generation)};
}

}  // namespace llavero
