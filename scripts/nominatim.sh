#!/usr/bin/env bash
# Installs Nominatim (Debian's PostGIS + osm2pgsql, PyPI's nominatim-db/nominatim-api in their own
# venv under var/nominatim/) and imports the Monaco extract once into the PostgreSQL server on
# 127.0.0.1:5432 (database nominatim_vp), for the tests marked `nominatim`; the tests start
# `nominatim serve` themselves. Idempotent and fast when already done; `make test` calls it.
# On failure it only warns: local runs then skip the Nominatim tests (CI fails them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VERSION="5.3.3"
ROOT="var/nominatim"
VENV="$ROOT/venv"
PROJECT="$ROOT/project"
PBF_SRC="${NOMINATIM_TEST_PBF:-../shared/geo/monaco.osm.pbf}"
DB="nominatim_vp"
export NOMINATIM_DATABASE_DSN="pgsql:host=127.0.0.1;port=5432;user=postgres;dbname=$DB"
export NOMINATIM_DATABASE_WEBUSER=postgres

warn() { echo "nominatim.sh: $*; Nominatim tests will skip (and fail on CI)" >&2; exit 0; }

if ! command -v osm2pgsql >/dev/null || [[ ! -f /usr/share/postgresql/15/extension/postgis.control ]]; then
  command -v apt-get >/dev/null || warn "no apt-get to install postgresql-15-postgis-3 and osm2pgsql"
  apt-get update -qq >/dev/null || warn "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 osm2pgsql \
    >/dev/null || warn "apt-get could not install postgresql-15-postgis-3 osm2pgsql"
fi

if [[ ! -x "$VENV/bin/nominatim" ]] || ! "$VENV/bin/nominatim" --version 2>/dev/null | grep -q "$VERSION"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" || warn "python3 -m venv failed"
  "$VENV/bin/pip" install --quiet "nominatim-db==$VERSION" "nominatim-api==$VERSION" \
    "uvicorn>=0.30" "starlette>=0.40" || warn "pip could not install nominatim-db/nominatim-api"
fi

imported() {
  "$VENV/bin/python" - "$DB" <<'PY' 2>/dev/null
import sys, psycopg
with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=5) as c:
    ok = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (sys.argv[1],)).fetchone()
sys.exit(0 if ok else 1)
PY
}

if [[ ! -f "$PROJECT/.imported-$VERSION" ]] || ! imported; then
  [[ -f "$PBF_SRC" ]] || warn "no extract at $PBF_SRC"
  rm -rf "$PROJECT" && mkdir -p "$PROJECT"
  cp "$PBF_SRC" "$ROOT/monaco.osm.pbf"  # the shared folder is read-only
  "$VENV/bin/python" - "$DB" <<'PY' || warn "PostgreSQL on 127.0.0.1:5432 is not reachable"
import sys, psycopg
with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True,
                     connect_timeout=5) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
PY
  (cd "$PROJECT" && ../venv/bin/nominatim import --osm-file ../monaco.osm.pbf --project-dir . \
    >../import.log 2>&1) || warn "nominatim import failed (see $ROOT/import.log)"
  touch "$PROJECT/.imported-$VERSION"
fi
echo "nominatim.sh: Nominatim $VERSION with $DB ready (project $PROJECT)"
