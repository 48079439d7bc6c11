// Memory the forward pass walks every step (packed weights, the paged KV cache), on 2 MiB pages
// where the kernel grants them on request (THP "madvise" mode): a weight stream then pays no page
// walk every 4 KiB, and attention, which hops between scattered 4 KiB KV pages, no TLB miss per page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace m2 {

using HugeBuffer = std::unique_ptr<uint8_t, void (*)(void*)>;

/// 64-byte aligned, `bytes` long (rounded up to whole 2 MiB pages from 2 MiB on); throws
/// std::runtime_error naming `what` when the memory is not there.
HugeBuffer allocate_huge(size_t bytes, const std::string& what);

}  // namespace m2
