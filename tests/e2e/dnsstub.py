"""A small authoritative DNS server for the tests (python3-dnspython), on a free
127.0.0.1 UDP port in a thread. It answers only from its table, so tests never reach
any other server:

    dns = DnsStub({"dom.example": {"MX": ["10 mx1.dom.example.", "20 mx2.dom.example."]},
                   "mx1.dom.example": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
                   "alias.dom.example": {"CNAME": ["mx1.dom.example."]}},
                  servfail={"broken.example"}, silent={"slow.example"})
    dns.start(); ... valija mx dom.example --dns dns.address ...; dns.stop()

Names go under the reserved TLD "example" (RFC 2606): libunbound answers "test.",
"invalid." and "localhost." itself (RFC 6761) without asking any server.

A name in the table without the asked type gets NOERROR with no records (NODATA); a
name not in it NXDOMAIN; `servfail` names SERVFAIL; `silent` names no answer at all.
`queries` records (name, type) of every query, for assertions.
"""
import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsStub:
    def __init__(self, records, servfail=(), silent=(), ttl=300):
        self.records = {self._key(k): v for k, v in records.items()}
        self.servfail = {self._key(n) for n in servfail}
        self.silent = {self._key(n) for n in silent}
        self.ttl = ttl
        self.queries = []
        self.sock = None
        self.port = None
        self._thread = None
        self._stop = threading.Event()

    @staticmethod
    def _key(name):
        return name.lower().rstrip(".")

    @property
    def address(self):
        return "127.0.0.1@%d" % self.port

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self.sock:
            self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(data)
            except Exception:  # noqa: BLE001 - a malformed query gets no answer
                continue
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _answer(self, data):
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        question = q.question[0]
        name = self._key(question.name.to_text())
        rdtype = question.rdtype
        self.queries.append((name, dns.rdatatype.to_text(rdtype)))
        if name in self.silent:
            return None
        if name in self.servfail:
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        owner = question.name
        for _ in range(8):  # follow CNAMEs inside the table
            entry = self.records.get(self._key(owner.to_text()))
            if entry is None:
                if owner == question.name:
                    r.set_rcode(dns.rcode.NXDOMAIN)
                return r.to_wire()
            if "CNAME" in entry and rdtype != dns.rdatatype.CNAME:
                target = entry["CNAME"][0]
                r.answer.append(dns.rrset.from_text(owner, self.ttl, "IN", "CNAME", target))
                owner = dns.name.from_text(target)
                continue
            values = entry.get(dns.rdatatype.to_text(rdtype), [])
            if values:
                r.answer.append(dns.rrset.from_text_list(owner, self.ttl, "IN", dns.rdatatype.to_text(rdtype),
                                                         values))
            return r.to_wire()
        return r.to_wire()
