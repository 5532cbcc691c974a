# Sourced (after cd to the repository) by the scripts that sample a training at REPORT §3's Yelp
# shape: `yelp_shape_run KIND NAME` sets data (the shape's dataset, which experiments/step_profile.sh
# makes), bin (env BIN, or this tree's hardgnn, built) and run (runs/KIND/NAME, made afresh).
yelp_shape_run() {
  data=runs/step_profile/yelp-shape
  [[ -f $data/dataset.bin ]] || { echo "$data is missing: run experiments/step_profile.sh first" >&2; exit 1; }
  bin=${BIN:-bazel-bin/hardgnn}
  [[ -n ${BIN:-} ]] || bazel build //:hardgnn
  run=runs/$1/$2
  rm -rf "$run"
  mkdir -p "$run"
}
