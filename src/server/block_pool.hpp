// Memory for the objects a worker makes for every request (the exchange and its shared_ptr
// control block), kept for reuse so a warm worker does not go to malloc for them. Only memory is
// reused: every object is constructed afresh in it, so nothing of one request reaches the next.
//
// Thread-safety: none. A pool belongs to one worker and is used on that worker's thread only; it
// must outlive every block it handed out (Worker declares it before its io_context).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace llmux::server {

class BlockPool {
 public:
  // Keeps at most `max_free` blocks of the first size asked for; other sizes go to the heap.
  explicit BlockPool(size_t max_free = 64) : max_free_(max_free) { free_.reserve(max_free); }
  ~BlockPool() {
    for (void* block : free_) ::operator delete(block);
  }
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  void* take(size_t size) {
    if (block_size_ == 0) block_size_ = size;
    if (size == block_size_ && !free_.empty()) {
      void* block = free_.back();
      free_.pop_back();
      return block;
    }
    return ::operator new(size);
  }
  void give(void* block, size_t size) noexcept {
    if (size == block_size_ && free_.size() < max_free_) free_.push_back(block);
    else ::operator delete(block);
  }

 private:
  size_t max_free_;
  size_t block_size_ = 0;
  std::vector<void*> free_;
};

// The allocator std::allocate_shared needs to take its one block from a BlockPool.
template <typename T>
class PoolAllocator {
 public:
  using value_type = T;
  explicit PoolAllocator(BlockPool& pool) noexcept : pool_(&pool) {}
  template <typename U>
  PoolAllocator(const PoolAllocator<U>& other) noexcept : pool_(other.pool()) {}

  T* allocate(size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "blocks come from plain operator new");
    return static_cast<T*>(pool_->take(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { pool_->give(p, n * sizeof(T)); }
  BlockPool* pool() const noexcept { return pool_; }
  template <typename U>
  bool operator==(const PoolAllocator<U>& other) const noexcept { return pool_ == other.pool(); }

 private:
  BlockPool* pool_;
};

}  // namespace llmux::server
