"""The check-and-report scaffolding shared by the SDK conformance scripts."""
import sys
import traceback

results = []


def check(name):
    """Runs the decorated function at once and records whether it passed; failures do not stop later checks."""
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
        except Exception as error:  # noqa: BLE001 - report every failure, keep going
            results.append((name, f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
        return fn
    return wrap


def report_and_exit(label):
    """Prints one line per check and a `N passed, N failed` summary, then exits non-zero on any failure."""
    failed = [(name, why) for name, why in results if why]
    for name, why in results:
        print(f"{'ok  ' if not why else 'FAIL'} {name}")
    for name, why in failed:
        print(f"--- {name}\n{why}", file=sys.stderr)
    print(f"{label}: {len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)
