#include "service/pdf_invoice.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fmt/format.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <string_view>
#include <vector>

#include "service/comprobante_contents.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

// --- owned handles ---------------------------------------------------------------

struct FreeSurface {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct FreeCairo {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
struct FreeLayout {
  void operator()(PangoLayout* l) const { g_object_unref(l); }
};
struct FreeFont {
  void operator()(PangoFontDescription* f) const { pango_font_description_free(f); }
};
struct FreeQr {
  void operator()(QRcode* q) const { QRcode_free(q); }
};
using Surface = std::unique_ptr<cairo_surface_t, FreeSurface>;
using Cairo = std::unique_ptr<cairo_t, FreeCairo>;
using Layout = std::unique_ptr<PangoLayout, FreeLayout>;
using Font = std::unique_ptr<PangoFontDescription, FreeFont>;
using Qr = std::unique_ptr<QRcode, FreeQr>;

// A4 in points, and the margins.
constexpr double kWidth = 595.276, kHeight = 841.89, kMargin = 40;
constexpr double kRow = 13;  // one table row

// Draws text on one line from (x, y), in `width` points (ellipsized; 0: no
// limit), aligned left or right; returns its height.
class Writer {
 public:
  explicit Writer(cairo_t* cr) : cr_(cr), layout_(pango_cairo_create_layout(cr)) {}
  bool ok() const { return layout_ != nullptr; }

