// Validation against Hacienda's official v4.4 schemas (xml/schema.h): where
// the schemas are found, what a missing or broken copy says, and what
// validating the examples of examples/ gives once they are signed (every
// official schema requires the ds:Signature).
#include "xml/schema.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing.h"
#include "xades/xades.h"

namespace fs = std::filesystem;

namespace llavero {

using namespace llavero::service;
namespace {

const fs::path& repository() {
  static const fs::path root = fs::path(__FILE__).parent_path().parent_path();
  return root;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string example(std::string_view name) {
  return read_text(repository() / "examples" / name);
}

std::string replace_once(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

using Doc = std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)>;

Doc parse(const std::string& xml) {
  Doc doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "doc.xml", nullptr,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
          xmlFreeDoc);
  EXPECT_TRUE(doc) << xml.substr(0, 200);
  return doc;
}

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The project's schemas, loaded once (whatever $LLAVERO_XSD_DIR says).
const xml::SchemaValidator& official() {
  static const auto* validator = [] {
    ScopedEnv no_override("LLAVERO_XSD_DIR", std::nullopt);
    auto* v = new xml::SchemaValidator(xml::schema_directory(""));
    auto loaded = v->load();
    EXPECT_TRUE(loaded.ok()) << (loaded ? "" : loaded.error().message);
    return v;
  }();
  return *validator;
}

// Signs documents with a fresh key of the demo person, as `llavero firmar` does.
class Signing : public ::testing::Test {
 protected:
  // The key as the .p12 of "Generar llave" hands it out (PIN 1234).
  void SetUp() override {
    Bytes der;
    auto made = inst_->service->generate(
        GenerateRequest{"1-0647-0958", Environment::kPruebas, std::nullopt, false},
        *Pin::parse("1234"), testing::keep_p12(der), "test");
    ASSERT_TRUE(made.ok()) << made.error().message;
    const unsigned char* p = der.data();
    ossl::Pkcs12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* cas = nullptr;
    ASSERT_EQ(PKCS12_parse(p12.get(), "1234", &key, &cert, &cas), 1);
    key_.reset(key);
    cert_.reset(cert);
    ossl::X509Stack owned(cas);
    while (owned && sk_X509_num(owned.get()) > 0) chain_.emplace_back(sk_X509_shift(owned.get()));
  }

  std::string sign(std::string_view xml) {
    std::vector<const X509*> chain;
    for (const auto& c : chain_) chain.push_back(c.get());
    auto out = xades::sign(xml, *key_, *cert_, chain, {});
    EXPECT_TRUE(out.ok()) << (out ? "" : out.error().message);
    return out ? *out : "";
  }

  std::vector<std::string> validate(const std::string& xml) {
    Doc doc = parse(xml);
    if (!doc) return {"no se pudo leer"};
    return official().validate(doc.get());
  }

