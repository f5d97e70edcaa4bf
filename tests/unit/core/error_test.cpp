#include "llmux/error.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace llmux {
namespace {

TEST(ErrorTest, SerialisesInOpenAIShapeWithNullsForEmptyFields) {
  Error e = Error::make(ErrorKind::not_found, "model \"x\" not found", "model");
  EXPECT_EQ(e.http_status, 404);
  auto v = boost::json::parse(to_openai_json(e));
  const auto& err = v.at("error").as_object();
  EXPECT_EQ(err.at("message").as_string(), "model \"x\" not found");
  EXPECT_EQ(err.at("type").as_string(), "not_found_error");
  EXPECT_EQ(err.at("param").as_string(), "model");
  EXPECT_TRUE(err.at("code").is_null());
}

TEST(ErrorTest, EveryKindHasAStatusAndType) {
  for (auto kind : {ErrorKind::invalid_request, ErrorKind::authentication, ErrorKind::permission,
                    ErrorKind::not_found, ErrorKind::payload_too_large,
                    ErrorKind::unsupported_media_type, ErrorKind::rate_limited,
                    ErrorKind::upstream_error, ErrorKind::upstream_unreachable,
                    ErrorKind::upstream_timeout, ErrorKind::unsupported, ErrorKind::internal}) {
    EXPECT_GE(default_status(kind), 400);
    EXPECT_NE(std::string(default_type(kind)), "");
  }
}

}  // namespace
}  // namespace llmux
