#!/usr/bin/env bash
# Process storm benchmark: spawns N short processes (fork + exec "/bin/true storm-<tag>-<i>" + wait) at the
# machine's maximum rate while one listener runs, and prints, per listener: spawn rate, kernel events
# captured vs expected, lost, share of execs reported with the full command line (and executable),
# listener CPU seconds per 1,000 processes (utime+stime from /proc/<pid>/stat), and peak RSS (VmHWM).
#
# Listeners (CASES, space-separated; default all):
#   bench-rt, bench   netlink-bench: NetlinkProcEventSource alone (no tracker/output), SCHED_FIFO on / off
#   bench-rt-full     the same, real-time, reading all of /proc/<pid> at fork too (fork_sample: full)
#   forkstat-r, forkstat   forkstat -r (SCHED_FIFO) / plain, on the same storm
#   shipper-rt, shipper    the full shipper (system/process -> console output to a file) on the netlink backend
#                          (process.backend: netlink), realtime on / off
#   shipper-ebpf           the full shipper on the eBPF backend (process.backend: ebpf: the BPF program hands every
#                          fork/exec/exit over from the kernel), hashing on as shipper-rt; the case is ready when
#                          the shipper logs 'eBPF programs attached' (the netlink cases wait for
#                          'netlink proc connector open')
#   shipper-rt-base        the shipper-rt case run by another build, given as BASELINE=/path/to/shipper (for
#                          before/after figures of a change in one run)
#   shipper-rt-nohash      the full shipper, realtime, with executable hashing off (process.hash.hash_types: [])
#                          to compare the CPU cost of hashing with a warm cache; shipper rows also print the
#                          hash cache hit ratio (process.hash.hits / (hits + misses)) from 'Total metrics'.
# Every shipper config names its backend (netlink, or ebpf for shipper-ebpf), so 'auto' choosing another backend
# never changes what a case measures; shipper-rt-base's older binary knows netlink too.
#
# Usage: sudo tests/bench/process-storm.sh            (N=10000, ROUNDS=3)
#        N=2000 ROUNDS=1 CASES="bench-rt forkstat-r" tests/bench/process-storm.sh
#   eBPF vs netlink vs forkstat -r, 10,000 x /bin/true, side by side in one run (idle machine, then with two
#   CPU-bound hogs at normal priority, one on each core of a 2-core machine):
#        CASES="shipper-ebpf shipper-rt forkstat-r" tests/bench/process-storm.sh
#        HOGS=2 CASES="shipper-ebpf shipper-rt forkstat-r" tests/bench/process-storm.sh
# Env: N (processes per storm), ROUNDS (each round runs every case once, in turn, so slow drifts in machine load
#      hit all cases alike; the table sums events over rounds and shows the median CPU with its range),
#      CASES, WORK (scratch dir), AOT=1 to publish netlink-bench and shipper with NativeAOT (default 1),
#      DRAIN (seconds to let a listener catch up after the storm, default 2),
#      HOGS (default 0): CPU-bound busy loops (SCHED_OTHER, nice 0, hog i pinned to CPU i mod nproc) that run for
#      the whole run, from before the first round until the last case is done; killed at exit, also on error or
#      interrupt. The header above the table says how many ran.
# Numbers vary with machine load (10-20 % between runs here): run on a quiet machine and compare cases within
# one run.
set -euo pipefail

N=${N:-10000}
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-"bench-rt bench forkstat-r forkstat shipper-rt shipper shipper-rt-nohash"}
DRAIN=${DRAIN:-2}
AOT=${AOT:-1}
HOGS=${HOGS:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/process-storm.XXXXXX)}
mkdir -p "$WORK"
: > "$WORK/cases.txt"

if [ "$(id -u)" -ne 0 ]; then
    echo "process-storm: needs root (the proc connector and SCHED_FIFO)" >&2
    exit 1
fi

case $HOGS in
'' | *[!0-9]*) echo "process-storm: HOGS must be a number, not '$HOGS'" >&2; exit 2 ;;
esac

