#!/usr/bin/env bash
# Generates the secret files docker-compose.prod.yml reads from ./secrets/, with openssl's
# randomness. Never prints a secret; never replaces an existing file without --force.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/generate_secrets.sh [--dir DIR] [--owner UID] [--database-owner UID] [--force]

Writes the production secrets, one value per file (mode 0600, directory 0700), into DIR
(default ./secrets):
  db_password          PostgreSQL password of fm_auth (24 random bytes, hex)
  database_url         postgres://fm_auth:<db_password>@postgres:5432/fm_auth
  jwt_secret_key       HS256 signing key (48 random bytes, base64)
  sso_encryption_key   AES-256-GCM key of the SSO client secrets (32 random bytes, base64)
  metrics_token        bearer token of GET /metrics (32 random bytes, hex)
  saml_sp_private_key  SAML service provider key (RSA 2048, PEM)
  saml_sp_cert         its self-signed certificate (CN=fm-auth, 730 days, PEM)

Bind-mounted secrets keep their owner and mode, so each file must belong to the user that reads
it in its container. Run as root, the script gives the service's files to --owner (default 65532,
the fm-auth image's user) and db_password to --database-owner (default 0: the official postgres
image reads it as root before dropping privileges; give the image's user for one that does not,
e.g. 1001 for bitnami/postgresql). Run as another user, it leaves ownership alone and says so.

Refuses when any of these files exists, unless --force replaces them all. Check the result
with scripts/validate_secrets.sh.
EOF
}

dir=./secrets
owner=65532
database_owner=0
force=false
while [ $# -gt 0 ]; do
  case "$1" in
    --dir)
      if [ $# -lt 2 ] || [ -z "$2" ]; then
        echo "--dir needs a directory" >&2
        exit 2
      fi
      dir=$2
      shift 2
      ;;
    --owner | --database-owner)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
        echo "$1 needs a numeric user id" >&2
        exit 2
      fi
      if [ "$1" = --owner ]; then owner=$2; else database_owner=$2; fi
      shift 2
      ;;
    --force) force=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *)
      echo "unknown argument: $1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

readonly SECRET_FILES=(db_password database_url jwt_secret_key sso_encryption_key metrics_token saml_sp_private_key saml_sp_cert)

existing=()
for name in "${SECRET_FILES[@]}"; do
  if [ -e "$dir/$name" ]; then existing+=("$dir/$name"); fi
done
if [ "${#existing[@]}" -gt 0 ] && [ "$force" != true ]; then
  echo "refusing to overwrite existing secrets: ${existing[*]}" >&2
  echo "replacing them logs everyone out and needs the database password changed too; rerun with --force if you mean it" >&2
  exit 1
fi

# Everything created from here on is readable by its owner only.
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

# Written into a staging folder first and moved into place at the end, so a failure halfway
# (openssl missing, disk full) leaves the previous set whole rather than half replaced.
staging=$(mktemp -d "$dir/.generating.XXXXXX")
trap 'rm -rf "$staging"' EXIT

# One line of randomness without its trailing newline (the service trims it anyway).
random() {
  local value
  value=$(openssl rand "$@")
  printf '%s' "$value"
}

random -hex 24 >"$staging/db_password"
printf 'postgres://fm_auth:%s@postgres:5432/fm_auth' "$(cat "$staging/db_password")" >"$staging/database_url"
random -base64 48 >"$staging/jwt_secret_key"
random -base64 32 >"$staging/sso_encryption_key"
random -hex 32 >"$staging/metrics_token"
# openssl reports its progress on stderr; shown only when it fails (it never prints the key).
if ! report=$(openssl req -x509 -newkey rsa:2048 -nodes -days 730 -subj /CN=fm-auth \
  -keyout "$staging/saml_sp_private_key" -out "$staging/saml_sp_cert" 2>&1); then
  echo "openssl could not make the SAML key pair:" >&2
  echo "$report" >&2
  exit 1
fi

for name in "${SECRET_FILES[@]}"; do
  chmod 600 "$staging/$name"
  if [ "$(id -u)" -eq 0 ]; then
    if [ "$name" = db_password ]; then chown "$database_owner:$database_owner" "$staging/$name"; else chown "$owner:$owner" "$staging/$name"; fi
  fi
  mv -f "$staging/$name" "$dir/$name"
done

echo "wrote ${#SECRET_FILES[@]} secret files to $dir: ${SECRET_FILES[*]}"
if [ "${#existing[@]}" -gt 0 ]; then
  echo "replaced the previous secrets: an existing database keeps its old password until you ALTER ROLE fm_auth (SECRETS_MANAGEMENT.md)" >&2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: ownership left as it is. The containers read them as $owner (the service) and $database_owner (db_password): as root, chown $owner:$owner $dir/* && chown $database_owner:$database_owner $dir/db_password (rootless engines: podman unshare chown ...)" >&2
fi
echo "check them with: scripts/validate_secrets.sh --dir $dir"
