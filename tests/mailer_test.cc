// The correo to the receptor (service/mailer.h, docs/herramienta.md): an
// SMTP sink on loopback, started by each test, stands for the server. Once
// an emitted factura is aceptado exactly one message goes to the receptor's
// correo with the stored XML, the MensajeHacienda and a PDF; a server that
// answers 4xx or 5xx or is down gets the attempts stored with its error,
// retried, then given up, and the page shows them; nothing is sent without a
// server, for a rechazado comprobante or without a receptor correo; TLS
// required refuses a server without STARTTLS; the SMTP password reaches the
// server and never the log or the store; and the comprobante's page shows
// the attempts and sends again once per form.
#include "service/mailer.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "portal/portal.h"
#include "portal_browser.h"
#include "service/downloads.h"
#include "tool_fixture.h"
#include "util/base64.h"
#include "util/error_codes.h"
#include "xades/xades.h"
#include "xml/document.h"

namespace llavero {

using namespace llavero::service;
namespace {

constexpr const char* kReceptorCorreo = "cuentas@empresa-pena.example";
constexpr const char* kSmtpPassword = "Clave-SMTP-secreta-42";

// --- the SMTP sink -----------------------------------------------------------------

// A small SMTP server on 127.0.0.1: EHLO/HELO, AUTH PLAIN (when offered),
// MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps each accepted message raw
// (dot-stuffing undone) and what AUTH carried. `fail_at` ("MAIL", "RCPT",
// "DATA" or "." for the end of the data) answers `reply` there instead.
class SmtpSink {
 public:
  struct Message {
    std::string from;
    std::vector<std::string> to;
    std::string data;
  };

  explicit SmtpSink(std::string fail_at = "", std::string reply = "", bool offer_auth = false)
      : fail_at_(std::move(fail_at)), reply_(std::move(reply)), offer_auth_(offer_auth) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 8), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~SmtpSink() {
    stop_ = true;
    thread_.join();
    close(listener_);
  }

  unsigned short port() const { return port_; }
  std::string url() const { return fmt::format("smtp://127.0.0.1:{}", port_); }
  std::vector<Message> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  int connections() {
    std::lock_guard lock(mu_);
    return connections_;
  }
  std::string auth() {
    std::lock_guard lock(mu_);
    return auth_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval timeout{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      {
        std::lock_guard lock(mu_);
        ++connections_;
      }
      serve(fd);
      close(fd);
    }
  }

  void say(int fd, const std::string& line) {
    const std::string out = line + "\r\n";
    (void)!write(fd, out.data(), out.size());
  }

