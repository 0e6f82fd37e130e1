#include "service/config.h"

#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <map>

#include "service/smtp.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

using Setter = std::function<Status(Config&, std::string_view)>;

Setter text_field(std::string Config::*field) {
  return [field](Config& c, std::string_view v) -> Status {
    c.*field = std::string(v);
    return Ok{};
  };
}

Setter naming_field(std::string CaNaming::*field) {
  return [field](Config& c, std::string_view v) -> Status {
    c.naming.*field = std::string(v);
    return Ok{};
  };
}

// A whole number from `min` to `max` for the setting `key`; the one reader of
// every numeric setting.
template <typename Number>
Result<Number> parse_whole(std::string_view v, std::string_view key, Number min, Number max) {
  Number n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < min || n > max)
    return make_error(errc::kConfigInvalida,
                      fmt::format("{} debe ser un entero de {} a {}", key, min, max));
  return n;
}

// A whole number from 0 to `max` for a field of ClientLimitSettings.
Setter limit_field(int ClientLimitSettings::*field, std::string_view key, int max) {
  return [=](Config& c, std::string_view v) -> Status {
    auto n = parse_whole(v, key, 0, max);
    if (!n) return n.error();
    c.client_limits.*field = *n;
    return Ok{};
  };
}

std::string render_client_limits(const ClientLimitSettings& l) {
  return fmt::format(
      "# Lo que puede tomar del servidor una sola dirección (docs/operacion.md): conexiones\n"
      "# a la vez, solicitudes por segundo de cada clase (0: sin límite), su parte de la\n"
      "# cola de contraseñas; y líneas por segundo del registro de accesos (0: todas).\n"
      "conexiones_por_direccion = {}\n"
      "solicitudes_por_segundo_publicas = {}\n"
      "solicitudes_por_segundo_generales = {}\n"
      "solicitudes_por_segundo_contrasenas = {}\n"
      "cola_contrasenas = {}\n"
      "cola_contrasenas_por_direccion = {}\n"
      "registro_lineas_por_segundo = {}\n"
      "# El registro de accesos en un archivo propio (relativo al directorio de datos; vacío:\n"
      "# la salida de errores), que rota al pasar registro_tamano_maximo_mb y guarda\n"
      "# registro_archivos anteriores: nunca ocupa más de (1 + registro_archivos) × ese tamaño.\n"
      "registro_archivo = {}\n"
      "registro_tamano_maximo_mb = {}\n"
      "registro_archivos = {}\n",
      l.connections_per_address, l.public_per_second, l.general_per_second, l.hashing_per_second,
      l.hashing_queue, l.hashing_queue_per_address, l.access_log_lines_per_second,
      l.access_log_file, l.access_log_max_megabytes, l.access_log_files);
}

Setter mail_text(std::string MailSettings::*field) {
  return [field](Config& c, std::string_view v) -> Status {
    c.mail.*field = std::string(v);
    return Ok{};
  };
}

Setter mail_int(int MailSettings::*field, std::string_view key, int min, int max) {
  return [=](Config& c, std::string_view v) -> Status {
    auto n = parse_whole(v, key, min, max);
    if (!n) return n.error();
    c.mail.*field = *n;
    return Ok{};
  };
}

// correo_smtp_url: smtp:// or smtps://, a host, no user or password in it
// (the password is read from its own file, so it is never in llavero.conf).
Status check_smtp_url(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("smtp://"))
    rest.remove_prefix(7);
  else if (rest.starts_with("smtps://"))
    rest.remove_prefix(8);
  else
    return make_error(errc::kConfigInvalida,
                      "correo_smtp_url debe empezar con smtp:// o smtps:// (p. ej. "
                      "smtp://correo.example.com:587)");
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.front() == ':')
    return make_error(errc::kConfigInvalida, "correo_smtp_url no tiene servidor");
  if (authority.find('@') != std::string_view::npos)
    return make_error(errc::kConfigInvalida,
                      "correo_smtp_url no puede llevar usuario ni contraseña: use correo_usuario "
                      "y correo_contrasena_archivo");
  for (char ch : url)
    if (static_cast<unsigned char>(ch) <= ' ')
      return make_error(errc::kConfigInvalida, "correo_smtp_url no puede tener espacios");
  return Ok{};
}

