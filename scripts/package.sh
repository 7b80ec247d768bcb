#!/usr/bin/env bash
# npm run package [-- --out DIR] [-- --no-build]: a Debian package a hospital installs with no
# build toolchain and no registry access: the compiled CLI and WebAssembly core under
# /opt/radseal with its production node_modules (native addons as built here, hence the
# architecture), /usr/bin/radseal, the systemd units and an example station config.
# Writes DIR/radseal_<version>_<arch>.deb (default DIR: build/package, outside git).
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/package
build=1
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "package.sh: unknown argument $1 (use --out DIR, --no-build)" >&2; exit 2 ;;
  esac
done

version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
if ((build)); then npm run --silent build; fi
for f in dist/host/cli/main.js build/core.wasm; do
  [[ -f $f ]] || { echo "package.sh: $f missing; run npm run build" >&2; exit 1; }
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/radseal-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage" # the package's ./ is the target system's /
app=$stage/opt/radseal

# The application: what bin/radseal.js loads, and the files found beside it at run time
# (package.json + asconfig.json mark the project folder; boards; the data files under host/).
mkdir -p "$app/bin" "$app/build" "$app/dist" "$app/node_modules"
cp package.json package-lock.json asconfig.json "$app/"
cp bin/radseal.js "$app/bin/"
# -a keeps the times: bin/radseal.js runs the start-up bundle only when it is not older than main.js.
cp -a dist/host "$app/dist/host"
find "$app/dist" -name '*.map' -delete
cp build/core.wasm "$app/build/"
cp -r boards "$app/boards"
# Every non-TypeScript file under host/ is read at run time from its source path (JSON
# schemas, the audit message schema, the Orthanc plugin): copy them all, so a new one is never missed.
while IFS= read -r -d '' f; do
  install -D -m 0644 "host/$f" "$app/host/$f"
done < <(cd host && find . -type f ! -name '*.ts' -print0)

# Production dependencies exactly as npm resolves them without dev dependencies, copied from
# this tree: no download at install time, and native addons (pkcs11js, serialport) as built.
# (npm ls exits 1 over a peer-dependency warning in the tree; its list is still complete.)
# Under `npm run` / `npm test`, node_modules/.bin comes first on PATH, and a dev dependency
# (as-pect, through npm-install-peers) ships npm 6 there, which ignores --omit=dev: use the
# system's npm.
system_path=$(tr ':' '\n' <<<"$PATH" | grep -v '/node_modules/\.bin$' | paste -sd: -)
deps=$(PATH=$system_path npm ls --omit=dev --all --parseable 2>/dev/null || true)
grep '/node_modules/' <<<"$deps" |
  sed -E "s|^$PWD/node_modules/((@[^/]+/)?[^/]+).*|\1|" | sort -u |
  while read -r pkg; do
    mkdir -p "$app/node_modules/$(dirname "$pkg")"
    cp -a "node_modules/$pkg" "$app/node_modules/$pkg"
  done
[[ -d $app/node_modules/commander ]] || { echo "package.sh: production node_modules incomplete (npm ls found no commander)" >&2; exit 1; }

install -D -m 0755 deploy/bin/radseal "$stage/usr/bin/radseal"
install -d "$stage/lib/systemd/system"
install -m 0644 deploy/systemd/*.service "$stage/lib/systemd/system/"
install -D -m 0644 deploy/radseal.example.toml "$stage/etc/radseal/radseal.example.toml"
install -D -m 0644 docs/INSTALL.md "$stage/usr/share/doc/radseal/INSTALL.md"

install -d "$stage/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$stage" | cut -f1)/" deploy/debian/control.in > "$stage/DEBIAN/control"
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$stage/DEBIAN/"
echo /etc/radseal/radseal.example.toml > "$stage/DEBIAN/conffiles"

mkdir -p "$out"
deb="$out/radseal_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "$deb"
