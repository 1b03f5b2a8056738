"""A SCRAM client (RFC 5802, RFC 7677) written from the RFC, for the tests: it builds
the client messages and checks the server's proof. Channel binding data (tls-exporter
is not reachable from Python's ssl module; tls-server-end-point is) comes from the caller.
"""
import base64
import hashlib
import hmac


def server_end_point(ssl_socket):
    """RFC 5929 §4.1 for valija's certificate (signed with SHA-256)."""
    return hashlib.sha256(ssl_socket.getpeercert(binary_form=True)).digest()


class ScramClient:
    def __init__(self, user, password, hash_name="sha256", cb_type=None, cb_data=b""):
        self.user, self.password, self.hash = user, password, hash_name
        self.gs2 = ("p=%s,," % cb_type).encode() if cb_type else b"n,,"
        self.cb_data = cb_data
        self.nonce = base64.b64encode(hashlib.sha256(user.encode() + password.encode()).digest()[:12]).decode()
        self.first_bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), self.nonce)
        self.expected = None

    def first(self):
        return self.gs2 + self.first_bare.encode()

    def final(self, server_first):
        server_first = server_first.decode() if isinstance(server_first, bytes) else server_first
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        assert attrs["r"].startswith(self.nonce), server_first
        salted = hashlib.pbkdf2_hmac(self.hash, self.password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored = hashlib.new(self.hash, client_key).digest()
        without = "c=%s,r=%s" % (base64.b64encode(self.gs2 + self.cb_data).decode(), attrs["r"])
        auth_message = ",".join([self.first_bare, server_first, without]).encode()
        signature = hmac.new(stored, auth_message, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.expected = b"v=" + base64.b64encode(hmac.new(server_key, auth_message, self.hash).digest())
        return (without + ",p=" + base64.b64encode(proof).decode()).encode()

    def verify(self, server_final):
        server_final = server_final.encode() if isinstance(server_final, str) else server_final
        return server_final == self.expected
