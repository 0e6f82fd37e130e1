// app::Application: the whole server assembled and started in-process, the
// way `llavero serve` starts it, so tests and benchmarks need no subprocess.
// It answers on the port it was given, publishes the CAs and /healthz, stops
// when asked, and refuses bad settings before binding anything.
#include "app/application.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <thread>

#include "app/data_dir.h"
#include "testing.h"
#include "util/files.h"

namespace llavero {
namespace {

namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

struct Answer {
  unsigned status = 0;
  std::string body;
};

Answer get(unsigned short port, const std::string& target) {
  boost::asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  beast::http::request<beast::http::empty_body> request(beast::http::verb::get, target, 11);
  request.set(beast::http::field::host, "127.0.0.1");
  beast::http::write(socket, request);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> response;
  beast::http::read(socket, buffer, response);
  return {response.result_int(), response.body()};
}

// One data directory (its RSA-4096 CAs take a while to make) for every test.
class ApplicationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    setenv(app::kPassphraseEnv, "frase de la prueba de la aplicación", 1);
    app::InitOptions options;
    options.actor = "prueba";
    auto made = app::initialize_data_dir(data(), options);
    ASSERT_TRUE(made) << made.error().message;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::filesystem::path data() { return dir_->path() / "datos"; }

 public:
  static app::ServeOptions on_any_port() {
    app::ServeOptions options;
    options.listen = "127.0.0.1:0";
    options.handle_signals = false;
    return options;
  }

 private:
  static testing::TempDir* dir_;
};
testing::TempDir* ApplicationTest::dir_ = nullptr;

TEST_F(ApplicationTest, ServesInProcessAndStopsWhenAsked) {
  auto opened = app::Application::open(data(), on_any_port());
  ASSERT_TRUE(opened) << opened.error().message;
  app::Application& server = **opened;
  ASSERT_NE(server.port(), 0);
  EXPECT_NE(server.banner().find(std::to_string(server.port())), std::string::npos);

  std::thread runner([&server] { server.run(); });
  const Answer health = get(server.port(), "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_NE(health.body.find("\"ok\""), std::string::npos);
  const Answer root = get(server.port(), "/stag/root-pem.crt");
  EXPECT_EQ(root.status, 200u);
  EXPECT_NE(root.body.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  const Answer missing = get(server.port(), "/no-existe");
  EXPECT_EQ(missing.status, 404u);
  // Issue 14: a path nobody serves gets the portal's 404 page, not plain text.
  EXPECT_NE(missing.body.find("<h1>Página no encontrada</h1>"), std::string::npos) << missing.body;
  server.stop();
  runner.join();  // run() returns once stopped: the test would hang otherwise
}

TEST_F(ApplicationTest, RefusesAListenValueThatIsNotAddressAndPort) {
  for (const char* listen : {"8080", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http"}) {
    app::ServeOptions options = on_any_port();
    options.listen = listen;
    auto opened = app::Application::open(data(), options);
    ASSERT_FALSE(opened) << listen;
    EXPECT_EQ(opened.error().code, "listen_invalido") << listen;
  }
}

TEST_F(ApplicationTest, RefusesATlsCertificateWithoutItsKey) {
  app::ServeOptions options = on_any_port();
  options.tls_certificate = "/tmp/cert.pem";
  auto opened = app::Application::open(data(), options);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "tls_invalido");
}

TEST_F(ApplicationTest, RefusesADirectoryThatIsNotADataDirectory) {
  testing::TempDir empty;
  auto opened = app::Application::open(empty.path(), on_any_port());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "no_es_directorio_de_datos");
}

TEST_F(ApplicationTest, ReadsTheSmtpPasswordFromItsFileAndRefusesToStartWithoutIt) {
  const auto conf = data() / "llavero.conf";
  auto original = read_file(conf);
  ASSERT_TRUE(original);
  std::ofstream(conf, std::ios::app) << "correo_smtp_url = smtp://127.0.0.1:2525\n"
                                        "correo_remitente = facturas@llavero.example\n"
                                        "correo_usuario = facturas\n"
                                        "correo_contrasena_archivo = smtp.secreto\n";
  auto missing = app::Application::open(data(), on_any_port());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "error_archivo");
  EXPECT_NE(missing.error().message.find("correo_contrasena_archivo"), std::string::npos);
  std::ofstream(data() / "smtp.secreto") << "secreta\n";
  auto opened = app::Application::open(data(), on_any_port());
  EXPECT_TRUE(opened) << opened.error().message;
  opened = make_error("", "");  // closed before the settings go back
  std::ofstream(conf, std::ios::trunc) << *original;
  std::filesystem::remove(data() / "smtp.secreto");
}

// `db` in llavero.conf chooses the store: the server assembled over a
// PostgreSQL database (a URL) serves what that database holds, as it does
// over a SQLite file named by path.
class ApplicationStore : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(ApplicationStore);

TEST_P(ApplicationStore, TheDbOfTheConfigurationIsTheStoreServed) {
  auto inst = install();
  inst->store.reset();
  testing::TempDir dir;
  service::Config config;
  config.database = inst->location();
  ASSERT_TRUE(write_file_atomically(dir.path() / app::kConfigFileName,
                                    service::render_config(config), 0644));
  setenv(app::kPassphraseEnv, testing::kTestPassphrase, 1);
  auto opened = app::Application::open(dir.path(), ApplicationTest::on_any_port());
  ASSERT_TRUE(opened) << opened.error().message;
  app::Application& server = **opened;
  std::thread runner([&server] { server.run(); });
  EXPECT_EQ(get(server.port(), "/healthz").status, 200u);
  const Answer root = get(server.port(), "/stag/root-pem.crt");
  EXPECT_EQ(root.status, 200u);
  EXPECT_NE(root.body.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  server.stop();
  runner.join();
  // No llavero.db was made beside the configuration for a PostgreSQL store.
  EXPECT_EQ(std::filesystem::exists(dir.path() / app::kDatabaseFileName), false);
  auto reopened = app::DataDir::open(dir.path());
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_TRUE((*reopened)->store().find_taxpayer("106470958")->has_value());
}

TEST(ApplicationDb, AnUnreachablePostgresIsRefusedWithItsReason) {
  testing::TempDir dir;
  service::Config config;
  config.database = "postgresql:///llavero?host=" + (dir.path() / "no-hay-servidor").string();
  ASSERT_TRUE(write_file_atomically(dir.path() / app::kConfigFileName,
                                    service::render_config(config), 0644));
  auto opened = app::DataDir::open(dir.path());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "almacen_no_disponible");
  EXPECT_NE(opened.error().message.find("PostgreSQL"), std::string::npos) << opened.error().message;
}

}  // namespace
}  // namespace llavero
