// The upstream guard's rules: address classes (IPv4, IPv6, the ::ffff:-mapped forms), the
// allowed list and allow_private, odd IPv4 spellings and the config keys that set them.
#include <gtest/gtest.h>

#include "config/upstream_policy.hpp"
#include "config_test_util.hpp"

namespace llmux::config_test {
namespace {

AddressClass class_of(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a ? classify_address(*a).cls : AddressClass::ordinary;
}

UpstreamPolicy policy(UpstreamGuardConfig config) {
  auto p = UpstreamPolicy::compile(config);
  EXPECT_TRUE(p);
  return p ? *p : UpstreamPolicy{};
}

std::optional<std::string> refused(const UpstreamPolicy& p, const char* host, const char* address) {
  return p.refuse_address(host, *IpAddress::parse(address));
}

TEST(UpstreamPolicy, MetadataLinkLocalAndOddRangesAreRefusedInEveryForm) {
  for (const char* a : {"169.254.169.254", "169.254.0.1", "100.100.100.200", "0.0.0.0", "0.1.2.3", "224.0.0.1",
                        "239.255.255.250", "255.255.255.255", "240.0.0.1", "fe80::1", "febf::1", "fd00:ec2::254", "::",
                        "ff02::1", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "::169.254.169.254",
                        "64:ff9b::169.254.169.254", "::ffff:100.100.100.200", "::ffff:0.0.0.0"})
    EXPECT_EQ(class_of(a), AddressClass::refused) << a;
}

TEST(UpstreamPolicy, LoopbackAndPrivateRangesArePrivatePublicOnesOrdinary) {
  for (const char* a : {"127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                        "100.64.0.1", "::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"})
    EXPECT_EQ(class_of(a), AddressClass::private_range) << a;
  for (const char* a : {"8.8.8.8", "172.32.0.1", "169.253.255.255", "100.128.0.1", "2606:4700::1111",
                        "fec0::1", "::ffff:8.8.8.8"})
    EXPECT_EQ(class_of(a), AddressClass::ordinary) << a;
}

TEST(UpstreamPolicy, StrictAddressParsing) {
  for (const char* text : {"0x7f.0.0.1", "0177.0.0.1", "127.1", "2852039166", "1.2.3.4.5", "256.1.1.1", "fe80::1%eth0", ""})
    EXPECT_FALSE(IpAddress::parse(text)) << text;
  EXPECT_EQ(IpAddress::parse("::ffff:169.254.169.254")->to_string(), "::ffff:169.254.169.254");
}

TEST(UpstreamPolicy, DefaultsRefuseMetadataAndAllowPrivate) {
  UpstreamPolicy p;
  auto why = refused(p, "169.254.169.254", "169.254.169.254");
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("upstream_not_allowed: 169.254.169.254 is link-local", 0), 0u) << *why;
  auto named = refused(p, "evil.example", "::ffff:169.254.169.254");
  ASSERT_TRUE(named);
  EXPECT_NE(named->find("evil.example (::ffff:169.254.169.254)"), std::string::npos) << *named;
  EXPECT_TRUE(refused(p, "metadata.google.internal", "8.8.8.8"));
  EXPECT_TRUE(refused(p, "METADATA.", "8.8.8.8"));
  EXPECT_FALSE(refused(p, "localhost", "127.0.0.1"));
  EXPECT_FALSE(refused(p, "ollama.lan", "192.168.1.20"));
  EXPECT_FALSE(refused(p, "api.openai.com", "104.18.7.192"));
}

TEST(UpstreamPolicy, AllowPrivateFalseRefusesLoopbackUnlessListedByNameOrNetwork) {
  auto strict = policy({false, {}});
  auto why = refused(strict, "localhost", "127.0.0.1");
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("localhost (127.0.0.1) is loopback"), std::string::npos) << *why;
  EXPECT_NE(why->find("admin.allow_private is false"), std::string::npos) << *why;
  EXPECT_TRUE(refused(strict, "x", "::ffff:10.0.0.1"));
  EXPECT_FALSE(refused(strict, "api.openai.com", "104.18.7.192"));

  auto by_name = policy({false, {"LocalHost"}});
  EXPECT_FALSE(refused(by_name, "localhost", "127.0.0.1"));
  EXPECT_FALSE(refused(by_name, "localhost.", "::1"));
  EXPECT_TRUE(refused(by_name, "127.0.0.1", "127.0.0.1"));

  auto by_network = policy({false, {"127.0.0.1/32", "fd00::/8"}});
  EXPECT_FALSE(refused(by_network, "localhost", "127.0.0.1"));
  EXPECT_FALSE(refused(by_network, "localhost", "::ffff:127.0.0.1"));
  EXPECT_TRUE(refused(by_network, "localhost", "127.0.0.2"));
  EXPECT_FALSE(refused(by_network, "v6", "fd12::1"));
  EXPECT_TRUE(refused(by_network, "v6", "fc00::1"));

  // An explicit entry opens even a refused range (an operator who really has a service there).
  auto metadata = policy({true, {"169.254.169.254"}});
  EXPECT_FALSE(refused(metadata, "169.254.169.254", "169.254.169.254"));
  EXPECT_TRUE(refused(metadata, "169.254.169.253", "169.254.169.253"));
}

TEST(UpstreamPolicy, BadAllowedEntriesAreReported) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/x", "http://x", "a b", "0x7f.1"}) {
    auto p = UpstreamPolicy::compile({true, {bad}});
    EXPECT_FALSE(p) << bad;
  }
}

