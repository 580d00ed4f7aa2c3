"""Start, watch and stop the local cloud's processes by their PIDs.

Each process gets a PID file ``<state>/pids/<name>.pid`` holding its PID
and start time, so ``down`` stops exactly what ``up`` started and never a
recycled PID that now belongs to someone else.
"""

import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import psutil

from cue_heat import errors

LOG = logging.getLogger(__name__)

#: Seconds between two readiness probes.
POLL_INTERVAL = 0.25


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start(state, name, argv, env=None):
    """Start *argv* in the background as service *name*; return its PID.

    Its output goes to ``<state>/logs/<name>.out``; it runs in its own
    session so a terminal's Ctrl-C reaches only the ``up`` command.
    """
    out = open(state.logs / ('%s.out' % name), 'ab')
    with out:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _write_pid(state, name, process.pid)
    LOG.debug('Started %s as pid %s', name, process.pid)
    return process.pid


def adopt(state, name, pid):
    """Record a PID that a daemonising command started for us."""
    _write_pid(state, name, pid)


def _write_pid(state, name, pid):
    created = psutil.Process(pid).create_time()
    (state.pids / ('%s.pid' % name)).write_text('%d %r\n' % (pid, created))


def recorded(state):
    """Return {name: psutil.Process} for every live recorded process."""
    found = {}
    for path in sorted(state.pids.glob('*.pid')):
        process = _process_from(path)
        if process is not None:
            found[path.stem] = process
    return found


def _process_from(path):
    try:
        pid_text, created = path.read_text().split()
        process = psutil.Process(int(pid_text))
        if abs(process.create_time() - float(created)) > 0.01:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            _reap(process.pid)
            return None
        return process
    except (OSError, ValueError, psutil.Error):
        return None


def is_running(state, name):
    """Tell whether recorded service *name* is alive."""
    return _process_from(state.pids / ('%s.pid' % name)) is not None


def stop(state, name, grace=15):
    """Stop service *name* by its recorded PID: TERM, then KILL."""
    path = state.pids / ('%s.pid' % name)
    process = _process_from(path)
    if process is not None:
        LOG.debug('Stopping %s (pid %s)', name, process.pid)
        try:
            process.send_signal(signal.SIGTERM)
            _wait_gone(process, grace)
        except psutil.NoSuchProcess:
            pass
    path.unlink(missing_ok=True)


def _wait_gone(process, grace):
    try:
        process.wait(grace)
    except psutil.TimeoutExpired:
        for child in process.children(recursive=True):
            child.kill()
        process.kill()
        process.wait(5)
    _reap(process.pid)


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_http(state, name, url, timeout):
    """Wait until *url* answers below 500 while service *name* lives.

    :raises cue_heat.errors.DevCloudError: the service died or did not
        answer in time; the message carries the tail of its log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(state, name):
            raise failure(state, name, '%s exited while starting.' % name)
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as ex:
            if ex.code < 500:
                return
        except OSError:
            pass
        time.sleep(POLL_INTERVAL)
    raise failure(state, name, '%s did not answer on %s within %s s.' % (
        name, url, timeout))


def failure(state, name, message, lines=40):
    """Return a DevCloudError for *message* with service *name*'s logs."""
    tails = []
    for path in (state.log(name), state.logs / ('%s.out' % name)):
        tail = log_tail(path, lines)
        if tail:
            tails.append('--- last lines of %s ---\n%s' % (path, tail))
    return errors.DevCloudError('\n'.join([message] + tails))


def log_tail(path, lines=40):
    """Return the last *lines* lines of the file at *path* ('' if none)."""
    try:
        with open(path, 'rb') as stream:
            stream.seek(0, os.SEEK_END)
            stream.seek(max(0, stream.tell() - 16384))
            text = stream.read().decode('utf-8', 'replace')
    except OSError:
        return ''
    return '\n'.join(text.splitlines()[-lines:])


def memory(processes):
    """Return (current, peak) resident bytes summed over the process trees.

    The peak is the sum of each process's own high-water mark, an upper
    bound of the total's true peak.
    """
    current = peak = 0
    for process in processes:
        try:
            tree = [process] + process.children(recursive=True)
        except psutil.Error:
            continue
        for member in tree:
            try:
                current += member.memory_info().rss
                peak += _high_water_mark(member.pid)
            except psutil.Error:
                continue
    return current, peak


def _high_water_mark(pid):
    try:
        with open('/proc/%d/status' % pid) as stream:
            for line in stream:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
