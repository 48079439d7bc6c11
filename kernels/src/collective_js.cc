// Communicator: one Napi::ObjectWrap owning a shared-memory or TCP m2::Collective. The methods
// are synchronous (each bounded by the collective's deadline); tests and benchmarks run one
// rank per process, which is also the production layout. Joining a group can take as long as
// the slowest rank's start, so `Communicator.connect` joins off the JS thread. Collective
// failures become JS errors whose `code` is CollectiveError::code().
#include "collective_js.h"

#include <memory>
#include <string>
#include <vector>

#include "collective_shm.h"
#include "collective_tcp.h"

namespace m2 {
namespace {

// Marks objects made by Communicator's constructor, so unwrap_collective can tell them apart.
constexpr napi_type_tag kCommunicatorTag = {0x6d32636f6c6c6563ull, 0x436f6d6d756e6963ull};
// Marks the External through which connect() hands a joined group to the constructor.
constexpr napi_type_tag kJoinedGroupTag = {0x6d326a6f696e6564ull, 0x47726f7570546167ull};

Napi::Error collective_error(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

int int_option(const Napi::Object& options, const char* key, int fallback, int min) {
  const Napi::Value v = options.Get(key);
  if (v.IsUndefined()) {
    if (fallback < min) throw Napi::TypeError::New(options.Env(), std::string("Communicator: options.") + key + " is required");
    return fallback;
  }
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.0;
  if (!v.IsNumber() || d != double(int64_t(d)) || d < min || d > 2147483647.0)
    throw Napi::TypeError::New(options.Env(), std::string("Communicator: options.") + key + " must be an integer >= " + std::to_string(min));
  return int(d);
}

/// The JS options, validated and copied out of JS so the group can be joined on any thread.
struct GroupSpec {
  std::string kind;
  ShmCollectiveOptions shm;
  TcpCollectiveOptions tcp;
};

GroupSpec parse_spec(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw Napi::TypeError::New(env, "Communicator: expected an options object");
  const Napi::Object o = value.As<Napi::Object>();
  GroupSpec spec;
  const Napi::Value kind = o.Get("kind");
  spec.kind = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : "";
  const int world = int_option(o, "worldSize", 0, 1);
  const int rank = int_option(o, "rank", -1, 0);
  const int timeout_ms = int_option(o, "timeoutMs", 5000, 1);
  const int connect_timeout_ms = int_option(o, "connectTimeoutMs", 30000, 1);
  if (spec.kind == "shm") {
    const Napi::Value name = o.Get("name");
    if (!name.IsString()) throw Napi::TypeError::New(env, "Communicator: kind 'shm' needs options.name (the group's segment name)");
    spec.shm = {name.As<Napi::String>().Utf8Value(), rank, world, timeout_ms, connect_timeout_ms, size_t(int_option(o, "slotBytes", 1 << 20, 64))};
  } else if (spec.kind == "tcp") {
    const Napi::Value addresses = o.Get("addresses");
    if (!addresses.IsArray() || addresses.As<Napi::Array>().Length() == 0)
      throw Napi::TypeError::New(env, "Communicator: kind 'tcp' needs options.addresses ([\"host:port\" of rank 0, ...])");
    const Napi::Array list = addresses.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const Napi::Value a = list.Get(i);
      if (!a.IsString()) throw Napi::TypeError::New(env, "Communicator: options.addresses must be strings \"host:port\"");
      spec.tcp.addresses.push_back(a.As<Napi::String>().Utf8Value());
    }
    spec.tcp.rank = rank;
    spec.tcp.world_size = world;
    spec.tcp.timeout_ms = timeout_ms;
    spec.tcp.connect_timeout_ms = connect_timeout_ms;
  } else {
    throw Napi::TypeError::New(env, "Communicator: options.kind must be 'shm' or 'tcp'");
  }
  return spec;
}

/// Blocks until every rank joined; touches no JS, so any thread may call it.
std::unique_ptr<Collective> join_group(const GroupSpec& spec) {
  if (spec.kind == "shm") return std::make_unique<ShmCollective>(spec.shm);
  return std::make_unique<TcpCollective>(spec.tcp);
}

struct JoinedGroup {
  std::string kind;
  std::unique_ptr<Collective> collective;
};

class Communicator : public Napi::ObjectWrap<Communicator> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Communicator",
                       {
                           StaticMethod<&Communicator::Connect>("connect"),
                           InstanceAccessor<&Communicator::Rank>("rank"),
                           InstanceAccessor<&Communicator::WorldSize>("worldSize"),
                           InstanceAccessor<&Communicator::Kind>("kind"),
                           InstanceMethod<&Communicator::AllReduceSum>("allReduceSum"),
                           InstanceMethod<&Communicator::AllGather>("allGather"),
                           InstanceMethod<&Communicator::Broadcast>("broadcast"),
                           InstanceMethod<&Communicator::Barrier>("barrier"),
                           InstanceMethod<&Communicator::TakeWaitNs>("takeWaitNs"),
                           InstanceMethod<&Communicator::Close>("close"),
                       });
  }

  /// new Communicator(options) joins synchronously; connect() passes an already joined group.
  explicit Communicator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Communicator>(info) {
    Napi::Env env = info.Env();
    const Napi::Value arg = info.Length() >= 1 ? info[0] : env.Undefined();
    if (arg.IsExternal() && arg.As<Napi::External<JoinedGroup>>().CheckTypeTag(&kJoinedGroupTag)) {
      JoinedGroup* joined = arg.As<Napi::External<JoinedGroup>>().Data();
      if (!joined->collective) throw Napi::Error::New(env, "Communicator: this joined group already has its Communicator");
      kind_ = joined->kind;
      collective_ = std::move(joined->collective);
    } else {
      const GroupSpec spec = parse_spec(arg);
      kind_ = spec.kind;
      try {
        collective_ = join_group(spec);
      } catch (const CollectiveError& e) {
        throw collective_error(env, e.what(), e.code());
      }
    }
    rank_ = collective_->rank();
    world_ = collective_->world_size();
    info.This().As<Napi::Object>().TypeTag(&kCommunicatorTag);
  }

  Collective* collective(Napi::Env env) const {
    if (!collective_) throw Napi::Error::New(env, "Communicator is closed");
    return collective_.get();
  }

 private:
  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), rank_); }
  Napi::Value WorldSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), world_); }
  Napi::Value Kind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kind_); }

  static Napi::Float32Array float_array(const Napi::CallbackInfo& info, const char* method) {
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(info.Env(), std::string("Communicator.") + method + ": expected a Float32Array");
    return info[0].As<Napi::Float32Array>();
  }

  static Napi::Value Connect(const Napi::CallbackInfo& info);

  template <typename Call>
  void run(Napi::Env env, Call call) {
    Collective* c = collective(env);
    try {
      call(c);
    } catch (const CollectiveError& e) {
      throw collective_error(env, e.what(), e.code());
    }
  }

  Napi::Value AllReduceSum(const Napi::CallbackInfo& info) {
    Napi::Float32Array data = float_array(info, "allReduceSum");
    run(info.Env(), [&](Collective* c) { c->all_reduce_sum(data.Data(), data.ElementLength()); });
    return info.Env().Undefined();
  }

  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    Napi::Float32Array in = float_array(info, "allGather");
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), in.ElementLength() * size_t(world_));
    run(info.Env(), [&](Collective* c) { c->all_gather(in.Data(), out.Data(), in.ElementLength()); });
    return out;
  }

  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber())
      throw Napi::TypeError::New(info.Env(), "Communicator.broadcast: expected (typedArray, root)");
    Napi::TypedArray data = info[0].As<Napi::TypedArray>();
    const double root = info[1].As<Napi::Number>().DoubleValue();
    if (root != double(int(root))) throw Napi::TypeError::New(info.Env(), "Communicator.broadcast: root must be an integer");
    char* bytes = static_cast<char*>(data.ArrayBuffer().Data()) + data.ByteOffset();
    run(info.Env(), [&](Collective* c) { c->broadcast(bytes, data.ByteLength(), int(root)); });
    return info.Env().Undefined();
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    run(info.Env(), [](Collective* c) { c->barrier(); });
    return info.Env().Undefined();
  }

  Napi::Value TakeWaitNs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(collective(info.Env())->take_wait_ns()));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    collective_.reset();
    return info.Env().Undefined();
  }

  std::string kind_;
  int rank_ = 0;
  int world_ = 1;
  std::unique_ptr<Collective> collective_;
};

