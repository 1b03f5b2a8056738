#!/usr/bin/env bash
# Installs everything valija needs to build, test and benchmark on Debian 12.
# Idempotent: when every package is present it only checks and returns (about a second).
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make
  # libraries
  libasio-dev libssl-dev libsqlite3-dev libsodium-dev libfmt-dev libspdlog-dev
  libcli11-dev libtomlplusplus-dev libexpected-dev libgtest-dev libgmock-dev libunbound-dev
  libpsl-dev publicsuffix
  # tests and benchmarks
  python3 python3-pytest python3-dnspython python3-dkim swaks libnet-ssleay-perl libio-socket-ssl-perl openssl
  postfix dovecot-core dovecot-lmtpd dovecot-pop3d dovecot-imapd
  # real POP3 and IMAP clients for tests/e2e (test_pop3.py, test_imap_*.py)
  fetchmail getmail6 isync offlineimap3
  # a SCRAM client (GNU SASL) for the submission tests
  gsasl
  # fuzzing
  clang-14 libclang-rt-14-dev
)

# The unprivileged user `valija serve` becomes when started as root with a configuration
# (docs/security.md, "Privileges").
if [ "$(id -u)" -eq 0 ] && ! getent passwd valija >/dev/null; then
  useradd --system --home-dir /var/lib/valija --no-create-home --shell /usr/sbin/nologin valija
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure the system MTA; valija's benchmark runs its own private
# instance (postfix -c DIR), so the system one stays unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "bootstrap: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Installing the packages must not leave system daemons running on standard ports.
for svc in postfix dovecot; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