  std::unique_ptr<testing::Installation> inst_ = testing::make_installation();
  ossl::PKey key_;
  ossl::X509Ptr cert_;
  std::vector<ossl::X509Ptr> chain_;
};

// --- the official schemas ----------------------------------------------------------

TEST_F(Signing, EverySignedExampleIsValid) {
  for (std::string_view name : {"factura-electronica.xml", "tiquete-electronico.xml",
                                "nota-credito-electronica.xml", "mensaje-receptor.xml"}) {
    const auto errors = validate(sign(example(name)));
    EXPECT_TRUE(errors.empty()) << name << ": " << (errors.empty() ? "" : errors.front());
  }
}

TEST_F(Signing, AnUnsignedExampleIsNotValid) {
  const auto errors = validate(example("factura-electronica.xml"));
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(errors.front().starts_with("línea ")) << errors.front();
  EXPECT_NE(errors.front().find("Signature"), std::string::npos) << errors.front();
}

TEST_F(Signing, AChangedElementGivesASpanishLineNamingIt) {
  const std::string xml = replace_once(example("factura-electronica.xml"),
                                       "<CodigoActividadEmisor>620100</CodigoActividadEmisor>",
                                       "<CodigoActividadEmisor>6201</CodigoActividadEmisor>");
  const auto errors = validate(sign(xml));
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(errors.front().starts_with("línea 5: ")) << errors.front();
  EXPECT_NE(errors.front().find("CodigoActividadEmisor"), std::string::npos) << errors.front();
}

TEST_F(Signing, AnElementOutOfPlaceIsNotValid) {
  const std::string xml = replace_once(example("factura-electronica.xml"),
                                       "<ProveedorSistemas>106470958</ProveedorSistemas>",
                                       "<ProveedorSistemas>106470958</ProveedorSistemas>"
                                       "<Inventado>1</Inventado>");
  const auto errors = validate(sign(xml));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.front().find("Inventado"), std::string::npos) << errors.front();
}

TEST_F(Signing, TheWrongNamespaceIsNotValid) {
  const std::string xml = replace_once(example("factura-electronica.xml"),
                                       "v4.4/facturaElectronica", "v4.3/facturaElectronica");
  EXPECT_FALSE(validate(sign(xml)).empty());
}

TEST_F(Signing, ManyErrorsAreSummedUpInAFewLines) {
  std::string xml = example("factura-electronica.xml");
  for (std::string_view element :
       {"CodigoActividadEmisor", "CodigoActividadReceptor", "NumeroConsecutivo", "FechaEmision"}) {
    const auto open = xml.find(fmt::format("<{}>", element));
    ASSERT_NE(open, std::string::npos) << element;
    xml.insert(open + element.size() + 2, "X");
  }
  const auto errors = validate(sign(xml));
  EXPECT_GE(errors.size(), 1u);
  EXPECT_LE(errors.size(), 5u);
  for (const auto& line : errors) EXPECT_TRUE(line.starts_with("línea ")) << line;
}

TEST(Schema, AnUnknownRootIsNotAComprobante) {
  for (std::string_view xml :
       {"<Factura/>", "<facturaelectronica/>", "<x:FacturaElectronicaV43 xmlns:x=\"urn:x\"/>"}) {
    Doc doc = parse(std::string(xml));
    const auto errors = official().validate(doc.get());
    ASSERT_EQ(errors.size(), 1u) << xml;
    EXPECT_TRUE(errors[0].starts_with("el elemento raíz <")) << errors[0];
    EXPECT_TRUE(errors[0].ends_with("> no es un comprobante v4.4")) << errors[0];
  }
  Doc factura = parse("<Factura/>");
  EXPECT_EQ(official().validate(factura.get())[0],
            "el elemento raíz <Factura> no es un comprobante v4.4");
}

TEST(Schema, EachRootElementHasItsSchemaFile) {
  for (std::string_view root :
       {"FacturaElectronica", "TiqueteElectronico", "NotaCreditoElectronica",
        "NotaDebitoElectronica", "FacturaElectronicaCompra", "FacturaElectronicaExportacion",
        "ReciboElectronicoPago", "MensajeReceptor", "MensajeHacienda"}) {
    const std::string file = xml::SchemaValidator::schema_file_for(root);
    EXPECT_EQ(file, fmt::format("{}_V4.4.xsd", root));
    EXPECT_TRUE(fs::exists(repository() / "schemas/hacienda/v4.4" / file)) << file;
  }
  for (std::string_view unknown : {"", "Factura", "facturaElectronica", "Signature"})
    EXPECT_EQ(xml::SchemaValidator::schema_file_for(unknown), "") << unknown;
}

TEST(Schema, ValidatingAgainstASchemaItDoesNotHaveIsAnError) {
  Doc doc = parse("<MensajeHacienda/>");
  const auto errors = official().validate_against(doc.get(), "Inventado_V4.4.xsd");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "No hay esquema Inventado_V4.4.xsd.");
}

TEST(Schema, AValidatorThatWasNeverLoadedAcceptsNothing) {
  xml::SchemaValidator unloaded(xml::schema_directory(""));
  Doc doc = parse(example("factura-electronica.xml"));
  const auto errors = unloaded.validate(doc.get());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "No hay esquema FacturaElectronica_V4.4.xsd.");
}

