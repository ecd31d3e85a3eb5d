# linkemu_path.sh: sourced by topo.sh and link.sh (not run on its own).
# shellcheck shell=bash

# linkemu_path: the linkemu binary to run: $LINKEMU, $PK_BUILD_DIR/env,
# build/env next to this env/, or PATH; status 1 if none.
linkemu_path() {
	local c env_dir
	env_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	for c in "${LINKEMU:-}" "${PK_BUILD_DIR:-}/env/linkemu" "$env_dir/../build/env/linkemu" \
		"$(command -v linkemu || true)"; do
		[ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
	done
	return 1
}