/// Joins a group on a libuv worker thread and resolves with its Communicator.
class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, Napi::Function constructor, GroupSpec spec)
      : Napi::AsyncWorker(env, "m2:collective-connect"),
        deferred_(Napi::Promise::Deferred::New(env)),
        constructor_(Napi::Persistent(constructor)),
        spec_(std::move(spec)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      collective_ = join_group(spec_);
    } catch (const CollectiveError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    auto external = Napi::External<JoinedGroup>::New(env, new JoinedGroup{spec_.kind, std::move(collective_)},
                                                     [](Napi::Env, JoinedGroup* g) { delete g; });
    external.TypeTag(&kJoinedGroupTag);
    deferred_.Resolve(constructor_.Value().New({external}));
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(collective_error(Env(), error.Message(), code_).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference constructor_;
  GroupSpec spec_;
  std::unique_ptr<Collective> collective_;
  const char* code_ = "ERR_COLLECTIVE";
};

Napi::Value Communicator::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    auto* worker = new ConnectWorker(env, info.This().As<Napi::Function>(), parse_spec(info.Length() >= 1 ? info[0] : env.Undefined()));
    worker->Queue();
    return worker->Promise();
  } catch (const Napi::Error& e) {  // bad options reject too: callers only handle the promise
    Napi::Promise::Deferred rejected = Napi::Promise::Deferred::New(env);
    rejected.Reject(e.Value());
    return rejected.Promise();
  }
}

}  // namespace

Collective* unwrap_collective(const Napi::Value& value) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kCommunicatorTag))
    throw Napi::TypeError::New(value.Env(), "expected a Communicator");
  return Communicator::Unwrap(value.As<Napi::Object>())->collective(value.Env());
}

void register_collective(Napi::Env env, Napi::Object exports) { exports.Set("Communicator", Communicator::Define(env)); }

}  // namespace m2
