#!/usr/bin/env bash
# Re-run every reproduction (experiments/reproduce_*.toml) and refresh the reports kept
# in docs/validation/<name>/ (only the files already kept there are replaced).
# The PDXE measurements have no redistribution licence: its report keeps aggregate
# numbers and the ranking chart only (no figure of the measurements).
# Usage: TGSIM_DATA_DIR=/path/to/data bash docs/validation/regenerate.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for toml in "$root"/experiments/reproduce_*.toml; do
  name="$(basename "$toml" .toml)"
  name="${name#reproduce_}"
  echo "== $name"
  tgsim run "$toml" -o "$work/$name" > "$work/$name.log"
  dest="$root/docs/validation/$name"
  (cd "$dest" && find . -type f) | while read -r f; do
    cp "$work/$name/$f" "$dest/$f"
  done
  # tables that are not kept here (large, or per-series data without a licence)
  for table in "$work/$name"/tables/*.csv; do
    t="$(basename "$table")"
    if [ ! -e "$dest/tables/$t" ]; then
      sed -i "s|^- \[${t%.csv}\](tables/$t)\$|- ${t%.csv}: written by \`tgsim run\`, not kept here|" "$dest/report.md"
    fi
  done
done
sed -i 's/^!\[fits_overlay\](fits_overlay.png)$/(The figure of the measurements is written by `tgsim run` on a machine with a local copy; it is not kept here: the data have no redistribution licence.)/' \
  "$root/docs/validation/pdxe2015_brca/report.md"
