"""Scenario 3 (swarm across network namespaces): not wired into the suite
yet; report_text says so."""


def run(shoal, work, quick, runs, log):
    return None


def report_text(results):
    if results is None:
        return "Not run by this version of the suite."
    return ""
