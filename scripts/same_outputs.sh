#!/usr/bin/env bash
# Shows that the current tree writes the same files as an earlier commit: `run`, `compare`, `apportion`, `rank`
# and `hydraulics` on the bundled tutorial and district scenarios and on a small generated looped network, plus
# `validate`'s report. Every file written must be byte-identical; console lines are not compared (they print
# wall-clock times), except `validate`'s, which print none. The wall-clock fields of rank.json's "timings"
# (responses_s, responses_setup_s, responses_runs_s, hydraulics_s, search_s, check_s) are blanked on both
# sides before the comparison, and so are the write times in an .xlsx's docProps/core.xml (its members are
# compared one by one); every other byte counts.
#
#   scripts/same_outputs.sh BASE            # BASE: a commit, e.g. 4ae671e
#
# BASE is built once in release mode (cached under $RIVSIM_SAME_CACHE, default /tmp/rivsim-same/<commit>);
# set BASE_BIN=/path/to/rivsim to use a binary built elsewhere. The current tree is built with `cargo build
# --release`. Exit status 0 when every file matches, 1 when any differs (the differing files are listed).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  echo "usage: $0 BASE_COMMIT" >&2
  exit 2
fi
base=$(git rev-parse --verify "$1^{commit}")
cache=${RIVSIM_SAME_CACHE:-/tmp/rivsim-same}/$base

if [ -z "${BASE_BIN:-}" ]; then
  BASE_BIN=$cache/rivsim
  if [ ! -x "$BASE_BIN" ]; then
    echo "== building $base (once; cached in $cache)"
    mkdir -p "$cache/src"
    git archive "$base" | tar -x -C "$cache/src"
    # start from this tree's release build, so only rivsim itself is compiled again
    if [ -d target/release ]; then
      mkdir -p "$cache/src/target"
      cp -r target/release "$cache/src/target/"
    fi
    (cd "$cache/src" && cargo build --release --quiet --bin rivsim)
    cp "$cache/src/target/release/rivsim" "$BASE_BIN"
  fi
fi
echo "== building the current tree"
cargo build --release --quiet --bin rivsim
new_bin=$(pwd)/target/release/rivsim

work=$(mktemp -d /tmp/rivsim-same-out.XXXXXX)
trap 'rm -rf "$work"' EXIT

tut=scenarios/tutorial/scenario.toml
dis=scenarios/district/scenario.toml
gen=$work/gen/scenario.toml
# name | arguments (OUT is replaced by the output folder)
cases=(
  "run_tutorial|run $tut --out OUT"
  "run_district|run $dis --out OUT"
  "run_district_1thread|run $dis --out OUT --threads 1 --no-plots"
  "run_district_without|run $dis --out OUT --without PJ3,PJ7"
  "run_district_only|run $dis --out OUT --only PJ1 --no-plots"
  "hydraulics_district|hydraulics $dis --out OUT"
  "compare_tutorial|compare $tut --out OUT"
  "compare_district|compare $dis --out OUT"
  "apportion_tutorial|apportion $tut --out OUT"
  "apportion_district|apportion $dis --out OUT"
  "apportion_district_jurisdiction|apportion $dis --out OUT --by jurisdiction --no-plots"
  "apportion_district_item|apportion $dis --out OUT --by item --max-groups 12 --no-plots --threads 1"
  "apportion_district_without|apportion $dis --out OUT --by kind --without PJ1 --no-plots"
  "rank_tutorial|rank $tut --out OUT"
  "rank_district|rank $dis --out OUT --budget 60"
  "rank_district_km|rank $dis --out OUT --objective worse_than_v_km --no-check"
  "rank_district_load|rank $dis --out OUT --objective load --no-check --assess-from 2025-07-01 --threads 1"
  "run_generated|run $gen --out OUT"
  "apportion_generated|apportion $gen --out OUT --by item --max-groups 8 --no-plots"
)

status=0
for side in base new; do
  bin=$BASE_BIN
  [ $side = new ] && bin=$new_bin
  mkdir -p "$work/$side"
  "$bin" generate --reaches 60 --loops 4 --seed 11 --out "$work/$side/generated" >/dev/null
done
if ! diff -r "$work/base/generated" "$work/new/generated" >/dev/null; then
  echo "DIFFERS: generate"
  status=1
fi
mkdir -p "$work/gen"
cp -r "$work/base/generated/." "$work/gen/"

for s in $tut $dis; do
  a=$("$BASE_BIN" validate "$s" 2>&1; echo "exit $?")
  b=$("$new_bin" validate "$s" 2>&1; echo "exit $?")
  if [ "$a" != "$b" ]; then
    echo "DIFFERS: validate $s"
    status=1
  fi
done

for case in "${cases[@]}"; do
  name=${case%%|*}
  args=${case#*|}
  for side in base new; do
    bin=$BASE_BIN
    [ $side = new ] && bin=$new_bin
    out=$work/$side/$name
    # shellcheck disable=SC2086
    set +e
    "$bin" ${args//OUT/$out} >"$work/$side/$name.console" 2>&1
    echo $? >"$work/$side/$name.exit"
    set -e
    # an .xlsx is a zip whose docProps/core.xml carries the time of writing: its members are compared,
    # with those two timestamps blanked
    while IFS= read -r -d '' x; do
      mkdir -p "$x.members"
      (cd "$x.members" && unzip -qo "$x")
      rm "$x"
      sed -i -E 's#<dcterms:(created|modified)([^>]*)>[^<]*<#<dcterms:\1\2>write time<#g' "$x.members/docProps/core.xml"
    done < <(find "$out" -name '*.xlsx' -print0 2>/dev/null)
    if [ -f "$out/rank.json" ]; then
      sed -i -E 's/"(responses|responses_setup|responses_runs|hydraulics|search|check)_s": [-0-9.e+]+/"\1_s": "wall clock"/' "$out/rank.json"
    fi
  done
  if ! cmp -s "$work/base/$name.exit" "$work/new/$name.exit"; then
    echo "DIFFERS: $name exit status $(cat "$work/base/$name.exit") vs $(cat "$work/new/$name.exit")"
    status=1
  elif [ -d "$work/base/$name" ] || [ -d "$work/new/$name" ]; then
    if ! diff -rq "$work/base/$name" "$work/new/$name" >"$work/$name.diff" 2>&1; then
      echo "DIFFERS: $name"
      sed 's/^/  /' "$work/$name.diff"
      status=1
    else
      echo "same: $name ($(find "$work/new/$name" -type f | wc -l) files, exit $(cat "$work/new/$name.exit"))"
    fi
  else
    echo "same: $name (no files, exit $(cat "$work/new/$name.exit"))"
  fi
done
[ $status = 0 ] && echo "== every file identical to $base"
exit $status
