#!/usr/bin/env bash
# Cross-seed quality check (README "Quality on data the model did not see"): train a full and
# a tabular-only model on one generated platform, score three others generated with other
# seeds, and measure every run against its held-out truth with `groupwatch evaluate`.
#
#   scripts/cross_seed_eval.sh [WORK_DIR] [SCALE]      (defaults: ./cross-seed small)
#
# GW names the groupwatch binary (default: the dev build via cargo). Prints one Markdown
# table; every evaluation is also left as JSON and Markdown in WORK_DIR.
set -euo pipefail
work="${1:-cross-seed}"
scale="${2:-small}"
as_of=2026-11-24
gw=(${GW:-cargo run --locked --quiet --})
mkdir -p "$work"
cd "$work"
for s in 1 2 3 4; do [ -d "$scale-$s" ] || "${gw[@]}" synth --scale "$scale" --seed "$s" --out "$scale-$s" >/dev/null; done
[ -f m-full.json ] || "${gw[@]}" train --input "$scale-1/input" --model-out m-full.json --as-of "$as_of" >/dev/null
[ -f m-tab.json ] || "${gw[@]}" train --input "$scale-1/input" --model-out m-tab.json --as-of "$as_of" --tabular-only >/dev/null
for s in 2 3 4; do
  for m in full tab; do
    rm -rf "runs-$s-$m"
    "${gw[@]}" run --input "$scale-$s/input" --out "runs-$s-$m" --model "m-$m.json" --as-of "$as_of" >/dev/null 2>&1
    for k in 50 200; do
      "${gw[@]}" evaluate --run "runs-$s-$m/run=$as_of" --truth "$scale-$s/truth" --k "$k" --json "eval-$s-$m-k$k.json" >"eval-$s-$m-k$k.md"
    done
  done
done
python3 - <<'PY'
import json
f = lambda v: "–" if v is None else f"{v:.3f}"
print("| scored seed | model | group PR-AUC all / camouflaged (unlabelled planted groups) | account PR-AUC all / camouflaged | group ROC-AUC camouflaged | account precision@200 all / camouflaged | network recall, top 50 (camouflaged) | network recall, top 200 (camouflaged) |")
print("|---|---|---|---|---|---|---|---|")
for s in [2, 3, 4]:
    for m, name in [("full", "all features"), ("tab", "tabular only")]:
        e = json.load(open(f"eval-{s}-{m}-k200.json"))
        e50 = json.load(open(f"eval-{s}-{m}-k50.json"))
        g, a, n, n50 = e["groups"], e["accounts"], e["networks"], e50["networks"]
        print(f"| {s} | {name} | {f(g['all']['pr_auc'])} / {f(g['camouflaged']['pr_auc'])} ({g['all']['positives']} / {g['camouflaged']['positives']}) "
              f"| {f(a['all']['pr_auc'])} / {f(a['camouflaged']['pr_auc'])} | {f(g['camouflaged']['roc_auc'])} "
              f"| {f(a['all']['precision_at_k'])} / {f(a['camouflaged']['precision_at_k'])} "
              f"| {n50['found']}/{n50['networks']} ({n50['camouflaged_found']}/{n50['camouflaged_networks']}) "
              f"| {n['found']}/{n['networks']} ({n['camouflaged_found']}/{n['camouflaged_networks']}) |")
PY
