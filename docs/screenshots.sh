#!/usr/bin/env bash
# Screenshots of the built site (site/) as a browser renders it with no network: the site is
# served on 127.0.0.1 and Debian's headless Chromium (`apt-get install chromium`) loads the pages
# with every other host name unresolvable, so anything the site fetched from outside would be
# missing from the pictures. Run from the repository root: `make docs-screenshots`
# (OUT=folder to choose where the PNG files go; default site-screenshots/).
set -euo pipefail
out=${OUT:-site-screenshots}
python=${PYTHON:-python3}
# page:height in pixels (the experiment page down to its province map)
pages=(index.html:1000 config-reference.html:1600 experiments/baseline.html:4400)

command -v chromium > /dev/null || { echo "chromium not found: apt-get install chromium" >&2; exit 1; }
[ -f site/index.html ] || { echo "site/ is not built: make docs" >&2; exit 1; }
mkdir -p "$out"
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m http.server --bind 127.0.0.1 --directory site "$port" > /dev/null 2>&1 &
server=$!
profile=$(mktemp -d)
trap 'kill "$server"; rm -rf "$profile"' EXIT
for _ in $(seq 50); do  # wait up to 5 s for the server to answer
    "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" \
        2> /dev/null && break
    sleep 0.1
done
for entry in "${pages[@]}"; do
    page=${entry%:*}
    name=$(echo "${page%.html}" | tr / -)
    timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$profile" --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --disable-default-apps \
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
        --window-size="1280,${entry##*:}" --virtual-time-budget=5000 \
        --screenshot="$out/$name.png" "http://127.0.0.1:$port/$page" 2> /dev/null
    echo "$out/$name.png"
done