echo "process-storm: N=$N, $ROUNDS rounds, $HOGS hogs, work directory $WORK" >&2
cc -O2 -o "$WORK/storm" "$ROOT/tests/bench/storm.c"

if ! command -v forkstat >/dev/null 2>&1; then
    apt-get install -y forkstat >&2
fi

case " $CASES " in
*" bench"*)
    aot_flags=()
    if [ "$AOT" = "1" ]; then aot_flags=(-p:PublishAot=true); fi
    dotnet publish "$ROOT/tests/bench/NetlinkBench/NetlinkBench.csproj" -c Release -o "$WORK/bench" "${aot_flags[@]}" >"$WORK/bench-build.log" 2>&1 \
        || { echo "process-storm: building netlink-bench failed, see $WORK/bench-build.log" >&2; exit 1; }
    ;;
esac

case " $CASES " in
*" shipper"*)
    aot_flags=()
    if [ "$AOT" = "1" ]; then aot_flags=(-p:PublishAot=true); fi
    dotnet publish "$ROOT/cmd/Shipper.csproj" -c Release -o "$WORK/shipper" "${aot_flags[@]}" >"$WORK/shipper-build.log" 2>&1 \
        || { echo "process-storm: building shipper failed, see $WORK/shipper-build.log" >&2; exit 1; }
    ;;
esac

# utime + stime of a process, in clock ticks. Fields are counted after the last ')' (comm may hold spaces).
cpu_ticks() {
    local stat rest
    stat=$(cat "/proc/$1/stat")
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $(( ${12} + ${13} ))
}

peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# wait_for <pattern> <seconds> <file> [pid]: fails at once if the process pid has exited.
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if grep -q -- "$1" "$3" 2>/dev/null; then return 0; fi
        if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then return 1; fi
        sleep 0.1
    done
    return 1
}

# CPU-bound hogs (HOGS=n) for the whole run: each sets SCHED_OTHER and nice 0 itself (whatever the script was
# started with) and pins itself to CPU <i> mod nproc, then spins in user space without system calls.
hog_pids=()
start_hogs() {
    local i
    cat > "$WORK/hog.c" <<'C'
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sched_param normal = { 0 };
    cpu_set_t cpus;
    long cpu = argc > 1 ? atol(argv[1]) % sysconf(_SC_NPROCESSORS_ONLN) : 0;
    if (sched_setscheduler(0, SCHED_OTHER, &normal) != 0 || setpriority(PRIO_PROCESS, 0, 0) != 0) {
        perror("hog: normal priority");
        return 1;
    }
    CPU_ZERO(&cpus);
    CPU_SET(cpu, &cpus);
    if (sched_setaffinity(0, sizeof cpus, &cpus) != 0) {
        perror("hog: affinity");
        return 1;
    }
    for (volatile unsigned long spins = 0;; spins++) {
    }
}
C
    cc -O2 -o "$WORK/hog" "$WORK/hog.c"
    for ((i = 0; i < HOGS; i++)); do
        "$WORK/hog" "$i" &
        hog_pids+=($!)
    done
    sleep 1
    for i in "${hog_pids[@]}"; do
        kill -0 "$i" 2>/dev/null || { echo "process-storm: hog $i did not start" >&2; exit 1; }
    done
    echo "process-storm: $HOGS CPU-bound hogs running (nice 0, pids ${hog_pids[*]})" >&2
}

