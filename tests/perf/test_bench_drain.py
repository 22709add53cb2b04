"""The benchmark driver waits for the servers' workers to finish what the last
measurement left queued (``bench.run.wait_idle``) before it measures the next variant."""

import http.server
import threading
import time
import urllib.request

from bench.run import wait_idle


class _OneWorker(http.server.BaseHTTPRequestHandler):
    """Like one sync gunicorn worker: one request at a time; ``/slow`` takes a while."""

    def do_GET(self):  # noqa: N802 (the standard library's name)
        if self.path == "/slow":
            time.sleep(1.5)
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_it_waits_until_the_worker_has_finished_a_queued_slow_request():
    server = http.server.HTTPServer(("127.0.0.1", 0), _OneWorker)  # not threading: one at a time
    server.paths = []
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        slow = threading.Thread(target=lambda: urllib.request.urlopen(f"{base}/slow").read())
        slow.start()
        time.sleep(0.2)  # the slow request is being served
        waited = wait_idle(f"{base}/api/v1/grants/", workers=1, quick=0.5)
        slow.join()
        # The first probe queued behind the slow request, so it probed again.
        assert server.paths == ["/slow", "/healthz", "/healthz"]
        assert waited >= 1.0
        # An idle server: one round of probes, no wait.
        server.paths.clear()
        assert wait_idle(f"{base}/", workers=1, quick=0.5) < 0.5
        assert server.paths == ["/healthz"]
    finally:
        server.shutdown()
        server.server_close()
