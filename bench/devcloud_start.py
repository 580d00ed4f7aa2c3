#!/usr/bin/env python3
"""Cold start and memory of the local cloud, against issue 2's goals.

Starts a local cloud several times, each in a new state directory, the
way ``cue-heat devcloud up`` does (node agent included), and takes it
down again. Prints for each run the wall time, the resident memory
summed over the cloud's processes, its peak, the CPU seconds the
bring-up used and the load average around it; then the medians as
ratios to the goals (up in <= 20 s, <= 700 MB). A ratio above 1 misses
its goal. On a shared machine the wall time grows with the load, the
CPU seconds hardly do: both are printed so that runs can be compared.

    .venv/bin/python bench/devcloud_start.py [--runs 3]
"""

import argparse
import os
import pathlib
import resource
import statistics
import sys
import tempfile

import psutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cue_heat.devcloud import cloud  # noqa: E402
from cue_heat.devcloud import processes  # noqa: E402

GOAL_SECONDS = 20.0
GOAL_MEGABYTES = 700.0
MEGABYTE = 1024 * 1024


def _cpu_seconds():
    """CPU used by this process and the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def _daemon_cpu_seconds(devcloud):
    """CPU used so far by the cloud's running processes and their trees."""
    total = 0.0
    for process in processes.recorded(devcloud.state).values():
        try:
            tree = [process] + process.children(recursive=True)
        except psutil.Error:
            continue
        for member in tree:
            try:
                times = member.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def run_once(workdir):
    """Bring one cloud up and down; return the measures of the up."""
    devcloud = cloud.DevCloud(pathlib.Path(workdir) / 'state')
    load_before = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    try:
        report = devcloud.up(agent=True)
        cpu = _cpu_seconds() - cpu_before + _daemon_cpu_seconds(devcloud)
        load_after = os.getloadavg()[0]
    finally:
        devcloud.down()
    return {
        'seconds': report.seconds,
        'megabytes': report.rss_bytes / MEGABYTE,
        'peak_megabytes': report.peak_rss_bytes / MEGABYTE,
        'cpu_seconds': cpu,
        'load': (load_before, load_after),
        'steps': report.steps,
    }


def main(argv=None):
    """Run the benchmark and print one line per run, then the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--steps', action='store_true',
                        help='also print the timeline of every run')
    args = parser.parse_args(argv)

    results = []
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix='devcloud-bench-') as work:
            result = run_once(work)
        results.append(result)
        print('run %d: up in %.1f s, %.0f MB resident (peak %.0f MB), '
              '%.1f CPU s, load %.1f -> %.1f' % (
                  number, result['seconds'], result['megabytes'],
                  result['peak_megabytes'], result['cpu_seconds'],
                  *result['load']), flush=True)
        if args.steps:
            for line in result['steps']:
                print('    ' + line)

    seconds = statistics.median(item['seconds'] for item in results)
    peak = statistics.median(item['peak_megabytes'] for item in results)
    cpu = statistics.median(item['cpu_seconds'] for item in results)
    print('median: up in %.1f s (%.2f of the %.0f s goal), peak %.0f MB '
          '(%.2f of the %.0f MB goal), %.1f CPU s' % (
              seconds, seconds / GOAL_SECONDS, GOAL_SECONDS, peak,
              peak / GOAL_MEGABYTES, GOAL_MEGABYTES, cpu))
    return 0


if __name__ == '__main__':
    sys.exit(main())
