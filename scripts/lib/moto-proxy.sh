# Sourced by the benchmarks (scripts/bench, scripts/bench-write): stock
# moto (threaded, so a 16-way client is not serialised) behind the latency
# proxy, as a nearby DynamoDB endpoint. The caller sets PROXY (the
# latency-proxy script), DELAY_MS and a log() function, runs from the
# repository root, and calls start_moto_proxy; the servers stop when the
# caller exits. Exports DYNAMOFS_BENCH_ENDPOINT and test credentials.

MOTO_VERSION=5.2.5
VENV=.venv

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # PORT PID LOG
    for _ in $(seq 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$1/moto-api/"; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then
            log "process $2 exited early:"; cat "$3" >&2; return 1
        fi
        sleep 0.2
    done
    log "nothing answers on 127.0.0.1:$1:"; cat "$3" >&2; return 1
}

SERVER_PIDS=()
stop_moto_proxy() {
    for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}

start_moto_proxy() {
    if [ ! -f "$PROXY" ]; then
        log "latency proxy not found at $PROXY; set DYNAMOFS_LATENCY_PROXY to its path"
        exit 1
    fi
    if ! "$VENV/bin/python" -c "import moto; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null; then
        log "installing moto[server]==$MOTO_VERSION into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
    mkdir -p target
    local moto_port proxy_port
    moto_port=$(free_port)
    log "starting moto on 127.0.0.1:$moto_port (log: target/bench-moto.log)"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >target/bench-moto.log 2>&1 &
    SERVER_PIDS+=($!)
    wait_http "$moto_port" "${SERVER_PIDS[0]}" target/bench-moto.log
    proxy_port=$(free_port)
    log "starting the latency proxy on 127.0.0.1:$proxy_port (+${DELAY_MS} ms each way)"
    python3 "$PROXY" --listen "127.0.0.1:$proxy_port" --target "127.0.0.1:$moto_port" \
        --delay-ms "$DELAY_MS" >target/bench-proxy.log 2>&1 &
    SERVER_PIDS+=($!)
    wait_http "$proxy_port" "${SERVER_PIDS[1]}" target/bench-proxy.log

    export DYNAMOFS_BENCH_ENDPOINT="http://127.0.0.1:$proxy_port"
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
    # Keep the developer's own AWS settings out of the benchmark.
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB
}
