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

{{/* Coordinators of the rendered groups (rank-0 pods), for routers without NATS. */}}
{{- define "m2.coordinatorList" -}}
{{- $hosts := list -}}
{{- range $g := until (int .Values.replicas) -}}
{{- $host := include "m2.podHost" (dict "ctx" $ "ordinal" (mul $g $.Values.tensorParallelSize)) -}}
{{- $hosts = append $hosts (printf "%s:%d" $host (int $.Values.worker.ports.coordinator)) -}}
{{- end -}}
{{- join "," $hosts -}}
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
