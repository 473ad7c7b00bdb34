#!/usr/bin/env bash
# Start the OpenML backend the way ENVIRONMENT asks (one image, every environment).
#
#   entrypoint.sh            serve the app with gunicorn (the container's default)
#   entrypoint.sh migrate    upgrade the database schema once and exit (the release Job)
#   entrypoint.sh CMD...     run any other command, for debugging
#
# Every setting, ENVIRONMENT and LOG_LEVEL included, is validated by
# `python -m openml_backend.config check` (declared in openml_backend/config/settings.py, listed in
# docs/configuration.md): a bad one exits 78 with one JSON line naming it. This script only
# derives the worker count: 1 in development (SQLite takes one writer, --reload restarts
# it), else GUNICORN_WORKERS, else docker/gunicorn_workers.py from the CPU and memory limits.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly here
readonly app_dir="${here%/*}"

timestamp() {
    date -u +%Y-%m-%dT%H:%M:%S.%3N+00:00
}

# One JSON line, like every other log line of the container (messages here are fixed text).
log() {
    local level="$1" message="$2"
    printf '{"ts": "%s", "level": "%s", "logger": "entrypoint", "message": "%s"}\n' \
        "$(timestamp)" "$level" "$message"
}

# Validates the whole configuration (its error line and exit status pass through) and prints
# the resolved values of the named settings, space-separated, "-" for an unset one.
checked_settings() {
    (cd "$app_dir" && python -m openml_backend.config check --print "$@")
}

serve() {
    local settings environment log_level workers_setting threads timeout graceful memory_mb max_workers
    settings="$(checked_settings ENVIRONMENT LOG_LEVEL GUNICORN_WORKERS GUNICORN_THREADS GUNICORN_TIMEOUT \
        GUNICORN_GRACEFUL_TIMEOUT GUNICORN_WORKER_MEMORY_MB GUNICORN_MAX_WORKERS)"
    read -r environment log_level workers_setting threads timeout graceful memory_mb max_workers <<<"$settings"

    local workers source cpus="-" memory_mib="-" reload_flag=()
    if [[ "$environment" == development ]]; then
        workers=1 source=development reload_flag=(--reload)
        if [[ "$workers_setting" != - && "$workers_setting" != 1 ]]; then
            log WARNING "GUNICORN_WORKERS is ignored in development (always 1 worker)"
        fi
    elif [[ "$workers_setting" != - ]]; then
        workers="$workers_setting" source=GUNICORN_WORKERS
    else
        local derived
        derived="$(python "$here/gunicorn_workers.py" "$memory_mb" "$max_workers")"
        read -r workers cpus memory_mib <<<"$derived"
        source=limits
    fi
    local gunicorn_level="${log_level,,}"
    printf '{"ts": "%s", "level": "INFO", "logger": "entrypoint", "message": "starting gunicorn", "environment": "%s", "workers": %s, "workers_from": "%s", "cpus": "%s", "memory_limit_mib": "%s", "threads": %s, "timeout": %s, "log_level": "%s", "reload": %s}\n' \
        "$(timestamp)" "$environment" "$workers" "$source" "$cpus" "$memory_mib" \
        "$threads" "$timeout" "$gunicorn_level" "$([[ ${#reload_flag[@]} -gt 0 ]] && echo true || echo false)"

    cd "$app_dir"
    exec gunicorn --config "$here/gunicorn.conf.py" \
        --workers "$workers" --threads "$threads" --timeout "$timeout" --graceful-timeout "$graceful" \
        --log-level "$gunicorn_level" "${reload_flag[@]}" autoapp:app
}

migrate() {
    # DB_READ_TIMEOUT and DB_WRITE_TIMEOUT bound what a request waits for MySQL (seconds);
    # a schema change may rightly take longer, up to the Job's own deadline (600 s).
    export DB_READ_TIMEOUT=600 DB_WRITE_TIMEOUT=600
    # Only the validation matters here; its summary line is not JSON.
    (cd "$app_dir" && python -m openml_backend.config check >/dev/null)
    log INFO "upgrading the database schema"
    cd "$app_dir"
    exec flask --app autoapp db upgrade
}

main() {
    case "${1:-serve}" in
        serve) serve ;;
        migrate) migrate ;;
        *) exec "$@" ;;
    esac
}

main "$@"
