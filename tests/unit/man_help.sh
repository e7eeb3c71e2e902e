#!/bin/bash
# man_help.sh RKT-DRIVER RKT-EXECUTOR RKT-DRIVER.1 RKT-EXECUTOR.8: the man
# pages and --help agree (issue 9):
#  - the commands of `rkt-driver --help` are the commands of rkt-driver(1)
#    (its COMMANDS section, one .TP with .B NAME each), both ways;
#  - every option in `rkt-driver --help` and in each `rkt-driver COMMAND
#    --help` is in rkt-driver(1), and every option rkt-driver(1) names is in
#    one of them (--version, --help and -h, which every program takes, aside);
#  - the same for `rkt-executor --help` and rkt-executor(8), and the
#    environment variables the executor's --help names.
# The man pages' EXAMPLES are left out (they quote other programs' options).
set -u
driver=$1 executor=$2 man1=$3 man8=$4
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# plain MAN: the page without roff's escapes for '-' and fonts, EXAMPLES cut
plain() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1" | awk '/^\.SH /{skip = ($2 == "EXAMPLES")} !skip'
}

# options: every -x and --long-name in stdin, one a line, sorted
options() {
	grep -oE -- '(^|[^A-Za-z0-9_-])--?[a-z][a-z-]*' | sed -E 's/^[^-]*//' |
		grep -E -- '^(-[a-z]|--[a-z][a-z-]*)$' | sed -E 's/-$//' | sort -u
}

# unlisted: stdin without the options a --help text need not list
unlisted() {
	grep -vxE -- '--version|--help|-h'
}

# same WHAT A B: A and B (sorted lists) are equal, or says how they differ
same() {
	if [[ $2 == "$3" ]]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		diff <(echo "$2") <(echo "$3") | sed -n 's/^</#   only in --help:/p; s/^>/#   only in the man page:/p'
		failed=1
	fi
}

# within WHAT A B: every line of A is in B
within() {
	local missing
	missing=$(comm -23 <(echo "$2") <(echo "$3"))
	if [[ -z $missing ]]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		sed 's/^/#   missing: /' <<<"$missing"
		failed=1
	fi
}

# ---- rkt-driver(1) ----------------------------------------------------------

help=$("$driver" --help) || { echo "not ok - rkt-driver --help fails"; exit 1; }
help_cmds=$(awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on && /^  [a-z]/ {print $1}' <<<"$help" | sort -u)
man_cmds=$(plain "$man1" | awk '/^\.SH / {on = ($2 == "COMMANDS"); next}
	on && prev == ".TP" && $1 == ".B" {print $2} {prev = $1}' | sort -u)
[[ -n $help_cmds ]] || { echo "not ok - no commands found in rkt-driver --help"; exit 1; }
same "rkt-driver --help and rkt-driver(1) list the same commands" "$help_cmds" "$man_cmds"

all_help=$help
for c in $help_cmds; do
	out=$("$driver" --state-dir "$tmp/state" "$c" --help 2>&1)
	if [[ $out != usage:* ]]; then
		echo "not ok - rkt-driver $c --help prints its usage"
		failed=1
	fi
	all_help+=$'\n'$out
done
help_opts=$(options <<<"$all_help")
man_opts=$(plain "$man1" | options)
within "every option of rkt-driver's --help texts is in rkt-driver(1)" "$help_opts" "$man_opts"
within "every option rkt-driver(1) names is in a --help text" "$(unlisted <<<"$man_opts")" "$help_opts"

# ---- rkt-executor(8) --------------------------------------------------------

ehelp=$("$executor" --help) || { echo "not ok - rkt-executor --help fails"; exit 1; }
ehelp_opts=$(options <<<"$ehelp")
eman_opts=$(plain "$man8" | options)
within "every option of rkt-executor --help is in rkt-executor(8)" "$ehelp_opts" "$eman_opts"
within "every option rkt-executor(8) names is in its --help" "$(unlisted <<<"$eman_opts")" "$ehelp_opts"
within "every environment variable of rkt-executor --help is in rkt-executor(8)" \
	"$(grep -oE 'RKT_[A-Z_]+' <<<"$ehelp" | sort -u)" "$(plain "$man8" | grep -oE 'RKT_[A-Z_]+' | sort -u)"

exit $failed
