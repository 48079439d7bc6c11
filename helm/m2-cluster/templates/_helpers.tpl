{{/*
Names, labels and derived values shared by the templates, so every object agrees on them.
*/}}

{{- define "m2.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name; kept short because pod names append "-worker-<ordinal>". */}}
{{- define "m2.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "m2.selectorLabels" -}}
app.kubernetes.io/name: {{ include "m2.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "m2.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "m2.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Per-component selector labels: call with (dict "ctx" $ "component" "router"). */}}
{{- define "m2.componentSelectorLabels" -}}
{{ include "m2.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "m2.componentLabels" -}}
{{ include "m2.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "m2.workerName" -}}{{ include "m2.fullname" . }}-worker{{- end -}}
{{- define "m2.groupServiceName" -}}{{ include "m2.fullname" . }}-group{{- end -}}
{{- define "m2.routerName" -}}{{ include "m2.fullname" . }}-router{{- end -}}
{{- define "m2.natsName" -}}{{ include "m2.fullname" . }}-nats{{- end -}}

{{- define "m2.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "m2.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image for a flavour: (dict "ctx" $ "flavour" "cuda"|"cpu"). */}}
{{- define "m2.image" -}}
{{- $v := .ctx.Values.image -}}
{{- $suffix := ternary $v.cudaSuffix $v.cpuSuffix (eq .flavour "cuda") -}}
{{- printf "%s:%s%s" $v.repository (default .ctx.Chart.AppVersion $v.tag) $suffix -}}
{{- end -}}

{{/* NATS URL the processes get ("" = none). */}}
{{- define "m2.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s.%s.svc:4222" (include "m2.natsName" .) .Release.Namespace -}}
{{- else -}}
{{- .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{/* Number of worker pods: one per rank of every group. */}}
{{- define "m2.workerPods" -}}{{ mul .Values.tensorParallelSize .Values.replicas }}{{- end -}}

{{/* Stable DNS name of worker pod <ordinal> through the headless group Service. */}}
{{- define "m2.podHost" -}}
{{- printf "%s-%d.%s.%s.svc" (include "m2.workerName" .ctx) (int .ordinal) (include "m2.groupServiceName" .ctx) .ctx.Release.Namespace -}}
{{- end -}}

{{/*
Coordinators (rank-0 pods) of every group the StatefulSet can hold: `replicas` groups, or
keda.maxReplicas when KEDA sizes it. The router requires this list (it has no other discovery);
pods that do not exist yet are simply not ready and get no requests.
*/}}
{{- define "m2.coordinatorList" -}}
{{- $groups := ternary .Values.keda.maxReplicas .Values.replicas .Values.keda.enabled -}}
{{- $hosts := list -}}
{{- range $g := until (int $groups) -}}
{{- $host := include "m2.podHost" (dict "ctx" $ "ordinal" (mul $g $.Values.tensorParallelSize)) -}}
{{- $hosts = append $hosts (printf "%s:%d" $host (int $.Values.worker.ports.coordinator)) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{/*
The model folder, shared by the worker pods (weights) and the routers (config.json,
generation_config.json, tokenizer.json, tokenizer_config.json), so both read the same checkpoint.
Every workload mounts it read-only; for uri and makeModel an init container fills an emptyDir first.
*/}}

{{/* Folder of the emptyDir that make-model writes into: it builds beside its output and renames,
so the output cannot be the mount point itself. */}}
{{- define "m2.madeModelSubPath" -}}model{{- end -}}

{{/* Where init containers mount the model volume to write it. */}}
{{- define "m2.modelStagingPath" -}}/model-volume{{- end -}}

{{/*
The model volume for a workload: (dict "ctx" $ "component" "worker"|"router"). A router's uri
emptyDir holds only the small files (see m2.modelInitContainers), so it gets a small limit.
*/}}
{{- define "m2.modelVolume" -}}
{{- $m := .ctx.Values.model -}}
- name: model
  {{- if eq $m.source "pvc" }}
  persistentVolumeClaim: { claimName: {{ $m.pvc.claimName | quote }}, readOnly: true }
  {{- else if eq $m.source "hostPath" }}
  hostPath: { path: {{ $m.hostPath.path | quote }}, type: Directory }
  {{- else if eq $m.source "uri" }}
  emptyDir: { sizeLimit: {{ ternary $m.uri.routerSizeLimit $m.uri.sizeLimit (eq .component "router") }} }
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end -}}

{{/* The read-only mount of the model volume at model.path in a workload's main container. */}}
{{- define "m2.modelVolumeMount" -}}
{{- $m := .Values.model -}}
- name: model
  mountPath: {{ $m.path | quote }}
  readOnly: true
  {{- if and (eq $m.source "pvc") $m.pvc.subPath }}
  subPath: {{ $m.pvc.subPath | quote }}
  {{- else if eq $m.source "makeModel" }}
  subPath: {{ include "m2.madeModelSubPath" . }}
  {{- end }}
{{- end -}}

{{/*
Init containers that fill the model volume (none for pvc and hostPath): (dict "ctx" $ "component"
"worker"|"router"). A router reads only configs and tokenizer files, so its uri fetch skips the
weight files; tar still reads the whole archive from the network (it cannot seek in a stream).
*/}}
{{- define "m2.modelInitContainers" -}}
{{- $ctx := .ctx -}}
{{- $m := $ctx.Values.model -}}
{{- $staging := include "m2.modelStagingPath" $ctx -}}
{{- if eq $m.source "uri" -}}
- name: fetch-model
  image: {{ $m.uri.image }}
  imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
  command: ["/bin/sh", "-c"]
  args:
    - >-
      set -eu; cd "$MODEL_DIR";
      if [ -f .m2-fetched ]; then exit 0; fi;
      case "$MODEL_URI" in *.gz|*.tgz) z=z ;; *) z= ;; esac;
      {{- if eq .component "router" }}
      curl -fsSL --retry 5 "$MODEL_URI" | tar -x${z}f - --exclude='*.safetensors' --exclude='*.bin' --exclude='*.pt' --exclude='*.pth' --exclude='*.gguf';
      {{- else }}
      curl -fsSL --retry 5 "$MODEL_URI" | tar -x${z}f -;
      {{- end }}
      touch .m2-fetched
  env:
    - { name: MODEL_DIR, value: {{ $staging | quote }} }
    - { name: MODEL_URI, value: {{ $m.uri.uri | quote }} }
  volumeMounts:
    - { name: model, mountPath: {{ $staging | quote }} }
  securityContext:
    allowPrivilegeEscalation: false
    capabilities: { drop: [ALL] }
{{- else if eq $m.source "makeModel" -}}
- name: make-model
  image: {{ include "m2.image" (dict "ctx" $ctx "flavour" "cpu") }}
  imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
  args: ["make-model", "--preset", {{ $m.makeModel.preset | quote }}, "--seed", {{ $m.makeModel.seed | quote }}, "--out", {{ printf "%s/%s" $staging (include "m2.madeModelSubPath" $ctx) | quote }}]
  env:
    - { name: M2_CACHE_DIR, value: /tmp/m2-cache }
  volumeMounts:
    - { name: model, mountPath: {{ $staging | quote }} }
    - { name: tmp, mountPath: /tmp }
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities: { drop: [ALL] }
{{- end -}}
{{- end -}}

{{- define "m2.speculative" -}}
{{- $s := .Values.engine.speculative -}}
{{- if kindIs "bool" $s -}}{{ ternary "on" "off" $s }}{{- else -}}{{ $s }}{{- end -}}
{{- end -}}

{{/* KV cache budget as the flag takes it: a fraction, or whole bytes (never Go's 2.1e+10 float form). */}}
{{- define "m2.kvCacheMemory" -}}
{{- $kv := .Values.engine.kvCacheMemory -}}
{{- if and (not (kindIs "string" $kv)) (ge (float64 $kv) 1.0) -}}
{{- printf "%.0f" (float64 $kv) -}}
{{- else -}}
{{- toString $kv -}}
{{- end -}}
{{- end -}}

{{/* Cross-field checks JSON schema cannot express. */}}
{{- define "m2.validate" -}}
{{- if and .Values.router.autoscaling.enabled (gt (int .Values.router.autoscaling.minReplicas) (int .Values.router.autoscaling.maxReplicas)) -}}
{{- fail "router.autoscaling.minReplicas must not exceed router.autoscaling.maxReplicas" -}}
{{- end -}}
{{- if and .Values.keda.enabled (gt (int .Values.keda.minReplicas) (int .Values.keda.maxReplicas)) -}}
{{- fail "keda.minReplicas must not exceed keda.maxReplicas" -}}
{{- end -}}
{{- $p := .Values.worker.ports -}}
{{- if ne 4 (len (uniq (list (int $p.coordinator) (int $p.coordinatorMetrics) (int $p.worker) (int $p.workerHealth)))) -}}
{{- fail "worker.ports must be four different ports (the rank-0 pod runs both the coordinator and a worker)" -}}
{{- end -}}
{{- end -}}
