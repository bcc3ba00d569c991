#!/usr/bin/env bash
# Draws the PNG plots of docs/benchmarks.md from `proxima bench --json` output.
#
#   learner/cli/bench/plot_benchmarks.sh BENCH.json OUT_DIR
#
# Writes, for the suites present in BENCH.json:
#   learning_curves_steps.png  return vs env steps   (solve suite, every run)
#   learning_curves_wall.png   return vs wall time   (solve suite, every run)
#   train_scaling.png          env steps/s vs actors, in-process as a line (train)
#   inference_batch.png        samples/s vs batch size, per model (inference)
#   broadcast_latency.png      p50/p99 latency vs actors (broadcast)
#   mujoco_learning_curves.png return vs env steps, one line per env and seed
#                              (mujoco suite's learn/ENV/seed=S rows)
# Needs jq and gnuplot (gnuplot-nox, pngcairo); both come with
# deploy/install-deps.sh's test packages.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BENCH.json OUT_DIR" >&2
  exit 2
fi
json=$1
out=$2
for tool in jq gnuplot; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (deploy/install-deps.sh)" >&2; exit 1; }
done
jq -e '.rows | type == "array"' "$json" >/dev/null || { echo "$0: $json has no rows" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

has_suite() { jq -e --arg s "$1" '[.rows[] | select(.suite == $s)] | length > 0' "$json" >/dev/null; }
# plot_png NAME: runs the gnuplot script on stdin, drawing $out/NAME.png.
plot_png() {
  { echo 'set terminal pngcairo size 900,560 enhanced font "sans,11"'
    echo "set output '$out/$1.png'"
    cat
  } | gnuplot
}
# join_plots PLOT...: the plot clauses, comma-separated for one `plot` command.
join_plots() { local IFS=,; echo "$*"; }

# Learning curves: one data block per solve run (gnuplot's "index").
if has_suite solve; then
  jq -r '.rows[] | select(.suite == "solve" and .series != null)
         | "# \(.name)", (.series[] | "\(.[0]) \(.[1]) \(.[2])"), "", ""' "$json" >"$tmp/curves.dat"
  mapfile -t names < <(jq -r '.rows[] | select(.suite == "solve" and .series != null) | .name' "$json")
  for axis in steps wall; do
    if [[ $axis == steps ]]; then col=1; xlabel='env steps'; else col=2; xlabel='wall seconds (learner clock)'; fi
    plots=()
    for i in "${!names[@]}"; do
      style='lw 1.5'
      [[ ${names[$i]} == cluster* ]] && style='lw 1.5 dashtype 2'  # cluster dashed, in-process solid
      plots+=("'$tmp/curves.dat' index $i using $col:3 with lines $style title '${names[$i]}'")
    done
    joined=$(join_plots "${plots[@]}")
    plot_png learning_curves_$axis <<GP
set title 'CartPole-v1: last-100 mean return vs $xlabel'
set xlabel '$xlabel'
set ylabel 'mean return (last 100 episodes)'
set key bottom right font ",8"
set grid
set yrange [0:520]
set arrow from graph 0, first 475 to graph 1, first 475 nohead dashtype 2 lc rgb '#888888'
plot $joined
GP
  done
fi

if has_suite train; then
  jq -r '.rows[] | select(.suite == "train" and .params.actors > 0)
         | "\(.params.actors) \(.metrics.env_steps_per_second)"' "$json" >"$tmp/train.dat"
  inproc=$(jq -r '[.rows[] | select(.suite == "train" and .params.actors == 0)][0].metrics.env_steps_per_second // 0' "$json")
  plot_png train_scaling <<GP
set title 'CartPole-v1 end-to-end training throughput (proxima train)'
set xlabel 'actor processes'
set ylabel 'env steps/s'
set grid
set xrange [0.5:4.5]
set yrange [0:*]
set xtics (1, 2, 4)
set key bottom right
plot '$tmp/train.dat' using 1:2 with linespoints lw 2 pt 7 title 'local cluster', \
     $inproc with lines dashtype 2 lw 2 title 'in-process trainer'
GP
fi

if has_suite inference; then
  mapfile -t models < <(jq -r '[.rows[] | select(.suite == "inference") | .params.model] | unique | .[]' "$json")
  plots=()
  for m in "${models[@]}"; do
    jq -r --arg m "$m" '.rows[] | select(.suite == "inference" and .params.model == $m)
           | "\(.params.batch) \(.metrics.samples_per_second)"' "$json" >"$tmp/inference-$m.dat"
    plots+=("'$tmp/inference-$m.dat' using 1:2 with linespoints lw 2 pt 7 title 'MLP $m'")
  done
  joined=$(join_plots "${plots[@]}")
  plot_png inference_batch <<GP
set title 'Actor inference (normalize + MLP + sample), one thread'
set xlabel 'batch size (env columns per call)'
set ylabel 'samples/s'
set logscale xy
set grid
set key bottom right
plot $joined
GP
fi

if has_suite broadcast; then
  jq -r '.rows[] | select(.suite == "broadcast")
         | "\(.params.actors) \(.metrics.p50_ms) \(.metrics.p99_ms)"' "$json" >"$tmp/broadcast.dat"
  plot_png broadcast_latency <<GP
set title 'Weight broadcast latency, publish to applied'
set xlabel 'watching actors'
set ylabel 'milliseconds'
set logscale x 2
set grid
set yrange [0:*]
set key top left
plot '$tmp/broadcast.dat' using 1:2 with linespoints lw 2 pt 7 title 'p50', \
     '$tmp/broadcast.dat' using 1:3 with linespoints lw 2 pt 5 title 'p99'
GP
fi

# MuJoCo learning curves: one data block per learn/ENV/seed=S row, a colour
# per env and a dash pattern per seed.
mujoco_learn='.rows[] | select(.suite == "mujoco" and (.name | startswith("learn/")) and .series != null)'
if jq -e "[$mujoco_learn] | length > 0" "$json" >/dev/null; then
  jq -r "$mujoco_learn"' | "# \(.name)", (.series[] | "\(.[0]) \(.[2])"), "", ""' "$json" >"$tmp/mujoco.dat"
  mapfile -t names < <(jq -r "$mujoco_learn | .params.env" "$json")
  mapfile -t seeds < <(jq -r "$mujoco_learn | .params.seed" "$json")
  mapfile -t envs < <(printf '%s\n' "${names[@]}" | awk '!seen[$0]++')
  plots=()
  for i in "${!names[@]}"; do
    for c in "${!envs[@]}"; do [[ ${envs[$c]} == "${names[$i]}" ]] && colour=$((c + 1)); done
    plots+=("'$tmp/mujoco.dat' index $i using 1:2 with lines lw 1.5 lc $colour dashtype ${seeds[$i]} title '${names[$i]} seed ${seeds[$i]}'")
  done
  joined=$(join_plots "${plots[@]}")
  plot_png mujoco_learning_curves <<GP
set title 'MuJoCo, CleanRL PPO preset, local cluster: last-100 mean return vs env steps'
set xlabel 'env steps'
set ylabel 'mean return (last 100 episodes)'
set key top left font ",8"
set grid
set format x '%.0f'
plot $joined
GP
fi

ls "$out"/*.png 2>/dev/null || { echo "$0: nothing to plot in $json" >&2; exit 1; }
