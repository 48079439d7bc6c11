#!/bin/bash
# Entry point of every worker pod. A StatefulSet gives all its pods one spec, so the pod's place
# in the cluster is derived here from its ordinal: TP rank = ordinal mod TP, group = ordinal div
# TP. Every pod runs its rank's worker; a group's rank-0 pod also runs the group's coordinator,
# pointed at the group's workers by their stable DNS names. If either process of a rank-0 pod
# exits, the other is stopped too and the container fails, so Kubernetes restarts it whole.
#
#   pod-launcher.sh run            start the processes (container command)
#   pod-launcher.sh probe health   exit 0 when the pod's processes answer /health (liveness, startup)
#   pod-launcher.sh probe ready    exit 0 when they answer /ready (readiness)
#
# Inputs (env): POD_NAME, POD_NAMESPACE, M2_TP, M2_MODEL, M2_DEVICE, GROUP_STATEFULSET,
# GROUP_SERVICE, WORKER_PORT, WORKER_HEALTH_PORT, COORDINATOR_PORT, COORDINATOR_METRICS_PORT.
# Every other M2_* variable reaches the m2 processes unchanged.
set -euo pipefail

die() { echo "m2-launcher: $*" >&2; exit 2; }

for name in POD_NAME POD_NAMESPACE M2_TP M2_MODEL M2_DEVICE GROUP_STATEFULSET GROUP_SERVICE \
            WORKER_PORT WORKER_HEALTH_PORT COORDINATOR_PORT COORDINATOR_METRICS_PORT; do
  [[ -n "${!name:-}" ]] || die "environment variable $name is not set"
done
[[ "$M2_TP" =~ ^[1-9][0-9]*$ ]] || die "M2_TP must be a positive integer, got '$M2_TP'"
ordinal="${POD_NAME##*-}"
[[ "$POD_NAME" == "$GROUP_STATEFULSET-$ordinal" && "$ordinal" =~ ^[0-9]+$ ]] \
  || die "POD_NAME '$POD_NAME' is not a pod of StatefulSet '$GROUP_STATEFULSET'"

rank=$(( ordinal % M2_TP ))
group=$(( ordinal / M2_TP ))

# GET http://127.0.0.1:PORT/PATH and succeed on a 2xx status. Plain bash (/dev/tcp): probes must
# not depend on curl being in the image, nor start a node process every few seconds.
http_ok() {
  local port="$1" path="$2" status_line
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
  IFS= read -r -t 5 status_line <&3 || { exec 3<&-; return 1; }
  exec 3<&-
  [[ "$status_line" =~ ^HTTP/1\.[01]\ 2[0-9][0-9] ]]
}

probe() {
  local path
  case "${1:-}" in
    health) path=/health ;;
    ready) path=/ready ;;
    *) die "usage: pod-launcher.sh probe health|ready" ;;
  esac
  http_ok "$WORKER_HEALTH_PORT" "$path" || { echo "worker on :$WORKER_HEALTH_PORT fails $path" >&2; return 1; }
  if (( rank == 0 )); then
    http_ok "$COORDINATOR_METRICS_PORT" "$path" \
      || { echo "coordinator on :$COORDINATOR_METRICS_PORT fails $path" >&2; return 1; }
  fi
}

run() {
  # The worker learns the model, TP size and KV size from the coordinator's Load call; it only
  # needs where to listen (every pod interface: the coordinator may run in another pod).
  local worker_args=(worker --host 0.0.0.0 --rank "$rank" --port "$WORKER_PORT"
                     --health-port "$WORKER_HEALTH_PORT" --device "$M2_DEVICE")
  echo "m2-launcher: pod $POD_NAME is rank $rank of group $group (tp $M2_TP)"
  if (( rank != 0 )); then
    exec m2 "${worker_args[@]}"
  fi

  local first=$(( group * M2_TP )) i hosts=()
  for (( i = first; i < first + M2_TP; i++ )); do
    hosts+=("$GROUP_STATEFULSET-$i.$GROUP_SERVICE.$POD_NAMESPACE.svc:$WORKER_PORT")
  done
  local workers
  workers=$(IFS=,; echo "${hosts[*]}")

  local coordinator_pid='' worker_pid='' stopping=0
  trap 'stopping=1; kill -TERM $coordinator_pid $worker_pid 2>/dev/null || true' TERM INT
  # Announced on NATS under the same DNS name the routers' static list uses, so a coordinator
  # found both ways is one backend.
  m2 coordinator --model "$M2_MODEL" --tp "$M2_TP" --port "$COORDINATOR_PORT" \
    --metrics-port "$COORDINATOR_METRICS_PORT" --workers "$workers" \
    --advertise-host "$POD_NAME.$GROUP_SERVICE.$POD_NAMESPACE.svc" &
  coordinator_pid=$!
  m2 "${worker_args[@]}" &
  worker_pid=$!

  local status=0
  wait -n "$coordinator_pid" "$worker_pid" || status=$?
  kill -TERM "$coordinator_pid" "$worker_pid" 2>/dev/null || true
  wait "$coordinator_pid" "$worker_pid" 2>/dev/null || true
  if (( stopping )); then
    exit 0
  fi
  echo "m2-launcher: a process of rank-0 pod $POD_NAME exited (status $status); stopping the pod" >&2
  exit $(( status == 0 ? 1 : status ))
}

case "${1:-}" in
  run) run ;;
  probe) probe "${2:-}" ;;
  *) die "usage: pod-launcher.sh run | probe health|ready" ;;
esac
