#!/bin/bash
# Runs the executor integration tests with every executor under valgrind
# (memcheck: invalid accesses, uninitialised reads, fd and memory leaks),
# then fails when any executor's valgrind log reports an error.
set -u
test_executor=$1 executor=$2
logs=$(mktemp -d /tmp/rktd-vg-XXXXXX)
trap 'rm -rf "$logs"' EXIT
cat > "$logs/executor" <<WRAP
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --track-fds=yes --log-file=$logs/vg.%p.log \
  --suppressions=$(dirname "$0")/valgrind.supp "$executor" "\$@"
WRAP
chmod +x "$logs/executor"
RKTD_UNDER_VALGRIND=1 RKTD_EXECUTOR="$logs/executor" "$test_executor"
rc=$?
bad=0
for f in "$logs"/vg.*.log; do
	[ -e "$f" ] || continue
	# Descriptors open at exit count, except an ipc listener's own sockets:
	# nng 1.5.2 leaks those when a listener that stopped accepting is closed
	# and reopened (see common/rpc_server.c, rpc_server_check_listener).
	# Descriptors inherited from the test are not the executor's (it closes
	# them when it detaches; one refused before detaching still has them).
	fds=$(awk '/== Open / { open = $0; next }
		open != "" { if ($0 !~ /inherited from parent/) print open; open = "" }' "$f" |
		grep -v "Open AF_UNIX socket [0-9]*: .*/executor.sock$")
	if grep -q "ERROR SUMMARY: [1-9]" "$f" || grep -q "definitely lost: [1-9]" "$f" || [ -n "$fds" ]; then
		echo "valgrind found errors in an executor: $f"
		cat "$f"
		bad=1
	fi
done
n=$(ls "$logs"/vg.*.log 2>/dev/null | wc -l)
echo "valgrind: $n executor runs checked"
[ "$n" -gt 0 ] || bad=1
[ $rc -eq 0 ] && [ $bad -eq 0 ]
