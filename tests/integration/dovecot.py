"""The loopback Dovecot from shared/scripts/dovecot_test_setup.sh, for the IMAP adapter's tests.

`ensure_running()` starts it when nothing listens on its port (root only: the script installs
Dovecot with apt and runs it as an unprivileged user). Each test gets folders of its own
(`TestMailbox`), so parallel tests never see each other's messages.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from p2pdesk.infrastructure.email.imap import ensure_folder

REPO = Path(__file__).resolve().parents[2]
# In CI, as here, shared/ sits beside the repository clone.
SETUP_SCRIPT = REPO.parent / "shared" / "scripts" / "dovecot_test_setup.sh"


class DovecotUnavailable(Exception):
    pass


@dataclass(frozen=True)
class DovecotServer:
    host: str
    port: int
    user: str
    password: str
    root: Path  # the script's state dir: dovecot.conf, logs, mail

    @classmethod
    def from_environment(cls) -> DovecotServer:
        """The defaults and DOVECOT_TEST_* variables exactly as dovecot_test_setup.sh reads them."""
        env = os.environ.get
        return cls(
            host="127.0.0.1",
            port=int(env("DOVECOT_TEST_PORT", "14143")),
            user=env("DOVECOT_TEST_USER", "intake@example.test"),
            password=env("DOVECOT_TEST_PASS", "intake-secret"),
            root=Path(env("DOVECOT_TEST_ROOT", "/tmp/dovecot-test")),  # noqa: S108 - the script's default
        )

    def listening(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1):
                return True
        except OSError:
            return False

    @contextmanager
    def client(self) -> Iterator[IMAPClient]:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        try:
            yield client
        finally:
            client.logout()

    def doveadm(self, *args: str) -> str:
        """Run doveadm on the test instance's config, as the user Dovecot runs as (owner of root)."""
        command = ["/usr/bin/doveadm", "-c", str(self.root / "dovecot.conf"), *args]
        owner = self.root.stat().st_uid
        if os.getuid() != owner:
            command = ["/usr/sbin/runuser", "-u", pwd.getpwuid(owner).pw_name, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
        if done.returncode != 0:
            raise DovecotUnavailable(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout


def ensure_running(server: DovecotServer) -> None:
    """Start the server unless it listens already; raise DovecotUnavailable with the reason."""
    # xdist workers start together: one lock so only one runs the script, which wipes its state dir.
    with open(f"/tmp/dovecot-test-{server.port}.lock", "w") as lock:  # noqa: S108
        fcntl.flock(lock, fcntl.LOCK_EX)
        if server.listening():
            return
        if not SETUP_SCRIPT.is_file():
            raise DovecotUnavailable(
                f"not listening on {server.host}:{server.port} and {SETUP_SCRIPT} is missing"
            )
        if os.getuid() != 0 and os.environ.get("CI") != "true":
            raise DovecotUnavailable(
                f"not listening on {server.host}:{server.port}; starting it needs root and apt: "
                f"sudo bash {SETUP_SCRIPT}"
            )
        done = subprocess.run(  # noqa: S603
            ["/bin/bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0 or not server.listening():
            raise DovecotUnavailable(f"{SETUP_SCRIPT} failed ({done.returncode}): {done.stderr[-2000:]}")


@dataclass(frozen=True)
class TestMailbox:
    """A folder of one test's own, and the name of its processed folder (not created)."""

    __test__ = False  # not a test class, whatever its name

    server: DovecotServer
    folder: str
    processed_folder: str

    @classmethod
    def create(cls, server: DovecotServer) -> TestMailbox:
        # Never reuse a name, so xdist workers and other pytest runs on this machine stay apart.
        name = f"Test-{uuid.uuid4().hex[:12]}"
        mailbox = cls(server, folder=name, processed_folder=f"{name}-Processed")
        with server.client() as client:
            ensure_folder(client, mailbox.folder)  # new, so empty and starting at UID 1
        return mailbox

    def remove(self) -> None:
        """Best effort: a leftover folder harms nobody, and the setup script starts from scratch."""
        with self.server.client() as client:
            for name in (self.folder, self.processed_folder):
                with suppress(IMAPClientError):
                    client.delete_folder(name)

    def append(self, raw: bytes, folder: str | None = None) -> int:
        """Append a message and return its UID (from APPENDUID, RFC 4315)."""
        with self.server.client() as client:
            response = client.append(folder or self.folder, raw)
        # b"[APPENDUID <uidvalidity> <uid>] Append completed ..."
        return int(response.split(b"]", 1)[0].split()[2])

    def messages(self, folder: str | None = None) -> dict[int, tuple[bytes, tuple[bytes, ...]]]:
        """UID -> (raw bytes, flags), read with BODY.PEEK so reading changes nothing."""
        with self.server.client() as client:
            if not client.folder_exists(folder or self.folder):
                return {}
            client.select_folder(folder or self.folder, readonly=True)
            found = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS"])
        return {uid: (data[b"BODY[]"], data[b"FLAGS"]) for uid, data in found.items()}

    def uidvalidity(self) -> int:
        with self.server.client() as client:
            return int(client.folder_status(self.folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def set_uidvalidity(self, value: int) -> None:
        self.server.doveadm(
            "mailbox", "update", "-u", self.server.user, "--uid-validity", str(value), self.folder
        )


# -- a private instance that also takes OAuth tokens (XOAUTH2, OAUTHBEARER) ------------------------


@contextmanager
def oauth_dovecot(introspection_url: str) -> Iterator[DovecotServer]:
    """A Dovecot of this test process's own that checks bearer tokens with `introspection_url`.

    Dovecot's oauth2 passdb (RFC 7662 introspection, POST `token=…`) decides XOAUTH2 and
    OAUTHBEARER logins; passwords still work through the passwd-file passdb, for the test's own
    setup. Started with the shared script on a free port and a state dir of its own, so it never
    touches the shared instance, then reconfigured and restarted; stopped and removed afterwards.
    """
    if not SETUP_SCRIPT.is_file():
        raise DovecotUnavailable(f"{SETUP_SCRIPT} is missing")
    if os.getuid() != 0:
        raise DovecotUnavailable("starting a private Dovecot needs root (the script installs it with apt)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(f"/tmp/dc-oauth-{os.getpid()}")  # noqa: S108 - short: Dovecot's socket paths are limited
    env = {**os.environ, "DOVECOT_TEST_ROOT": str(root), "DOVECOT_TEST_PORT": str(port)}
    done = subprocess.run(  # noqa: S603
        ["/bin/bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=600, check=False, env=env
    )
    server = DovecotServer.from_environment()
    server = DovecotServer(server.host, port, server.user, server.password, root)
    if done.returncode != 0 or not server.listening():
        raise DovecotUnavailable(f"{SETUP_SCRIPT} failed ({done.returncode}): {done.stderr[-2000:]}")
    owner = pwd.getpwuid(root.stat().st_uid).pw_name
    conf = root / "dovecot.conf"
    try:
        (root / "oauth2.conf.ext").write_text(
            "introspection_mode = post\n"
            f"introspection_url = {introspection_url}\n"
            "force_introspection = yes\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        text = conf.read_text()
        text = text.replace(
            "auth_mechanisms = plain login\n", "auth_mechanisms = plain login xoauth2 oauthbearer\n"
        )
        text = text.replace(
            "passdb {\n  driver = passwd-file\n",
            "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {root / 'oauth2.conf.ext'}\n}}\n"
            "passdb {\n  driver = passwd-file\n  mechanisms = plain login\n",
            1,
        )
        if "driver = oauth2" not in text or "xoauth2 oauthbearer\n" not in text:
            raise DovecotUnavailable(
                "the setup script's dovecot.conf changed shape; cannot add the oauth2 passdb"
            )
        conf.write_text(text)
        _as_user(owner, "/usr/sbin/dovecot", "-c", str(conf), "stop")
        for _ in range(50):
            if not server.listening():
                break
            time.sleep(0.1)
        _as_user(owner, "/usr/sbin/dovecot", "-c", str(conf))
        for _ in range(50):
            if server.listening():
                break
            time.sleep(0.1)
        else:
            raise DovecotUnavailable(
                f"the OAuth Dovecot did not come back: {(root / 'dovecot.log').read_text()[-2000:]}"
            )
        yield server
    finally:
        _as_user(owner, "/usr/sbin/dovecot", "-c", str(conf), "stop")
        shutil.rmtree(root, ignore_errors=True)


def _as_user(user: str, *command: str) -> None:
    subprocess.run(  # noqa: S603
        ["/usr/sbin/runuser", "-u", user, "--", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
