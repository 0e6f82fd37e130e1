// Whole-file writes (util/files.h): the destination is the old file or the
// whole new one, temporaries never collide and never outlive their process.
#include "util/files.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace llavero {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fs::path("llavero-files-" + std::to_string(getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  void touch(const std::string& name) { std::ofstream(dir_ / name) << "x"; }
  // The pid of a process that has ended.
  static pid_t dead_pid() {
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
    return child;
  }
  fs::path dir_;
};

TEST_F(FilesTest, WritesTheWholeContentAndLeavesNoTemporary) {
  ASSERT_TRUE(write_file_atomically(dir_ / "a.p12", "contenido", 0600));
  EXPECT_EQ(read_file(dir_ / "a.p12").value(), "contenido");
  EXPECT_EQ(names(), std::vector<std::string>{"a.p12"});
  EXPECT_EQ(fs::status(dir_ / "a.p12").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(FilesTest, ATemporaryLeftByAKilledRunWithTheSamePidDoesNotBlockTheNextWrite) {
  // The old name was ".<file>.<pid>.tmp": a run that got the pid of a killed
  // one failed with "File exists". Names are now random as well.
  touch(fmt::format(".a.p12.{}.tmp", getpid()));
  ASSERT_TRUE(write_file_atomically(dir_ / "a.p12", "1"));
  ASSERT_TRUE(write_file_atomically(dir_ / "a.p12", "2"));
  EXPECT_EQ(read_file(dir_ / "a.p12").value(), "2");
}

TEST_F(FilesTest, StaleTemporariesOfEndedProcessesAreRemovedByTheNextWrite) {
  const std::string stale = fmt::format(".a.p12.{}-0123456789abcdef.tmp", dead_pid());
  const std::string live = fmt::format(".b.p12.{}-0123456789abcdef.tmp", getpid());
  touch(stale);
  touch(live);
  touch(".notas.tmp");
  touch("c.p12.999999-0123456789abcdef.tmp");  // not hidden: not one of ours
  ASSERT_TRUE(write_file_atomically(dir_ / "a.p12", "nuevo"));
  EXPECT_EQ(names(), (std::vector<std::string>{live, ".notas.tmp", "a.p12",
                                               "c.p12.999999-0123456789abcdef.tmp"}));
}

TEST_F(FilesTest, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  fs::create_directories(dir_ / "es-un-directorio" / "con-algo");
  auto result = write_file_atomically(dir_ / "es-un-directorio", "x");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "error_archivo");
  EXPECT_NE(result.error().message.find("es-un-directorio"), std::string::npos);
  EXPECT_EQ(names(), std::vector<std::string>{"es-un-directorio"});
}

TEST_F(FilesTest, AStagedWriteLeavesNothingUnlessCommittedAndCanKeepItsFile) {
  {
    auto abandoned = StagedWrite::open(dir_ / "a.p12", 0600);
    ASSERT_TRUE(abandoned);
    ASSERT_TRUE(abandoned->write("mitad"));
    EXPECT_EQ(names().size(), 1u) << "the temporary file exists while it is written";
  }
  EXPECT_TRUE(names().empty()) << "abandoned: removed";
  auto committed = StagedWrite::open(dir_ / "a.p12", 0600);
  ASSERT_TRUE(committed);
  ASSERT_TRUE(committed->write("entero"));
  ASSERT_TRUE(committed->commit());
  EXPECT_EQ(read_file(dir_ / "a.p12").value(), "entero");
  EXPECT_EQ(names(), std::vector<std::string>{"a.p12"});
  std::filesystem::path kept;
  {
    auto staged = StagedWrite::open(dir_ / "b.p12", 0600);
    ASSERT_TRUE(staged);
    ASSERT_TRUE(staged->write("la única copia"));
    kept = staged->release();
  }
  EXPECT_EQ(read_file(kept).value(), "la única copia") << "released: kept on disk";
}

TEST_F(FilesTest, AMissingDirectoryIsAClearError) {
  auto result = write_file_atomically(dir_ / "no-existe" / "a.p12", "x");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("No se pudo escribir"), std::string::npos);
}

}  // namespace
}  // namespace llavero
