#!/usr/bin/env bash
# radseal's whole test suite, set-up included: the one command CI runs.
# 1. Debian tools the tests use for real (installed when missing and we are root;
#    otherwise stop and name them — never a silent skip).
# 2. npm dependencies and the build (WebAssembly core + TypeScript host).
# 3. Static checks: the core has no imports; the TypeScript type-checks.
# 4. as-pect specs for the core, then node tests for the host.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# command-or-check : Debian package ("py:MODULE:pkg" a Python module, "lib:GLOB:pkg" a file)
REQUIRED=(
  "dcmdump:dcmtk"
  "dciodvfy:dicom3tools"
  "wasm-objdump:wabt"
  "wasm2c:wabt"
  "gcc:gcc"
  "socat:socat"
  "softhsm2-util:softhsm2"
  "Orthanc:orthanc"
  "lib:/usr/lib/orthanc/libOrthancPython.so*:orthanc-python"
  "lib:/usr/share/orthanc/plugins/libOrthancDicomWeb.so*:orthanc-dicomweb"
  "curl:curl"
  "opj_compress:libopenjp2-tools"
  "ip:iproute2"
  "unshare:util-linux"
  "openssl:openssl"
  "systemd-analyze:systemd"
  "dpkg-deb:dpkg"
  "rsyslogd:rsyslog"
  "lib:/usr/lib/*/rsyslog/lmnsd_gtls.so:rsyslog-gnutls"
  "xmllint:libxml2-utils"
  "jing:jing"
  "trang:trang"
  "redis-server:redis-server"
  "lib:/usr/lib/postgresql/*/bin/postgres:postgresql"
  "chromium:chromium"
  "py:pydicom:python3-pydicom"
  "py:numpy:python3-numpy"
)

missing_pkgs=()
for entry in "${REQUIRED[@]}"; do
  if [[ $entry == py:* ]]; then
    IFS=: read -r _ module pkg <<<"$entry"
    /usr/bin/python3 -c "import $module" 2>/dev/null || missing_pkgs+=("$pkg")
  elif [[ $entry == lib:* ]]; then
    IFS=: read -r _ pattern pkg <<<"$entry"
    compgen -G "$pattern" >/dev/null || missing_pkgs+=("$pkg")
  else
    IFS=: read -r cmd pkg <<<"$entry"
    command -v "$cmd" >/dev/null 2>&1 || missing_pkgs+=("$pkg")
  fi
done
if ((${#missing_pkgs[@]})); then
  mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
  else
    echo "radseal tests need these Debian packages: ${missing_pkgs[*]}" >&2
    echo "install them with: sudo apt-get install ${missing_pkgs[*]}" >&2
    exit 1
  fi
fi

if [[ ! -d node_modules ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi

say "build"
npm run --silent build

say "core has no imports"
if wasm-objdump -x -j Import build/core.wasm >/dev/null 2>&1; then
  echo "build/core.wasm has an Import section; the core must import nothing:" >&2
  wasm-objdump -x -j Import build/core.wasm >&2
  exit 1
fi
echo "build/core.wasm: no Import section"

say "type-check host, tests and benchmarks"
npx tsc -p tsconfig.check.json

say "as-pect specs (WebAssembly core)"
npx asp --config as-pect.config.js

say "node tests (host)"
if [[ ! -d ../shared/data/radiographs ]]; then
  echo "note: ../shared/data/radiographs is absent: real-radiograph tests will report themselves skipped"
fi
# The viewer test serves the pinned prebuilt OHIF Viewer; fetch it (npm pack, integrity checked,
# cached in build/ohif) now, while the registry can still be reached.
ohif=$(node --import tsx --input-type=module -e \
  "const { ensureOhif } = await import('./host/web/viewer/ohif-package.ts'); process.stdout.write(await ensureOhif('build/ohif'))")
echo "OHIF Viewer for the viewer test: $ohif"
mapfile -t files < <(find test/host -name '*.test.ts' | sort)
# The suite runs in a private network namespace holding only loopback, so no
# listener a test starts (storescp and Orthanc bind every interface, with no
# option to change that) can be reached from outside this machine.
if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
  echo "network: private namespace, loopback only"
  exec unshare -n bash -c 'ip link set lo up && exec "$@"' _ \
    node --import tsx --test --test-concurrency=1 --test-force-exit "${files[@]}"
fi
echo "network: not root, so tests share the host network; listeners they start may bind all interfaces" >&2
node --import tsx --test --test-concurrency=1 --test-force-exit "${files[@]}"