// What one setting cannot say alone: the sender and the password go with
// the server and the user.
Status check_mail(const MailSettings& m) {
  if (!m.smtp_url.empty() && m.from.empty())
    return make_error(errc::kConfigInvalida,
                      "llavero.conf: correo_smtp_url necesita correo_remitente");
  if (m.user.empty() != m.password_file.empty())
    return make_error(errc::kConfigInvalida,
                      "llavero.conf: correo_usuario y correo_contrasena_archivo van juntos");
  return Ok{};
}

std::string render_mail(const MailSettings& m) {
  return fmt::format(
      "# Herramienta Gratuita: envío del comprobante aceptado al correo del receptor por SMTP\n"
      "# (vacío: no se envía). smtp://servidor:587 (STARTTLS) o smtps://servidor:465. La\n"
      "# contraseña se lee del archivo correo_contrasena_archivo (relativo al directorio de\n"
      "# datos), nunca de este archivo ni de la línea de comandos. correo_tls_obligatorio = si:\n"
      "# con smtp:// no se envía nada si el servidor no ofrece STARTTLS.\n"
      "correo_smtp_url = {}\n"
      "correo_remitente = {}\n"
      "correo_usuario = {}\n"
      "correo_contrasena_archivo = {}\n"
      "correo_tls_obligatorio = {}\n"
      "# Reintentos tras el primer intento, espera antes del primero (se duplica) y tiempo\n"
      "# máximo de cada intento.\n"
      "correo_reintentos = {}\n"
      "correo_espera_segundos = {}\n"
      "correo_timeout_segundos = {}\n",
      m.smtp_url, m.from, m.user, m.password_file, m.tls_required ? "si" : "no", m.attempts,
      m.delay_seconds, m.timeout_seconds);
}

Setter int_field(int Config::*field, std::string_view key, int min, int max) {
  return [=](Config& c, std::string_view v) -> Status {
    auto n = parse_whole(v, key, min, max);
    if (!n) return n.error();
    c.*field = *n;
    return Ok{};
  };
}

Setter bool_field(bool Config::*field, std::string_view key) {
  return [=](Config& c, std::string_view v) -> Status {
    if (v != "si" && v != "no")
      return make_error(errc::kConfigInvalida, fmt::format("{} debe ser si o no", key));
    c.*field = v == "si";
    return Ok{};
  };
}

// Words separated by commas or spaces.
std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  std::string word;
  for (char ch : std::string(v) + ",") {
    if (ch == ',' || ch == ' ' || ch == '\t') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += ch;
    }
  }
  return out;
}

Setter list_field(std::vector<std::string> Config::*field) {
  return [field](Config& c, std::string_view v) -> Status {
    c.*field = split_list(v);
    return Ok{};
  };
}

std::string join_list(const std::vector<std::string>& words) {
  return fmt::format("{}", fmt::join(words, ", "));
}

// The server's own running: what it keeps ready and what it tells the operator.
std::string render_operation(const Config& c) {
  return fmt::format(
      "# Pares de llaves RSA-2048 que cada servidor tiene listos, solo en memoria, para\n"
      "# Generar (docs/operacion.md); 0: cada llave se genera al pedirla.\n"
      "llaves_pregeneradas = {}\n",
      c.key_pool_size);
}

