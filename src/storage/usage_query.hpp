// The filters of `llmux usage` and GET /api/usage, read from their text form, and the report in
// JSON: one reading and one shape for both.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "llmux/expected.hpp"
#include "storage/ledger.hpp"

namespace llmux::storage {

// A point in time: relative to `now_ms` ("7d", "12h", "30m", "45s", "2w": that long ago), a UTC
// date ("2026-12-01") or date and time ("2026-12-01T10:00:00Z"), or Unix epoch milliseconds.
Expected<int64_t, std::string> parse_time_point(std::string_view text, int64_t now_ms);

// Filters as given (empty: not given); the error names the filter.
Expected<UsageQuery, std::string> parse_usage_query(std::string_view since, std::string_view until, std::string_view by,
                                                    int64_t now_ms);

std::string_view grouping_name(UsageGrouping by);

// {"since","until","by","groups":[{group, requests, …, cost_nano_usd, cost_usd}],"total":{…}}.
// cost_nano_usd is exact; cost_usd is the same amount as a decimal number.
std::string usage_report_json(const UsageQuery& query, const UsageReport& report);

// Pairs "name=value" of a URL query ("since=7d&by=model"), percent-decoded.
std::string query_value(std::string_view query, std::string_view name);

}  // namespace llmux::storage