  double text(double x, double y, std::string_view s, double size, bool bold = false,
              double width = 0, bool right = false) {
    Font font(pango_font_description_from_string("DejaVu Sans"));
    pango_font_description_set_absolute_size(font.get(), size * PANGO_SCALE);
    pango_font_description_set_weight(font.get(), bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout_.get(), font.get());
    pango_layout_set_text(layout_.get(), s.data(), static_cast<int>(s.size()));
    pango_layout_set_width(layout_.get(), width > 0 ? static_cast<int>(width * PANGO_SCALE) : -1);
    pango_layout_set_ellipsize(layout_.get(),
                               width > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
    pango_layout_set_alignment(layout_.get(), right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
    cairo_move_to(cr_, x, y);
    pango_cairo_show_layout(cr_, layout_.get());
    int w = 0, h = 0;
    pango_layout_get_size(layout_.get(), &w, &h);
    return static_cast<double>(h) / PANGO_SCALE;
  }

 private:
  cairo_t* cr_;
  Layout layout_;
};

// The clave's QR code as filled squares, `size` points wide, at (x, y).
bool draw_qr(cairo_t* cr, const std::string& clave, double x, double y, double size) {
  Qr qr(QRcode_encodeString(clave.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!qr) return false;
  const int n = qr->width;
  const double module = size / (n + 8);  // a quiet zone of four modules each side
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int row = 0; row < n; ++row)
    for (int col = 0; col < n; ++col)
      if (qr->data[row * n + col] & 1)  // bit 0: a dark module
        cairo_rectangle(cr, x + (col + 4) * module, y + (row + 4) * module, module, module);
  cairo_fill(cr);
  return true;
}

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// The table's columns: left edge and width; the first is the description,
// the others are amounts aligned right.
struct Column {
  const char* title;
  double x, width;
};
constexpr Column kColumns[] = {
    {"Descripción", kMargin, 175},          {"Cantidad", kMargin + 175, 50},
    {"Precio unitario", kMargin + 225, 75}, {"Descuento", kMargin + 300, 65},
    {"Impuesto", kMargin + 365, 70},        {"Total línea", kMargin + 435, 80},
};

}  // namespace

Result<std::string> invoice_pdf(const EmittedDocument& doc) {
  auto read = read_contents(doc.record.xml);
  if (!read) return read.error();
  const ComprobanteContents& in = *read;

  std::string out;
  {
    Surface surface(cairo_pdf_surface_create_for_stream(append, &out, kWidth, kHeight));
    Cairo cr(cairo_create(surface.get()));
    Writer w(cr.get());
    if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS || !w.ok())
      return make_error(errc::kErrorInterno, "No se pudo crear el PDF.");
    cairo_pdf_surface_set_metadata(
        surface.get(), CAIRO_PDF_METADATA_TITLE,
        fmt::format("{} {}", document_kind_label(doc.record.tipo), in.clave).c_str());

    // The heading: who, to whom, when, which, and Hacienda's verdict; the QR
    // code of the clave at the right, which a phone reads to look it up.
    double y = kMargin;
    constexpr double kQr = 110;
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    y += w.text(kMargin, y, document_kind_label(doc.record.tipo), 16, true) + 6;
    auto field = [&](std::string_view label, const std::string& value) {
      if (value.empty()) return;
      w.text(kMargin, y, label, 9, true);
      y += w.text(kMargin + 90, y, value, 9, false, kWidth - 2 * kMargin - 90 - kQr) + 3;
    };
    field("Emisor", in.emisor_nombre);
    field("Identificación", in.emisor_id);
    field("Receptor", in.receptor_nombre);
    field("Identificación", in.receptor_id);
    field("Fecha", format_costa_rica(doc.record.created_at) + " (hora de Costa Rica)");
    field("Consecutivo", in.consecutivo);
    field("Moneda", in.moneda);
    field("Estado", std::string(emitted_state_label(doc.state)));
    if (!draw_qr(cr.get(), in.clave, kWidth - kMargin - kQr, kMargin, kQr))
      return make_error(errc::kErrorInterno, "No se pudo crear el código QR.");
    y = std::max(y, kMargin + kQr) + 4;
    w.text(kMargin, y, "Clave", 9, true);
    y += w.text(kMargin + 90, y, in.clave, 9) + 12;

    // The lines, with the table's heading repeated on each page.
    auto heading = [&] {
      for (const Column& c : kColumns)
        w.text(c.x, y, c.title, 8, true, c.width - 4, &c != kColumns);
      y += kRow;
      cairo_move_to(cr.get(), kMargin, y - 2);
      cairo_line_to(cr.get(), kWidth - kMargin, y - 2);
      cairo_set_line_width(cr.get(), 0.5);
      cairo_stroke(cr.get());
    };
    const double bottom = kHeight - kMargin;
    heading();
    for (const ContentsLine& l : in.lines) {
      if (y + kRow > bottom) {
        cairo_show_page(cr.get());
        y = kMargin;
        heading();
      }
      const std::string* values[] = {&l.detalle,   &l.cantidad, &l.precio,
                                     &l.descuento, &l.impuesto, &l.total};
      for (std::size_t i = 0; i < std::size(kColumns); ++i) {
        const std::string& v = values[i]->empty() && i == 3 ? std::string("0") : *values[i];
        w.text(kColumns[i].x, y, v, 8, false, kColumns[i].width - 4, i > 0);
      }
      y += kRow;
    }

    // ResumenFactura's totals, kept together.
    constexpr double kTotals = 4 * 14 + 12;
    if (y + kTotals > bottom) {
      cairo_show_page(cr.get());
      y = kMargin;
    }
    y += 12;
    auto total = [&](std::string_view label, const std::string& value, bool bold) {
      w.text(kWidth - kMargin - 300, y, label, 9, bold, 150);
      y += w.text(kWidth - kMargin - 150, y, fmt::format("{} {}", value, in.moneda), 9, bold, 150,
                  true) +
           3;
    };
    total("Total venta", in.venta, false);
    total("Total descuentos", in.descuentos.empty() ? "0" : in.descuentos, false);
    total("Total impuesto", in.impuesto, false);
    total("Total comprobante", in.comprobante, true);

    cairo_surface_finish(surface.get());
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
      return make_error(errc::kErrorInterno, "No se pudo escribir el PDF.");
  }
  return out;
}

}  // namespace llavero::service
