#!/usr/bin/env bash
# Installs what pg-advisor's demo and tests need on Debian 12 or 13: PostgreSQL (the
# distribution's major) with pg_stat_statements, HypoPG and pg_qualstats, Prometheus, and
# a virtualenv with the project. Safe to run again: it installs only what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }

need postgresql
need postgresql-contrib
need prometheus
need python3-venv
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

major="$(find /usr/lib/postgresql -maxdepth 1 -mindepth 1 -type d -printf '%f\n' | sort -n | tail -1)"
if [ -z "$major" ]; then
    echo "setup: no PostgreSQL server under /usr/lib/postgresql" >&2
    exit 1
fi
missing=()
need "postgresql-${major}-hypopg"
need "postgresql-${major}-pg-qualstats"
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's postgresql package starts a cluster of its own; the demo and tests start
# throwaway clusters and need neither it nor its port.
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -e ".[dev]"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi
# Node.js and npm for the Drizzle checks (tests/drizzle: tsc and drizzle-kit on generated
# code): Debian's packages when either command is missing, then the project's locked
# packages, installed again only when package-lock.json changes.
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
node_stamp="tests/drizzle/node_modules/.installed-$(sha1sum tests/drizzle/package-lock.json | cut -c1-12)"
if [ ! -f "$node_stamp" ]; then
    echo "setup: npm ci in tests/drizzle"
    npm ci --prefix tests/drizzle --no-audit --no-fund --loglevel=error >/dev/null
    touch "$node_stamp"
fi
echo "setup: PostgreSQL ${major}, HypoPG, Prometheus, $VENV and tests/drizzle are ready"