  // One line without its CRLF; false when the client went away.
  bool read_line(int fd, std::string& buffer, std::string& line) {
    for (;;) {
      const auto eol = buffer.find("\r\n");
      if (eol != std::string::npos) {
        line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        return true;
      }
      char chunk[4096];
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void serve(int fd) {
    std::string buffer, line;
    Message current;
    auto answer = [&](const std::string& stage, const std::string& ok) {
      say(fd, fail_at_ == stage ? reply_ : ok);
      return fail_at_ != stage;
    };
    say(fd, "220 sumidero.prueba ESMTP");
    while (read_line(fd, buffer, line)) {
      std::string verb = line.substr(0, line.find(' '));
      for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (verb == "EHLO") {
        say(fd, "250-sumidero.prueba");
        if (offer_auth_) say(fd, "250-AUTH PLAIN");
        say(fd, "250 8BITMIME");
      } else if (verb == "HELO") {
        say(fd, "250 sumidero.prueba");
      } else if (verb == "AUTH") {
        std::string carried = line.size() > 11 ? line.substr(11) : "";
        if (carried.empty()) {
          say(fd, "334 ");
          if (!read_line(fd, buffer, carried)) return;
        }
        {
          std::lock_guard lock(mu_);
          auth_ += carried;
        }
        say(fd, "235 2.7.0 Autenticado");
      } else if (verb == "MAIL") {
        current = Message{line.substr(line.find(':') + 1), {}, ""};
        answer("MAIL", "250 2.1.0 Ok");
      } else if (verb == "RCPT") {
        if (answer("RCPT", "250 2.1.5 Ok")) current.to.push_back(line.substr(line.find(':') + 1));
      } else if (verb == "DATA") {
        if (!answer("DATA", "354 Termine con <CRLF>.<CRLF>")) continue;
        std::string data;
        while (read_line(fd, buffer, line) && line != ".")
          data += (line.starts_with("..") ? line.substr(1) : line) + "\r\n";
        current.data = data;
        if (answer(".", "250 2.0.0 Aceptado")) {
          std::lock_guard lock(mu_);
          messages_.push_back(current);
        }
      } else if (verb == "QUIT") {
        say(fd, "221 2.0.0 Adiós");
        return;
      } else if (verb == "RSET" || verb == "NOOP") {
        say(fd, "250 2.0.0 Ok");
      } else {
        say(fd, "502 5.5.2 No implementado");
      }
    }
  }

  std::string fail_at_, reply_;
  bool offer_auth_;
  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Message> messages_;
  int connections_ = 0;
  std::string auth_;
};

// A port on loopback where nothing listens.
unsigned short closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// --- reading the message back --------------------------------------------------------

struct Part {
  std::string headers, body;
};

// The headers and body of a MIME entity ("\r\n\r\n" between them).
Part split_entity(const std::string& text) {
  const auto gap = text.find("\r\n\r\n");
  if (gap == std::string::npos) return {text, ""};
  return {text.substr(0, gap), text.substr(gap + 4)};
}

std::string header(const std::string& headers, const std::string& name) {
  std::smatch m;
  const std::regex re("(^|\r\n)" + name + ": ([^\r\n]*)", std::regex::icase);
  return std::regex_search(headers, m, re) ? m[2].str() : std::string();
}

// A header's encoded-words (=?UTF-8?B?…?=) decoded; plain text as it is.
std::string decode_words(const std::string& value) {
  const std::regex word("=\\?UTF-8\\?B\\?([^?]*)\\?=", std::regex::icase);
  if (!std::regex_search(value, word)) return value;
  std::string out;
  for (auto it = std::sregex_iterator(value.begin(), value.end(), word);
       it != std::sregex_iterator(); ++it)
    out += base64_decode_to_string((*it)[1].str()).value_or("?");
  return out;
}

std::string quoted_printable(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=' && i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') {
      i += 2;
    } else if (text[i] == '=' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The parts of a multipart message: the text, and each attachment by name.
struct ReadMessage {
  std::string subject, to, text;
  std::map<std::string, std::string> attachments;  // filename → decoded bytes
  std::map<std::string, std::string> types;        // filename → Content-Type
};

ReadMessage read_message(const std::string& raw) {
  ReadMessage out;
  const Part top = split_entity(raw);
  out.subject = decode_words(header(top.headers, "Subject"));
  out.to = header(top.headers, "To");
  std::smatch m;
  const std::string type = header(top.headers, "Content-Type");
  EXPECT_TRUE(type.starts_with("multipart/mixed")) << type;
  if (!std::regex_search(type, m, std::regex("boundary=\"?([^\";]+)\"?"))) return out;
  const std::string boundary = "--" + m[1].str();
  std::size_t at = top.body.find(boundary);
  while (at != std::string::npos) {
    const std::size_t start = at + boundary.size();
    if (top.body.compare(start, 2, "--") == 0) break;
    const std::size_t end = top.body.find("\r\n" + boundary, start);
    if (end == std::string::npos) break;
    const Part part = split_entity(top.body.substr(start + 2, end - start - 2));
    const std::string encoding = header(part.headers, "Content-Transfer-Encoding");
    std::smatch name;
    const std::string disposition = header(part.headers, "Content-Disposition");
    if (std::regex_search(disposition, name, std::regex("filename=\"([^\"]+)\""))) {
      EXPECT_EQ(encoding, "base64");
      out.attachments[name[1].str()] =
          base64_decode_to_string(
              part.body, Base64Format{Base64Alphabet::kStandard, Base64Padding::kRequired, true})
              .value_or("<no es base64>");
      out.types[name[1].str()] = header(part.headers, "Content-Type");
    } else {
      out.text = encoding == "quoted-printable" ? quoted_printable(part.body) : part.body;
    }
    at = end + 2;
  }
  return out;
}

// --- the Herramienta with its mailer ----------------------------------------------

struct Mailing : testing::Tool {
  std::unique_ptr<ComprobanteMailer> mailer;

  // `url` empty: no SMTP server configured.
  explicit Mailing(const std::string& url, SecretString password = {},
                   testing::Backend backend = testing::Backend::kSqlite)
      : testing::Tool(true, backend) {
    inst->config.mail.smtp_url = url;
    inst->config.mail.from = "facturas@llavero.example";
    inst->config.mail.tls_required = false;  // the sink speaks plain SMTP
    inst->config.mail.delay_seconds = 0;     // retries are due at once
    inst->config.mail.attempts = 2;
    inst->config.mail.timeout_seconds = 5;
    mailer = std::make_unique<ComprobanteMailer>(*inst->store, inst->config, emission,
                                                 std::move(password));
  }

  // Emits a factura to kReceptorCorreo (or `correo`) and has Hacienda decide it.
  std::string emit_decided(const std::string& correo = kReceptorCorreo) {
    EmissionInput in = testing::factura();
    in.receptor_correo = correo;
    auto out = emit(in);
    EXPECT_TRUE(out.ok()) << (out ? "" : out.error().message);
    if (!out) return "";
    process_all();
    return out->record.clave;
  }
  EmittedDocument document(const std::string& clave) {
    auto d = emission.document(clave);
    EXPECT_TRUE(d.ok() && *d);
    return **d;
  }
  MailStatus status(const std::string& clave) {
    auto s = mailer->status(document(clave));
    EXPECT_TRUE(s.ok()) << (s ? "" : s.error().message);
    return *s;
  }
  int deliver() {
    auto n = mailer->deliver_due();
    EXPECT_TRUE(n.ok()) << (n ? "" : n.error().message);
    return n ? *n : -1;
  }
  std::int64_t rows(const std::string& table) {
    return testing::sql_count(*inst, "SELECT count(*) FROM " + table);
  }
};

// The mailer's tests run on both stores; MailerFile reads SQLite's file.
class Mailer : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(Mailer);

std::string xml_of(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST_P(Mailer, AnAceptadoFacturaGoesOnceToTheReceptorWithItsThreeFiles) {
  SmtpSink sink;
  Mailing m(sink.url(), {}, backend());
  const std::string clave = m.emit_decided();
  const EmittedDocument doc = m.document(clave);
  ASSERT_EQ(doc.state, ComprobanteState::kAceptado);
  EXPECT_EQ(m.deliver(), 1);
  EXPECT_EQ(m.deliver(), 0);  // delivered: not sent again

  const auto messages = sink.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].from, "<facturas@llavero.example>");
  ASSERT_EQ(messages[0].to.size(), 1u);
  EXPECT_EQ(messages[0].to[0], fmt::format("<{}>", kReceptorCorreo));
  const ReadMessage read = read_message(messages[0].data);
  EXPECT_EQ(read.to, fmt::format("<{}>", kReceptorCorreo));
  // Subject and body name the comprobante: kind, consecutivo, emisor.
  auto parsed = xml::parse(xml_of(doc.record.xml), xades::kMaxDocumentBytes);
  ASSERT_TRUE(parsed.ok());
  const std::string emisor =
      xml::trimmed(xml::text(xml::find_path(xmlDocGetRootElement(parsed->get()), "Emisor/Nombre")));
  ASSERT_FALSE(emisor.empty());
  EXPECT_EQ(read.subject,
            fmt::format("[PRUEBAS] Factura electrónica {} de {}", doc.record.consecutivo, emisor));
  EXPECT_NE(read.text.find(doc.record.consecutivo), std::string::npos) << read.text;
  EXPECT_NE(read.text.find(clave), std::string::npos) << read.text;
  EXPECT_NE(read.text.find("EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA"), std::string::npos)
      << read.text;
  // Exactly the three files, byte for byte what is stored.
  ASSERT_EQ(read.attachments.size(), 3u);
  EXPECT_EQ(read.attachments.at(clave + ".xml"), xml_of(doc.record.xml));
  ASSERT_FALSE(doc.mensaje_hacienda.empty());
  EXPECT_EQ(read.attachments.at(clave + "-respuesta.xml"), xml_of(doc.mensaje_hacienda));
  EXPECT_NE(read.attachments.at(clave + "-respuesta.xml").find("MensajeHacienda"),
            std::string::npos);
  EXPECT_TRUE(read.attachments.at(clave + ".pdf").starts_with("%PDF-"));
  EXPECT_EQ(read.types.at(clave + ".pdf"), "application/pdf");

  const MailStatus s = m.status(clave);
  ASSERT_TRUE(s.mail);
  EXPECT_EQ(s.mail->state, MailState::kEntregado);
  ASSERT_EQ(s.attempts.size(), 1u);
  EXPECT_TRUE(s.attempts[0].delivered);
  EXPECT_EQ(s.attempts[0].to, kReceptorCorreo);
  EXPECT_EQ(s.cannot_send, "");  // "Enviar de nuevo" may be used
}

// Drives a failing server to the end: the first attempt and two retries,
// each stored with `expected` in its error, then given up.
void expect_retried_then_given_up(Mailing& m, const std::string& clave,
                                  const std::string& expected) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(m.deliver(), 1) << i;
  EXPECT_EQ(m.deliver(), 0);  // given up
  const MailStatus s = m.status(clave);
  ASSERT_TRUE(s.mail);
  EXPECT_EQ(s.mail->state, MailState::kAbandonado);
  ASSERT_EQ(s.attempts.size(), 3u);
  for (const MailAttempt& a : s.attempts) {
    EXPECT_FALSE(a.delivered);
    EXPECT_NE(a.error.find(expected), std::string::npos) << a.error;
  }
  EXPECT_EQ(s.attempts[2].number, 3);
}

TEST_P(Mailer, A4xxAnswerIsStoredRetriedAndGivenUp) {
  SmtpSink sink("RCPT", "451 4.3.0 Buzón ocupado, intente más tarde");
  Mailing m(sink.url(), {}, backend());
  const std::string clave = m.emit_decided();
  expect_retried_then_given_up(m, clave, "451 4.3.0 Buzón ocupado, intente más tarde");
  EXPECT_EQ(sink.connections(), 3);
  EXPECT_TRUE(sink.messages().empty());
}

TEST_P(Mailer, A5xxAtTheEndOfTheDataIsStoredRetriedAndGivenUp) {
  SmtpSink sink(".", "554 5.6.0 Mensaje rechazado por política");
  Mailing m(sink.url(), {}, backend());
  const std::string clave = m.emit_decided();
  expect_retried_then_given_up(m, clave, "554 5.6.0 Mensaje rechazado por política");
}

TEST_P(Mailer, AServerThatIsDownIsRetriedThenGivenUp) {
  Mailing m(fmt::format("smtp://127.0.0.1:{}", closed_port()), {}, backend());
  const std::string clave = m.emit_decided();
  expect_retried_then_given_up(m, clave, "No se pudo entregar al servidor SMTP");
}

TEST_P(Mailer, ARetryWaitsAndTheWaitDoubles) {
  SmtpSink sink("MAIL", "421 4.7.0 Vuelva luego");
  Mailing m(sink.url(), {}, backend());
  m.inst->config.mail.delay_seconds = 600;
  const std::string clave = m.emit_decided();
  EXPECT_EQ(m.deliver(), 1);
  EXPECT_EQ(m.deliver(), 0);  // the retry is not due yet
  MailStatus s = m.status(clave);
  ASSERT_TRUE(s.mail);
  EXPECT_EQ(s.mail->state, MailState::kPendiente);
  ASSERT_EQ(s.attempts.size(), 1u);
  EXPECT_EQ(s.mail->next, s.attempts[0].at + 600);
  EXPECT_EQ(sink.connections(), 1);
}

TEST_P(Mailer, WithoutAServerConfiguredNothingIsSent) {
  SmtpSink sink;  // running, but not configured
  Mailing m("", {}, backend());
  const std::string clave = m.emit_decided();
  EXPECT_EQ(m.deliver(), 0);
  EXPECT_EQ(sink.connections(), 0);
  EXPECT_EQ(m.rows("correo_intentos"), 0);
  const MailStatus s = m.status(clave);
  EXPECT_FALSE(s.configured);
  EXPECT_EQ(s.cannot_send, "El envío por correo no está configurado en este servidor.");
  auto again = m.mailer->send_again(m.taxpayer, clave, "test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kCorreoNoDisponible);
}

TEST_P(Mailer, ARechazadoComprobanteIsNotSent) {
  SmtpSink sink;
  Mailing m(sink.url(), {}, backend());
  m.inst->config.scenarios["106470958"] = "rechazar:-99";
  const std::string clave = m.emit_decided();
  ASSERT_EQ(m.document(clave).state, ComprobanteState::kRechazado);
  EXPECT_EQ(m.deliver(), 0);
  EXPECT_EQ(sink.connections(), 0);
  EXPECT_EQ(m.rows("correos_emitidos"), 0);
  const MailStatus s = m.status(clave);
  EXPECT_FALSE(s.mail);
  EXPECT_EQ(s.cannot_send, "Solo se envía al receptor un comprobante aceptado por Hacienda.");
}

TEST_P(Mailer, WithoutAReceptorCorreoNothingIsSent) {
  SmtpSink sink;
  Mailing m(sink.url(), {}, backend());
  const std::string clave = m.emit_decided("");
  ASSERT_EQ(m.document(clave).state, ComprobanteState::kAceptado);
  EXPECT_EQ(m.deliver(), 0);
  EXPECT_EQ(sink.connections(), 0);
  const MailStatus s = m.status(clave);
  EXPECT_EQ(s.to, "");
  ASSERT_TRUE(s.mail);
  EXPECT_EQ(s.mail->state, MailState::kOmitido);
  EXPECT_TRUE(s.attempts.empty());
  EXPECT_EQ(s.cannot_send, "El comprobante no tiene correo del receptor: no hay a quién enviarlo.");
}

TEST_P(Mailer, TlsRequiredSendsNothingToAServerWithoutStarttls) {
  SmtpSink sink("", "", /*offer_auth=*/true);
  testing::TempDir dir;
  Mailing m(sink.url(), SecretString(kSmtpPassword), backend());
  m.inst->config.mail.user = "facturas";
  m.inst->config.mail.tls_required = true;
  m.inst->config.mail.attempts = 0;
  const std::string clave = m.emit_decided();
  EXPECT_EQ(m.deliver(), 1);
  EXPECT_TRUE(sink.messages().empty());
  EXPECT_EQ(sink.auth(), "");  // the password did not travel in clear
  const MailStatus s = m.status(clave);
  ASSERT_EQ(s.attempts.size(), 1u);
  EXPECT_FALSE(s.attempts[0].delivered);
  EXPECT_NE(s.attempts[0].error.find("STARTTLS"), std::string::npos) << s.attempts[0].error;
  EXPECT_EQ(s.mail->state, MailState::kAbandonado);
}

// Where `secret` appears in `text`: as it is, in base64, or inside AUTH
// PLAIN's "\0user\0password".
bool leaks(const std::string& text, const std::string& user, const std::string& secret) {
  for (const std::string& form :
       {secret, base64_encode(secret), base64_encode(std::string("\0", 1) + user + '\0' + secret)})
    if (text.find(form) != std::string::npos) return true;
  return false;
}

TEST(MailerFile, ThePasswordReachesTheServerAndNeverTheLogOrTheStore) {
  SmtpSink sink("RCPT", "550 5.1.1 Buzón inexistente", /*offer_auth=*/true);
  testing::TempDir dir;
  const auto file = dir.path() / "smtp.secreto";
  std::ofstream(file) << kSmtpPassword << "\n";
  auto password = read_smtp_password(file);
  ASSERT_TRUE(password.ok());
  EXPECT_EQ(password->view(), kSmtpPassword);  // the first line, without its newline
  Mailing m(sink.url(), std::move(*password));
  m.inst->config.mail.user = "facturas";
  m.inst->config.mail.attempts = 1;
  const std::string clave = m.emit_decided();
  ::testing::internal::CaptureStdout();  // spdlog's default logger
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(m.deliver(), 1);
  EXPECT_EQ(m.deliver(), 1);
  const std::string log =
      ::testing::internal::GetCapturedStderr() + ::testing::internal::GetCapturedStdout();
  EXPECT_NE(log.find("550 5.1.1"), std::string::npos) << "the attempts were logged: " << log;
  // The server got it (so the scan below would see it if it leaked) …
  EXPECT_TRUE(leaks(sink.auth(), "facturas", kSmtpPassword)) << sink.auth();
  // … the log and the stored attempts do not.
  EXPECT_FALSE(leaks(log, "facturas", kSmtpPassword)) << log;
  for (const MailAttempt& a : m.status(clave).attempts)
    EXPECT_FALSE(leaks(a.error, "facturas", kSmtpPassword)) << a.error;
  m.inst->store.reset();  // checkpoints the WAL into the file
  std::ifstream db(m.inst->db_path(), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  ASSERT_NE(bytes.find("550 5.1.1"), std::string::npos);  // the scan reads the attempts
  EXPECT_FALSE(leaks(bytes, "facturas", kSmtpPassword));
}

TEST_P(Mailer, SendAgainSendsOnceMoreAndOnlyForTheEmisor) {
  SmtpSink sink;
  Mailing m(sink.url(), {}, backend());
  const std::string clave = m.emit_decided();
  EXPECT_EQ(m.deliver(), 1);
  auto other = *m.inst->service->find_taxpayer("3-101-522899");
  auto refused = m.mailer->send_again(other, clave, "test");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::kCorreoNoDisponible);
  ASSERT_TRUE(m.mailer->send_again(m.taxpayer, clave, "test").ok());
  // Pending now: asking again is refused until it is sent.
  EXPECT_FALSE(m.mailer->send_again(m.taxpayer, clave, "test").ok());
  EXPECT_EQ(m.deliver(), 1);
  EXPECT_EQ(sink.messages().size(), 2u);
  const MailStatus s = m.status(clave);
  ASSERT_EQ(s.attempts.size(), 2u);
  EXPECT_EQ(s.attempts[1].number, 2);
  EXPECT_EQ(
      testing::sql_count(
          *m.inst, "SELECT count(*) FROM audit_log WHERE action = 'herramienta.reenviar_correo'"),
      1);
}

TEST(MailerConfig, SettingsAreCheckedAndTheirDefaultsRoundTrip) {
  auto c = parse_config(
      "correo_smtp_url = smtps://correo.example.com:465\n"
      "correo_remitente = facturas@example.com\n"
      "correo_usuario = facturas\n"
      "correo_contrasena_archivo = smtp.secreto\n"
      "correo_tls_obligatorio = no\n"
      "correo_reintentos = 5\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->mail.smtp_url, "smtps://correo.example.com:465");
  EXPECT_FALSE(c->mail.tls_required);
  EXPECT_EQ(c->mail.attempts, 5);
  auto again = parse_config(render_config(*c));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->mail.password_file, "smtp.secreto");
  EXPECT_TRUE(parse_config(render_config(Config{})).ok());
  for (const char* bad : {
           "correo_smtp_url = http://correo.example.com\ncorreo_remitente = a@b.example\n",
           "correo_smtp_url = smtp://usuario:clave@correo.example.com\n"
           "correo_remitente = a@b.example\n",
           "correo_smtp_url = smtp://correo.example.com\n",  // no sender
           "correo_remitente = sin-arroba\n",
           "correo_usuario = facturas\n",  // a user without a password file
           "correo_tls_obligatorio = tal vez\n",
           "correo_reintentos = 11\n",
       })
    EXPECT_FALSE(parse_config(bad).ok()) << bad;
}

// --- the comprobante's page ----------------------------------------------------------

constexpr const char* kPassword = "correcta-123";

struct MailPage : Mailing, testing::PortalBrowser {
  testing::TempDir keys;
  DownloadVault vault{*inst->store, *load_or_create_server_key(keys.path() / "portal.key")};

  explicit MailPage(const std::string& url) : Mailing(url) {
    EXPECT_TRUE(
        accounts.set_portal_password(testing::kToolTaxpayer, SecretString(kPassword), "test").ok());
    portal::add_portal_routes(router, portal::PortalServices{*inst->service, accounts, vault,
                                                             &emission, &custody, mailer.get()});
  }
};

TEST(MailerPage, TheComprobantePageShowsEachAttemptAndSendsAgainOncePerForm) {
  SmtpSink sink("RCPT", "550 5.1.1 Buzón inexistente");
  MailPage p(sink.url());
  p.inst->config.mail.attempts = 0;
  const std::string clave = p.emit_decided();
  EXPECT_EQ(p.deliver(), 1);
  const std::string csrf = p.log_in(testing::kToolTaxpayer, kPassword);
  const std::string address = "/herramienta/pruebas/comprobante?clave=" + clave;
  std::string html = p.get(address).body();
  EXPECT_NE(html.find("<h2>Correo al receptor</h2>"), std::string::npos) << html;
  EXPECT_NE(html.find(fmt::format("No se pudo enviar a {} después de 1 intento;", kReceptorCorreo)),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("Error: El servidor SMTP respondió «550 5.1.1 Buzón inexistente»"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find(">Enviar de nuevo</button>"), std::string::npos);

  // "Enviar de nuevo" with the page's form: once; the same form again is refused.
  const std::string body = "csrf=" + csrf +
                           "&solicitud=" + testing::PortalBrowser::hidden(html, "solicitud") +
                           "&clave=" + clave;
  http::Response sent = p.post("/herramienta/pruebas/comprobante/enviar", body);
  EXPECT_EQ(sent.result(), http::status::see_other);
  EXPECT_EQ(sent[http::field::location], address + "&correo=pedido");
  html = p.get(address + "&correo=pedido").body();
  EXPECT_NE(html.find("Se enviará en unos segundos"), std::string::npos);
  EXPECT_NE(html.find("Se está enviando a"), std::string::npos) << html;
  EXPECT_EQ(html.find(">Enviar de nuevo</button>"), std::string::npos) << "pending: no button";
  http::Response repeated = p.post("/herramienta/pruebas/comprobante/enviar", body);
  EXPECT_EQ(repeated[http::field::location], address + "&correo=repetido");
  EXPECT_EQ(p.deliver(), 1);
  EXPECT_EQ(p.status(clave).attempts.size(), 2u);
  // Without the CSRF token nothing is asked.
  http::Response forged =
      p.post("/herramienta/pruebas/comprobante/enviar", "csrf=otro&clave=" + clave);
  EXPECT_EQ(forged.result(), http::status::forbidden);
  EXPECT_EQ(p.deliver(), 0);
}

TEST(MailerPage, ThePageSaysWhenSendingIsNotConfigured) {
  MailPage p("");
  const std::string clave = p.emit_decided();
  p.log_in(testing::kToolTaxpayer, kPassword);
  const std::string html = p.get("/herramienta/pruebas/comprobante?clave=" + clave).body();
  EXPECT_NE(html.find("El envío por correo no está configurado en este servidor."),
            std::string::npos)
      << html;
  EXPECT_EQ(html.find("comprobante/enviar"), std::string::npos);
}

}  // namespace
}  // namespace llavero
