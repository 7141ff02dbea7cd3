"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd).

Stores every message as a file in a Maildir. Optionally offers STARTTLS
(a certificate and key in PEM) and requires AUTH PLAIN/LOGIN with one
user name and password. Prints READY once it accepts connections, then runs
until it is terminated. With --hold, each message is announced as
"ARRIVED <Message-ID>" before it is stored and answered, and the server
waits for a line on standard input first: a test can act (stop the
database, say) between the moment a message reaches the server and the
moment the sender learns it was accepted.
"""
import argparse
import asyncio
import mailbox
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from email import message_from_bytes
from aiosmtpd.smtp import AuthResult, LoginPassword


class HeldMailbox(Mailbox):
    """A Maildir that answers a message only when the test says so."""

    async def handle_DATA(self, server, session, envelope):
        message_id = message_from_bytes(envelope.content).get("Message-ID", "")
        print("ARRIVED %s" % message_id, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return await super().handle_DATA(server, session, envelope)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()

    mailbox.Maildir(args.maildir, create=True)
    options = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options["tls_context"] = context
        options["require_starttls"] = True
    if args.user:
        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and \
                auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
            return AuthResult(success=ok, handled=False)
        options["authenticator"] = authenticate
        options["auth_required"] = True
        options["auth_require_tls"] = bool(args.tls_cert)

    handler = HeldMailbox(args.maildir) if args.hold else Mailbox(args.maildir)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.1):
        pass
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
