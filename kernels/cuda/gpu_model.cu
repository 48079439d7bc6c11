// GpuModel: construction (device memory for KV cache and scratch, NCCL join), weight upload and
// the per-layer forward pass. Mirrors Model::step (kernels/src/model.cc) op for op.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "gpu_model_impl.cuh"

namespace m2 {

using cuda::DeviceMatrix;

namespace {

void check_shape(const ModelShape& s, const ModelLimits& l) {
  if (s.hidden <= 0 || s.layers <= 0 || s.q_heads <= 0 || s.kv_heads <= 0 || s.head_dim <= 0 || s.head_dim % 2 != 0 ||
      s.intermediate <= 0 || s.vocab <= 0 || s.q_heads % s.kv_heads != 0)
    throw std::invalid_argument("model shape: sizes must be positive, head_dim even, q heads a multiple of kv heads");
  if (s.head_dim > cuda::kMaxHeadDim)
    throw std::invalid_argument("model shape: the CUDA attention kernel supports head_dim <= " +
                                std::to_string(cuda::kMaxHeadDim));
  if (s.vocab_start < 0 || s.vocab_end > s.vocab || s.vocab_start >= s.vocab_end)
    throw std::invalid_argument("model shape: vocab shard range is outside [0, vocab)");
  if (static_cast<int>(s.rope_inv_freq.size()) != s.head_dim / 2)
    throw std::invalid_argument("model shape: rope inv_freq needs head_dim / 2 entries");
  if (l.max_tokens < 1 || l.num_blocks < 1 || l.block_size < 1 || l.max_model_len < 1)
    throw std::invalid_argument("model limits: max_tokens, num_blocks, block_size, max_model_len must be >= 1");
}

}  // namespace

GpuModel::Impl::Impl(const ModelShape& s, const ModelLimits& l, const GpuModelOptions& options, Collective* host)
    : shape(s), limits(l), device(options.device), weights((check_shape(s, l), s)), host_collective(host) {
  int count = 0;
  M2_CUDA(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count)
    throw std::invalid_argument("cuda device " + std::to_string(device) + " does not exist (" + std::to_string(count) +
                                " visible)");
  M2_CUDA(cudaSetDevice(device));
  M2_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  M2_CUBLAS(cublasCreate(&blas));
  M2_CUBLAS(cublasSetStream(blas, stream));
  if (options.use_nccl) {
    if (host) throw std::invalid_argument("gpu model: give either an NCCL group or a host collective, not both");
    barrier_scratch.grow(1);
    nccl = std::make_unique<NcclCollective>(load_nccl(options.nccl_library), options.nccl_id, s.rank, s.world_size,
                                            stream, barrier_scratch.data(), options.collective_timeout_ms);
  } else if (s.world_size > 1) {
    if (!host || host->world_size() != s.world_size || host->rank() != s.rank)
      throw std::invalid_argument("model shape: TP world_size > 1 needs an NCCL group or a collective of the same rank and size");
    std::fprintf(stderr, "m2: rank %d on cuda:%d uses a host-staged all-reduce (no NCCL group)\n", s.rank, device);
  }
  const size_t T = l.max_tokens, H = s.hidden, qd = static_cast<size_t>(s.q_heads) * s.head_dim;
  const size_t kvd = static_cast<size_t>(s.kv_heads) * s.head_dim, I = s.intermediate;
  kv_layer_floats = static_cast<size_t>(l.num_blocks) * l.block_size * kvd;
  kv_cache.grow(kv_layer_floats * 2 * s.layers);
  M2_CUDA(cudaMemsetAsync(kv_cache.data(), 0, kv_cache.size() * sizeof(float), stream));
  x.grow(T * H);
  h.grow(T * H);
  q.grow(T * qd);
  attn.grow(T * qd);
  k.grow(T * kvd);
  v.grow(T * kvd);
  gate.grow(T * I);
  up.grow(T * I);
  lowp.grow(T * std::max({H, qd, I}) * 2);
  inv_freq.grow(s.rope_inv_freq.size());
  M2_CUDA(cudaMemcpy(inv_freq.data(), s.rope_inv_freq.data(), s.rope_inv_freq.size() * sizeof(float),
                     cudaMemcpyHostToDevice));
  const size_t vs = s.vocab_shard();
  out_row_index.grow(kLogitRows);
  out_rows.grow(kLogitRows * H);
  logits.grow(kLogitRows * vs);
  if (s.world_size > 1) gathered.grow(kLogitRows * vs * s.world_size);
  if (host) staging.grow(std::max(T * H, kLogitRows * vs * (s.world_size + 1)));
  logits_host.grow(static_cast<size_t>(kLogitRows) * s.vocab);
  M2_CUDA(cudaStreamSynchronize(stream));
}

GpuModel::Impl::~Impl() {
  nccl.reset();
  if (blas) cublasDestroy(blas);
  if (stream) cudaStreamDestroy(stream);
}

void GpuModel::Impl::finish_stream() {
  if (!nccl) return M2_CUDA(cudaStreamSynchronize(stream));
  nccl->wait([this] {
    const cudaError_t e = cudaStreamQuery(stream);
    if (e == cudaErrorNotReady) return false;
    M2_CUDA(e);
    return true;
  });
}

void GpuModel::Impl::all_reduce(float* data, size_t count) {
  if (nccl) return nccl->all_reduce_sum(data, count);
  if (shape.world_size == 1) return;
  M2_CUDA(cudaMemcpyAsync(staging.data(), data, count * sizeof(float), cudaMemcpyDeviceToHost, stream));
  M2_CUDA(cudaStreamSynchronize(stream));
  host_collective->all_reduce_sum(staging.data(), count);
  M2_CUDA(cudaMemcpyAsync(data, staging.data(), count * sizeof(float), cudaMemcpyHostToDevice, stream));
}

void GpuModel::Impl::all_gather(const float* in, float* out, size_t count) {
  if (nccl) return nccl->all_gather(in, out, count);
  float* local = staging.data();
  float* all = staging.data() + count;
  M2_CUDA(cudaMemcpyAsync(local, in, count * sizeof(float), cudaMemcpyDeviceToHost, stream));
  M2_CUDA(cudaStreamSynchronize(stream));
  host_collective->all_gather(local, all, count);
  M2_CUDA(cudaMemcpyAsync(out, all, count * shape.world_size * sizeof(float), cudaMemcpyHostToDevice, stream));
}

// Layout of meta: tokens, positions, slots, token_seq [T each]; seq_start, seq_count,
// seq_context, seq_blocks, seq_mask [S each]; then every block table back to back.
void GpuModel::Impl::upload_step(const StepRequest& req) {
  const int T = req.n_tokens, S = static_cast<int>(req.seqs.size());
  meta_host.assign(static_cast<size_t>(4) * T + 5 * S, 0);
  int32_t* m = meta_host.data();
  if (req.tokens) std::copy(req.tokens, req.tokens + T, m);
  std::copy(req.positions, req.positions + T, m + T);
  std::copy(req.slots, req.slots + T, m + 2 * T);
  masks_host.clear();
  for (int si = 0; si < S; ++si) {
    const StepSequence& s = req.seqs[si];
    std::fill(m + 3 * T + s.start, m + 3 * T + s.start + s.count, si);
    int32_t* seq = m + 4 * T;
    seq[si] = s.start;
    seq[S + si] = s.count;
    seq[2 * S + si] = req.positions[s.start];
    seq[3 * S + si] = static_cast<int32_t>(meta_host.size()) - (4 * T + 5 * S);
    seq[4 * S + si] = s.tree_mask ? static_cast<int32_t>(masks_host.size()) : -1;
    if (s.tree_mask) masks_host.insert(masks_host.end(), s.tree_mask, s.tree_mask + static_cast<size_t>(s.count) * s.count);
    meta_host.insert(meta_host.end(), s.block_table, s.block_table + s.n_blocks);
    m = meta_host.data();
  }
  meta_pinned.grow(meta_host.size());
  meta.grow(meta_host.size());
  std::copy(meta_host.begin(), meta_host.end(), meta_pinned.data());
  M2_CUDA(cudaMemcpyAsync(meta.data(), meta_pinned.data(), meta_host.size() * sizeof(int32_t), cudaMemcpyHostToDevice,
                          stream));
  if (!masks_host.empty()) {
    masks.grow(masks_host.size());
    M2_CUDA(cudaMemcpyAsync(masks.data(), masks_host.data(), masks_host.size(), cudaMemcpyHostToDevice, stream));
  }
  const int32_t* d = meta.data();
  tokens_dev = d;
  positions_dev = d + T;
  batch = cuda::AttentionBatch{d + 3 * T,     d + 4 * T,         d + 4 * T + S,     d + 4 * T + 2 * S,
                               d + 4 * T + 3 * S, d + 4 * T + 4 * S, d + 4 * T + 5 * S, masks.data(),
                               d + 2 * T,     limits.block_size};
}

void GpuModel::Impl::embed(const StepRequest& req) {
  const size_t n = static_cast<size_t>(req.n_tokens) * shape.hidden;
  if (req.hidden_in) {
    M2_CUDA(cudaMemcpyAsync(x.data(), req.hidden_in, n * sizeof(float), cudaMemcpyHostToDevice, stream));
    return;
  }
  cuda::embed(stream, tokens_dev, req.n_tokens, weights.embedding(), shape.vocab_start, x.data());
  all_reduce(x.data(), n);
}

void GpuModel::Impl::capture(int l, const StepRequest& req) {
  const size_t H = shape.hidden;
  for (const StepSequence& s : req.seqs) {
    for (int c = 0; c < s.n_capture; ++c) {
      if (s.capture_layers[c] != l) continue;
      M2_CUDA(cudaMemcpyAsync(s.capture_out + c * s.count * H, x.data() + s.start * H, sizeof(float) * s.count * H,
                              cudaMemcpyDeviceToHost, stream));
    }
  }
}

void GpuModel::Impl::layer(int l, const StepRequest& req) {
  const cuda::DeviceLayer& w = weights.layer(l);
  const int T = req.n_tokens, H = shape.hidden, I = shape.intermediate;
  const int qd = shape.q_heads * shape.head_dim, kvd = shape.kv_heads * shape.head_dim;
  const float eps = shape.rms_norm_eps;
  float* k_cache = kv_cache.data() + 2 * kv_layer_floats * l;
  float* v_cache = k_cache + kv_layer_floats;
  void* scratch = lowp.data();
  cuda::rms_norm(stream, x.data(), nullptr, T, H, w.input_norm, eps, h.data());
  cuda::linear(blas, stream, h.data(), H, T, w.q, w.q_bias, q.data(), qd, scratch);
  cuda::linear(blas, stream, h.data(), H, T, w.k, w.k_bias, k.data(), kvd, scratch);
  cuda::linear(blas, stream, h.data(), H, T, w.v, w.v_bias, v.data(), kvd, scratch);
  cuda::rope_and_store(stream,
                       cuda::RopeStore{q.data(), k.data(), v.data(), shape.q_heads, shape.kv_heads, shape.head_dim,
                                       positions_dev, inv_freq.data(), shape.rope_attention_scaling, batch.slots,
                                       k_cache, v_cache},
                       T);
  cuda::paged_attention(stream, batch, q.data(), k_cache, v_cache, T, shape.q_heads, shape.kv_heads, shape.head_dim,
                        attn.data());
  cuda::linear(blas, stream, attn.data(), qd, T, w.o, nullptr, h.data(), H, scratch);
  all_reduce(h.data(), static_cast<size_t>(T) * H);
  cuda::add_in_place(stream, x.data(), h.data(), static_cast<size_t>(T) * H);
  cuda::rms_norm(stream, x.data(), nullptr, T, H, w.post_attention_norm, eps, h.data());
  cuda::linear(blas, stream, h.data(), H, T, w.gate, nullptr, gate.data(), I, scratch);
  cuda::linear(blas, stream, h.data(), H, T, w.up, nullptr, up.data(), I, scratch);
  cuda::swiglu(stream, gate.data(), up.data(), static_cast<size_t>(T) * I);
  cuda::linear(blas, stream, gate.data(), I, T, w.down, nullptr, h.data(), H, scratch);
  all_reduce(h.data(), static_cast<size_t>(T) * H);
  cuda::add_in_place(stream, x.data(), h.data(), static_cast<size_t>(T) * H);
}

GpuModel::GpuModel(const ModelShape& shape, const ModelLimits& limits, const GpuModelOptions& options,
                   Collective* host_collective)
    : impl_(std::make_unique<Impl>(shape, limits, options, host_collective)) {}

GpuModel::~GpuModel() = default;

const ModelShape& GpuModel::shape() const { return impl_->shape; }
const ModelLimits& GpuModel::limits() const { return impl_->limits; }

void GpuModel::set_tensor(const std::string& name, const void* data, size_t bytes, DType dtype,
                          const std::vector<int64_t>& dims) {
  M2_CUDA(cudaSetDevice(impl_->device));
  impl_->weights.set(name, data, bytes, dtype, dims);
}

std::vector<std::string> GpuModel::missing() const { return impl_->weights.missing(); }
size_t GpuModel::bytes_per_token() const { return impl_->weights.bytes_per_token(); }

const char* GpuModel::collective_mode() const {
  if (impl_->nccl) return "nccl";
  return impl_->shape.world_size > 1 ? "host-staged" : "single";
}

StepTimings GpuModel::step(const StepRequest& req, const StepOutputs& out) {
  Impl& m = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  M2_CUDA(cudaSetDevice(m.device));  // steps run on a libuv worker thread
  Collective* collective = m.nccl ? m.nccl.get() : m.host_collective;
  if (collective) collective->take_wait_ns();
  m.upload_step(req);
  m.embed(req);
  for (int l = 0; l < m.shape.layers; ++l) {
    m.capture(l, req);
    m.layer(l, req);
  }
  m.capture(m.shape.layers, req);
  m.outputs(req, out);
  m.finish_stream();
  StepTimings t;
  t.forward_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  if (collective) t.collective_ns = collective->take_wait_ns();
  return t;
}

void GpuModel::release_sequence(int64_t id) { impl_->histories.erase(id); }
bool GpuModel::try_claim() { return !impl_->busy.exchange(true); }
void GpuModel::release() { impl_->busy.store(false); }

CudaDevices cuda_devices() {
  CudaDevices out;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    out.error = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(e);
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) out.names.push_back(prop.name);
  }
  if (count == 0) out.error = "no CUDA device is visible";
  return out;
}

}  // namespace m2
