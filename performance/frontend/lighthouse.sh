#!/usr/bin/env bash
# Lighthouse performance of the console's Predict page, served by `tripcast serve` from the production build,
# with Debian's Chromium. Lighthouse is not a project dependency: it is installed into a throwaway folder.
#   bash performance/frontend/lighthouse.sh [runs]       (from the repository root, after `make frontend`)
set -euo pipefail
runs="${1:-3}"
root="$(pwd)"
work="$(mktemp -d)"
port="${PORT:-$((20000 + RANDOM % 20000))}"   # a free port, never a shared one
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && npm install --silent --no-audit --no-fund lighthouse@12 >/dev/null)
TRIPCAST_HOME="$root" TRIPCAST_DATA_DIR="$work/data" python3 -m uv run --frozen --no-sync \
  tripcast serve --port "$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/ui/" >/dev/null && break; sleep 1; done
for preset in mobile desktop; do
  for i in $(seq 1 "$runs"); do
    flags=(--only-categories=performance --output=json --output-path="$work/$preset-$i.json" --quiet
           --chrome-flags="--headless --no-sandbox --disable-gpu")
    [[ $preset == desktop ]] && flags+=(--preset=desktop)
    (cd "$work" && CHROME_PATH="${CHROMIUM:-/usr/bin/chromium}" npx lighthouse "http://127.0.0.1:$port/ui/#/predict" "${flags[@]}")
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); a=r['audits']
print(sys.argv[2], round(r['categories']['performance']['score']*100), 'LCP', a['largest-contentful-paint']['displayValue'],
      'TBT', a['total-blocking-time']['displayValue'], 'CLS', a['cumulative-layout-shift']['displayValue'])" "$work/$preset-$i.json" "$preset"
  done
done
