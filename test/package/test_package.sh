#!/usr/bin/env bash
# test/package/test_package.sh BUILD_DIR SOURCE_DIR: the Debian packages
# (label "package", docs/packaging.md). Builds them with cpack from the built
# programs into a scratch directory, runs lintian (no error, no warning
# beyond the ones docs/packaging.md explains), checks both file lists, runs
# every program's --version from the extracted packages, verifies the systemd
# units (systemd-analyze verify and security), and checks the bash
# completions against each program's --help. Removes everything it created.
# Exit 77 (skipped) with the reason when a tool is missing:
# env/packages/package.txt installs them all on a fresh machine.
set -euo pipefail
export LC_ALL=C

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
t0=$SECONDS

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "SKIP: $1 not found (Debian package $2, which env/run.sh deps installs from env/packages/)"
		exit 77
	fi
}
need cpack cmake
need dpkg-deb dpkg
need dpkg-shlibdeps dpkg-dev
need lintian lintian
need systemd-analyze systemd
need man man-db
need gzip gzip

# lintian warnings we cannot fix; each is explained in docs/packaging.md
allowed_warnings='initial-upload-closes-no-bugs'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pk-package.XXXXXX")
manifests=()
for c in probekit testenv; do
	[ -e "$build/install_manifest_$c.txt" ] || manifests+=("$build/install_manifest_$c.txt")
done
cleanup() {
	rm -rf "$tmp"
	# cpack's component installs leave their manifests in the build directory
	if [ ${#manifests[@]} -gt 0 ]; then rm -f "${manifests[@]}"; fi
}
trap cleanup EXIT

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
ok() { echo "ok: $*"; }

# --- 1. build the packages ---------------------------------------------------
if ! (cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1; then
	cat "$tmp/cpack.log"
	echo "FAIL: cpack"
	exit 1
fi
main=$(find "$tmp/out" -maxdepth 1 -name 'probekit_*.deb')
testenv=$(find "$tmp/out" -maxdepth 1 -name 'probekit-testenv_*.deb')
if [ -z "$main" ] || [ -z "$testenv" ]; then
	cat "$tmp/cpack.log"
	echo "FAIL: cpack made no probekit / probekit-testenv .deb"
	exit 1
fi
version=$(dpkg-deb -f "$main" Version)
upstream=${version%-*}
ok "cpack: $(basename "$main"), $(basename "$testenv") ($((SECONDS - t0)) s)"

# --- 2. lintian ----------------------------------------------------------------
rc=0
lintian -I --tag-display-limit 0 "$main" "$testenv" >"$tmp/lintian.out" 2>"$tmp/lintian.err" || rc=$?
echo "lintian $(lintian --version | awk '{print $2}'):"
sed 's/^/    /' "$tmp/lintian.out"
if [ "$rc" -gt 1 ]; then # 1: tags at the --fail-on level (errors), listed above
	sed 's/^/    /' "$tmp/lintian.err"
	fail "lintian did not run (exit $rc)"
fi
if grep -q '^E:' "$tmp/lintian.out"; then
	fail "lintian errors"
fi
while read -r tag; do
	case " $allowed_warnings " in
	*" $tag "*) ;;
	*) fail "lintian warning $tag (fix it, or explain it in docs/packaging.md and allow it here)" ;;
	esac
done < <(sed -n 's/^W: [^ ]*: \([^ ]*\).*/\1/p' "$tmp/lintian.out" | sort -u)

# --- 3. file lists ---------------------------------------------------------------
files() { dpkg-deb --fsys-tarfile "$1" | tar -t | grep -v '/$' | sort; }
progs='heartbeat tcp-echo udp-ping vxlan-agent'
{
	for p in $progs; do
		echo "./usr/bin/$p"
		echo "./usr/share/bash-completion/completions/$p"
		echo "./usr/share/man/man1/$p.1.gz"
	done
	for u in probekit-heartbeat.service probekit-tcp-echo.service \
		probekit-udp-ping.service probekit-vxlan-agent@.service; do
		echo "./usr/lib/systemd/system/$u"
	done
	for d in changelog.Debian.gz copyright packaging.md examples/vxlan-agent.env; do
		echo "./usr/share/doc/probekit/$d"
	done
} | sort >"$tmp/main.want"
printf '%s\n' ./usr/bin/linkemu ./usr/share/man/man1/linkemu.1.gz \
	./usr/share/doc/probekit-testenv/changelog.Debian.gz \
	./usr/share/doc/probekit-testenv/copyright | sort >"$tmp/testenv.want"
files "$main" >"$tmp/main.have"
files "$testenv" >"$tmp/testenv.have"
for pkg in main testenv; do
	if diff -u "$tmp/$pkg.want" "$tmp/$pkg.have" >"$tmp/$pkg.diff"; then
		ok "$pkg package: $(wc -l <"$tmp/$pkg.have") files as expected"
	else
		sed 's/^/    /' "$tmp/$pkg.diff"
		fail "$pkg package: file list (- expected, + found)"
	fi
done
if grep -q linkemu "$tmp/main.have"; then
	fail "linkemu in the main package"
fi

mkdir "$tmp/root"
dpkg-deb -x "$main" "$tmp/root"
dpkg-deb -x "$testenv" "$tmp/root"
r=$tmp/root
for m in "$r"/usr/share/man/man1/*.gz "$r"/usr/share/doc/*/changelog.Debian.gz; do
	gzip -t "$m" || fail "$m: not gzip"
done
for d in probekit probekit-testenv; do
	cmp -s "$r/usr/share/doc/$d/copyright" "$src/packaging/copyright" ||
		fail "$d: copyright differs from packaging/copyright"
done
# the BSD-2-Clause paragraph of the copyright file says what LICENSE says
words() { tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'; }
lic=$(sed -n '/^Redistribution/,$p' "$src/LICENSE" | words)
par=$(awk '/^License: BSD-2-Clause$/ { on = 1; next } !/^ / { on = 0 } on' \
	"$r/usr/share/doc/probekit/copyright" | sed 's/^ \.$//' | words)
if [ -n "$lic" ] && [ "$lic" = "$par" ]; then
	ok "copyright: machine-readable, its BSD-2-Clause text is LICENSE's"
else
	fail "copyright: the BSD-2-Clause paragraph differs from LICENSE"
fi
head -1 "$r/usr/share/doc/probekit/copyright" |
	grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/$' ||
	fail "copyright: no DEP-5 Format line"
dep=$(dpkg-deb -f "$main" Depends)
case $dep in *libc6*) ok "Depends: $dep" ;; *) fail "Depends without libc6: '$dep'" ;; esac

