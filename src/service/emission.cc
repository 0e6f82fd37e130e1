#include "service/emission.h"

#include <fmt/format.h>
#include <libxml/tree.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <ctime>
#include <map>
#include <set>

#include "id/clave.h"
#include "id/identification.h"
#include "service/fecha.h"
#include "service/totals.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "xades/xades.h"
#include "xml/document.h"

namespace llavero::service {

namespace {

constexpr std::string_view kNamespaceBase =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/";
constexpr std::string_view kSucursal = kToolSucursal;
constexpr std::string_view kTerminal = kToolTerminal;
constexpr std::size_t kMaxLines = 1000;

struct KindInfo {
  DocumentKind kind;
  std::string_view tipo, root, ns;
};
constexpr KindInfo kKinds[] = {
    {DocumentKind::kFactura, "01", "FacturaElectronica", "facturaElectronica"},
    {DocumentKind::kNotaDebito, "02", "NotaDebitoElectronica", "notaDebitoElectronica"},
    {DocumentKind::kNotaCredito, "03", "NotaCreditoElectronica", "notaCreditoElectronica"},
    {DocumentKind::kTiquete, "04", "TiqueteElectronico", "tiqueteElectronico"},
    {DocumentKind::kFacturaCompra, "08", "FacturaElectronicaCompra", "facturaElectronicaCompra"},
};
const KindInfo& info(DocumentKind kind) {
  for (const KindInfo& k : kKinds)
    if (k.kind == kind) return k;
  return kKinds[0];
}
bool is_nota(DocumentKind kind) {
  return kind == DocumentKind::kNotaCredito || kind == DocumentKind::kNotaDebito;
}

// CodigoTarifaIVA → the tariff in percent and whether it is exempt.
struct Tariff {
  std::string_view percent;
  bool exento;
};
const std::map<std::string, Tariff, std::less<>>& tariffs() {
  static const std::map<std::string, Tariff, std::less<>> table = {
      {"01", {"0", false}},   {"02", {"1", false}}, {"03", {"2", false}}, {"04", {"4", false}},
      {"05", {"0", false}},   {"06", {"4", false}}, {"07", {"8", false}}, {"08", {"13", false}},
      {"09", {"0.5", false}}, {"10", {"0", true}},  {"11", {"0", false}}};
  return table;
}

// Units of measure of services (Anexo 4.4's list); the rest are goods.
const std::set<std::string, std::less<>>& service_units() {
  static const std::set<std::string, std::less<>> units = {"Sp",  "Spe", "St", "h",  "Al",
                                                           "Alc", "Cm",  "I",  "Os", "d"};
  return units;
}
const std::set<std::string, std::less<>>& goods_units() {
  static const std::set<std::string, std::less<>> units = {
      "Unid", "Kg", "L", "mL", "M", "Km", "m²", "m³", "cm", "Gal", "t", "Oz", "kWh", "Otros"};
  return units;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int decimals(std::string_view s) {
  const auto dot = s.find('.');
  return dot == std::string_view::npos ? 0 : static_cast<int>(s.size() - dot - 1);
}

std::optional<Amount> amount(std::string_view s) {
  return s.empty() ? std::nullopt : Amount::parse(s);
}

bool in(std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed)
    if (a == value) return true;
  return false;
}

// "13.00000" → "13.000" (Cantidad has three decimals), "13.00" (Tarifa two).
std::string with_places(Amount a, int places) {
  std::string t = a.text();
  t.resize(t.size() - static_cast<std::size_t>(5 - places));
  return t;
}

std::string random_digits(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += static_cast<char>('0' + randombytes_uniform(10));
  return out;
}

struct ComputedLine {
  const LineInput* input;
  LineAmounts amounts;
  Amount tarifa;
};

// The DetalleMensaje of a MensajeHacienda, as a person reads it: the one
// element llavero writes there (processing.cc), its entities undone.
std::string detalle_of(const Bytes& mensaje) {
  const std::string_view xml(reinterpret_cast<const char*>(mensaje.data()), mensaje.size());
  constexpr std::string_view open = "<DetalleMensaje>", close = "</DetalleMensaje>";
  const auto from = xml.find(open);
  const auto to = xml.find(close);
  if (from == std::string_view::npos || to == std::string_view::npos || to < from) return {};
  std::string_view text = xml.substr(from + open.size(), to - from - open.size());
  std::string out;
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&amp;", '&'}};
  while (!text.empty()) {
    bool replaced = false;
    if (text.front() == '&')
      for (const auto& [entity, c] : kEntities)
        if (text.starts_with(entity)) {
          out += c;
          text.remove_prefix(entity.size());
          replaced = true;
          break;
        }
    if (!replaced) {
      out += text.front();
      text.remove_prefix(1);
    }
  }
  return out;
}

EmittedDocument emitted_document(EmittedRecord record,
                                 std::optional<ComprobanteState> state = std::nullopt,
                                 Bytes mensaje = {}) {
  EmittedDocument d;
  d.record = std::move(record);
  d.state = state;
  d.detalle = detalle_of(mensaje);
  d.mensaje_hacienda = std::move(mensaje);
  return d;
}

// A date of the search, AAAA-MM-DD in Costa Rica's calendar: the instant
// its day begins there (UTC−6).
std::optional<UnixSeconds> search_date(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto fecha = parse_fecha(text + "T00:00:00-06:00");
  if (!fecha) return std::nullopt;
  // date::parse takes 2026-02-30 as March 2nd: the day read back must be the one typed.
  const CivilDate day = service::costa_rica_date(fecha->instant);
  if (fmt::format("{:04}-{:02}-{:02}", day.year, day.month, day.day) != text) return std::nullopt;
  return unix_seconds(*fecha);
}

}  // namespace

ParsedSearch parse_search(const EmittedSearch& search) {
  ParsedSearch out;
  EmittedFilter& f = out.filter;
  const auto first = search.receptor.find_first_not_of(" \t");
  if (first != std::string::npos)
    f.receptor_text =
        search.receptor.substr(first, search.receptor.find_last_not_of(" \t") - first + 1);
  if (f.receptor_text.size() > 100) {
    out.errors.push_back(
        {"receptor", "Escriba hasta 100 caracteres del nombre o la identificación."});
  } else if (auto id = Identification::parse(f.receptor_text); id) {
    f.receptor_digits = id->digits();
  }
  const std::string example = "escríbala como AAAA-MM-DD, p. ej. 2026-12-01.";
  if (!search.desde.empty()) {
    f.from = search_date(search.desde);
    if (!f.from)
      out.errors.push_back({"desde", fmt::format("La fecha «desde» no es válida: {}", example)});
  }
  if (!search.hasta.empty()) {
    if (auto until = search_date(search.hasta))
      f.until = *until + 24 * 3600;  // the whole day
    else
      out.errors.push_back({"hasta", fmt::format("La fecha «hasta» no es válida: {}", example)});
  }
  if (f.from && f.until && *f.from >= *f.until)
    out.errors.push_back({"hasta", "La fecha «hasta» no puede ser anterior a «desde»."});
  if (search.estado == emitted_state_label(std::nullopt)) {
    f.not_received = true;
  } else if (!search.estado.empty()) {
    for (ComprobanteState s :
         {ComprobanteState::kRecibido, ComprobanteState::kProcesando, ComprobanteState::kAceptado,
          ComprobanteState::kRechazado, ComprobanteState::kError})
      if (state_name(s) == search.estado) f.state = s;
    if (!f.state) out.errors.push_back({"estado", "Elija un estado de la lista."});
  }
  return out;
}

bool LineInput::empty() const {
  return cabys.empty() && detalle.empty() && cantidad.empty() && precio_unitario.empty() &&
         descuento.empty() && naturaleza_descuento.empty();
}

std::optional<std::string> cabys_problem(std::string_view cabys) {
  if (cabys.size() != 13 || !all_digits(cabys)) return "el código CABYS tiene 13 dígitos.";
  return std::nullopt;
}

std::optional<std::string> detalle_problem(std::string_view detalle) {
  if (detalle.size() < 3 || detalle.size() > 200)
    return "escriba la descripción (de 3 a 200 caracteres).";
  return std::nullopt;
}

std::optional<std::string> unidad_problem(std::string_view unidad) {
  if (!service_units().contains(unidad) && !goods_units().contains(unidad))
    return "elija una unidad de medida de la lista.";
  return std::nullopt;
}

std::optional<std::string> precio_problem(std::string_view precio) {
  auto value = amount(precio);
  if (!value || *value < Amount() || decimals(precio) > 5)
    return "el precio unitario debe ser un monto de cero o más.";
  return std::nullopt;
}

std::optional<std::string> tarifa_problem(std::string_view tarifa) {
  if (!tariffs().contains(tarifa)) return "elija una tarifa de IVA de la lista.";
  return std::nullopt;
}

std::vector<FieldError> check_party(std::string_view identificacion, std::string_view nombre,
                                    std::string_view correo, std::string_view prefix,
                                    std::string_view who) {
  std::vector<FieldError> e;
  const std::string at(prefix);
  if (identificacion.empty())
    e.push_back({at + "identificacion", fmt::format("Escriba la identificación del {}.", who)});
  else if (auto id = Identification::parse(identificacion); !id)
    e.push_back({at + "identificacion", id.error().message});
  if (nombre.size() < 3 || nombre.size() > 100)
    e.push_back(
        {at + "nombre", fmt::format("Escriba el nombre del {} (de 3 a 100 caracteres).", who)});
  if (!correo.empty() && correo.find('@') == std::string_view::npos)
    e.push_back({at + "correo", fmt::format("El correo del {} no es válido: falta la @.", who)});
  return e;
}

std::optional<std::string> identification_type_problem(std::string_view tipo,
                                                       std::string_view identificacion) {
  auto id = Identification::parse(identificacion);
  if (id && !tipo.empty() && id_type_code(id->type()) != tipo)
    return fmt::format("La identificación no es del tipo elegido: es {}.",
                       id_type_name(id->type()));
  return std::nullopt;
}

std::string_view document_tipo(DocumentKind kind) {
  return info(kind).tipo;
}

std::optional<DocumentKind> parse_document_tipo(std::string_view tipo) {
  for (const KindInfo& k : kKinds)
    if (k.tipo == tipo) return k.kind;
  return std::nullopt;
}

Result<std::string> sign_checked(const KeyCustody& custody, const CustodyRecord& key,
                                 std::string_view xml, const xml::SchemaValidator& schemas,
                                 std::string_view what) {
  auto signed_xml = custody.sign(key, xml);
  if (!signed_xml) return signed_xml.error();
  // What is sent must be what the schema allows (it wants the signature).
  auto reread = xml::parse(*signed_xml, xades::kMaxDocumentBytes);
  if (!reread) return reread.error();
  const auto invalid = schemas.validate(reread->get());
  if (!invalid.empty())
    return make_error(errc::kErrorInterno,
                      fmt::format("{} generado no cumple el esquema: {}", what, invalid.front()));
  return signed_xml;
}

Emission submit_to_reception(ReceptionService& reception, const Config& config,
                             const TaxpayerRecord& sender, const Identification& sender_id,
                             EmittedRecord record, const std::string& envelope_json) {
  const ApiCaller api{sender_id.api_user(record.environment, config.user_domain),
                      record.environment, sender.id};
  const ReceptionAnswer answer =
      reception.submit(record.environment, api, sender_id.digits(), envelope_json);
  Emission out{std::move(record), answer.status, ""};
  if (auto cause = answer.headers.find("X-Error-Cause"); cause != answer.headers.end())
    out.reception_cause = cause->second;
  return out;
}

EmissionService::EmissionService(Store& store, const Config& config, KeyCustody& custody,
                                 ReceptionService& reception, const xml::SchemaValidator& schemas)
    : store_(store), config_(config), custody_(custody), reception_(reception), schemas_(schemas) {}

std::vector<FieldError> EmissionService::check(const EmissionInput& in_) const {
  std::vector<FieldError> e;
  auto add = [&](std::string field, std::string message) {
    e.push_back(FieldError{std::move(field), std::move(message)});
  };
  if (in_.actividad.size() != 6 || !all_digits(in_.actividad))
    add("actividad", "El código de actividad económica debe tener 6 dígitos.");
  if (in_.provincia.size() != 1 || in_.provincia < "1" || in_.provincia > "7")
    add("provincia", "La provincia es un dígito del 1 al 7.");
  if (in_.canton.size() != 2 || !all_digits(in_.canton))
    add("canton", "El cantón tiene 2 dígitos, p. ej. 01.");
  if (in_.distrito.size() != 2 || !all_digits(in_.distrito))
    add("distrito", "El distrito tiene 2 dígitos, p. ej. 01.");
  if (in_.otras_senas.size() < 5 || in_.otras_senas.size() > 250)
    add("otras_senas", "Escriba las otras señas de su dirección (de 5 a 250 caracteres).");
  if (in_.correo.find('@') == std::string::npos || in_.correo.size() > 160)
    add("correo", "Escriba su correo electrónico, p. ej. nombre@example.com.");

  const bool compra = in_.kind == DocumentKind::kFacturaCompra;
  const bool receptor_given = !in_.receptor_identificacion.empty() || !in_.receptor_nombre.empty();
  if (compra) {
    // The seller goes in the XML's Emisor, whose Nombre has 5 to 100 characters.
    if (in_.proveedor_identificacion.empty())
      add("proveedor_identificacion",
          "Una factura de compra debe indicar la identificación del proveedor (el vendedor).");
    else if (auto id = Identification::parse(in_.proveedor_identificacion); !id)
      add("proveedor_identificacion", id.error().message);
    if (in_.proveedor_nombre.size() < 5 || in_.proveedor_nombre.size() > 100)
      add("proveedor_nombre", "Escriba el nombre del proveedor (de 5 a 100 caracteres).");
    if (!in_.proveedor_correo.empty() &&
        (in_.proveedor_correo.find('@') == std::string::npos || in_.proveedor_correo.size() > 160))
      add("proveedor_correo", "Escriba un correo válido del proveedor, p. ej. nombre@example.com.");
  } else if (in_.kind == DocumentKind::kFactura || receptor_given) {
    for (FieldError& p : check_party(in_.receptor_identificacion, in_.receptor_nombre,
                                     in_.receptor_correo, "receptor_", "receptor"))
      e.push_back(std::move(p));
  }
  if (!in({in_.condicion_venta}, {"01", "02", "03", "04", "05", "06", "07", "08", "10"}))
    add("condicion_venta", "Elija una condición de venta de la lista.");
  if (!in({in_.medio_pago}, {"01", "02", "03", "04", "05", "06", "07"}))
    add("medio_pago", "Elija un medio de pago de la lista.");
  if (!in({in_.moneda}, {"CRC", "USD", "EUR"})) {
    add("moneda", "Elija la moneda: CRC, USD o EUR.");
  } else if (in_.moneda != "CRC") {
    auto rate = amount(in_.tipo_cambio);
    if (!rate || *rate <= Amount())
      add("tipo_cambio",
          fmt::format("Escriba el tipo de cambio de {} a colones, p. ej. 510.25.", in_.moneda));
  }
  if (is_nota(in_.kind)) {
    if (in_.referencia_clave.empty())
      add("referencia_clave", "Una nota debe indicar la clave del comprobante al que se refiere.");
    else if (auto clave = Clave::parse(in_.referencia_clave); !clave)
      add("referencia_clave", clave.error().message);
    if (!in({in_.referencia_codigo}, {"01", "02", "04", "05", "06", "07", "08", "09", "10", "12"}))
      add("referencia_codigo", "Elija el código de referencia de la lista.");
    if (in_.referencia_razon.size() < 3 || in_.referencia_razon.size() > 180)
      add("referencia_razon", "Escriba la razón de la nota (de 3 a 180 caracteres).");
  }

  int filled = 0;
  for (std::size_t i = 0; i < in_.lines.size(); ++i) {
    const LineInput& l = in_.lines[i];
    if (l.empty()) continue;
    ++filled;
    const std::string at = fmt::format("linea{}_", i + 1);
    const std::string name = fmt::format("Línea {}: ", i + 1);
    if (auto problem = cabys_problem(l.cabys)) add(at + "cabys", name + *problem);
    if (auto problem = detalle_problem(l.detalle)) add(at + "detalle", name + *problem);
    auto cantidad = amount(l.cantidad);
    if (!cantidad || *cantidad <= Amount() || decimals(l.cantidad) > 3)
      add(at + "cantidad", name + "la cantidad debe ser mayor que cero, con hasta 3 decimales.");
    if (auto problem = unidad_problem(l.unidad)) add(at + "unidad", name + *problem);
    auto precio = amount(l.precio_unitario);
    if (auto problem = precio_problem(l.precio_unitario)) add(at + "precio", name + *problem);
    std::optional<Amount> descuento = l.descuento.empty() ? Amount() : amount(l.descuento);
    if (!descuento || *descuento < Amount() || decimals(l.descuento) > 5) {
      add(at + "descuento", name + "el descuento debe ser un monto de cero o más.");
    } else if (cantidad && precio && *descuento > Amount::multiply(*cantidad, *precio)) {
      add(at + "descuento", name + "el descuento no puede ser mayor que el monto de la línea.");
    } else if (*descuento > Amount() &&
               (l.naturaleza_descuento.size() < 3 || l.naturaleza_descuento.size() > 80)) {
      add(at + "naturaleza", name + "escriba la razón del descuento (de 3 a 80 caracteres).");
    }
    if (auto problem = tarifa_problem(l.tarifa)) add(at + "tarifa", name + *problem);
  }
  if (filled == 0) add("linea1_cabys", "Agregue al menos una línea.");
  if (filled > static_cast<int>(kMaxLines))
    add("lineas", "Un comprobante tiene hasta 1000 líneas.");
  return e;
}

Result<Emission> EmissionService::emit(const TaxpayerRecord& emisor, const EmissionInput& input,
                                       std::vector<FieldError>& errors, const std::string& actor) {
  errors = check(input);
  if (!errors.empty()) return make_error(errc::kDatoInvalido, "Revise los datos del comprobante.");
  auto emisor_id = Identification::parse(emisor.identification);
  if (!emisor_id) return emisor_id.error();
  auto key = custody_.find(emisor.id, input.environment);
  if (!key) return key.error();
  if (!*key)
    return make_error(errc::kSinLlaveCustodia,
                      "No tiene una llave guardada para firmar automáticamente en este ambiente.");

  std::vector<ComputedLine> lines;
  std::vector<LineAmounts> amounts;
  for (const LineInput& l : input.lines) {
    if (l.empty()) continue;
    const Tariff& t = tariffs().find(l.tarifa)->second;
    const Amount tarifa = *Amount::parse(t.percent);
    LineAmounts a = compute_line(*Amount::parse(l.cantidad), *Amount::parse(l.precio_unitario),
                                 l.descuento.empty() ? Amount() : *Amount::parse(l.descuento),
                                 tarifa, service_units().contains(l.unidad), t.exento);
    lines.push_back(ComputedLine{&l, a, tarifa});
    amounts.push_back(a);
  }
  const Summary summary = compute_totals(amounts, Amount(), Amount());
  // The other party: the receptor, or in a factura de compra the seller.
  const bool compra = input.kind == DocumentKind::kFacturaCompra;
  std::optional<Identification> receptor_id;
  if (compra)
    receptor_id = *Identification::parse(input.proveedor_identificacion);
  else if (!input.receptor_identificacion.empty())
    receptor_id = *Identification::parse(input.receptor_identificacion);
  const std::string& receptor_nombre = compra ? input.proveedor_nombre : input.receptor_nombre;
  const std::string& receptor_correo = compra ? input.proveedor_correo : input.receptor_correo;

  const KindInfo& kind = info(input.kind);
  const ConsecutivoKey counter{input.environment, emisor_id->digits(), std::string(kSucursal),
                               std::string(kTerminal), std::string(kind.tipo)};
  const UnixSeconds now = now_seconds();
  const std::string fecha = xades::costa_rica_time(now);
  const std::string nombre =
      emisor.apellidos.empty() ? emisor.nombre : emisor.nombre + " " + emisor.apellidos;

  auto stored = store_.emit_numbered(counter, [&](std::int64_t numero) -> Result<NumberedEmission> {
    const std::string consecutivo = compose_consecutivo(kSucursal, kTerminal, kind.tipo, numero);
    const CivilDate date = costa_rica_date(std::chrono::sys_seconds{std::chrono::seconds{now}});
    auto clave = Clave::compose(date.day, date.month, date.year, emisor_id->digits(), consecutivo,
                                '1', random_digits(8));
    if (!clave) return clave.error();

    xml::Document doc = xml::new_document(std::string(kind.root),
                                          std::string(kNamespaceBase) + std::string(kind.ns));
    if (!doc) return make_error(errc::kErrorInterno, "Sin memoria.");
    xmlNode* root = xmlDocGetRootElement(doc.get());
    auto add = [](xmlNode* parent, const std::string& name, const std::string& text = {}) {
      return xml::add_element(parent, name, text);
    };
    add(root, "Clave", clave->text);
    add(root, "ProveedorSistemas", emisor_id->digits());
    // In a factura de compra the taxpayer's activity is the buyer's.
    add(root, compra ? "CodigoActividadReceptor" : "CodigoActividadEmisor", input.actividad);
    add(root, "NumeroConsecutivo", consecutivo);
    add(root, "FechaEmision", fecha);
    // The taxpayer, with the address and e-mail typed: the Emisor, or in a
    // factura de compra the Receptor (the buyer, who issues and signs it).
    auto taxpayer = [&](xmlNode* p) {
      add(p, "Nombre", nombre);
      xmlNode* id = add(p, "Identificacion");
      add(id, "Tipo", std::string(id_type_code(emisor_id->type())));
      add(id, "Numero", emisor_id->digits());
      xmlNode* u = add(p, "Ubicacion");
      add(u, "Provincia", input.provincia);
      add(u, "Canton", input.canton);
      add(u, "Distrito", input.distrito);
      add(u, "OtrasSenas", input.otras_senas);
      add(p, "CorreoElectronico", input.correo);
    };
    // The other party: the Receptor, or in a factura de compra the Emisor (the seller).
    auto other = [&](xmlNode* p) {
      add(p, "Nombre", receptor_nombre);
      xmlNode* id = add(p, "Identificacion");
      add(id, "Tipo", std::string(id_type_code(receptor_id->type())));
      add(id, "Numero", receptor_id->digits());
      if (!receptor_correo.empty()) add(p, "CorreoElectronico", receptor_correo);
    };
    if (compra) {
      other(add(root, "Emisor"));
      taxpayer(add(root, "Receptor"));
    } else {
      taxpayer(add(root, "Emisor"));
      if (receptor_id) other(add(root, "Receptor"));
    }
    add(root, "CondicionVenta", input.condicion_venta);
    xmlNode* detalle = add(root, "DetalleServicio");
    std::map<std::string, Amount> by_tariff;
    int number = 0;
    for (const ComputedLine& c : lines) {
      const LineAmounts& a = c.amounts;
      xmlNode* l = add(detalle, "LineaDetalle");
      add(l, "NumeroLinea", std::to_string(++number));
      add(l, "CodigoCABYS", c.input->cabys);
      add(l, "Cantidad", with_places(a.cantidad, 3));
      add(l, "UnidadMedida", c.input->unidad);
      add(l, "Detalle", c.input->detalle);
      add(l, "PrecioUnitario", a.precio_unitario.text());
      add(l, "MontoTotal", a.monto_total.text());
      if (a.descuentos > Amount()) {
        xmlNode* d = add(l, "Descuento");
        add(d, "MontoDescuento", a.descuentos.text());
        add(d, "CodigoDescuento", "07");  // descuento comercial
        add(d, "NaturalezaDescuento", c.input->naturaleza_descuento);
      }
      add(l, "SubTotal", a.sub_total.text());
      add(l, "BaseImponible", a.sub_total.text());
      xmlNode* i = add(l, "Impuesto");
      add(i, "Codigo", "01");
      add(i, "CodigoTarifaIVA", c.input->tarifa);
      add(i, "Tarifa", with_places(c.tarifa, 2));
      add(i, "Monto", a.impuestos.text());
      if (!compra) add(l, "ImpuestoAsumidoEmisorFabrica", Amount().text());
      add(l, "ImpuestoNeto", a.impuestos.text());
      add(l, "MontoTotalLinea", a.monto_total_linea.text());
      by_tariff[c.input->tarifa] += a.impuestos;
    }
    xmlNode* resumen = add(root, "ResumenFactura");
    xmlNode* moneda = add(resumen, "CodigoTipoMoneda");
    add(moneda, "CodigoMoneda", input.moneda);
    add(moneda, "TipoCambio",
        input.moneda == "CRC" ? Amount::units(Amount::kScale).text()
                              : Amount::parse(input.tipo_cambio)->text());
    auto nonzero = [&](const std::string& name, Amount a) {
      if (a != Amount()) add(resumen, name, a.text());
    };
    nonzero("TotalServGravados", summary.serv_gravados);
    nonzero("TotalServExentos", summary.serv_exentos);
    nonzero("TotalMercanciasGravadas", summary.merc_gravadas);
    nonzero("TotalMercanciasExentas", summary.merc_exentas);
    nonzero("TotalGravado", summary.gravado);
    nonzero("TotalExento", summary.exento);
    add(resumen, "TotalVenta", summary.venta.text());
    nonzero("TotalDescuentos", summary.descuentos);
    add(resumen, "TotalVentaNeta", summary.venta_neta.text());
    for (const auto& [tarifa, monto] : by_tariff) {
      xmlNode* d = add(resumen, "TotalDesgloseImpuesto");
      add(d, "Codigo", "01");
      add(d, "CodigoTarifaIVA", tarifa);
      add(d, "TotalMontoImpuesto", monto.text());
    }
    add(resumen, "TotalImpuesto", summary.impuesto.text());
    xmlNode* pago = add(resumen, "MedioPago");
    add(pago, "TipoMedioPago", input.medio_pago);
    add(pago, "TotalMedioPago", summary.comprobante.text());
    add(resumen, "TotalComprobante", summary.comprobante.text());
    if (is_nota(input.kind)) {
      auto referenced = *Clave::parse(input.referencia_clave);
      xmlNode* ref = add(root, "InformacionReferencia");
      add(ref, "TipoDocIR", referenced.tipo);
      add(ref, "Numero", referenced.text);
      add(ref, "FechaEmisionIR",
          fmt::format("{:04}-{:02}-{:02}T00:00:00-06:00", referenced.year, referenced.month,
                      referenced.day));
      add(ref, "Codigo", input.referencia_codigo);
      add(ref, "Razon", input.referencia_razon);
    } else if (compra) {
      // The schema requires a reference: what the purchase rests on, the
      // receipt of a seller of the Régimen Especial (TipoDocIR 14).
      xmlNode* ref = add(root, "InformacionReferencia");
      add(ref, "TipoDocIR", "14");
      add(ref, "FechaEmisionIR", fecha);
      add(ref, "Codigo", "04");  // referencia a otro documento
      add(ref, "Razon", "Compra a un proveedor del Régimen Especial");
    }

    auto text = xml::to_string(doc.get());
    if (!text) return text.error();
    auto signed_xml = sign_checked(custody_, **key, *text, schemas_, "El comprobante");
    if (!signed_xml) return signed_xml.error();

    NumberedEmission out;
    out.record.clave = clave->text;
    out.record.environment = input.environment;
    out.record.taxpayer_id = emisor.id;
    out.record.tipo = std::string(kind.tipo);
    out.record.consecutivo = consecutivo;
    out.record.receptor_nombre = receptor_id ? receptor_nombre : "";
    out.record.total = summary.comprobante.text();
    out.record.moneda = input.moneda;
    out.record.xml = Bytes(signed_xml->begin(), signed_xml->end());
    out.audit =
        AuditEvent{actor, "herramienta.firmar", emisor.identification,
                   fmt::format("ambiente={} clave={} serie={}", environment_name(input.environment),
                               clave->text, (*key)->serial_hex)};
    return out;
  });
  if (!stored) return stored.error();

  boost::json::object envelope;
  envelope["clave"] = stored->clave;
  envelope["fecha"] = fecha;
  envelope["emisor"] =
      boost::json::object{{"tipoIdentificacion", std::string(id_type_code(emisor_id->type()))},
                          {"numeroIdentificacion", emisor_id->digits()}};
  if (receptor_id)
    envelope["receptor"] =
        boost::json::object{{"tipoIdentificacion", std::string(id_type_code(receptor_id->type()))},
                            {"numeroIdentificacion", receptor_id->digits()}};
  envelope["comprobanteXml"] = base64_encode(stored->xml, kBase64Standard);
  return submit_to_reception(reception_, config_, emisor, *emisor_id, std::move(*stored),
                             boost::json::serialize(envelope));
}

Result<EmittedDocumentPage> EmissionService::emitted(const TaxpayerRecord& emisor, Environment env,
                                                     const EmittedFilter& filter,
                                                     std::int64_t offset, std::int64_t limit) {
  auto page = store_.emitted(emisor.id, env, filter, offset, limit);
  if (!page) return page.error();
  EmittedDocumentPage out;
  out.total = page->total;
  for (EmittedRow& row : page->items)
    out.items.push_back(
        emitted_document(std::move(row.record), row.state, std::move(row.respuesta_xml)));
  return out;
}

Result<std::optional<EmittedDocument>> EmissionService::document(const TaxpayerRecord& emisor,
                                                                 const std::string& clave) {
  auto found = document(clave);
  if (!found || !*found || (*found)->record.taxpayer_id == emisor.id) return found;
  return std::optional<EmittedDocument>();
}

Result<std::optional<EmittedDocument>> EmissionService::document(const std::string& clave) {
  auto found = store_.find_emitted(clave);
  if (!found) return found.error();
  if (!*found) return std::optional<EmittedDocument>();
  auto received = store_.find_comprobante(clave);
  if (!received) return received.error();
  if (!*received) return std::optional<EmittedDocument>(emitted_document(std::move(**found)));
  return std::optional<EmittedDocument>(emitted_document(std::move(**found), (*received)->state,
                                                         std::move((*received)->respuesta_xml)));
}

std::string hacienda_detalle(const Bytes& mensaje_hacienda) {
  return detalle_of(mensaje_hacienda);
}

std::string_view emitted_state_label(const std::optional<ComprobanteState>& state) {
  return state ? state_name(*state) : "no recibido";
}

std::string_view document_kind_label(std::string_view tipo) {
  if (tipo == "01") return "Factura electrónica";
  if (tipo == "02") return "Nota de débito electrónica";
  if (tipo == "03") return "Nota de crédito electrónica";
  if (tipo == "04") return "Tiquete electrónico";
  if (tipo == "08") return "Factura electrónica de compra";
  return "Comprobante electrónico";
}

}  // namespace llavero::service