stop_hogs() {
    local pid
    for pid in "${hog_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    hog_pids=()
}
# On an error or interrupt, also stop the case that was running (its listener and storm generator).
running=()
cleanup() {
    local pid
    for pid in "${running[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    stop_hogs
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shipper_config <case> <process.backend> <process.netlink.realtime, or '' to leave it out> [hash types]
shipper_config() {
    {
        echo "shipper.modules:"
        echo "  - module: system"
        echo "    datasets: [process]"
        echo "    process.backend: $2"
        if [ -n "$3" ]; then echo "    process.netlink.realtime: $3"; fi
        echo "    process.hash.hash_types: ${4:-[sha1]}"
        cat <<YAML
processors:
  - add_host_metadata: ~
output.console:
  enabled: true
logging.level: info
logging.to_stderr: true
YAML
    } > "$WORK/$1.yml"
    chmod 600 "$WORK/$1.yml"
}

run_case() {
    local case=$1 round=$2 kind=$3
    shift 3
    local name="$case.r$round"
    local out="$WORK/$name.out" err="$WORK/$name.err"
    "$@" >"$out" 2>"$err" &
    local listener=$!
    running=("$listener")
    case $kind in
    bench) wait_for "ready" 30 "$out" || { echo "$name did not start: $(cat "$err")" >&2; kill $listener; return 1; } ;;
    forkstat) wait_for "Time" 10 "$out" || true; sleep 0.5 ;;
    shipper)
        local ready="netlink proc connector open"
        case $case in shipper-ebpf*) ready="eBPF programs attached" ;; esac
        wait_for "$ready" 60 "$err" $listener || { echo "$name did not start (no '$ready'): $(tail -5 "$err")" >&2; kill $listener 2>/dev/null || true; return 1; }
        sleep 1
        ;;
    esac

    local c0 c1 hwm tag="${name//-/}$$"
    c0=$(cpu_ticks $listener)
    "$WORK/storm" "$N" "$tag" "$WORK/$name.pids" 2>"$WORK/$name.storm" &
    local generator=$!
    running+=("$generator")
    wait $generator
    sleep "$DRAIN"
    c1=$(cpu_ticks $listener)
    hwm=$(peak_rss_kb $listener)
    # TERM, not INT: a background job of a non-interactive shell starts with SIGINT ignored.
    kill -TERM $listener
    wait $listener || true
    running=()
    echo "$case $round $kind $generator $c0 $c1 $hwm $tag" >> "$WORK/cases.txt"
    echo "process-storm: $name done ($(cat "$WORK/$name.storm"))" >&2
}

if [ "$HOGS" -gt 0 ]; then start_hogs; fi

for round in $(seq "$ROUNDS"); do
for c in $CASES; do
    name="$c.r$round"
    case $c in
    bench-rt) run_case "$c" "$round" bench "$WORK/bench/netlink-bench" --realtime true --events "$WORK/$name.events" ;;
    bench) run_case "$c" "$round" bench "$WORK/bench/netlink-bench" --realtime false --events "$WORK/$name.events" ;;
    bench-rt-full) run_case "$c" "$round" bench "$WORK/bench/netlink-bench" --realtime true --full-fork-sample true --events "$WORK/$name.events" ;;
    forkstat-r) run_case "$c" "$round" forkstat forkstat -l -r -e fork,exec,exit ;;
    forkstat) run_case "$c" "$round" forkstat forkstat -l -e fork,exec,exit ;;
    shipper-rt | shipper | shipper-rt-nohash | shipper-rt-base | shipper-ebpf)
        binary="$WORK/shipper/shipper"
        case $c in
        shipper-rt) shipper_config "$c" netlink true ;;
        shipper-rt-base)
            binary=${BASELINE:?"process-storm: case shipper-rt-base needs BASELINE=/path/to/a/shipper/binary"}
            shipper_config "$c" netlink true
            ;;
        shipper-rt-nohash) shipper_config "$c" netlink true "[]" ;;
        shipper-ebpf) shipper_config "$c" ebpf "" ;;
        *) shipper_config "$c" netlink false ;;
        esac
        mkdir -p "$WORK/$c-home"
        run_case "$c" "$round" shipper "$binary" run -c "$WORK/$c.yml" --path.home "$WORK/$c-home" --disable-watchdog -e
        ;;
    *) echo "process-storm: unknown case $c" >&2; exit 2 ;;
    esac
    sleep 1
done
done

stop_hogs

echo
if [ "$HOGS" -gt 0 ]; then
    load="$HOGS CPU-bound hogs at nice 0 throughout (pinned to the CPUs in turn)"
else
    load="no hogs"
fi
echo "Process storm: $ROUNDS x $N x fork+exec+exit of /bin/true on $(nproc) CPUs, kernel $(uname -r); $load"
python3 "$ROOT/tests/bench/storm-report.py" "$WORK"
