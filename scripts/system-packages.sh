#!/usr/bin/env bash
# Debian packages some tests need, installed where missing (make test runs this first):
# postgresql (the PostgreSQL catalog test), espeak-ng (real speech for the speech tests),
# chromium + chromium-driver (the web page's test in a real browser), rtsp-server-perl (the live
# RTSP stream's test). It needs root and apt-get;
# elsewhere it says what to install, and each test that needs a missing one skips, saying why.
set -uo pipefail
want=()
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want+=(postgresql)
command -v espeak-ng >/dev/null || want+=(espeak-ng)
command -v chromium >/dev/null || want+=(chromium)
command -v chromedriver >/dev/null || want+=(chromium-driver)
command -v rtsp-server-perl >/dev/null || want+=(rtsp-server-perl)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${want[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null) \
    || echo "could not install ${want[*]}: the tests that need them will skip, saying why"
else
  echo "not installed: ${want[*]} (as root: apt-get install ${want[*]}); the tests that need them skip"
fi
exit 0
