#!/usr/bin/env bash
# system/process storm benchmark: spawns COUNT short /bin/true processes at the machine's full rate while a
# listener runs, and prints one table row per listener:
#   shipper (netlink reader at SCHED_FIFO), shipper (normal priority), forkstat, forkstat -r.
# Columns: processes reported / spawned, kernel events (fork+exec+exit) captured / expected, lost,
# exec events with the full command line and executable, listener CPU seconds per 1,000 processes, peak RSS.
# Needs root (proc connector, SCHED_FIFO). Prints numbers; asserts nothing.
set -euo pipefail
COUNT="${COUNT:-10000}"
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$(mktemp -d /tmp/process-storm.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT

if [ "$(id -u)" != 0 ]; then echo "run as root" >&2; exit 1; fi
command -v gcc >/dev/null || { apt-get update -qq && apt-get install -y -qq gcc; }
command -v forkstat >/dev/null || { apt-get update -qq && apt-get install -y -qq forkstat; }

gcc -O2 -o "$OUT/storm" "$HERE/storm.c"
# The shipper ships as NativeAOT: measure that (JIT compilation would otherwise be a quarter of the CPU).
if dotnet publish -c Release -v q -nologo -p:PublishAot=true -p:IsAotCompatible=true "$HERE/ProcessStorm.csproj" -o "$OUT/aot" >"$OUT/publish.log" 2>&1; then
	HARNESS=("$OUT/aot/ProcessStorm")
else
	echo "NativeAOT publish failed (see below); measuring the JIT build instead" >&2
	tail -5 "$OUT/publish.log" >&2
	dotnet build -c Release -v q -nologo "$HERE/ProcessStorm.csproj" -o "$OUT/bin" >/dev/null
	HARNESS=(dotnet "$OUT/bin/ProcessStorm.dll")
fi

echo "| listener | processes | kernel events | lost | execs with full cmdline+exe | CPU s / 1000 proc | peak RSS |"
echo "|---|---|---|---|---|---|---|"
"${HARNESS[@]}" "$OUT/storm" "$COUNT" true "shipper (realtime)"
"${HARNESS[@]}" "$OUT/storm" "$COUNT" false "shipper (normal priority)"

# forkstat: same storm; its exec lines name the process ("/bin/true <marker>-<i>" when it read the full cmdline).
forkstat_row() {
	local label="$1"; shift
	local log="$OUT/forkstat.log" marker="fs$RANDOM$$"
	forkstat -l -e fork,exec,exit "$@" >"$log" 2>&1 &
	local fs=$!
	sleep 2
	local t0 t1 rss
	t0=$(awk '{print $14+$15}' "/proc/$fs/stat")
	"$OUT/storm" "$COUNT" "$marker" "$OUT/pids" 2>>"$OUT/storm.err"
	sleep 2
	t1=$(awk '{print $14+$15}' "/proc/$fs/stat")
	rss=$(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$fs/status")
	kill -INT "$fs"; wait "$fs" || true
	local hz; hz=$(getconf CLK_TCK)
	awk -v count="$COUNT" -v marker="$marker" -v label="$label" -v cpu="$(( t1 - t0 ))" -v hz="$hz" -v rss="$rss" '
		FNR == NR { pids[$1] = 1; next }
		($2 == "fork" || $2 == "exec" || $2 == "exit") {
			# a fork prints two lines, "<ppid> parent" and "<pid> child": count the child line
			pid = $3
			if ($2 == "fork" && $4 == "parent") next
			if (!(pid in pids)) next
			events++; seen[pid] = 1
			if ($2 == "exec") { execs++; if ($0 ~ ("/bin/true " marker "-[0-9]+ *$")) full++ }
		}
		END {
			n = 0; for (p in seen) n++
			printf "| %s | %d/%d | %d/%d | n/a | %.1f %% (%d/%d) | %.3f | %s |\n", label, n, count, events, 3 * count, 100 * full / count, full, execs, cpu / hz * 1000 / count, rss
		}' "$OUT/pids" "$log"
}
forkstat_row "forkstat"
forkstat_row "forkstat -r" -r
sed 's/^/    /' "$OUT/storm.err" >&2
