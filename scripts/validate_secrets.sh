#!/usr/bin/env bash
# Checks a production secrets directory (as scripts/generate_secrets.sh writes it) before the
# service sees it: every file present, strong enough, no example value left, nothing in git.
# Prints one OK line per passed check and every failure at once; never prints a value.
set -euo pipefail
# Lengths in bytes, as the service counts them.
export LC_ALL=C

usage() {
  cat <<'EOF'
usage: scripts/validate_secrets.sh [--dir DIR]

Validates the secrets in DIR (default ./secrets): db_password, database_url, jwt_secret_key,
sso_encryption_key, metrics_token, saml_sp_private_key, saml_sp_cert. Exits 0 when every check
passes, 1 listing each failure otherwise.
EOF
}

dir=./secrets
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
    -h | --help) usage; exit 0 ;;
    *)
      echo "unknown argument: $1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

if [ ! -d "$dir" ]; then
  echo "$dir is not a directory: generate the secrets with scripts/generate_secrets.sh --dir $dir" >&2
  exit 1
fi

readonly SECRET_FILES=(db_password database_url jwt_secret_key sso_encryption_key metrics_token saml_sp_private_key saml_sp_cert)
# Words no real secret contains; what the templates and tutorials put where a secret belongs.
readonly PLACEHOLDER_WORDS='change[-_ ]?me|example|secret|password|placeholder'
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT

failures=()
ok() { printf 'OK   %s\n' "$1"; }
fail() { failures+=("$1"); }