const std::map<std::string, Setter, std::less<>>& setters() {
  static const std::map<std::string, Setter, std::less<>> table = {
      {"url_base", text_field(&Config::base_url)},
      {"db", text_field(&Config::database)},
      {"conexiones_por_direccion", limit_field(&ClientLimitSettings::connections_per_address,
                                               "conexiones_por_direccion", 2048)},
      {"solicitudes_por_segundo_publicas",
       limit_field(&ClientLimitSettings::public_per_second, "solicitudes_por_segundo_publicas",
                   1000000)},
      {"solicitudes_por_segundo_generales",
       limit_field(&ClientLimitSettings::general_per_second, "solicitudes_por_segundo_generales",
                   1000000)},
      {"solicitudes_por_segundo_contrasenas",
       limit_field(&ClientLimitSettings::hashing_per_second, "solicitudes_por_segundo_contrasenas",
                   1000000)},
      {"cola_contrasenas",
       limit_field(&ClientLimitSettings::hashing_queue, "cola_contrasenas", 100000)},
      {"cola_contrasenas_por_direccion",
       limit_field(&ClientLimitSettings::hashing_queue_per_address,
                   "cola_contrasenas_por_direccion", 100000)},
      {"registro_lineas_por_segundo", limit_field(&ClientLimitSettings::access_log_lines_per_second,
                                                  "registro_lineas_por_segundo", 1000000)},
      {"registro_archivo",
       [](Config& c, std::string_view v) -> Status {
         c.client_limits.access_log_file = std::string(v);
         return Ok{};
       }},
      {"registro_tamano_maximo_mb",
       [](Config& c, std::string_view v) -> Status {
         auto n = parse_whole<int>(v, "registro_tamano_maximo_mb", 1, 100000);
         if (!n) return n.error();
         c.client_limits.access_log_max_megabytes = *n;
         return Ok{};
       }},
      {"registro_archivos",
       [](Config& c, std::string_view v) -> Status {
         auto n = parse_whole<int>(v, "registro_archivos", 1, 100);
         if (!n) return n.error();
         c.client_limits.access_log_files = *n;
         return Ok{};
       }},
      {"correo_smtp_url",
       [](Config& c, std::string_view v) -> Status {
         if (!v.empty()) LLAVERO_TRY(check_smtp_url(v));
         c.mail.smtp_url = std::string(v);
         return Ok{};
       }},
      {"correo_remitente",
       [](Config& c, std::string_view v) -> Status {
         if (!v.empty() && !mail_address_usable(v))
           return make_error(errc::kConfigInvalida,
                             "correo_remitente debe ser una dirección como facturas@example.com");
         c.mail.from = std::string(v);
         return Ok{};
       }},
      {"correo_usuario", mail_text(&MailSettings::user)},
      {"correo_contrasena_archivo", mail_text(&MailSettings::password_file)},
      {"correo_tls_obligatorio",
       [](Config& c, std::string_view v) -> Status {
         if (v != "si" && v != "no")
           return make_error(errc::kConfigInvalida, "correo_tls_obligatorio debe ser si o no");
         c.mail.tls_required = v == "si";
         return Ok{};
       }},
      {"correo_reintentos", mail_int(&MailSettings::attempts, "correo_reintentos", 0, 10)},
      {"correo_espera_segundos",
       mail_int(&MailSettings::delay_seconds, "correo_espera_segundos", 0, 86400)},
      {"correo_timeout_segundos",
       mail_int(&MailSettings::timeout_seconds, "correo_timeout_segundos", 1, 300)},
      {"dominio_usuarios", text_field(&Config::user_domain)},
      {"llaves_pregeneradas", int_field(&Config::key_pool_size, "llaves_pregeneradas", 0, 64)},
      {"esquemas_xsd", text_field(&Config::xsd_directory)},
      {"llave_custodia", text_field(&Config::custody_key_file)},
      {"pkcs11", text_field(&Config::pkcs11)},
      {"perfil_certificado",
       [](Config& c, std::string_view v) -> Status {
         if (v != "completo" && v != "strict")
           return make_error(errc::kConfigInvalida,
                             "perfil_certificado debe ser completo o strict");
         c.strict_profile = v == "strict";
         return Ok{};
       }},
      {"p12_iteraciones",
       [](Config& c, std::string_view v) -> Status {
         auto n = parse_whole<int>(v, "p12_iteraciones", 1, 10000000);
         if (!n) return n.error();
         c.p12_iterations = *n;
         return Ok{};
       }},
      {"crl_validez_dias",
       [](Config& c, std::string_view v) -> Status {
         auto n = parse_whole<int>(v, "crl_validez_dias", 1, 7);
         if (!n) return n.error();
         c.crl_validity_days = *n;
         return Ok{};
       }},
      {"p12_perfil",
       [](Config& c, std::string_view v) -> Status {
         auto profile = parse_p12_profile(v);
         if (!profile) return profile.error();
         c.p12_profile = *profile;
         return Ok{};
       }},
      {"recepcion_max_bytes",
       [](Config& c, std::string_view v) -> Status {
         auto n = parse_whole<std::size_t>(v, "recepcion_max_bytes", 65536, 64 * 1048576);
         if (!n) return n.error();
         c.reception_max_body = *n;
         return Ok{};
       }},
      {"recepcion_hosts_pruebas", list_field(&Config::sandbox_hosts)},
      {"recepcion_limite_solicitudes",
       int_field(&Config::rate_limit, "recepcion_limite_solicitudes", 1, 1000000)},
      {"recepcion_limite_ventana_segundos",
       int_field(&Config::rate_window_seconds, "recepcion_limite_ventana_segundos", 1, 86400)},
      {"token_refresh_segundos",
       int_field(&Config::refresh_expires_in, "token_refresh_segundos", 60, 30 * 86400)},
      {"callback_reintentos", int_field(&Config::callback_attempts, "callback_reintentos", 0, 10)},
      {"callback_espera_segundos",
       int_field(&Config::callback_delay_seconds, "callback_espera_segundos", 0, 3600)},
      {"callback_timeout_segundos",
       int_field(&Config::callback_timeout_seconds, "callback_timeout_segundos", 1, 60)},
      {"callback_destinos_permitidos", list_field(&Config::callback_allowed_hosts)},
      {"operador_direcciones_permitidas", list_field(&Config::operator_addresses)},
      {"regla_clave", bool_field(&Config::rule_clave, "regla_clave")},
      {"regla_consecutivo", bool_field(&Config::rule_consecutivo, "regla_consecutivo")},
      {"regla_fecha_emision", bool_field(&Config::rule_fecha_emision, "regla_fecha_emision")},
      {"regla_totales", bool_field(&Config::rule_totales, "regla_totales")},
      {"regla_referencias", bool_field(&Config::rule_referencias, "regla_referencias")},
      {"regla_mensaje_receptor",
       bool_field(&Config::rule_mensaje_receptor, "regla_mensaje_receptor")},
      {"fecha_emision_futuro_segundos",
       int_field(&Config::fecha_future_seconds, "fecha_emision_futuro_segundos", 0, 86400)},
      {"fecha_emision_max_dias",
       int_field(&Config::fecha_max_age_days, "fecha_emision_max_dias", 1, 3650)},
      {"totales_tolerancia_cienmilesimas",
       [](Config& c, std::string_view v) -> Status {
         auto n = parse_whole<std::int64_t>(v, "totales_tolerancia_cienmilesimas", 0, 100000000);
         if (!n) return n.error();
         c.totals_tolerance_units = *n;
         return Ok{};
       }},
      {"escenarios_pruebas",
       [](Config& c, std::string_view v) -> Status {
         // "0108880888=rechazar:-99, 3101123456=limite"
         c.scenarios.clear();
         for (const std::string& pair : split_list(v)) {
           const auto eq = pair.find('=');
           if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size())
             return make_error(errc::kConfigInvalida,
                               "escenarios_pruebas es una lista de IDENTIFICACION=ESCENARIO");
           c.scenarios[pair.substr(0, eq)] = pair.substr(eq + 1);
         }
         return Ok{};
       }},
      {"politica_estricta",
       [](Config& c, std::string_view v) -> Status {
         if (v != "si" && v != "no")
           return make_error(errc::kConfigInvalida, "politica_estricta debe ser si o no");
         c.strict_signature_policy = v == "si";
         return Ok{};
       }},
      {"revocacion_no_disponible",
       [](Config& c, std::string_view v) -> Status {
         if (v != "rechazar" && v != "aceptar")
           return make_error(errc::kConfigInvalida,
                             "revocacion_no_disponible debe ser rechazar o aceptar");
         c.revocation_answer_required = v == "rechazar";
         return Ok{};
       }},
      {"ca_pais", naming_field(&CaNaming::country)},
      {"ca_organizacion", naming_field(&CaNaming::organization)},
      {"ca_unidad", naming_field(&CaNaming::organizational_unit)},
      {"ca_raiz_cn", naming_field(&CaNaming::root_cn)},
      {"ca_persona_fisica_cn", naming_field(&CaNaming::persona_fisica_cn)},
      {"ca_persona_juridica_cn", naming_field(&CaNaming::persona_juridica_cn)},
      {"ca_sufijo_pruebas", naming_field(&CaNaming::sandbox_suffix)},
      {"ca_politica_oid",
       [](Config& c, std::string_view v) -> Status {
         // Dotted numbers only: a name would be looked up in OpenSSL's table.
         if (v.empty() || v.find_first_not_of("0123456789.") != std::string_view::npos ||
             !ossl::Owned<ASN1_OBJECT, ASN1_OBJECT_free>(OBJ_txt2obj(std::string(v).c_str(), 1)))
           return make_error(errc::kConfigInvalida,
                             "ca_politica_oid debe ser un OID en números, como 2.5.29.32.0");
         c.naming.policy_oid = std::string(v);
         return Ok{};
       }},
  };
  return table;
}

