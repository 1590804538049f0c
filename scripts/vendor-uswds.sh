#!/usr/bin/env bash
# Copies the parts of the U.S. Web Design System that Heard serves from the npm package (pinned in package.json)
# into crates/heard-server/assets/uswds, so that the server binary embeds them and a build needs no network.
# The stylesheet is cut down to the selectors Heard uses (scripts/purge-uswds.mjs); only the fonts and images that
# the cut stylesheet refers to, and the banner images, are copied.
# Run after changing the @uswds/uswds version: npm ci && scripts/vendor-uswds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/@uswds/uswds/dist
dst=crates/heard-server/assets/uswds
[ -f "$src/css/uswds.min.css" ] || { echo "vendor-uswds: run 'npm ci' first ($src is missing)" >&2; exit 1; }
rm -rf "$dst" && mkdir -p "$dst/css"
node scripts/purge-uswds.mjs
grep -o 'url(\.\./[^)]*)' "$dst/css/uswds.min.css" | sed 's/^url(\.\.\///; s/)$//' | sort -u |
  while read -r f; do mkdir -p "$dst/$(dirname "$f")"; cp "$src/$f" "$dst/$f"; done
for f in img/us_flag_small.png img/icon-dot-gov.svg img/icon-https.svg img/lock.svg; do
  [ -f "$src/$f" ] && cp "$src/$f" "$dst/$f"
done
cp node_modules/@uswds/uswds/LICENSE.md "$dst/LICENSE.md"
echo "vendored $(find "$dst" -type f | wc -l) files, $(du -sh "$dst" | cut -f1), from @uswds/uswds $(node -p "require('./node_modules/@uswds/uswds/package.json').version")"
