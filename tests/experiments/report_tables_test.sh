#!/usr/bin/env bash
# Every generated block of experiments/REPORT.md equals what its script makes from the
# committed result files: the diagnosis and false-negative tables (summarize_*.py) and each
# study's tables (analyze_study.py STUDY). A hand edit or a result file changed without
# regenerating fails.
set -euo pipefail
report=experiments/REPORT.md
python=/usr/bin/python3  # the system python, which has python3-scipy (tools/setup.sh)
blocks=$(grep -o '<!-- generated:[A-Za-z0-9_.+-]*:begin -->' "$report" | sed 's/<!-- generated:\(.*\):begin -->/\1/')
[[ -n $blocks ]] || { echo "no generated block in $report"; exit 1; }
status=0
for block in $blocks; do
  if [[ -f experiments/summarize_$block.py ]]; then
    "$python" "experiments/summarize_$block.py" --report "$report" --check || status=1
  else
    "$python" experiments/analyze_study.py "$block" --report "$report" --check || status=1
  fi
  echo "checked: $block"
done
exit $status
