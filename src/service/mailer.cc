#include "service/mailer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "service/outgoing.h"
#include "service/pdf_invoice.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "xades/xades.h"
#include "xml/document.h"

namespace llavero::service {

namespace {

// Who the signed XML names, read with the one safe parser: what was signed
// decides where the correo goes, nothing typed afterwards.
struct Parties {
  std::string emisor_nombre, emisor_id, emisor_correo, receptor_nombre, receptor_correo;
};

Result<Parties> parties_of(const EmittedRecord& r) {
  auto parsed =
      xml::parse(std::string_view(reinterpret_cast<const char*>(r.xml.data()), r.xml.size()),
                 xades::kMaxDocumentBytes);
  if (!parsed) return parsed.error();
  const xmlNode* root = xmlDocGetRootElement(parsed->get());
  auto at = [root](std::string_view path) {
    return xml::trimmed(xml::text(xml::find_path(root, path)));
  };
  return Parties{at("Emisor/Nombre"), at("Emisor/Identificacion/Numero"),
                 at("Emisor/CorreoElectronico"), at("Receptor/Nombre"),
                 at("Receptor/CorreoElectronico")};
}

}  // namespace

ComprobanteMailer::ComprobanteMailer(Store& store, const Config& config, EmissionService& emission,
                                     SecretString smtp_password)
    : store_(store),
      config_(config),
      emission_(emission),
      smtp_(config.mail, std::move(smtp_password)) {}

Result<MailMessage> ComprobanteMailer::message(const EmittedDocument& doc) {
  const EmittedRecord& r = doc.record;
  auto parties = parties_of(r);
  if (!parties) return parties.error();
  auto pdf = invoice_pdf(doc);
  if (!pdf) return pdf.error();
  const bool pruebas = r.environment == Environment::kPruebas;
  const std::string kind(document_kind_label(r.tipo));
  MailMessage m;
  m.from_name = parties->emisor_nombre;
  m.to = parties->receptor_correo;
  m.reply_to = parties->emisor_correo;
  m.subject = fmt::format("{}{} {} de {}", pruebas ? "[PRUEBAS] " : "", kind, r.consecutivo,
                          parties->emisor_nombre);
  m.body = fmt::format(
      "{}:\n\n"
      "{}, identificación {}, le envía su {} número {}, que el Ministerio de Hacienda aceptó.\n\n"
      "Clave: {}\n"
      "Fecha: {}\n"
      "Total: {} {}\n\n"
      "Van adjuntos:\n"
      "- {}.xml: el comprobante electrónico firmado;\n"
      "- {}-respuesta.xml: la respuesta de Hacienda (MensajeHacienda);\n"
      "- {}.pdf: la representación gráfica.\n\n"
      "{}"
      "Este correo lo envió la Herramienta Gratuita de Hacienda por encargo del emisor. Si "
      "responde, su respuesta le llega a {}.\n",
      parties->receptor_nombre.empty() ? "Estimado cliente" : parties->receptor_nombre,
      parties->emisor_nombre, parties->emisor_id, kind, r.consecutivo, r.clave,
      format_costa_rica(r.created_at), r.total, r.moneda, r.clave, r.clave, r.clave,
      pruebas ? "Es un comprobante del ambiente de pruebas: no tiene validez tributaria.\n\n" : "",
      parties->emisor_correo);
  m.attachments = {
      MailAttachment{r.clave + ".xml", "application/xml", std::string(r.xml.begin(), r.xml.end())},
      MailAttachment{r.clave + "-respuesta.xml", "application/xml",
                     std::string(doc.mensaje_hacienda.begin(), doc.mensaje_hacienda.end())},
      MailAttachment{r.clave + ".pdf", "application/pdf", std::move(*pdf)},
  };
  return m;
}

Result<int> ComprobanteMailer::deliver_due() {
  std::unique_lock lock(busy_, std::try_to_lock);
  if (!lock) return 0;
  // Claimed for as long as their SMTP sessions may take (service/outgoing.h).
  constexpr int kBatch = 5;
  const UnixSeconds now = now_seconds();
  auto due = store_.claim_mails(
      now, now + kBatch * static_cast<UnixSeconds>(config_.mail.timeout_seconds) + kLeaseMargin,
      kBatch);
  if (!due) return due.error();
  int attempts = 0;
  for (const MailRecord& mail : *due) {
    auto doc = emission_.document(mail.clave);
    if (!doc) return doc.error();
    // Settled without an attempt: nothing to send, or nowhere to send it.
    auto skip = [&](std::string_view why) {
      spdlog::info("herramienta: correo de {} no enviado: {}", mail.clave, why);
      return store_.record_mail(mail.clave, std::nullopt, MailState::kOmitido, mail.round_attempts,
                                0);
    };
    if (!*doc || (*doc)->state != ComprobanteState::kAceptado) {
      LLAVERO_TRY(skip("el comprobante no está aceptado"));
      continue;
    }
    if (!smtp_.configured()) {
      LLAVERO_TRY(skip("no hay servidor SMTP configurado"));
      continue;
    }
    auto message = this->message(**doc);
    if (message && message->to.empty()) {
      LLAVERO_TRY(skip("el receptor no tiene correo"));
      continue;
    }
    const SendOutcome sent =
        message ? smtp_.send(*message) : SendOutcome{false, message.error().message};
    ++attempts;
    auto previous = store_.mail_attempts(mail.clave);
    if (!previous) return previous.error();
    const MailAttempt attempt{static_cast<int>(previous->size()) + 1, now_seconds(),
                              message ? message->to : "", sent.delivered, sent.error};
    const int round = mail.round_attempts + 1;
    MailState state = MailState::kPendiente;
    UnixSeconds next = 0;
    if (sent.delivered) {
      state = MailState::kEntregado;
    } else if (auto retry = next_retry(round, config_.mail.attempts, config_.mail.delay_seconds,
                                       attempt.at)) {
      next = *retry;  // 60 s, 120 s, 240 s, … by default
    } else {
      state = MailState::kAbandonado;
    }
    spdlog::info("herramienta: correo de {} intento {}: {}{}", mail.clave, attempt.number,
                 sent.delivered ? "entregado" : sent.error,
                 state == MailState::kAbandonado ? " (abandonado)" : "");
    LLAVERO_TRY(store_.record_mail(mail.clave, attempt, state, round, next));
  }
  return attempts;
}

Result<MailStatus> ComprobanteMailer::status(const EmittedDocument& doc) {
  MailStatus s;
  s.configured = smtp_.configured();
  auto parties = parties_of(doc.record);
  if (!parties) return parties.error();
  s.to = parties->receptor_correo;
  auto mail = store_.find_mail(doc.record.clave);
  if (!mail) return mail.error();
  s.mail = std::move(*mail);
  auto attempts = store_.mail_attempts(doc.record.clave);
  if (!attempts) return attempts.error();
  s.attempts = std::move(*attempts);
  if (!s.configured)
    s.cannot_send = "El envío por correo no está configurado en este servidor.";
  else if (s.to.empty())
    s.cannot_send = "El comprobante no tiene correo del receptor: no hay a quién enviarlo.";
  else if (doc.state != ComprobanteState::kAceptado)
    s.cannot_send = "Solo se envía al receptor un comprobante aceptado por Hacienda.";
  else if (s.mail && s.mail->state == MailState::kPendiente)
    s.cannot_send = "El envío ya está en curso.";
  return s;
}

Status ComprobanteMailer::send_again(const TaxpayerRecord& emisor, const std::string& clave,
                                     const std::string& actor) {
  auto doc = emission_.document(emisor, clave);
  if (!doc) return doc.error();
  if (!*doc) return make_error(errc::kCorreoNoDisponible, "No existe ese comprobante.");
  auto s = status(**doc);
  if (!s) return s.error();
  if (!s->cannot_send.empty()) return make_error(errc::kCorreoNoDisponible, s->cannot_send);
  return store_.request_mail(
      clave, now_seconds(),
      AuditEvent{actor, "herramienta.reenviar_correo", emisor.identification,
                 fmt::format("ambiente={} clave={}", environment_name((*doc)->record.environment),
                             clave)});
}

}  // namespace llavero::service
