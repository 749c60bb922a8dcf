#!/usr/bin/env bash
# Installs what the project needs on this machine, idempotently: missing Debian packages, then node_modules.
#   scripts/bootstrap.sh           what the CLI and the tests need
#   scripts/bootstrap.sh --bench   also the benchmarks' prerequisites: wrk (Debian) and Locust (PyPI, pinned in
#                                  scripts/bench-requirements.txt, in a venv at .capacity/venv/locust)
#   scripts/bootstrap.sh --engine  also a Docker engine (docker.io, debootstrap), started as root when none answers:
#                                  the stack in containers and its tests (the test command passes it)
# Prints one progress line per step it takes, and nothing when everything is already in place. What apt, npm and
# pip print goes to .capacity/logs/bootstrap.log; on failure it names the step, the log and the log's last lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bench=0
engine=0
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    --engine) engine=1 ;;
    -h | --help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bootstrap: unknown option '$arg' (known: --bench, --engine)" >&2; exit 2 ;;
  esac
done

home=${CAPACITY_HOME:-$root/.capacity}
[[ $home == /* ]] || home=$root/$home
log=$home/logs/bootstrap.log
venv=$home/venv/locust
log_started=0

# step LABEL COMMAND...: runs the command with its output in the log; one line on the terminal.
step() {
  local label=$1 t0=$SECONDS
  shift
  if ((!log_started)); then
    mkdir -p "$(dirname "$log")"
    : >"$log" # a fresh log per run that does something
    log_started=1
  fi
  printf '\n== %s %s\n' "$(date -u +%FT%TZ)" "$label" >>"$log"
  printf '[bootstrap] %s ... ' "$label" >&2
  if "$@" >>"$log" 2>&1 </dev/null; then
    echo "done ($((SECONDS - t0)) s)" >&2
  else
    local rc=$?
    echo "FAILED (exit $rc)" >&2
    echo "bootstrap: step failed: $label; its output is in $log; the last lines:" >&2
    tail -n 15 "$log" | awk '{ print "  | " (length($0) > 200 ? substr($0, 1, 200) " ..." : $0) }' >&2
    exit 1
  fi
}

# Debian packages: the main list, plus the [bench] section with --bench and the [engine] section with --engine.
mapfile -t wanted < <(awk -v bench="$bench" -v engine="$engine" '
  /^[[:space:]]*\[[a-z]+\][[:space:]]*$/ { section = substr($1, 2, length($1) - 2); next }
  /^[[:space:]]*(#|$)/ { next }
  section == "" || (section == "bench" && bench == 1) || (section == "engine" && engine == 1) { print $1 }' scripts/system-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "capacity: missing Debian packages: ${missing[*]}" >&2
    echo "capacity: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  apt=(apt-get -o DPkg::Lock::Timeout=300) # waits for another apt run on this machine instead of failing
  step "updating the Debian package lists" "${apt[@]}" update
  step "installing ${#missing[@]} Debian package(s): ${missing[*]}" \
    env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
  # Debian starts the system's own nginx/redis/postgres/rabbitmq (and node_exporter, on every interface) on install;
  # the stack runs its own copies on other ports, and the remote-only test starts its own node_exporters.
  for svc in nginx redis-server postgresql rabbitmq-server prometheus-node-exporter; do
    command -v systemctl >/dev/null 2>&1 && systemctl disable --now "$svc" >/dev/null 2>&1 || true
    service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# The container stack (docker/) needs an engine: with --engine, as root, start dockerd when none answers. Not fatal:
# only --containers and --target containers need it, and they say so when it is missing. Never without --engine: a
# plain command must not start daemons (nor read /proc, which the remote-only test forbids). DOCKER_HOST names an
# engine elsewhere: not one to start here.
if ((engine)) && [[ $(id -u) == 0 && -z ${DOCKER_HOST:-} ]] && command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
  mkdir -p "$home/logs"
  nohup dockerd >>"$home/logs/dockerd.log" 2>&1 &
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 && echo "capacity: started the Docker engine (dockerd; log .capacity/logs/dockerd.log)" >&2 ||
    echo "capacity: could not start dockerd (see $home/logs/dockerd.log); the stack in containers will not be available" >&2
fi

# node_modules: install when absent or older than the lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "installing npm packages (npm ci)" npm ci --no-fund --no-audit
fi

# Locust for the benchmarks: the version pinned in scripts/bench-requirements.txt, in a venv of its own.
if ((bench)); then
  locust_pin=$(sed -n 's/^locust==\([^ ;#]*\).*/\1/p' scripts/bench-requirements.txt)
  if ! compgen -G "$venv/lib/python3*/site-packages/locust-$locust_pin.dist-info" >/dev/null; then
    # Debian's Python, whose venv module python3-venv provides (else python3 from PATH; CAPACITY_PYTHON to choose)
    python=${CAPACITY_PYTHON:-/usr/bin/python3}
    [[ -x $python ]] || python=$(command -v python3 || true)
    if [[ -z $python ]]; then
      echo "capacity: Locust needs Python 3; install it with: sudo apt-get install -y python3 python3-venv" >&2
      exit 2
    fi
    [[ -x $venv/bin/pip ]] || step "creating a Python venv for Locust ($venv)" "$python" -m venv --clear "$venv"
    step "installing Locust $locust_pin (pip)" \
      "$venv/bin/pip" install --disable-pip-version-check --no-input -r scripts/bench-requirements.txt
  fi
fi
