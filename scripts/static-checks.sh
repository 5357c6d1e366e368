#!/usr/bin/env bash
# The checks of `npm test` that read the tree without running it (types, ESLint, Prettier, the
# spec's lint, the generated files), run side by side: each is single-threaded, and one after
# another they took over two minutes. Prints each check's output once all are done, in order,
# and fails when any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

checks=(typecheck lint format:check lint:spec check:generated)
output=$(mktemp -d)
trap 'rm -rf "$output"' EXIT

pids=()
for check in "${checks[@]}"; do
  npm run --silent "$check" >"$output/$check" 2>&1 &
  pids+=("$!")
done

failed=()
for index in "${!checks[@]}"; do
  check=${checks[$index]}
  if wait "${pids[$index]}"; then
    echo "ok: npm run $check"
  else
    failed+=("$check")
    echo "FAILED: npm run $check"
    cat "$output/$check"
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "static checks failed: ${failed[*]}" >&2
  exit 1
fi
