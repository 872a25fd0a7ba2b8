# Shared helpers for scripts/demo, scripts/test and scripts/pg-cluster.
# Sourced, not run. Everything here is idempotent: a second run does no work
# that the first one finished.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Tauri 2's build dependencies on Debian/Ubuntu.
TAURI_PACKAGES=(libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config)

# Installs the Debian packages that are missing, with one apt-get update.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get to install them"
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Rust comes from rustup; Debian's packaged rustc is too old for Tauri 2.
ensure_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  command -v cargo >/dev/null && return 0
  say "installing Rust with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt \
    || die "could not install Rust; install it from https://rustup.rs and run this again"
  . "$HOME/.cargo/env"
}

# Node.js for the UI build. Debian's own package is enough (Vite 6 supports Node 18).
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  ensure_packages nodejs npm
}

# Installs the locked npm packages, skipped when node_modules already matches
# the lockfile. `npm install` rather than `npm ci`: npm 11 here writes
# lockfiles without the other platforms' optional packages and then its own
# `npm ci` rejects them; `npm install` honours the locked versions all the
# same. Install scripts stay off: none of our packages needs one, and some
# (browser-driver packages pulled in by WebdriverIO) would try to download.
npm_install() {
  local dir=$1 stamp=$1/node_modules/.claimdesk-lock
  if ! cmp -s "$dir/package-lock.json" "$stamp" 2>/dev/null; then
    say "npm install in ${dir#"$ROOT"/}"
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error) \
      || die "npm install failed in $dir"
    cp "$dir/package-lock.json" "$stamp"
  fi
}

# A TCP port nobody listens on right now.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# pg_cron for the installed PostgreSQL (postgresql-NN-cron), when the
# distribution packages it; without it the housekeeping runs from
# `claimdesk-admin housekeeping --watch`.
ensure_pg_cron() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$v" ] || return 0
  if apt-cache show "postgresql-$v-cron" >/dev/null 2>&1; then
    ensure_packages "postgresql-$v-cron"
  else
    say "postgresql-$v-cron is not packaged here; run claimdesk-admin housekeeping --watch 60 beside the server"
  fi
}
