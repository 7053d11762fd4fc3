#!/usr/bin/env bash
# One-line answers for a machine that lacks what the hub needs (never a stack trace).
#   ops/preflight.sh python   Python 3.11+ with venv
#   ops/preflight.sh kafka    Java 17+ and Maven, unless HUB_KAFKA_BOOTSTRAP points at a broker
#   ops/preflight.sh chromium Debian's chromium for the browser test: installed when run as root, else one line
#   ops/preflight.sh promtool Prometheus' promtool for the alert-rule tests, the same way
#   ops/preflight.sh axe      axe-core's axe.min.js (npm registry tarball, integrity checked) in var/axe/
set -u
py=${PYTHON:-python3}
case "${1:-}" in
  python)
    command -v "$py" >/dev/null || { echo "preflight: Python 3.11+ is required (apt-get install python3 python3-venv), or use 'docker compose up'." >&2; exit 1; }
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "preflight: Python 3.11+ is required, found $("$py" -V 2>&1); or use 'docker compose up'." >&2; exit 1; }
    "$py" -c 'import venv, ensurepip' 2>/dev/null || { echo "preflight: Python's venv module is missing (apt-get install python3-venv)." >&2; exit 1; } ;;
  kafka)
    [ -n "${HUB_KAFKA_BOOTSTRAP:-}" ] && exit 0
    command -v java >/dev/null || { echo "preflight: Java 17+ is required to run the local Kafka (apt-get install openjdk-17-jre-headless), or set HUB_KAFKA_BOOTSTRAP, or use 'docker compose up'." >&2; exit 1; }
    v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)
    [ "${v:-0}" -ge 17 ] 2>/dev/null || { echo "preflight: Java 17+ is required, found '${v:-none}'; or set HUB_KAFKA_BOOTSTRAP, or use 'docker compose up'." >&2; exit 1; }
    command -v mvn >/dev/null || [ -f var/kafka/libs/.complete ] || { echo "preflight: Maven is required to fetch the Kafka jars (apt-get install maven), or set HUB_KAFKA_BOOTSTRAP, or use 'docker compose up'." >&2; exit 1; } ;;
  chromium)
    # Playwright drives Debian's chromium (its own browser download cannot work offline); ~30 s to install.
    command -v chromium >/dev/null && exit 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "preflight: installing Debian's chromium for the browser test (apt-get install -y chromium)..." >&2
      export DEBIAN_FRONTEND=noninteractive
      { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } >/dev/null 2>&1
      command -v chromium >/dev/null && exit 0
    fi
    echo "preflight: the browser test needs Debian's chromium: run 'apt-get install -y chromium' as root." >&2
    exit 1 ;;
  promtool)
    # The alert rules are checked and unit-tested with Prometheus' own promtool (Debian package prometheus).
    command -v promtool >/dev/null && exit 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "preflight: installing promtool for the alert-rule tests (apt-get install -y prometheus)..." >&2
      export DEBIAN_FRONTEND=noninteractive
      { apt-get install -y -q --no-install-recommends prometheus \
        || { apt-get update -q && apt-get install -y -q --no-install-recommends prometheus; }; } >/dev/null 2>&1
      command -v promtool >/dev/null && exit 0
    fi
    echo "preflight: the alert-rule tests need promtool: run 'apt-get install -y prometheus' as root." >&2
    exit 1 ;;
  axe)
    # The accessibility test injects axe-core into the pages; fetched from the npm registry without npm, checked
    # against the registry's dist.integrity (sha512 of the tarball) pinned here, so a changed file is refused.
    version=4.10.3
    integrity=sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg==
    script_sha256=880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb  # package/axe.min.js
    dest=var/axe/axe.min.js
    if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$script_sha256" ]; then exit 0; fi
    tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
    url=https://registry.npmjs.org/axe-core/-/axe-core-$version.tgz
    curl -fsSL --retry 3 -m 120 -o "$tmp/axe.tgz" "$url" \
      || { echo "preflight: could not download axe-core $version for the accessibility test ($url)." >&2; exit 1; }
    got="sha512-$(openssl dgst -sha512 -binary "$tmp/axe.tgz" | base64 -w0)"
    [ "$got" = "$integrity" ] || { echo "preflight: axe-core $version from $url has integrity $got, not the pinned $integrity; refused." >&2; exit 1; }
    tar -xzf "$tmp/axe.tgz" -C "$tmp" package/axe.min.js \
      || { echo "preflight: axe-core $version's tarball has no package/axe.min.js." >&2; exit 1; }
    [ "$(sha256sum "$tmp/package/axe.min.js" | cut -d' ' -f1)" = "$script_sha256" ] \
      || { echo "preflight: axe.min.js in axe-core $version is not the pinned file; refused." >&2; exit 1; }
    mkdir -p var/axe && mv "$tmp/package/axe.min.js" "$dest" ;;
  *) echo "usage: $0 python|kafka|chromium|promtool|axe" >&2; exit 2 ;;
esac
