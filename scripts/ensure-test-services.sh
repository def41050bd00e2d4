#!/usr/bin/env bash
# Installs or starts what the test suite needs: a PostgreSQL server, Debian's Chromium and CJK fonts.
set -euo pipefail

source "$(dirname "$0")/apt.sh"

PG_HOST=${SHUJIAO_TEST_PG_HOST:-127.0.0.1}
PG_PORT=${SHUJIAO_TEST_PG_PORT:-5432}

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing PostgreSQL"
  apt_install postgresql
fi
if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 1; done
fi
pg_isready -h "$PG_HOST" -p "$PG_PORT"

if ! command -v pgbench >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
  apt_install postgresql-contrib
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium"
  apt_install chromium
fi
/usr/bin/chromium --version

"$(dirname "$0")/ensure-fonts.sh"
