// An optional whose value lives on the heap. For a member that is almost always empty (an error,
// state only a failure path needs) in an object there is one of per open stream: it takes one
// pointer there instead of the value's size, and allocates only when a value is first set.
// Setting a value again reuses the allocation. The subset of std::optional's interface that its
// users need, with the same meaning.
//
// Thread-safety: a value type; none of its own.
#pragma once

#include <memory>
#include <utility>

namespace llmux {

template <typename T>
class HeapOptional {
 public:
  HeapOptional() = default;
  HeapOptional(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(HeapOptional&&) noexcept = default;
  HeapOptional(const HeapOptional&) = delete;
  HeapOptional& operator=(const HeapOptional&) = delete;

  HeapOptional& operator=(T value) {
    if (value_) *value_ = std::move(value);
    else value_ = std::make_unique<T>(std::move(value));
    return *this;
  }
  // The value, default-constructed first when there is none.
  T& get_or_make() {
    if (!value_) value_ = std::make_unique<T>();
    return *value_;
  }

  bool has_value() const noexcept { return value_ != nullptr; }
  explicit operator bool() const noexcept { return has_value(); }
  T& operator*() noexcept { return *value_; }
  const T& operator*() const noexcept { return *value_; }
  T* operator->() noexcept { return value_.get(); }
  const T* operator->() const noexcept { return value_.get(); }
  void reset() noexcept { value_.reset(); }

 private:
  std::unique_ptr<T> value_;
};

}  // namespace llmux