TEST(Schema, ValidationFromManyThreadsAtOnceGivesTheSameAnswers) {
  const std::string bad = replace_once(example("tiquete-electronico.xml"),
                                       "<CodigoActividadEmisor>620100</CodigoActividadEmisor>",
                                       "<CodigoActividadEmisor>6201</CodigoActividadEmisor>");
  Doc good_doc = parse(example("tiquete-electronico.xml"));
  Doc bad_doc = parse(bad);
  const auto good_expected = official().validate(good_doc.get());
  const auto bad_expected = official().validate(bad_doc.get());
  ASSERT_NE(good_expected, bad_expected);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        Doc g = parse(example("tiquete-electronico.xml"));
        Doc b = parse(bad);
        if (official().validate(g.get()) != good_expected) ++mismatches;
        if (official().validate(b.get()) != bad_expected) ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// --- where the schemas are ---------------------------------------------------------

TEST(SchemaDirectory, DefaultIsTheProjectsOwnCopy) {
  ScopedEnv no_override("LLAVERO_XSD_DIR", std::nullopt);
  const fs::path dir = xml::schema_directory("");
  EXPECT_TRUE(fs::exists(dir / "FacturaElectronica_V4.4.xsd")) << dir;
  EXPECT_EQ(dir.filename(), "v4.4");
  EXPECT_EQ(dir.parent_path().filename(), "hacienda");
}

TEST(SchemaDirectory, ConfiguredDirectoryIsUsed) {
  ScopedEnv no_override("LLAVERO_XSD_DIR", std::nullopt);
  EXPECT_EQ(xml::schema_directory("/srv/esquemas"), fs::path("/srv/esquemas"));
}

TEST(SchemaDirectory, EnvironmentVariableOverridesTheConfiguration) {
  ScopedEnv override_dir("LLAVERO_XSD_DIR", "/opt/xsd");
  EXPECT_EQ(xml::schema_directory("/srv/esquemas"), fs::path("/opt/xsd"));
  EXPECT_EQ(xml::schema_directory(""), fs::path("/opt/xsd"));
}

TEST(SchemaDirectory, AnEmptyEnvironmentVariableIsIgnored) {
  ScopedEnv empty("LLAVERO_XSD_DIR", "");
  EXPECT_EQ(xml::schema_directory("/srv/esquemas"), fs::path("/srv/esquemas"));
}

TEST(SchemaDirectory, MissingDirectoryIsAnErrorThatNamesThePath) {
  testing::TempDir tmp;
  const fs::path missing = tmp.path() / "no-existe";
  xml::SchemaValidator validator(missing);
  auto loaded = validator.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "esquemas_no_disponibles");
  EXPECT_NE(loaded.error().message.find(missing.string()), std::string::npos)
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("LLAVERO_XSD_DIR"), std::string::npos);
}

// A copy of the schemas under `root` laid out as in the repository (the
// official schemas import ../../xmldsig-core-schema.xsd); returns its v4.4
// directory.
fs::path copy_schemas(const fs::path& root) {
  const fs::path source = repository() / "schemas";
  const fs::path v44 = root / "hacienda/v4.4";
  fs::create_directories(v44);
  fs::copy_file(source / "xmldsig-core-schema.xsd", root / "xmldsig-core-schema.xsd");
  for (const auto& entry : fs::directory_iterator(source / "hacienda/v4.4"))
    fs::copy_file(entry.path(), v44 / entry.path().filename());
  return v44;
}

TEST(SchemaDirectory, LoadingThroughTheEnvironmentVariableFindsThatCopy) {
  testing::TempDir tmp;
  const fs::path copy = copy_schemas(tmp.path());
  {
    ScopedEnv override_dir("LLAVERO_XSD_DIR", copy.string());
    xml::SchemaValidator validator(xml::schema_directory(""));
    auto loaded = validator.load();
    EXPECT_TRUE(loaded.ok()) << (loaded ? "" : loaded.error().message);
  }
  // With one file missing from the copy, the error names the file in the
  // copy: the variable was followed.
  fs::remove(copy / "TiqueteElectronico_V4.4.xsd");
  ScopedEnv override_dir("LLAVERO_XSD_DIR", copy.string());
  xml::SchemaValidator validator(xml::schema_directory("/srv/esquemas"));
  auto loaded = validator.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "esquemas_no_disponibles");
  EXPECT_NE(loaded.error().message.find((copy / "TiqueteElectronico_V4.4.xsd").string()),
            std::string::npos)
      << loaded.error().message;
}

TEST(SchemaDirectory, BrokenSchemaIsAnErrorThatNamesTheFile) {
  testing::TempDir tmp;
  const fs::path copy = copy_schemas(tmp.path());
  std::ofstream(copy / "MensajeReceptor_V4.4.xsd", std::ios::trunc) << "<xs:schema roto";
  xml::SchemaValidator validator(copy);
  auto loaded = validator.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "esquemas_no_disponibles");
  EXPECT_NE(loaded.error().message.find((copy / "MensajeReceptor_V4.4.xsd").string()),
            std::string::npos)
      << loaded.error().message;
}

TEST(SchemaDirectory, SchemasWithoutTheXmldsigSchemaBesideThemDoNotLoad) {
  testing::TempDir tmp;
  const fs::path copy = copy_schemas(tmp.path());
  fs::remove(tmp.path() / "xmldsig-core-schema.xsd");
  xml::SchemaValidator validator(copy);
  auto loaded = validator.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "esquemas_no_disponibles");
  EXPECT_NE(loaded.error().message.find("no se pudo compilar"), std::string::npos)
      << loaded.error().message;
}

}  // namespace
}  // namespace llavero
