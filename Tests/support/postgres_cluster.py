"""A PostgreSQL server of a test's own on 127.0.0.1, which the test may
restart and stop (scripts/test.sh exports MAILSEAL_PG_BIN, the folder of
initdb and pg_ctl; as root the server runs as the user postgres)."""
import glob
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import tempfile


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binaries():
    folder = os.environ.get("MAILSEAL_PG_BIN")
    if not folder:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in p.split("/")[-2].split(".") if x.isdigit()])
        folder = found[-1] if found else ""
    if not folder or not os.access(os.path.join(folder, "pg_ctl"), os.X_OK):
        raise RuntimeError("no PostgreSQL server binaries; run scripts/test.sh (it installs postgresql)")
    return folder


class PostgresCluster:
    def __init__(self):
        self.bin = _binaries()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="mailseal-pg-test-"))
        self.port = _free_port()
        password = secrets.token_urlsafe(18)
        self.as_root = os.getuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres")
        pwfile = self.folder / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if self.as_root:
            shutil.chown(pwfile, "postgres")
        self._run("initdb", "--pgdata=%s" % (self.folder / "data"), "--username=mailseal", "--pwfile=%s" % pwfile,
                  "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8")
        self.url = "postgres://mailseal:%s@127.0.0.1:%d/postgres?sslmode=disable" % (password, self.port)
        self.start()

    def _run(self, program, *arguments):
        command = [os.path.join(self.bin, program), *arguments]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (program, done.stdout, done.stderr))

    def _options(self):
        return "-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c max_connections=100" % (
            self.port, self.folder)

    def start(self):
        """Starts the server and returns once it accepts connections."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "postgres.log"), "-w", "-t", "60",
                  "-o", self._options(), "start")

    def stop(self):
        """Stops the server the way an administrator does (fast: sessions are ended)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def restart(self):
        """`pg_ctl restart -m fast`; returns once the server accepts connections again."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "postgres.log"), "-m", "fast",
                  "-w", "-t", "60", "-o", self._options(), "restart")

    def query(self, statement):
        """One statement through psql; its rows as lists of strings."""
        done = subprocess.run(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-AtF", "\t", "-c", statement],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError("psql failed: %s" % done.stderr)
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def destroy(self):
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
