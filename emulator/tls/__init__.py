"""HTTPS with the platforms' own host names (`serve --tls`, `ctmp-emulator ca`).

`authority.py` keeps the local certificate authority (made once, kept in a directory, so that
a machine trusts it once); `certificates.py` issues the server certificate for the platforms'
host names from it at each start; `listener.py` turns that into the TLS listener's context and
names. Everything cryptographic is the `cryptography` package's (https://cryptography.io/).
"""
