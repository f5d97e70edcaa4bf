// SigV4 (providers/bedrock/sigv4) against AWS's published Signature Version 4 test suite: the
// example credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1,
// service "service", 2015-08-30T12:36:00Z, and the signatures the suite publishes for its requests.
#include "providers/bedrock/sigv4.hpp"

#include <gtest/gtest.h>

namespace llmux::providers::bedrock {
namespace {

constexpr std::time_t kSuiteTime = 1440938160;  // 20150830T123600Z
constexpr std::string_view kScope = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

SigV4Signer suite_signer(std::string token = {}) {
  return SigV4Signer({"AKIDEXAMPLE", Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), Secret(std::move(token))},
                     "us-east-1", "service", false);
}

std::string authorization(const SigV4Signer& signer, std::string_view method, std::string_view query = {},
                          std::string_view body = {},
                          const std::vector<std::pair<std::string_view, std::string_view>>* extra = nullptr) {
  SignedHeaders out;
  signer.sign({method, "example.amazonaws.com", "/", query, body, extra, kSuiteTime}, out);
  EXPECT_EQ(out.amz_date, "x-amz-date: 20150830T123600Z");
  return out.authorization;
}

std::string expected(std::string_view signed_headers, std::string_view signature) {
  return "Authorization: AWS4-HMAC-SHA256 Credential=" + std::string(kScope) +
         ", SignedHeaders=" + std::string(signed_headers) + ", Signature=" + std::string(signature);
}

TEST(SigV4, GetVanilla) {
  EXPECT_EQ(authorization(suite_signer(), "GET"),
            expected("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST(SigV4, PostVanilla) {
  EXPECT_EQ(authorization(suite_signer(), "POST"),
            expected("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
}

TEST(SigV4, GetVanillaQueryOrderKeyCase) {
  EXPECT_EQ(authorization(suite_signer(), "GET", "Param2=value2&Param1=value1"),
            expected("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(SigV4, PostXWwwFormUrlencoded) {
  std::vector<std::pair<std::string_view, std::string_view>> extra = {
      {"content-type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(authorization(suite_signer(), "POST", {}, "Param1=value1", &extra),
            expected("content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST(SigV4, PostStsHeaderBefore) {
  const std::string token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/"
      "qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38x"
      "Vqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  auto signer = suite_signer(token);
  SignedHeaders out;
  signer.sign({"POST", "example.amazonaws.com", "/", {}, {}, nullptr, kSuiteTime}, out);
  EXPECT_EQ(out.security_token, "x-amz-security-token: " + token);
  EXPECT_EQ(out.authorization, expected("host;x-amz-date;x-amz-security-token",
                                        "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"));
}

TEST(SigV4, SigningKeyOfTheDocumentedExample) {
  auto key = SigV4Signer::signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam");
  std::string hex;
  for (unsigned char b : key) {
    hex += "0123456789abcdef"[b >> 4];
    hex += "0123456789abcdef"[b & 0xF];
  }
  EXPECT_EQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, NonS3ServicesSignThePathEncodedTwiceAndTheBodyChangesTheSignature) {
  SigV4Signer bedrock({"AKIDEXAMPLE", Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), Secret()}, "us-east-1",
                      "bedrock", true, true);
  SigV4Signer single({"AKIDEXAMPLE", Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), Secret()}, "us-east-1",
                     "bedrock", false, true);
  SignedHeaders a, b, c, d;
  bedrock.sign({"POST", "h", "/model/us.x-v1%3A0/converse", {}, "{}", nullptr, kSuiteTime}, a);
  single.sign({"POST", "h", "/model/us.x-v1%253A0/converse", {}, "{}", nullptr, kSuiteTime}, b);
  EXPECT_EQ(a.authorization, b.authorization);  // "%3A" signed as "%253A"
  bedrock.sign({"POST", "h", "/model/us.x-v1%3A0/converse", {}, "{ }", nullptr, kSuiteTime}, c);
  EXPECT_NE(a.authorization, c.authorization);
  EXPECT_EQ(a.content_sha256, "x-amz-content-sha256: 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  bedrock.sign({"POST", "h", "/model/us.x-v1%3A0/converse", {}, "{}", nullptr, kSuiteTime + 86400}, d);  // the next day
  EXPECT_NE(d.authorization.find("/20150831/us-east-1/bedrock/aws4_request"), std::string::npos) << d.authorization;
}

}  // namespace
}  // namespace llmux::providers::bedrock
