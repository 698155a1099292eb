"""Helpers for tests: a client for the control API and a pytest plugin.

def test_upload_reaches_clevertap(emulator):
    requests.post(emulator.url + "/1/upload", headers=emulator.clevertap_headers, json=...)
    emulator.client.wait_for(platform="clevertap", path="/1/upload", origin="client")
"""

from emulator.testing.client import EmulatorClient, NotSettled, WaitTimeout

__all__ = ["EmulatorClient", "NotSettled", "WaitTimeout"]
