#!/usr/bin/env bash
# Weir set-up on a fresh Debian 12 machine (run as root, or with sudo available).
#
#   tools/dev.sh run     install what is missing, build, start weir on conf/weir.yaml
#   tools/dev.sh test    install what is missing, build, run every test
#                        (unit, integration, fuzz smoke, sanitizer build)
#   tools/dev.sh build   build only (build/src/weir)
#   tools/dev.sh build-checks   the ASan+UBSan build only (build-check/)
#   tools/dev.sh deps    install the Debian packages only
#
# Everything comes from Debian's packages (and the npm registry for browser
# tests); nothing else is downloaded. The test packages include nginx with
# libnginx-mod-rtmp, wrk and valgrind for the benchmark script's smoke test
# (tools/bench); Debian's nginx package starts its default site on port 80.
# fonts-dejavu-core gives the watermark text's default font
# (apps.<app>.watermark.text.font).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libuv1-dev libsrt-gnutls-dev libssl-dev
  libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev
  node-llhttp libjemalloc-dev catch2 libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libcurl4-openssl-dev libhiredis-dev
  fonts-dejavu-core
)
TEST_PKGS=(
  ffmpeg srt-tools python3 python3-pytest python3-pytest-xdist curl procps
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  chromium
  nginx libnginx-mod-rtmp wrk valgrind redis-server
)

JOBS=$(nproc 2>/dev/null || echo 2)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]}"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

build() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEIR_TESTS=ON >/dev/null
  cmake --build build -j"$JOBS"
}

# ASan+UBSan build with clang (no jemalloc): the unit tests, the fuzz
# targets, and a weir binary that a representative part of the integration
# suite runs against (ctest in build-check).
build_checks() {
  cmake -S . -B build-check -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DWEIR_FUZZ=ON -DWEIR_TESTS=ON -DWEIR_SERVER=ON >/dev/null
  cmake --build build-check -j"$JOBS"
}

case "${1:-}" in
  deps)
    install_missing "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"
    command -v npm >/dev/null || install_missing npm
    ;;
  build)
    install_missing "${BUILD_PKGS[@]}"
    build
    ;;
  build-checks)
    build_checks
    ;;
  run)
    install_missing "${BUILD_PKGS[@]}"
    build
    exec build/src/weir -c conf/weir.yaml
    ;;
  test)
    install_missing "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"
    # npm fetches hls.js for the browser test (tests/browser); a Node.js from
    # elsewhere (e.g. NodeSource) brings its own npm, so only add Debian's if none.
    command -v npm >/dev/null || install_missing npm
    build
    # The sanitizer build compiles at the lowest CPU priority while the tests
    # of build/ run: it takes only what they leave idle (they mostly wait on
    # sockets and timers), so the two overlap without slowing the tests.
    echo "dev.sh: building build-check/ (nice 19) while the tests of build/ run"
    nice -n 19 bash "$0" build-checks > build-check.log 2>&1 &
    checks_pid=$!
    trap 'kill $checks_pid 2>/dev/null || true' EXIT
    echo "dev.sh: unit + integration tests (build/)"
    ctest --test-dir build --output-on-failure -j2
    if ! wait $checks_pid; then
      tail -n 60 build-check.log
      echo "dev.sh: the sanitizer build failed (build-check.log)"
      exit 1
    fi
    trap - EXIT
    echo "dev.sh: sanitizer unit tests, fuzz smoke runs, integration against the ASan+UBSan weir (build-check/)"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-check --output-on-failure -j2
    echo "dev.sh: all tests passed"
    ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
