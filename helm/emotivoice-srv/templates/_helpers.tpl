{{/* Names: the chart name (or nameOverride), and the release-qualified name used for every object. */}}
{{- define "emotivoice.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "emotivoice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "emotivoice.name" . -}}
{{- $full := ternary .Release.Name (printf "%s-%s" .Release.Name $name) (contains $name .Release.Name) -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "emotivoice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "emotivoice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "emotivoice.labels" -}}
{{ include "emotivoice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: tts-server
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* repository[:tag][@digest] of an image block; the tag defaults to $default. */}}
{{- define "emotivoice.imageRef" -}}
{{- $image := index . 0 -}}
{{- $defaultTag := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository ($image.tag | default $defaultTag) -}}
{{- end -}}
{{- end -}}

{{- define "emotivoice.image" -}}
{{- $tag := ternary (printf "%s-gpu" .Chart.AppVersion) .Chart.AppVersion .Values.gpu.enabled -}}
{{- include "emotivoice.imageRef" (list .Values.image $tag) -}}
{{- end -}}

{{- define "emotivoice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "emotivoice.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "emotivoice.apiKeysSecretName" -}}
{{- .Values.apiKeys.existingSecret | default (printf "%s-api-keys" (include "emotivoice.fullname" .)) -}}
{{- end -}}

{{- define "emotivoice.apiKeysEnabled" -}}
{{- if or .Values.apiKeys.existingSecret .Values.apiKeys.keys }}true{{ end -}}
{{- end -}}

{{- define "emotivoice.cacheClaimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-cache" (include "emotivoice.fullname" .)) -}}
{{- end -}}

{{- define "emotivoice.device" -}}
{{- .Values.server.device | default (ternary "cuda" "cpu" .Values.gpu.enabled) -}}
{{- end -}}

{{/* Where the server finds its bundle: in the app image, or where the init container copied it. */}}
{{- define "emotivoice.bundlePath" -}}
{{- if eq .Values.bundle.source "initContainer" -}}
/opt/emotivoice/external/bundle
{{- else -}}
{{- .Values.bundle.path -}}
{{- end -}}
{{- end -}}

{{/* The fallback tier's bundle as the server gets it: a path, "main", or "none" (off). */}}
{{- define "emotivoice.fallbackBundle" -}}
{{- $bundle := .Values.server.fallback.bundle | default "" | toString | trim -}}
{{- if or (not .Values.server.fallback.enabled) (has (lower $bundle) (list "none" "off" "")) -}}
none
{{- else -}}
{{- $bundle -}}
{{- end -}}
{{- end -}}

{{/*
The longest a pod can take from the start of its termination to its exit when it behaves:
preStop sleep, then after SIGTERM the drain (the server keeps the port open max(drain delay,
drain grace) at most), then the margin for the process to exit. The kubelet's SIGKILL comes later.
*/}}
{{- define "emotivoice.terminationGracePeriodSeconds" -}}
{{- $drain := max (.Values.server.drainGraceSeconds | float64 | ceil | int) (.Values.server.drainDelaySeconds | float64 | ceil | int) -}}
{{- add (int .Values.shutdown.preStopSleepSeconds) $drain (int .Values.shutdown.marginSeconds) -}}
{{- end -}}

{{/* The voice store's kind: redis (the chart's own or voiceStore.url) or local. */}}
{{- define "emotivoice.voiceStore" -}}
{{- if or .Values.redis.enabled .Values.voiceStore.url -}}redis{{- else -}}local{{- end -}}
{{- end -}}

{{- define "emotivoice.redisName" -}}
{{- printf "%s-redis" (include "emotivoice.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The chart's Redis: its own selector and component, apart from the server's objects. */}}
{{- define "emotivoice.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "emotivoice.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "emotivoice.redisLabels" -}}
{{ include "emotivoice.redisSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: voice-store
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "emotivoice.redisSecretName" -}}
{{- .Values.redis.auth.existingSecret | default (include "emotivoice.redisName" .) -}}
{{- end -}}

{{/* The most pods the Deployment can run (a rollout's surge pod aside). */}}
{{- define "emotivoice.maxReplicas" -}}
{{- ternary .Values.autoscaling.maxReplicas .Values.replicaCount .Values.autoscaling.enabled | int -}}
{{- end -}}

{{/* Checks that fail the render with a message instead of producing a chart that misbehaves. */}}
{{- define "emotivoice.validate" -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.minReplicas) 1) -}}
{{- fail "autoscaling.minReplicas must be at least 1: scale-to-zero brings the cold start back onto the first request" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) -}}
{{- fail "autoscaling.maxReplicas must not be below autoscaling.minReplicas" -}}
{{- end -}}
{{- if not .Values.rollingUpdate.maxSurge -}}
{{- fail "rollingUpdate.maxSurge must be positive: maxUnavailable is 0, so a rollout needs a surge pod" -}}
{{- end -}}
{{- if not (has .Values.bundle.source (list "image" "initContainer")) -}}
{{- fail "bundle.source must be image or initContainer" -}}
{{- end -}}
{{- if and (eq .Values.bundle.source "initContainer") (not .Values.bundle.initContainer.image.repository) (not .Values.bundle.initContainer.volume) -}}
{{- fail "bundle.source=initContainer needs bundle.initContainer.image.repository or bundle.initContainer.volume" -}}
{{- end -}}
{{- if eq (include "emotivoice.fallbackBundle" . | lower) "student" -}}
{{- fail "server.fallback.bundle=student would make the server assemble the student's bundle in the cache volume at start (on each new volume; on every start without persistence): use the one baked into the image (/opt/emotivoice/bundles/kokoro-82m-student, the default), main, or none" -}}
{{- end -}}
{{- if and .Values.redis.enabled .Values.voiceStore.url -}}
{{- fail "redis.enabled deploys a Redis and voiceStore.url names another: set one of them" -}}
{{- end -}}
{{- if and (eq (include "emotivoice.voiceStore" .) "local") (gt (int (include "emotivoice.maxReplicas" .)) 1) -}}
{{- fail (printf "the local voice store serves one process, but up to %s replicas may run: a voice enrolled on one pod would be a 404 on the others, and diskcache on a shared claim is not safe under concurrent writers. Set redis.enabled=true (the default), voiceStore.url=redis://..., or one replica (autoscaling.enabled=false, replicaCount=1)" (include "emotivoice.maxReplicas" .)) -}}
{{- end -}}
{{- if and .Values.server.protectMetrics .Values.metrics.serviceMonitor.enabled (not .Values.metrics.serviceMonitor.authorization) -}}
{{- fail "server.protectMetrics needs metrics.serviceMonitor.authorization, or Prometheus gets 401" -}}
{{- end -}}
{{- end -}}
