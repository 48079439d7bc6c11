// Attention over a paged KV cache. Per layer, K and V are arrays [num_blocks, kv_heads,
// block_size, head_dim] of g.dtype: f32, or bf16/f16, which halve the memory and the bytes
// attention reads (rows are rounded once when stored and widened exactly when read). A kv head's
// page of a block is one contiguous run, so attention streams it sequentially. A token at
// sequence position p lives in slot block_table[p / block_size] * block_size + p % block_size.
// The step's new tokens of a sequence are written first (at their slot_mapping slots) and then
// read back like the context. Each (token, query head) gets a fixed sequence of operations over
// its keys in a fixed order (context by position, then the step's visible tokens by index), so a
// result never depends on the batch or on how a prompt was chunked. bf16 caches on CPUs with
// AVX512_BF16 take a vdpbf16ps kernel (attention_bf16dot.cc: q and the softmax weights rounded to
// bf16); every other cache is widened to f32 (paged_attention.cc).
#pragma once

#include <cstdint>

#include "dtype.h"
#include "thread_pool.h"

namespace m2 {

struct KvLayer {
  void* k;
  void* v;
};

struct KvGeometry {
  int num_blocks;
  int block_size;
  int kv_heads;
  int head_dim;
  DType dtype = DType::F32;
  size_t token_stride() const { return static_cast<size_t>(kv_heads) * head_dim; }
  /// Bytes of one layer's K (or V).
  size_t layer_bytes() const { return static_cast<size_t>(num_blocks) * block_size * token_stride() * dtype_size(dtype); }
  /// Elements of one kv head's page: its block_size rows, contiguous.
  size_t page_elements() const { return static_cast<size_t>(block_size) * head_dim; }
  /// Offset (in elements) of the page of kv head `head` in block `block`.
  size_t page(int block, int head) const { return (static_cast<size_t>(block) * kv_heads + head) * page_elements(); }
  /// Offset of the row of kv head `head` at cache slot `slot`.
  size_t row(int slot, int head) const { return page(slot / block_size, head) + static_cast<size_t>(slot % block_size) * head_dim; }
};

/// One sequence's tokens in the step: rows [start, start + count) of the flat batch. Keys at
/// positions [0, context_len) come from the block table; the step's own tokens j visible to i
/// are given by tree_mask[i * count + j] when present, else j <= i (plain causal).
struct AttentionSequence {
  int start;
  int count;
  int context_len;
  const int32_t* block_table;
  int n_blocks;
  const int32_t* slots;  // count slots of the step's tokens (slot_mapping + start)
  const uint8_t* tree_mask;
};

/// Writes k/v rows [tokens, kv_heads * head_dim] to their slots, rounded to g.dtype.
void kv_store(const KvGeometry& g, KvLayer layer, const float* k, const float* v, const int32_t* slots,
              int tokens);

/// out[t, h * head_dim:] = softmax(q_h . K^T * scale) V for every token and query head; GQA maps
/// query head h to kv head h / (q_heads / kv_heads).
void paged_attention(ThreadPool& pool, const KvGeometry& g, KvLayer layer, const float* q, int q_heads,
                     const AttentionSequence* seqs, int nseqs, int total_tokens, float* out);

}  // namespace m2
