#!/usr/bin/env bash
# probekit set-up, build, demo and tests: the README's two commands.
#
#   env/run.sh demo    install what is missing, build, run every tool's demo
#   env/run.sh test    install what is missing, build, run the whole suite (CTest)
#   env/run.sh deps | build | bench
#
# Environment: PK_BUILD_DIR (default ./build), PK_CMAKE_ARGS (extra cmake
# arguments, e.g. "-DPK_WERROR=ON -DPK_SANITIZE=ON"), PK_CTEST_ARGS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PK_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Packages: one Debian name per line in env/packages/*.txt (# comments).
deps() {
	local want missing=()
	want=$(cat "$root"/env/packages/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
	for p in $want; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "run.sh: installing ${missing[*]}"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null
	fi
}

build() {
	# shellcheck disable=SC2086
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${PK_CMAKE_ARGS:-} >/dev/null
	cmake --build "$build" -j"$(nproc)" >/dev/null
}

demo() {
	export PK_BUILD_DIR=$build
	for s in "$root"/env/demo/*.sh; do
		[ -e "$s" ] || continue
		bash "$s"
	done
}

case ${1:-} in
deps) deps ;;
build) deps; build ;;
demo) deps; build; demo ;;
test)
	deps; build
	# shellcheck disable=SC2086
	ctest --test-dir "$build" --output-on-failure ${PK_CTEST_ARGS:-}
	;;
bench)
	deps; build
	export PK_BUILD_DIR=$build
	shift
	for s in "$root"/test/bench/*.sh; do
		bash "$s" "$@"
	done
	;;
*)
	echo "usage: env/run.sh demo|test|deps|build|bench" >&2
	exit 2
	;;
esac