TEST(UpstreamPolicy, OddIpv4FormsAreNamed) {
  for (const char* host : {"2852039166", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.1", "127.0.1", "1.2.3.4.",
                           "010.0.0.1", "a.0x10"})
    EXPECT_TRUE(odd_ipv4_form(host)) << host;
  for (const char* host : {"127.0.0.1", "0.0.0.0", "api.openai.com", "localhost", "[::1]", "1password.com", "x1.y2"})
    EXPECT_FALSE(odd_ipv4_form(host)) << host;
}

TEST(UpstreamPolicy, RefuseHostSeesLiteralsMetadataNamesAndPunycode) {
  UpstreamPolicy p;
  EXPECT_TRUE(p.refuse_host("169.254.169.254"));
  EXPECT_TRUE(p.refuse_host("[::ffff:169.254.169.254]"));
  EXPECT_TRUE(p.refuse_host("[fe80::1]"));
  EXPECT_TRUE(p.refuse_host("metadata.google.internal"));
  EXPECT_TRUE(p.refuse_host("xn--pple-43d.com"));
  EXPECT_TRUE(p.refuse_host("api.xn--80ak6aa92e.com"));
  EXPECT_FALSE(p.refuse_host("localhost"));
  EXPECT_FALSE(p.refuse_host("127.0.0.1"));
  EXPECT_FALSE(p.refuse_host("api.openai.com"));
  EXPECT_TRUE(policy({false, {}}).refuse_host("[::1]"));
  EXPECT_FALSE(policy({true, {"xn--pple-43d.com"}}).refuse_host("xn--pple-43d.com"));
}

TEST(UpstreamPolicy, UrlHost) {
  EXPECT_EQ(url_host("http://localhost:8080/v1"), "localhost");
  EXPECT_EQ(url_host("https://[::1]:443/v1"), "[::1]");
  EXPECT_EQ(url_host("http://u:p@host/x"), "host");
  EXPECT_EQ(url_host("http://host"), "host");
  EXPECT_EQ(url_host("nonsense"), "");
}

TEST(UpstreamGuardConfig, ReadsAdminKeysInBothSpellings) {
  auto config = load_ok("admin:\n  allow_private: false\n  allowed_upstreams: [localhost, 10.0.0.0/8]\n"
                        "providers:\n  - {id: a, base_url: \"http://localhost:1/v1\"}\n");
  EXPECT_FALSE(config.upstream_guard.allow_private);
  EXPECT_EQ(config.upstream_guard.allowed_upstreams, (std::vector<std::string>{"localhost", "10.0.0.0/8"}));
  auto camel = load_ok("admin: {allowPrivate: false, allowedUpstreams: 127.0.0.1/32}\n");
  EXPECT_FALSE(camel.upstream_guard.allow_private);
  EXPECT_EQ(camel.upstream_guard.allowed_upstreams, (std::vector<std::string>{"127.0.0.1/32"}));
  EXPECT_TRUE(load_ok("server: {port: 4000}\n").upstream_guard.allow_private);
}

TEST(UpstreamGuardConfig, ReportsBadValuesAndUnknownKeys) {
  auto errors = load_errors("admin:\n  allow_private: maybe\n  allowed_upstreams: [\"10.0.0.0/40\"]\n  bogus: 1\n");
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  EXPECT_NE(all.find("admin.allow_private: expected true or false"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown admin setting \"bogus\""), std::string::npos) << all;
  EXPECT_NE(all.find("admin.allowed_upstreams"), std::string::npos) << all;
  EXPECT_NE(all.find("10.0.0.0/40"), std::string::npos) << all;
}

TEST(UpstreamGuardConfig, ProviderUrlsTheGuardRefusesFailValidation) {
  auto metadata = load_errors("providers:\n  - {id: m, base_url: \"http://169.254.169.254/latest\"}\n");
  ASSERT_EQ(metadata.size(), 1u);
  EXPECT_NE(metadata[0].find("base_url"), std::string::npos) << metadata[0];
  EXPECT_NE(metadata[0].find("upstream_not_allowed: 169.254.169.254 is link-local"), std::string::npos) << metadata[0];
  for (const char* url : {"http://2852039166/", "http://0x7f.1/", "http://0177.0.0.1/v1", "http://user:pw@api.example/v1",
                          "http://api%2eexample.com/v1", "http://аpi.example/v1", "http://metadata.google.internal/v1",
                          "http://[::ffff:169.254.169.254]/v1", "http://xn--pple-43d.com/v1"}) {
    auto errors = load_errors(std::string("providers:\n  - {id: p, base_url: \"") + url + "\"}\n");
    EXPECT_EQ(errors.size(), 1u) << url;
  }
  // Allowed: listed, or private with the default allow_private.
  EXPECT_TRUE(load_errors("admin: {allowed_upstreams: [169.254.169.254]}\n"
                          "providers:\n  - {id: m, base_url: \"http://169.254.169.254/v1\"}\n").empty());
  EXPECT_TRUE(load_errors("providers:\n  - {id: l, base_url: \"http://127.0.0.1:11434/v1\"}\n").empty());
  EXPECT_FALSE(load_errors("admin: {allow_private: false}\n"
                           "providers:\n  - {id: l, base_url: \"http://127.0.0.1:11434/v1\"}\n").empty());
  // A name is only known at connect time.
  EXPECT_TRUE(load_errors("admin: {allow_private: false}\n"
                          "providers:\n  - {id: l, base_url: \"http://localhost:11434/v1\"}\n").empty());
}

}  // namespace
}  // namespace llmux::config_test
