#include "huge_buffer.h"

#include <cstdlib>
#include <stdexcept>

#include <sys/mman.h>

namespace m2 {

HugeBuffer allocate_huge(size_t bytes, const std::string& what) {
  constexpr size_t kHuge = size_t{2} << 20;
  void* mem = nullptr;
  if (bytes < kHuge) {
    mem = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  } else {
    const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
    mem = std::aligned_alloc(kHuge, rounded);
    if (mem) madvise(mem, rounded, MADV_HUGEPAGE);
  }
  if (!mem) throw std::runtime_error("out of memory for " + what + " (" + std::to_string(bytes) + " bytes)");
  return HugeBuffer(static_cast<uint8_t*>(mem), std::free);
}

}  // namespace m2
