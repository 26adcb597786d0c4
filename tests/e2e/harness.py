"""The runner the tests/e2e/test_*.py suites share: the server's base URL, a check register,
and a main that runs every check, prints one line per check (the traceback of a failure under
its line) and a closing 'N passed, N failed' line, and exits non-zero on any failure.

    from harness import HOST, check, main

    @check
    def something():
        assert ...

    if __name__ == "__main__":
        main()

scripts/e2e.sh runs each suite as a script, so this directory is on sys.path.
"""

import os
import sys
import traceback


def base_url():
    """OLLAMA_HOST (as scripts/e2e.sh exports it) as a base URL: a bare `host:port` gains
    `http://`, a trailing slash is dropped."""
    host = os.environ["OLLAMA_HOST"].rstrip("/")
    return host if host.startswith("http") else "http://" + host


HOST = base_url()
CHECKS = []


def check(fn):
    """Register `fn` as a check; checks run in the order they are defined."""
    CHECKS.append(fn)
    return fn


def run(checks=None):
    """Run every check, report each, and return the exit status: 1 if any failed, else 0."""
    passed = failed = 0
    for fn in CHECKS if checks is None else checks:
        try:
            fn()
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {fn.__name__}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    sys.exit(run())
