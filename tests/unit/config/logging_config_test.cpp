#include "config_test_util.hpp"

namespace llmux::config_test {
namespace {

using Target = AccessLogConfig::Target;

TEST(LoggingConfig, AccessLogIsOffUnlessSet) {
  EXPECT_EQ(load_ok("providers: {}\n").logging.access_log.target, Target::off);
  EXPECT_EQ(load_ok("logging: { access_log: off }\n").logging.access_log.target, Target::off);
}

TEST(LoggingConfig, AccessLogGoesToStderrOrAFileInEitherKeyStyle) {
  EXPECT_EQ(load_ok("logging: { access_log: stderr }\n").logging.access_log.target, Target::stderr_stream);
  auto file = load_ok("logging:\n  accessLog: /var/log/llmux/access.log\n").logging.access_log;
  EXPECT_EQ(file.target, Target::file);
  EXPECT_EQ(file.path, "/var/log/llmux/access.log");
  EXPECT_EQ(load_ok("logging: { access_log: ./access.log }\n").logging.access_log.path, "./access.log");
}

TEST(LoggingConfig, ABadValueOrKeyIsAnErrorWithItsPlace) {
  auto errors = load_errors("logging:\n  access_log: syslog\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("cfg.yaml:2:15: logging.access_log: access_log must be stderr, off or a file path"),
            std::string::npos)
      << errors[0];
  auto unknown = load_errors("logging:\n  acess_log: stderr\n");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].find("access_log"), std::string::npos) << unknown[0];
}

}  // namespace
}  // namespace llmux::config_test
