#!/usr/bin/env bash
# Start the OpenML backend the way ENVIRONMENT asks (one image, every environment).
#
#   entrypoint.sh            serve the app with gunicorn (the container's default)
#   entrypoint.sh migrate    upgrade the database schema once and exit (the release Job)
#   entrypoint.sh CMD...     run any other command, for debugging
#
# ENVIRONMENT=development: 1 worker, reload on, LOG_LEVEL DEBUG, TESTING True by default.
# ENVIRONMENT=production:  GUNICORN_WORKERS, or derived from the CPU and memory limits
#                          (docker/gunicorn_workers.py); LOG_LEVEL WARNING, TESTING False
#                          by default.
# Unset ENVIRONMENT means development (with a warning); any other value exits 64.
# Other settings: GUNICORN_THREADS (default 4), GUNICORN_TIMEOUT (default 120),
# GUNICORN_GRACEFUL_TIMEOUT (default 30, read by gunicorn.conf.py).
set -euo pipefail

readonly EX_USAGE=64
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly here
readonly app_dir="${here%/*}"

timestamp() {
    date -u +%Y-%m-%dT%H:%M:%S.%3N+00:00
}

# A JSON string body: messages may quote a bad value the operator set.
json_escape() {
    local text="$1"
    text="${text//\\/\\\\}"
    text="${text//\"/\\\"}"
    text="${text//[$'\n\r\t']/ }"
    printf '%s' "$text"
}

# One JSON line, like every other log line of the container.
log() {
    local level="$1" message="$2"
    printf '{"ts": "%s", "level": "%s", "logger": "entrypoint", "message": "%s"}\n' \
        "$(timestamp)" "$level" "$(json_escape "$message")"
}

die() {
    local code="$1" message="$2"
    log ERROR "$message" >&2
    exit "$code"
}

positive_int() {
    local name="$1" value="$2"
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || die "$EX_USAGE" "$name must be a positive integer, got '$value'"
    printf '%s' "$value"
}

resolve_environment() {
    if [[ -z "${ENVIRONMENT:-}" ]]; then
        log WARNING "ENVIRONMENT is not set; starting as development"
        ENVIRONMENT=development
    fi
    case "$ENVIRONMENT" in
        development | production) ;;
        *) die "$EX_USAGE" "ENVIRONMENT must be development or production, got '$ENVIRONMENT'" ;;
    esac
    export ENVIRONMENT
    export FLASK_ENV="${FLASK_ENV:-$ENVIRONMENT}"
}

# Sets LOG_LEVEL and TESTING (exported for the app) to the environment's defaults.
apply_environment_defaults() {
    if [[ "$ENVIRONMENT" == development ]]; then
        export LOG_LEVEL="${LOG_LEVEL:-DEBUG}" TESTING="${TESTING:-True}"
    else
        export LOG_LEVEL="${LOG_LEVEL:-WARNING}" TESTING="${TESTING:-False}"
    fi
    LOG_LEVEL="${LOG_LEVEL^^}"
    case "$LOG_LEVEL" in
        DEBUG | INFO | WARNING | ERROR | CRITICAL) ;;
        *) die "$EX_USAGE" "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got '$LOG_LEVEL'" ;;
    esac
}

# Fails fast, with the app's own one-line message, on a variable production refuses.
check_configuration() {
    local status=0
    # Its "configuration ok" line is not JSON; the app logs the same facts at start.
    (cd "$app_dir" && python -m openml_backend.config check >/dev/null) || status=$?
    if ((status != 0)); then
        exit "$status"
    fi
}

serve() {
    local workers reload_flag=() cpus="-" memory_mib="-" source
    if [[ "$ENVIRONMENT" == development ]]; then
        # One worker: SQLite takes one writer, and --reload restarts that worker on change.
        workers=1 source=development reload_flag=(--reload)
        if [[ -n "${GUNICORN_WORKERS:-}" && "${GUNICORN_WORKERS}" != 1 ]]; then
            log WARNING "GUNICORN_WORKERS is ignored in development (always 1 worker)"
        fi
    elif [[ -n "${GUNICORN_WORKERS:-}" ]]; then
        workers="$(positive_int GUNICORN_WORKERS "$GUNICORN_WORKERS")" source=GUNICORN_WORKERS
    else
        local derived
        derived="$(python "$here/gunicorn_workers.py")" || die "$EX_USAGE" "could not derive the worker count"
        read -r workers cpus memory_mib <<<"$derived"
        source=limits
    fi
    local threads timeout gunicorn_level
    threads="$(positive_int GUNICORN_THREADS "${GUNICORN_THREADS:-4}")"
    timeout="$(positive_int GUNICORN_TIMEOUT "${GUNICORN_TIMEOUT:-120}")"
    gunicorn_level="${LOG_LEVEL,,}"

    check_configuration
    printf '{"ts": "%s", "level": "INFO", "logger": "entrypoint", "message": "starting gunicorn", "environment": "%s", "workers": %s, "workers_from": "%s", "cpus": "%s", "memory_limit_mib": "%s", "threads": %s, "timeout": %s, "log_level": "%s", "reload": %s}\n' \
        "$(timestamp)" "$ENVIRONMENT" "$workers" "$source" "$cpus" "$memory_mib" \
        "$threads" "$timeout" "$gunicorn_level" "$([[ ${#reload_flag[@]} -gt 0 ]] && echo true || echo false)"

    cd "$app_dir"
    exec gunicorn --config "$here/gunicorn.conf.py" \
        --workers "$workers" --threads "$threads" --timeout "$timeout" \
        --log-level "$gunicorn_level" "${reload_flag[@]}" autoapp:app
}

migrate() {
    # DB_READ_TIMEOUT and DB_WRITE_TIMEOUT bound what a request waits for MySQL (seconds);
    # a schema change may rightly take longer, up to the Job's own deadline (600 s).
    export DB_READ_TIMEOUT=600 DB_WRITE_TIMEOUT=600
    check_configuration
    log INFO "upgrading the database schema"
    cd "$app_dir"
    exec flask --app autoapp db upgrade
}

main() {
    case "${1:-serve}" in
        serve)
            resolve_environment
            apply_environment_defaults
            serve
            ;;
        migrate)
            resolve_environment
            apply_environment_defaults
            migrate
            ;;
        *) exec "$@" ;;
    esac
}

main "$@"
