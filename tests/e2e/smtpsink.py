"""A scripted SMTP server for the outbound tests: it listens on a loopback address,
records every transaction and answers as the test says, so a test can make a
destination refuse, defer then accept, or drop the connection.

    sink = ScriptedSmtp("127.0.0.2", port, rcpt={"bob@remote.example": ["451 4.3.0 later", "250 2.1.5 ok"]})
    sink.start(); ...; tx = sink.wait_transactions(1)[0]; tx.sender, tx.rcpts, tx.data

Replies scripted per recipient are used in order, the last one repeating. `ehlo` lists
the extensions offered (DSN, 8BITMIME, PIPELINING... as the test wants). `greetings`
and `data_script` script the greeting of each connection and the reply to each end of
data the same way. A scripted reply "CLOSE:<reply>" is sent and the connection closed
at once (no QUIT awaited); "DROP" closes without a reply (for DATA: once the whole
message is read); "DROP_MID" (DATA only) closes after the first line of the message.
"""
import socket
import socketserver
import threading
import time


class Transaction:
    def __init__(self):
        self.sender = None
        self.mail_params = ""
        self.rcpts = []          # accepted addresses
        self.rcpt_params = {}    # address -> parameters as sent
        self.data = b""
        self.peer = None


class ScriptedSmtp:
    def __init__(self, host="127.0.0.1", port=0, ehlo=("PIPELINING", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES",
                                                       "SIZE 52428800", "SMTPUTF8"),
                 rcpt=None, data_reply="250 2.0.0 Ok: queued", greeting="220 sink.example ESMTP scripted",
                 greetings=None, data_script=None):
        self.host = host
        self.port = port
        self.ehlo = list(ehlo)
        self.rcpt_script = {k.lower(): list(v) for k, v in (rcpt or {}).items()}
        self.data_reply = data_reply
        self.greeting = greeting
        self.greetings = list(greetings or [])
        self.data_script = list(data_script or [])
        self.data_ends = 0       # messages sent to the end (whatever the reply)
        self.transactions = []
        self.connections = 0
        self.commands = []       # every command line, in order
        self.cond = threading.Condition()
        self.server = None

    def _rcpt_reply(self, address):
        script = self.rcpt_script.get(address.lower())
        if not script:
            return "250 2.1.5 Ok"
        return script.pop(0) if len(script) > 1 else script[0]

    def _next(self, script, default):
        with self.cond:
            if not script:
                return default
            return script.pop(0) if len(script) > 1 else script[0]

    @staticmethod
    def _answer(f, reply):
        """Send a scripted reply; False when the script says to close the connection."""
        if reply == "DROP":
            return False
        if reply.startswith("CLOSE:"):
            f.write((reply[len("CLOSE:"):] + "\r\n").encode())
            return False
        f.write((reply + "\r\n").encode())
        return True

    def start(self):
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                with sink.cond:
                    sink.connections += 1
                f = self.wfile
                if not sink._answer(f, sink._next(sink.greetings, sink.greeting)):
                    return
                tx = None
                while True:
                    line = self.rfile.readline(65536)
                    if not line:
                        return
                    cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                    with sink.cond:
                        sink.commands.append(cmd)
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        lines = ["sink.example"] + sink.ehlo
                        out = "".join("250-%s\r\n" % l for l in lines[:-1]) + "250 %s\r\n" % lines[-1]
                        f.write(out.encode())
                    elif verb == "HELO":
                        f.write(b"250 sink.example\r\n")
                    elif verb == "MAIL":
                        tx = Transaction()
                        tx.peer = self.client_address
                        rest = cmd[len("MAIL FROM:"):]
                        addr, _, params = rest.partition(">")
                        tx.sender = addr.lstrip("<")
                        tx.mail_params = params.strip()
                        f.write(b"250 2.1.0 Ok\r\n")
                    elif verb == "RCPT":
                        rest = cmd[len("RCPT TO:"):]
                        addr, _, params = rest.partition(">")
                        addr = addr.lstrip("<")
                        reply = sink._rcpt_reply(addr)
                        if reply.startswith("2") and tx is not None:
                            tx.rcpts.append(addr)
                            tx.rcpt_params[addr] = params.strip()
                        if not sink._answer(f, reply):
                            return
                    elif verb == "DATA":
                        if tx is None or not tx.rcpts:
                            f.write(b"554 5.5.1 No valid recipients\r\n")
                            continue
                        f.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        reply = sink._next(sink.data_script, sink.data_reply)
                        data = []
                        while True:
                            l = self.rfile.readline(1 << 20)
                            if not l:
                                return
                            if l == b".\r\n":
                                break
                            data.append(l[1:] if l.startswith(b"..") else l)
                            if reply == "DROP_MID":
                                return
                        tx.data = b"".join(data)
                        with sink.cond:
                            sink.data_ends += 1
                        go_on = sink._answer(f, reply)
                        if reply.removeprefix("CLOSE:").startswith("2"):
                            with sink.cond:
                                sink.transactions.append(tx)
                                sink.cond.notify_all()
                        tx = None
                        if not go_on:
                            return
                    elif verb == "RSET":
                        tx = None
                        f.write(b"250 2.0.0 Ok\r\n")
                    elif verb == "NOOP":
                        f.write(b"250 2.0.0 Ok\r\n")
                    elif verb == "QUIT":
                        f.write(b"221 2.0.0 Bye\r\n")
                        return
                    else:
                        f.write(b"502 5.5.2 Not implemented\r\n")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server((self.host, self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait_transactions(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.transactions) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d transaction(s), got %d; commands: %r" % (
                        n, len(self.transactions), self.commands))
                self.cond.wait(left)
            return list(self.transactions)


def free_port_on(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
