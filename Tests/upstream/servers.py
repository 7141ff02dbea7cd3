"""Starts an upstream test server as its own process for a test."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


class Server:
    def __init__(self, script, *arguments):
        self.folder = tempfile.mkdtemp(prefix="upstream-")
        self.chain = os.path.join(self.folder, "chain.pem")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script), "--chain-out", self.chain, *arguments],
            stdout=subprocess.PIPE, text=True, cwd=HERE)
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING "):
            self.process.kill()
            raise RuntimeError("%s did not start: %r" % (script, line))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.process.kill()
        self.process.wait()
