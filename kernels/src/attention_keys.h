// What the paged-attention kernels share: which K rows a token attends to (its key list, in the
// fixed order every kernel walks) and the softmax over a row of scores. The AVX2 kernel
// (paged_attention.cc) serves every cache dtype; the bf16-dot one (attention_bf16dot.cc) takes
// bf16 caches on CPUs with AVX512_BF16.
#pragma once

#include <algorithm>
#include <cstdint>

#include "paged_attention.h"

namespace m2 {

inline bool visible(const AttentionSequence& s, int i, int j) {
  return s.tree_mask ? s.tree_mask[static_cast<size_t>(i) * s.count + j] != 0 : j <= i;
}

/// The K rows token i of `s` attends to, for one kv head: the context page by page in position
/// order, then the step's visible rows by index. V rows sit at the same offsets of the V cache.
template <class T>
int key_rows(const KvGeometry& g, const T* k, const AttentionSequence& s, int i, int kv_head, const T** rows) {
  const int bs = g.block_size, d = g.head_dim;
  int n = 0;
  for (int p0 = 0, b = 0; p0 < s.context_len; p0 += bs, ++b) {
    const T* page = k + g.page(s.block_table[b], kv_head);
    const int in_page = s.context_len - p0 < bs ? s.context_len - p0 : bs;
    for (int o = 0; o < in_page; ++o) rows[n++] = page + o * d;
  }
  for (int j = 0; j < s.count; ++j)
    if (visible(s, i, j)) rows[n++] = k + g.row(s.slots[j], kv_head);
  return n;
}

/// Parts each kv head's query heads split into so that `units` tasks of whole groups become
/// enough for the pool (two a thread): 1 when they already are, never more than `group`.
inline int head_parts(int units, int group, const ThreadPool& pool) {
  const int wanted = 2 * pool.size();
  return units >= wanted ? 1 : std::min(group, (wanted + units - 1) / units);
}

/// scores[r] = exp(scores[r] - max) in place for r in [0, n); returns their sum (8 lane sums,
/// then a fixed horizontal sum).
float softmax_weights(float* scores, int n);

/// The bf16-dot kernel takes this cache: bf16, head_dim a multiple of 32, CPU and flags allow.
bool bf16_dot_attention(const KvGeometry& g);

/// paged_attention over a bf16 cache with vdpbf16ps scores (q rounded to bf16 once); see
/// attention_bf16dot.cc.
void attend_bf16dot(ThreadPool& pool, const KvGeometry& g, const uint16_t* k_cache, const uint16_t* v_cache,
                    const float* q, int q_heads, const AttentionSequence* seqs, int nseqs, float* out);

}  // namespace m2
