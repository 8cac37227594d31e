#!/usr/bin/env bash
# Smoke test of the CPU image (deploy/docker/Dockerfile): build it, then run it the two ways a deployment does and
# send one OpenAI request each way from this host:
#   1. one container: `serve --local-workers 1` (the gateway and a simulated worker as its child process);
#   2. two containers on a Docker network, as the Kubernetes pods are: `worker` alone (checked with
#      `deploy probe`, the readiness probe), and `serve --workers <worker>:50052` in front of it.
# Plus `info` (the native addon loads) and the gateway's Prometheus port. Everything it starts is removed on exit,
# whatever happens; every wait is bounded. Exit 0 only when every check passed.
#
#   deploy/docker/smoke.sh                    # build nvlsched:smoke from this checkout, test it
#   deploy/docker/smoke.sh --image nvlsched:dev --no-build
#   deploy/docker/smoke.sh --build-timeout 1800 -- --network host   # args after -- go to `docker build`
#
# Needs a Docker daemon and curl. Without Docker Hub, first make local base images: local-base/build-base.sh.
set -euo pipefail

IMAGE=nvlsched:smoke
BUILD=1
BUILD_TIMEOUT_S=1800
READY_TIMEOUT_S=60
BUILD_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --image) IMAGE=$2; shift 2;;
    --no-build) BUILD=0; shift;;
    --build-timeout) BUILD_TIMEOUT_S=$2; shift 2;;
    --) shift; BUILD_ARGS=("$@"); break;;
    -h|--help) sed -n '2,15p' "$0"; exit 0;;
    *) echo "smoke: unknown argument $1 (see --help)" >&2; exit 2;;
  esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUN_ID=nvlsched-smoke-$$
NET=$RUN_ID
CONTAINERS=()
log() { echo "smoke: $*"; }
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ] && [ ${#CONTAINERS[@]} -gt 0 ]; then
    for c in "${CONTAINERS[@]}"; do echo "--- docker logs $c" >&2; docker logs --tail 30 "$c" >&2 2>&1 || true; done
  fi
  [ ${#CONTAINERS[@]} -eq 0 ] || docker rm -f "${CONTAINERS[@]}" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v curl >/dev/null || fail "curl not found"
docker info >/dev/null 2>&1 || fail "no Docker daemon (docker info failed)"

if [ "$BUILD" = 1 ]; then
  log "building $IMAGE (at most ${BUILD_TIMEOUT_S} s) ..."
  started=$(date +%s)
  timeout "$BUILD_TIMEOUT_S" docker build -f "$ROOT/deploy/docker/Dockerfile" -t "$IMAGE" ${BUILD_ARGS[@]+"${BUILD_ARGS[@]}"} "$ROOT" \
    >"/tmp/$RUN_ID-build.log" 2>&1 || { tail -30 "/tmp/$RUN_ID-build.log" >&2; fail "docker build (log: /tmp/$RUN_ID-build.log)"; }
  log "built in $(( $(date +%s) - started )) s"
  rm -f "/tmp/$RUN_ID-build.log"
fi
log "image $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"

info=$(timeout 60 docker run --rm "$IMAGE" info) || fail "'$IMAGE info' failed"
grep -q '^addon ' <<<"$info" || fail "'$IMAGE info' did not report the native addon: $info"
log "ok: info (native addon loads)"

# start NAME ARGS...: a detached container named $RUN_ID-NAME on $NET.
start() {
  local name=$RUN_ID-$1; shift
  CONTAINERS+=("$name")
  docker run -d --name "$name" --network "$NET" "$@" >/dev/null
}
# host_port NAME PORT: the 127.0.0.1 port Docker published container PORT on.
host_port() { docker port "$RUN_ID-$1" "$2/tcp" | head -1 | sed 's/.*://'; }
wait_health() {
  local url=$1 deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
  until curl -sf --max-time 2 "$url/health" | grep -q '"status":"serving"'; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$url/health not serving after ${READY_TIMEOUT_S} s"
    sleep 1
  done
}
# chat URL WHAT: one /v1/chat/completions, expecting HTTP 200 and at least one completion token.
chat() {
  local body code tokens
  body=$(curl -s --max-time 30 -w '\n%{http_code}' "$1/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"model":"llama-3.1-70b","messages":[{"role":"user","content":"container smoke test"}],"max_tokens":16}') \
    || fail "$2: request failed"
  code=${body##*$'\n'}; body=${body%$'\n'*}
  [ "$code" = 200 ] || fail "$2: HTTP $code: $body"
  tokens=$(printf '%s' "$body" | grep -oE '"completion_tokens":[0-9]+' | cut -d: -f2)
  [ "${tokens:-0}" -gt 0 ] || fail "$2: no completion tokens in $body"
  log "ok: $2: HTTP 200, $tokens completion tokens"
}

docker network create "$NET" >/dev/null

# 1. One container: gateway + one local simulated worker. --host 0.0.0.0 because a published port reaches the
#    container's interface, not its loopback; no keys, so --insecure-no-auth (a smoke test only).
start local -p 127.0.0.1::8000 "$IMAGE" serve --host 0.0.0.0 --local-workers 1 --grpc-port 50051 --http-port 8000 \
  --metrics-port 0 --insecure-no-auth
url=http://127.0.0.1:$(host_port local 8000)
wait_health "$url"
chat "$url" "serve --local-workers 1"

# 2. The pods' layout: a worker container and a gateway container that dials it by name.
start worker "$IMAGE" worker --host 0.0.0.0 --port 50052 --tray 0
deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
until docker run --rm --network "$NET" "$IMAGE" deploy probe --worker "$RUN_ID-worker:50052" >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "worker: deploy probe not SERVING after ${READY_TIMEOUT_S} s"
  sleep 1
done
log "ok: worker alone answers the readiness probe (deploy probe --worker)"
start gateway -p 127.0.0.1::8000 -p 127.0.0.1::9400 "$IMAGE" serve --host 0.0.0.0 --workers "$RUN_ID-worker:50052" \
  --grpc-port 50051 --http-port 8000 --metrics-port 9400 --insecure-no-auth
url=http://127.0.0.1:$(host_port gateway 8000)
wait_health "$url"
chat "$url" "serve --workers <worker container>"
metrics=$(curl -s --max-time 10 "http://127.0.0.1:$(host_port gateway 9400)/metrics") || fail "gateway /metrics: no answer"
grep -q '^nvlsched_' <<<"$metrics" || fail "gateway /metrics has no nvlsched_ series"
log "ok: gateway /metrics"

# Stopping must be quick (SIGTERM handled, not the 10 s kill).
started=$(date +%s)
docker stop -t 10 "$RUN_ID-gateway" "$RUN_ID-worker" "$RUN_ID-local" >/dev/null
stop_s=$(( $(date +%s) - started ))
[ "$stop_s" -lt 9 ] || fail "docker stop took ${stop_s} s (SIGTERM ignored?)"
log "ok: containers stop on SIGTERM (${stop_s} s)"
log "PASS"
