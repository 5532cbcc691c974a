#!/usr/bin/env bash
# The README's worked sampler example is the real plugins/samplers/in_batch.cc, verbatim.
set -euo pipefail
readme="$1" source="$2"
extracted=$(awk '/<!-- example:in_batch begin -->/{on=1; next} /<!-- example:in_batch end -->/{on=0} on' "$readme" \
  | sed '1{/^```cpp$/d}; ${/^```$/d}')
if ! diff <(printf '%s\n' "$extracted") "$source"; then
  echo "FAIL: README.md's in_batch example differs from $source (diff above); update README.md"
  exit 1
fi
echo "ok: README example matches $source"
