#include "service/supervision.h"

#include <fmt/format.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/json.hpp>

#include "pki/openssl.h"
#include "store/stored_names.h"
#include "xades/dates.h"

namespace llavero::service {

namespace {

using namespace llavero::ossl;  // NOLINT: the OpenSSL handle wrappers

constexpr int kSearchLimit = 50;
constexpr std::int64_t kComprobantesShown = 50;

std::string days_text(UnixSeconds seconds) {
  if (seconds < 2 * 86400) return fmt::format("{} horas", seconds / 3600);
  return fmt::format("{} días", seconds / 86400);
}

// The number of a DER CRL, absent if it has none or does not parse.
std::optional<std::int64_t> crl_number(const Bytes& der) {
  const unsigned char* p = der.data();
  X509Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) return std::nullopt;
  Asn1Integer number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  if (!number) return std::nullopt;
  return ASN1_INTEGER_get(number.get());
}

// "2026-12-02" at 00:00 UTC, as the audit's stored times begin.
bool row_in_range(const AuditRow& row, const AuditFilter& f) {
  auto at = parse_utc(row.at);
  if (!at) return !f.from && !f.to;
  if (f.from && *at < *f.from) return false;
  if (f.to && *at >= *f.to + 86400) return false;
  return true;
}

std::string csv_field(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::vector<TaxpayerRecord>> Supervision::find_taxpayers(const std::string& text) {
  // An identification is matched by its digits, however it was typed.
  std::string digits;
  for (char c : text)
    if (c >= '0' && c <= '9') digits += c;
  const bool is_number =
      !digits.empty() && text.find_first_not_of("0123456789- ") == std::string::npos;
  return store_.search_taxpayers(is_number ? digits : text, kSearchLimit);
}

Result<TaxpayerPicture> Supervision::taxpayer(const std::string& identification) {
  TaxpayerPicture out;
  auto t = keys_.find_taxpayer(identification);
  if (!t) return t.error();
  out.taxpayer = *t;
  auto keys = keys_.status(t->identification, std::nullopt);
  if (!keys) return keys.error();
  out.keys = std::move(*keys);
  auto waits = accounts_.portal_waits(t->identification);
  if (!waits) return waits.error();
  out.lock_waits = std::move(*waits);
  auto hash = store_.password_hash(t->id);
  if (!hash) return hash.error();
  out.has_portal_password = hash->has_value();
  for (Environment env : kAllEnvironments) {
    auto user = accounts_.api_user(t->identification, env);
    if (!user) return user.error();
    if (*user) out.api_users.emplace_back(env, **user);
    ComprobanteQuery query{
        env, t->identification, t->identification, std::nullopt, 0, kComprobantesShown, true};
    auto page = store_.list_comprobantes(query);
    if (!page) return page.error();
    for (ComprobanteRecord& c : page->items) {
      auto attempts = store_.callback_attempts(c.clave);
      if (!attempts) return attempts.error();
      out.comprobantes.push_back(ReceivedComprobante{std::move(c), std::move(*attempts)});
    }
  }
  std::stable_sort(out.comprobantes.begin(), out.comprobantes.end(),
                   [](const ReceivedComprobante& a, const ReceivedComprobante& b) {
                     return a.record.received_at > b.record.received_at;
                   });
  return out;
}

Result<AuditPage> Supervision::audit(const AuditFilter& filter) {
  auto log = store_.audit_log();
  if (!log) return log.error();
  AuditPage page;
  page.verification = verify_audit_chain(*log);
  page.total_rows = static_cast<std::int64_t>(log->rows.size());
  for (AuditRow& row : log->rows) {
    if (!filter.actor.empty() && row.actor != filter.actor) continue;
    if (!filter.action.empty() && row.action != filter.action) continue;
    if (!filter.subject.empty() && row.subject.find(filter.subject) == std::string::npos) continue;
    if (!row_in_range(row, filter)) continue;
    page.rows.push_back(std::move(row));
  }
  return page;
}

Result<std::vector<AuthorityState>> Supervision::authorities(UnixSeconds now) {
  auto list = store_.authorities();
  if (!list) return list.error();
  auto counts = store_.authority_counts();
  if (!counts) return counts.error();
  std::vector<AuthorityState> out;
  for (AuthorityRecord& a : *list) {
    AuthorityState s;
    auto cert = x509_from_der(a.certificate_der);
    if (!cert) return cert.error();
    s.not_before = xades::asn1_time_seconds(X509_get0_notBefore(cert->get())).value_or(0);
    s.not_after = xades::asn1_time_seconds(X509_get0_notAfter(cert->get())).value_or(0);
    for (const AuthorityCounts& c : *counts)
      if (c.authority_id == a.id) {
        s.issued = c.issued;
        s.revoked = c.revoked;
      }
    if (s.not_after <= now)
      s.warnings.push_back("El certificado de la CA venció.");
    else if (s.not_after - now < kAuthorityWarning)
      s.warnings.push_back(
          fmt::format("El certificado de la CA vence en {}.", days_text(s.not_after - now)));
    if (a.kind != CaKind::kRoot) {
      auto responder = store_.current_responder(a.id, now);
      if (!responder) return responder.error();
      if (*responder) s.responder_not_after = (*responder)->not_after;
      if (!s.responder_not_after)
        s.warnings.push_back("No hay un certificado de respondedor OCSP vigente.");
      else if (*s.responder_not_after - now < kResponderWarning)
        s.warnings.push_back(fmt::format("El certificado del respondedor OCSP vence en {}.",
                                         days_text(*s.responder_not_after - now)));
      if (publisher_ != nullptr) {
        auto crl = publisher_->crl(a.environment, a.kind);
        if (crl) {
          s.crl_number = crl_number(**crl);
          s.crl_next_update = publisher_->crl_next_update(a.environment, a.kind);
          if (*s.crl_next_update - now < kCrlWarning)
            s.warnings.push_back("La CRL vence en menos de 36 horas y no se ha renovado.");
        } else {
          s.warnings.push_back("La CRL no se pudo construir: " + crl.error().message);
        }
      }
    }
    s.authority = std::move(a);
    out.push_back(std::move(s));
  }
  return out;
}

std::string audit_csv(const AuditPage& page) {
  std::string out = "seq,fecha,actor,accion,sujeto,detalle,hash_anterior,hash\n";
  for (const AuditRow& r : page.rows)
    out += fmt::format("{},{},{},{},{},{},{},{}\n", r.seq, csv_field(r.at), csv_field(r.actor),
                       csv_field(r.action), csv_field(r.subject), csv_field(r.detail), r.prev_hash,
                       r.hash);
  out += fmt::format("# cabeza,{},{}\n", page.verification.rows, page.verification.head_hash);
  return out;
}

std::string audit_json(const AuditPage& page, const AuditFilter& filter) {
  boost::json::array rows;
  for (const AuditRow& r : page.rows)
    rows.push_back(boost::json::object{{"seq", r.seq},
                                       {"fecha", r.at},
                                       {"actor", r.actor},
                                       {"accion", r.action},
                                       {"sujeto", r.subject},
                                       {"detalle", r.detail},
                                       {"hash_anterior", r.prev_hash},
                                       {"hash", r.hash}});
  boost::json::object filters{
      {"actor", filter.actor}, {"accion", filter.action}, {"sujeto", filter.subject}};
  if (filter.from) filters["desde"] = format_utc(*filter.from).substr(0, 10);
  if (filter.to) filters["hasta"] = format_utc(*filter.to).substr(0, 10);
  boost::json::object out{
      {"filtro", filters},
      {"filas", rows},
      {"cadena", boost::json::object{{"filas", page.verification.rows},
                                     {"integra", !page.verification.first_bad_seq.has_value()},
                                     {"hash_cabeza", page.verification.head_hash}}}};
  return boost::json::serialize(out) + "\n";
}

}  // namespace llavero::service