# The value as the service reads it: surrounding whitespace trimmed.
read_secret() {
  local value
  value=$(<"$1")
  value="${value#"${value%%[![:space:]]*}"}"
  printf '%s' "${value%"${value##*[![:space:]]}"}"
}

# The literal values our example files show for the secrets (set or commented out), and the
# passwords inside their example database URLs: copying one into production is the mistake.
example_values() {
  local file line value
  for file in "$REPO_ROOT/.env.example" "$REPO_ROOT/.env.secrets.example"; do
    [ -f "$file" ] || continue
    while IFS= read -r line; do
      value=${line#*=}
      [ -n "$value" ] || continue
      printf '%s\n' "$value"
      if [[ $value =~ ^postgres(ql)?://[^:/@]+:([^@]+)@ ]]; then printf '%s\n' "${BASH_REMATCH[2]}"; fi
    done < <(grep -E '^#? ?(DATABASE_URL|JWT_SECRET_KEY|JWT_SECRET_KEY_PREVIOUS|METRICS_TOKEN|SSO_ENCRYPTION_KEY|SAML_SP_PRIVATE_KEY|SAML_SP_CERT)=' "$file" || true)
  done
}
mapfile -t EXAMPLES < <(example_values)
readonly EXAMPLES

declare -A value_of=()
for name in "${SECRET_FILES[@]}"; do
  if [ ! -f "$dir/$name" ]; then
    fail "$name is missing from $dir"
  elif [ -z "$(read_secret "$dir/$name")" ]; then
    fail "$name is empty"
  else
    value_of[$name]=$(read_secret "$dir/$name")
    ok "$name present"
  fi
done
has() { [ -n "${value_of[$1]+set}" ]; }

# Checks a value's length in bytes; skipped when the file is missing (already reported).
check_min_length() {
  local name=$1 min=$2 hint=$3
  has "$name" || return 0
  if [ "${#value_of[$name]}" -ge "$min" ]; then ok "$name is at least $min bytes"; else fail "$name must be at least $min bytes ($hint)"; fi
}
check_min_length jwt_secret_key 32 'openssl rand -base64 48'
check_min_length metrics_token 24 'openssl rand -hex 32'
check_min_length db_password 16 'openssl rand -hex 24'

# Decodes like the service: 64 hex digits, or else base64 (either alphabet, padding optional).
sso_key_bytes() {
  local key=$1
  if [[ $key =~ ^[0-9a-fA-F]{64}$ ]]; then echo 32; return; fi
  [[ $key =~ ^[A-Za-z0-9+/_-]+=*$ ]] || { echo 0; return; }
  key=$(printf '%s' "${key%%=*}" | tr '_-' '/+')
  while [ $((${#key} % 4)) -ne 0 ]; do key="$key="; done
  printf '%s' "$key" | openssl base64 -d -A 2>/dev/null | wc -c | tr -d ' '
}
if has sso_encryption_key; then
  if [ "$(sso_key_bytes "${value_of[sso_encryption_key]}")" -eq 32 ]; then
    ok 'sso_encryption_key decodes to 32 bytes'
  else
    fail 'sso_encryption_key must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32)'
  fi
fi

percent_decode() { printf '%b' "${1//%/\\x}"; }
if has database_url; then
  url=${value_of[database_url]}
  if [[ $url =~ ^postgres(ql)?://[^:/@]+:([^@]*)@[^/]+/.+ ]]; then
    ok 'database_url is a postgres:// URL with a user, password, host and database'
    if has db_password; then
      if [ "$(percent_decode "${BASH_REMATCH[2]}")" = "${value_of[db_password]}" ]; then
        ok 'database_url carries db_password'
      else
        fail 'database_url must carry db_password: postgres://fm_auth:<db_password>@postgres:5432/fm_auth'
      fi
    fi
  else
    fail 'database_url must look like postgres://fm_auth:<db_password>@postgres:5432/fm_auth'
  fi
fi

if has saml_sp_private_key && has saml_sp_cert; then
  key_file="$dir/saml_sp_private_key" cert_file="$dir/saml_sp_cert"
  if ! key_public=$(openssl pkey -in "$key_file" -pubout 2>/dev/null); then
    fail 'saml_sp_private_key is not a PEM private key'
  elif ! cert_public=$(openssl x509 -in "$cert_file" -noout -pubkey 2>/dev/null); then
    fail 'saml_sp_cert is not a PEM X.509 certificate'
  elif [ "$key_public" != "$cert_public" ]; then
    fail 'saml_sp_private_key is not the private key of saml_sp_cert'
  else
    ok 'saml_sp_private_key and saml_sp_cert are a matching PEM pair'
    # Identity providers refuse signatures by an expired certificate.
    if openssl x509 -in "$cert_file" -noout -checkend 0 >/dev/null; then
      ok 'saml_sp_cert has not expired'
    else
      fail 'saml_sp_cert has expired: generate a new pair'
    fi
  fi
fi

for name in "${SECRET_FILES[@]}"; do
  has "$name" || continue
  value=${value_of[$name]}
  placeholder=false
  if [[ ${value,,} =~ $PLACEHOLDER_WORDS ]]; then placeholder=true; fi
  for example in "${EXAMPLES[@]}"; do
    if [ "$value" = "$example" ]; then placeholder=true; fi
  done
  if [ "$placeholder" = true ]; then
    fail "$name holds a placeholder or example value; generate it (scripts/generate_secrets.sh)"
  else
    ok "$name is no placeholder or example value"
  fi
done

# Secrets in git end up in every clone and every backup of the repository.
if ! command -v git >/dev/null 2>&1 || ! git -C "$dir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  ok "$dir is outside any git work tree"
else
  tracked=$(git -C "$dir" ls-files --full-name -- .)
  if [ -n "$tracked" ]; then
    fail "files under $dir are tracked by git: $(echo "$tracked" | tr '\n' ' ')(git rm --cached them, then replace the secrets)"
  else
    ok "no file under $dir is tracked by git"
  fi
  prefix=$(git -C "$dir" rev-parse --show-prefix)
  if [ -n "$prefix" ] && git -C "$(git -C "$dir" rev-parse --show-toplevel)" check-ignore -q --no-index -- "$prefix"; then
    ok "$dir is ignored by git"
  else
    fail "$dir is not ignored by git: add it to .gitignore"
  fi
fi

if [ "${#failures[@]}" -gt 0 ]; then
  echo "Invalid secrets in $dir:" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "all secrets in $dir are valid"