# --- 4. the programs, from the extracted packages ------------------------------
for p in $progs linkemu; do
	out=$("$r/usr/bin/$p" --version 2>&1) || fail "$p --version: exit $?"
	# "(git abc1234)" follows when the build came from a git checkout
	if [[ $out =~ ^$p\ \(probekit\)\ ${upstream//./\\.}(\ \(git\ [0-9a-f]{7,}\))?$ ]]; then
		ok "$out"
	else
		fail "$p --version: '$out', want '$p (probekit) $upstream [(git HASH)]'"
	fi
done

# --- 5. systemd units ------------------------------------------------------------
# systemd-analyze verify checks that ExecStart's program exists and is
# executable, and resolves the units' dependencies (network-online.target,
# multi-user.target...) against the host's unit files. With --root=DIR it
# would look for both inside DIR, where the extracted package has no
# sysinit.target; so the units are verified as copies whose ExecStart points
# into the extracted root (only that path prefix changes, checked below),
# against the host's own units, and with MANPATH on the extracted man pages
# (their Documentation=man:... lines). verify exits 0 on unknown keys and
# bad values, printing them: any output fails the test, except lines about
# the host's own unit files (a host's irtt.service warns "Special user nobody
# configured" whenever verify loads it: not ours to judge).
mkdir "$tmp/units"
for f in "$r"/usr/lib/systemd/system/*.service; do
	b=$(basename "$f")
	case $b in
	*@.service) b=${b%@.service}@lo.service ;; # a template: one instance
	esac
	prog=$(sed -n 's|^ExecStart=/usr/bin/\([^ ]*\).*|\1|p' "$f")
	if [ -z "$prog" ] || [ ! -x "$r/usr/bin/$prog" ]; then
		fail "$b: ExecStart is not /usr/bin/<one of the programs>"
		continue
	fi
	sed "s|^ExecStart=/usr/bin/|ExecStart=$r/usr/bin/|" "$f" >"$tmp/units/$b"
	n=$(diff "$f" "$tmp/units/$b" | grep -c '^>' || true)
	[ "$n" -eq 1 ] || fail "$b: rewriting ExecStart changed $n lines"
	for k in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
		PrivateTmp=yes CapabilityBoundingSet= 'RestrictAddressFamilies=AF_INET AF_INET6'; do
		grep -q "^$k" "$f" || fail "$b: no $k"
	done
	if MANPATH=$r/usr/share/man systemd-analyze verify "$tmp/units/$b" >"$tmp/verify.all" 2>&1 &&
		{ grep -v -E '^/(usr/lib|lib|etc|run)/systemd/' "$tmp/verify.all" >"$tmp/verify.out" || true; } &&
		[ ! -s "$tmp/verify.out" ]; then
		ok "$b: systemd-analyze verify"
	else
		sed 's/^/    /' "$tmp/verify.out"
		fail "$b: systemd-analyze verify"
	fi
	# exposure 0..10 as systemd-analyze prints it, x10 for --threshold
	if systemd-analyze security --offline=yes --threshold=20 --no-pager \
		"$tmp/units/$b" >"$tmp/security.out" 2>&1; then
		ok "$b: $(grep -o 'exposure level.*' "$tmp/security.out")"
	else
		grep '✗\|exposure' "$tmp/security.out" | sed 's/^/    /'
		fail "$b: systemd-analyze security above 2.0"
	fi
done

# --- 6. bash completions ---------------------------------------------------------
# The completion runs the program by name (its --help): the extracted ones.
export PATH="$r/usr/bin:$PATH"
# complete WORD...: the completion of the last word of the command line WORD...
complete_words() {
	local file=$1
	shift
	bash --norc --noprofile -c '
		source "$1" || exit 1
		shift
		fn=$(complete -p "$1" | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$file" "$@" | sed '/^$/d' | sort -u
}
# the options a --help names, written independently of the completion's own
# parser; -h/--help and -V/--version are taken by every role (pk_cli_main)
longopts() { { grep -oE -- '--[a-z][a-z0-9-]+'; printf '%s\n' --help --version; } | sort -u; }
shortopts() {
	{
		grep -oE -- '(^|[][ ,|])-[A-Za-z0-9]([],| ]|$)' | grep -oE -- '-[A-Za-z0-9]'
		printf '%s\n' -h -V
	} | sort -u
}
for p in $progs; do
	c=$r/usr/share/bash-completion/completions/$p
	bash -n "$c" || fail "$p completion: bash -n"
	line=$(bash --norc --noprofile -c 'source "$1" && complete -p "$2"' _ "$c" "$p" 2>&1) ||
		fail "$p completion: complete -p $p: $line"
	case $p in
	vxlan-agent) roles='' ;;
	*)
		roles='server client'
		got=" $(complete_words "$c" "$p" '' | tr '\n' ' ')"
		miss=''
		for w in server client -h --help -V --version; do
			case $got in *" $w "*) ;; *) miss="$miss $w" ;; esac
		done
		if [ -z "$miss" ]; then
			ok "$p completion: first word:$got"
		else
			fail "$p completion: first word offers '$got', not$miss"
		fi
		roles=$(printf '%s\n' "$got" | tr ' ' '\n' | grep -v '^-' | tr '\n' ' ')
		;;
	esac
	for role in ${roles:-.}; do
		[ "$role" = . ] && role=''
		# shellcheck disable=SC2086 # role: none or one word
		"$r/usr/bin/$p" $role --help >"$tmp/help" 2>&1 || true
		# shellcheck disable=SC2086
		complete_words "$c" "$p" $role -- >"$tmp/long"
		# shellcheck disable=SC2086
		complete_words "$c" "$p" $role - >"$tmp/all"
		longopts <"$tmp/help" >"$tmp/help.long"
		shortopts <"$tmp/help" >"$tmp/help.short"
		grep -v -- '^--' "$tmp/all" >"$tmp/short" || true
		if diff -u "$tmp/help.long" "$tmp/long" >"$tmp/d" &&
			diff -u "$tmp/help.short" "$tmp/short" >>"$tmp/d"; then
			ok "$p ${role:+$role }completion: $(wc -l <"$tmp/all") options, those of --help"
		else
			sed 's/^/    /' "$tmp/d"
			fail "$p ${role:+$role }completion: options differ from --help (- help, + completion)"
		fi
	done
done
# values: the words of a|b, files for FILE, interfaces for IF, nothing for
# a number, host names where the usage has HOST
cc=$r/usr/share/bash-completion/completions
touch "$tmp/pk-out.csv"
value_is() { # WANT PROG WORD...: WANT a case pattern of the words offered
	local want=$1 got match=0
	shift
	got=$(cd "$tmp" && complete_words "$cc/$1" "$@" | tr '\n' ' ')
	# shellcheck disable=SC2254 # WANT is a pattern
	case $got in $want) match=1 ;; esac
	if [ "$match" -eq 1 ]; then
		ok "completion of '$*': '$got'"
	else
		fail "completion of '$*': '$got', want '$want'"
	fi
}
value_is "kmiss phi " heartbeat client --detector ''
value_is "rtt ttput " tcp-echo client -m ''
value_is "rtt ttput " tcp-echo client --mode ''
value_is "pk-out.csv " tcp-echo client --csv-file pk-
value_is "lo " vxlan-agent -I l
value_is "" udp-ping client -c ''
value_is "*localhost *" udp-ping client -c 3 localh
value_is "--interval " udp-ping client --interv

echo "package test: $((SECONDS - t0)) s"
if [ "$failed" -ne 0 ]; then
	echo "package test: FAILED"
	exit 1
fi
echo "package test: passed"
