#!/usr/bin/env bash
# Refreshes the vendored front-end libraries of the map page from npm.
# Run it by hand when upgrading; the server never needs it (the files are
# committed and embedded). Usage: web/ui/refresh-vendor.sh [MAPLIBRE_VERSION] [MILSYMBOL_VERSION]
set -euo pipefail
cd "$(dirname "$0")"
maplibre=${1:-6.17.0}
milsymbol=${2:-3.0.4}
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

unpack() { # unpack NAME@VERSION into $tmp/NAME
  local spec=$1 name=${1%@*}
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$tmp/$name"
  tar -xzf "$tmp/$name"-*.tgz -C "$tmp/$name" --strip-components=1
}

# The source-map comment names files we do not ship; drop it so browsers'
# developer tools do not ask for them.
copy() { sed -e '/^\/\/# sourceMappingURL=/d' "$1" > "$2"; }

unpack "maplibre-gl@$maplibre"
rm -rf "$dest/maplibre-gl" && mkdir -p "$dest/maplibre-gl"
# maplibre-gl 6 ships ES modules only; the main module loads the worker
# module from its own directory, so both stay side by side.
copy "$tmp/maplibre-gl/dist/maplibre-gl.mjs" "$dest/maplibre-gl/maplibre-gl.mjs"
copy "$tmp/maplibre-gl/dist/maplibre-gl-worker.mjs" "$dest/maplibre-gl/maplibre-gl-worker.mjs"
cp "$tmp/maplibre-gl/dist/maplibre-gl.css" "$dest/maplibre-gl/"
cp "$tmp/maplibre-gl/LICENSE.txt" "$dest/maplibre-gl/LICENSE.txt"

unpack "milsymbol@$milsymbol"
rm -rf "$dest/milsymbol" && mkdir -p "$dest/milsymbol"
# The minified UMD build defines the global `ms` when loaded as a classic script.
copy "$tmp/milsymbol/dist/milsymbol.js" "$dest/milsymbol/milsymbol.js"
cp "$tmp/milsymbol/LICENSE" "$dest/milsymbol/LICENSE"

cat > "$dest/VERSIONS" <<V
maplibre-gl $maplibre BSD-3-Clause
milsymbol $milsymbol MIT
V
echo "vendored maplibre-gl $maplibre and milsymbol $milsymbol into $dest"
