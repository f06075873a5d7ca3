#!/usr/bin/env bash
# Undoes what the end-to-end tests (tests/src/lib.rs) set up on this machine:
# the sudoers drop-in, the installed runtime and ruleset, the test users and
# their group. Run as root. The next test run sets everything up again.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
rm -f /etc/sudoers.d/rootwrap-tests /etc/sudoers.d/rootwrap-tests-*
rm -rf /var/lib/rootwrap-tests /var/lib/rootwrap-tests-*
for user in rw-caller rw-target; do
  if getent passwd "$user" >/dev/null; then userdel "$user"; fi
done
for group in rw-caller rw-target rw-extra; do
  if getent group "$group" >/dev/null; then groupdel "$group"; fi
done
echo "removed the end-to-end tests' users, sudoers drop-in and /var/lib/rootwrap-tests"
