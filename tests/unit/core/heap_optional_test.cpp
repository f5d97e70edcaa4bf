// HeapOptional keeps std::optional's meaning while its value lives on the heap.
#include "core/heap_optional.hpp"

#include <string>

#include <gtest/gtest.h>

namespace llmux {
namespace {

TEST(HeapOptionalTest, EmptyUntilSetAndEmptyAgainAfterReset) {
  HeapOptional<std::string> o;
  EXPECT_FALSE(o);
  EXPECT_FALSE(o.has_value());
  o = std::string(40, 'x');
  ASSERT_TRUE(o);
  EXPECT_EQ(*o, std::string(40, 'x'));
  EXPECT_EQ(o->size(), 40u);
  o.reset();
  EXPECT_FALSE(o);
}

TEST(HeapOptionalTest, SettingAgainReplacesTheValueInTheSameStorage) {
  HeapOptional<std::string> o;
  o = std::string("first");
  const std::string* where = &*o;
  o = std::string("second");
  EXPECT_EQ(&*o, where);
  EXPECT_EQ(*o, "second");
}

TEST(HeapOptionalTest, GetOrMakeDefaultConstructsOnceThenKeepsTheValue) {
  HeapOptional<std::string> o;
  o.get_or_make() = "kept";
  EXPECT_EQ(o.get_or_make(), "kept");
  HeapOptional<std::string> moved = std::move(o);
  EXPECT_FALSE(o);  // NOLINT(bugprone-use-after-move): a moved-from HeapOptional is empty
  EXPECT_EQ(*moved, "kept");
}

TEST(HeapOptionalTest, TakesOnePointerOfItsOwner) {
  EXPECT_EQ(sizeof(HeapOptional<std::string>), sizeof(void*));
}

}  // namespace
}  // namespace llmux