std::string_view yes_no(bool b) {
  return b ? "si" : "no";
}

std::string scenario_list(const std::map<std::string, std::string>& scenarios) {
  std::vector<std::string> pairs;
  for (const auto& [id, scenario] : scenarios) pairs.push_back(id + "=" + scenario);
  return join_list(pairs);
}

}  // namespace

Result<Config> parse_config(std::string_view text) {
  Config config;
  int line_number = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return make_error(
          errc::kConfigInvalida,
          fmt::format("llavero.conf, línea {}: se esperaba \"clave = valor\".", line_number));
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    // Double quotes keep leading or trailing spaces: ca_sufijo_pruebas = " - SANDBOX".
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    auto it = setters().find(key);
    if (it == setters().end())
      return make_error(errc::kConfigInvalida,
                        fmt::format("llavero.conf, línea {}: clave desconocida "
                                    "\"{}\".",
                                    line_number, key));
    Status set = it->second(config, value);
    if (!set)
      return make_error(errc::kConfigInvalida, fmt::format("llavero.conf, línea {}: {}",
                                                           line_number, set.error().message));
  }
  LLAVERO_TRY(check_mail(config.mail));
  return config;
}

std::string render_config(const Config& c) {
  return fmt::format(
             "# Configuración de llavero. Cambie un valor y reinicie el servicio.\n"
             "# URL pública impresa en los certificados (AIA, CRL, OCSP).\n"
             "url_base = {}\n"
             "# El almacén: vacío, el archivo llavero.db de este directorio (SQLite); o una URL\n"
             "# postgresql://… de una base PostgreSQL 15 que comparten varios servidores (la\n"
             "# contraseña, mejor en ~/.pgpass que aquí).\n"
             "db = {}\n"
             "# Dominio de los usuarios de la API: cpf-01-0647-0958@prod.<dominio>\n"
             "dominio_usuarios = {}\n"
             "# completo: incluye CRL y OCSP en los certificados; strict: solo lo que pone el "
             "servicio "
             "real.\n"
             "perfil_certificado = {}\n"
             "# Archivo .p12: perfil por omisión (compatible | moderno) e iteraciones.\n"
             "p12_perfil = {}\n"
             "p12_iteraciones = {}\n"
             "# Vigencia de cada CRL (nextUpdate), en días, de 1 a 7.\n"
             "crl_validez_dias = {}\n"
             "# Nombres de las CA (se usan al crearlas: 'llavero init', 'llavero ca renovar').\n"
             "ca_pais = {}\n"
             "ca_organizacion = {}\n"
             "ca_unidad = {}\n"
             "ca_raiz_cn = {}\n"
             "ca_persona_fisica_cn = {}\n"
             "ca_persona_juridica_cn = {}\n"
             "ca_sufijo_pruebas = \"{}\"\n"
             "# OID de la política (certificatePolicies) en los certificados de las CA emisoras\n"
             "# (2.5.29.32.0 = anyPolicy); se usa al crearlas (init, 'llavero ca renovar').\n"
             "ca_politica_oid = {}\n"
             "# Directorio de los esquemas oficiales v4.4 para la recepción (vacío: el de la "
             "instalación).\n"
             "esquemas_xsd = {}\n"
             "# Herramienta Gratuita: archivo de la llave que cifra las llaves guardadas para\n"
             "# firmar automáticamente (vacío: llave-custodia.key en el directorio de datos).\n"
             "llave_custodia = {}\n"
             "# Recepción (docs/recepcion.md): tamaño máximo de un envío, nombres de host del "
             "ambiente\n"
             "# de pruebas, límite de solicitudes por usuario del token y vigencia del refresh "
             "token.\n"
             "recepcion_max_bytes = {}\n"
             "recepcion_hosts_pruebas = {}\n"
             "recepcion_limite_solicitudes = {}\n"
             "recepcion_limite_ventana_segundos = {}\n"
             "token_refresh_segundos = {}\n"
             "# callbackUrl: reintentos, espera antes del primero (se duplica), tiempo máximo de\n"
             "# cada intento, y destinos privados permitidos en producción.\n"
             "callback_reintentos = {}\n"
             "callback_espera_segundos = {}\n"
             "callback_timeout_segundos = {}\n"
             "callback_destinos_permitidos = {}\n"
             "# Reglas de Hacienda al procesar (si | no).\n"
             "regla_clave = {}\n"
             "regla_consecutivo = {}\n"
             "regla_fecha_emision = {}\n"
             "regla_totales = {}\n"
             "regla_referencias = {}\n"
             "regla_mensaje_receptor = {}\n"
             "fecha_emision_futuro_segundos = {}\n"
             "fecha_emision_max_dias = {}\n"
             "totales_tolerancia_cienmilesimas = {}\n"
             "# Escenarios del ambiente de pruebas por contribuyente: IDENTIFICACION=ESCENARIO, "
             "...\n"
             "escenarios_pruebas = {}\n"
             "# Firmas (docs/firmas.md): si, las advertencias (política de firma ausente o\n"
             "# desconocida, RSA-SHA1) rechazan el comprobante; y qué decidir cuando la "
             "revocación\n"
             "# del certificado de una CA externa (carpeta confianza/) no se puede consultar.\n"
             "politica_estricta = {}\n"
             "revocacion_no_disponible = {}\n",
             c.base_url, c.database, c.user_domain, c.strict_profile ? "strict" : "completo",
             p12_profile_name(c.p12_profile), c.p12_iterations, c.crl_validity_days,
             c.naming.country, c.naming.organization, c.naming.organizational_unit,
             c.naming.root_cn, c.naming.persona_fisica_cn, c.naming.persona_juridica_cn,
             c.naming.sandbox_suffix, c.naming.policy_oid, c.xsd_directory, c.custody_key_file,
             c.reception_max_body, join_list(c.sandbox_hosts), c.rate_limit, c.rate_window_seconds,
             c.refresh_expires_in, c.callback_attempts, c.callback_delay_seconds,
             c.callback_timeout_seconds, join_list(c.callback_allowed_hosts), yes_no(c.rule_clave),
             yes_no(c.rule_consecutivo), yes_no(c.rule_fecha_emision), yes_no(c.rule_totales),
             yes_no(c.rule_referencias), yes_no(c.rule_mensaje_receptor), c.fecha_future_seconds,
             c.fecha_max_age_days, c.totals_tolerance_units, scenario_list(c.scenarios),
             c.strict_signature_policy ? "si" : "no",
             c.revocation_answer_required ? "rechazar" : "aceptar") +
         render_client_limits(c.client_limits) + render_mail(c.mail) + render_operation(c) +
         (c.pkcs11.empty() ? std::string()
                           : fmt::format("# Llaves de las CA en un token PKCS#11 (docs/hsm.md); el "
                                         "PIN: LLAVERO_PKCS11_PIN o pin-source.\n"
                                         "pkcs11 = {}\n",
                                         c.pkcs11)) +
         fmt::format(
             "# Consola de operadores (/operador, docs/operador.md): solo estas direcciones de\n"
             "# cliente, separadas por comas; vacío: cualquiera.\n"
             "operador_direcciones_permitidas = {}\n",
             join_list(c.operator_addresses));
}

}  // namespace llavero::service
