#!/usr/bin/env bash
# Start the local PostgreSQL and Redis the tests need, if it is not running (commands from DESIGN.md section 7).
set -euo pipefail
host=127.0.0.1
if ! pg_isready -q -h "$host" -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h "$host" -p 5432 && break; sleep 1; done
  else
    echo "PostgreSQL is not running at $host:5432 and cannot be started here" >&2
  fi
fi
if command -v redis-cli >/dev/null && ! redis-cli -h "$host" ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis" >&2
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 30); do redis-cli -h "$host" ping >/dev/null 2>&1 && break; sleep 1; done
  else
    echo "Redis is not running at $host:6379 and cannot be started here" >&2
  fi
fi
