#!/usr/bin/env bash
# Runs the unit tests of experiments/study.py, experiments/analyze_study.py and
# experiments/main_job.py with the system python3, which has python3-scipy (tools/setup.sh
# installs it).
#   tests/experiments/study_scripts_test.sh experiments/study.py experiments/analyze_study.py experiments/main_job.py
set -euo pipefail
py=/usr/bin/python3
[[ -x $py ]] || py=python3
export STUDY_PY="$PWD/$1" ANALYZE_PY="$PWD/$2" MAIN_JOB_PY="$PWD/$3" PYTHONDONTWRITEBYTECODE=1
exec "$py" -W error::ResourceWarning -m unittest discover -s "$(dirname "$0")" -p '*_test.py'
