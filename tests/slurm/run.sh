#!/usr/bin/env bash
# A real Slurm test of `contagion sweep`: start a one-node Slurm cluster on
# this machine (Debian's slurmctld, slurmd, slurm-client and munge), submit
# the jobs `--emit-slurm` writes (the array, then the merge that waits for
# it with afterok), wait for the merge, and check that the dataset equals
# the one a single process writes, byte for byte. Every
# daemon this script starts is stopped by pid on exit.
#
# Needs root (to install packages and run the daemons). Run from the
# repository root after `cargo build --release`:  bash tests/slurm/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
    echo "slurm test: needs root (it installs packages and starts daemons)" >&2
    exit 1
fi
BIN="$PWD/target/release/contagion"
[ -x "$BIN" ] || { echo "slurm test: build first (cargo build --release)" >&2; exit 1; }

if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null || ! command -v slurmctld >/dev/null; then
    echo "== slurm test: installing slurm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The packages' post-install "failed to start" messages (no systemd) are harmless.
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 \
        || apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
fi

WORK="$(mktemp -d /tmp/contagion-slurm.XXXXXX)"
PIDS=()
stop() {
    set +e
    if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
        scontrol shutdown >/dev/null 2>&1
    fi
    for f in "$WORK/slurmd.pid" "$WORK/slurmctld.pid"; do
        [ -f "$f" ] && PIDS+=("$(cat "$f")")
    done
    # munged only if this script started it.
    [ -n "${MUNGED_PID:-}" ] && PIDS+=("$MUNGED_PID")
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for _ in $(seq 1 50); do
        alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.2
    done
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap stop EXIT

echo "== slurm test: munge"
mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
[ -f /etc/munge/munge.key ] || mungekey -c -f -k /etc/munge/munge.key
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
chmod 0700 /etc/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
if [ -f /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
    echo "slurm test: a munged is already running; using it"
else
    rm -f /run/munge/munged.pid
    runuser -u munge -- munged
    for _ in $(seq 1 50); do [ -f /run/munge/munged.pid ] && break; sleep 0.1; done
    MUNGED_PID="$(cat /run/munge/munged.pid)"
fi
for _ in $(seq 1 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
munge -n | unmunge >/dev/null

echo "== slurm test: slurmctld and slurmd"
HOST="$(hostname -s)"
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF="$WORK/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=contagion-ci
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$HOST CPUs=$(nproc) State=UNKNOWN
PartitionName=ci Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 100); do
    state="$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)"
    case "$state" in idle*|mix*|alloc*) break ;; esac
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    sleep 0.3
done
case "$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)" in
    idle*|mix*|alloc*) sinfo ;;
    *)
        echo "slurm test: the node did not come up; the daemons' logs:" >&2
        tail -n 30 "$WORK/slurmctld.log" "$WORK/slurmd.log" >&2 || true
        exit 1
        ;;
esac

echo "== slurm test: the sweep"
cat > "$WORK/sweep.toml" <<SWEEP
[sweep]
name = "slurm-ci"
scenario = "$PWD/scenarios/default.toml"
paths = 40
record_paths = 2
paths_per_unit = 10

[[axes]]
field = "protocols.aave-like.collateral.ETH.liquidation_threshold"
values = [0.83, 0.86, 0.88]
SWEEP
"$BIN" sweep "$WORK/sweep.toml" --out "$WORK/local" --quiet --threads 2
"$BIN" sweep "$WORK/sweep.toml" --out "$WORK/cluster" --emit-slurm --shards 4 --threads 1 \
    --time 00:30:00 --partition ci
grep -q '^#SBATCH --partition=ci$' "$WORK/cluster/merge.sbatch"
# submit.sh queues the array, then the merge with afterok on it; --wait makes
# its last sbatch return once the merge has run (and fail if it failed or
# was cancelled because a task failed). Bounded, so a stuck queue fails the
# test instead of hanging CI.
if ! timeout 900 bash "$WORK/cluster/submit.sh" --wait; then
    echo "slurm test: the array or merge job failed; their logs:" >&2
    tail -n 20 "$WORK"/cluster/logs/* "$WORK/slurmctld.log" "$WORK/slurmd.log" >&2 || true
    exit 1
fi
ls "$WORK/cluster/logs" | grep -q '_3.out' || { echo "slurm test: no log of array task 3" >&2; exit 1; }
ls "$WORK/cluster/logs" | grep -q '^merge_' || { echo "slurm test: no log of the merge job" >&2; exit 1; }
[ -f "$WORK/cluster/runs.parquet" ] || { echo "slurm test: the merge job wrote no runs.parquet" >&2; exit 1; }
diff -r -x logs -x sweep.sbatch -x merge.sbatch -x submit.sh "$WORK/local" "$WORK/cluster"
echo "== slurm test: passed (the array and merge jobs' dataset equals the single-process one)"
