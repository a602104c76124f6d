#!/usr/bin/env python3
"""drive_human_page.py CHROMIUM PAGE OUTDIR [--screenshots]

Plays two people taking turns on the human real-vs-fake page of
`tinct eval --human`, in headless Chromium, the way people do it: real key
presses and mouse clicks (the Chrome DevTools protocol's Input domain), not
the page's test hooks. Standard library only: a small WebSocket client is
below, so the test needs no package beyond Chromium and Python 3.

Ann types her name, answers every pair with a mix of keys (1, 2, arrows)
and clicks, picking the colorized photo for the pairs of one model (FOOL_MODEL)
and the real one for the others; a double press right after a pair appears
must be ignored (the page's 250 ms guard), Backspace takes back an answer.
She saves her answers (a real download), then "Next person". Ben answers
three pairs, the page is reloaded, he resumes, picks the real photo on every
pair, and saves. Writes OUTDIR/ann.json and OUTDIR/ben.json (the downloaded
files, renamed), OUTDIR/expected.json (what the answers imply), and with
--screenshots OUTDIR/{intro,trial,done}.png. Exit 0 on success, 1 with a
message otherwise.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

FOOL_MODEL = "gan"


def fail(msg):
    print("drive_human_page: FAIL: " + msg)
    sys.exit(1)


class WebSocket:
    """The client half of RFC 6455, enough for the DevTools protocol."""

    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError("DevTools refused the WebSocket: " + head.split(b"\r\n", 1)[0].decode())
        self.buf = head.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        data = text.encode()
        header = bytes([0x81])
        n = len(data)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping / pong: not used by DevTools
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


class Browser:
    def __init__(self, chromium, profile):
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--remote-debugging-port=0", "--user-data-dir=" + profile,
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and len(open(port_file).read().split("\n")) >= 2):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port, path = open(port_file).read().split("\n")[:2]
        self.ws = WebSocket("127.0.0.1", int(port), path)
        self.next_id = 0
        self.events = []
        self.session = None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(method + ": " + json.dumps(reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def pump(self, seconds):
        """Reads events for `seconds` (dialogs are accepted as they come)."""
        self.ws.sock.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self.ws.recv()))
        except (socket.timeout, TimeoutError):
            pass
        finally:
            self.ws.sock.settimeout(30)

    def open(self, url):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: " + expression + ": " + json.dumps(r["exceptionDetails"]))
        return r["result"].get("value")

    def wait_for(self, expression, what, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if self.eval(expression):
                    return
            except RuntimeError:
                pass  # the page is still loading
            time.sleep(0.05)
        fail("timed out waiting for " + what)

    def key(self, key):
        codes = {"1": ("Digit1", 49, "1"), "2": ("Digit2", 50, "2"), "ArrowLeft": ("ArrowLeft", 37, ""),
                 "ArrowRight": ("ArrowRight", 39, ""), "Backspace": ("Backspace", 8, ""), "Enter": ("Enter", 13, "\r")}
        code, vk, text = codes[key]
        down = {"type": "keyDown" if text else "rawKeyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk}
        if text:
            down["text"] = text
        self.call("Input.dispatchKeyEvent", down)
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk})

    def click(self, element_id):
        box = self.eval("(function(){var r=document.getElementById(%s).getBoundingClientRect();"
                        "return [r.left+r.width/2, r.top+r.height/2, r.width, r.height];})()" % json.dumps(element_id))
        if box[2] <= 0 or box[3] <= 0:
            fail("#" + element_id + " is not visible, cannot be clicked")
        x, y = box[0], box[1]
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": t, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def state(b):
    return b.eval("document.body.getAttribute('data-state')")


def answered(b):
    return b.eval("(function(){var r=window.tinctResults();return r?r.answers.length:0;})()")


_finished_downloads = set()  # guids of downloads already handed out


def wait_download(b, folder, before, what):
    """The file of the next download, once Chromium reports it complete: the
    file can appear under its name before its bytes are written."""
    deadline = time.time() + 20
    while time.time() < deadline:
        completed = [e["params"]["guid"] for e in b.events
                     if e.get("method") == "Browser.downloadProgress" and e["params"].get("state") == "completed"
                     and e["params"]["guid"] not in _finished_downloads]
        done = [f for f in os.listdir(folder) if f.endswith(".json") and f not in before]
        if completed and done:
            _finished_downloads.add(completed[0])
            return os.path.join(folder, done[0])
        b.pump(0.1)
    fail("no completed download for " + what)


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    chromium, page, out = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    shots = "--screenshots" in sys.argv[4:]
    os.makedirs(out, exist_ok=True)
    downloads = os.path.join(out, "downloads")
    os.makedirs(downloads, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="tinct_cdp_")
    b = Browser(chromium, profile)
    try:
        b.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads, "eventsEnabled": True},
               session=False)
        b.open("file://" + page)
        b.wait_for("document.body && document.body.getAttribute('data-state') === 'intro'", "the start screen")
        pairs = b.eval("JSON.parse(document.getElementById('tinct-data').textContent).pairs")
        n = len(pairs)
        if FOOL_MODEL not in {p["model"] for p in pairs}:
            fail("the page has no pair of " + FOOL_MODEL)
        if shots:
            b.screenshot(os.path.join(out, "intro.png"))

        # --- Ann: name, Enter, mixed keys and clicks --------------------------
        b.click("participant")
        b.call("Input.insertText", {"text": "Ann"})
        b.key("Enter")
        b.wait_for("document.body.getAttribute('data-state') === 'trial'", "the first pair after Enter")
        if shots:
            time.sleep(0.3)
            b.screenshot(os.path.join(out, "trial.png"))
        ways = ["key12", "arrows", "click"]
        i = 0
        undone = False
        while i < n:
            p = pairs[i]
            want_fake = p["model"] == FOOL_MODEL
            side = p["real_side"] if not want_fake else ("right" if p["real_side"] == "left" else "left")
            time.sleep(0.3)  # past the 250 ms guard
            way = ways[i % 3]
            if way == "key12":
                b.key("1" if side == "left" else "2")
            elif way == "arrows":
                b.key("ArrowLeft" if side == "left" else "ArrowRight")
            else:
                b.click("left" if side == "left" else "right")
            if i + 1 < n:
                b.key("1")  # a double press at once: must not answer the next pair
                if answered(b) != i + 1:
                    fail("after pair %d: %d answers (the 250 ms guard let a double press through)" % (i + 1, answered(b)))
            if i == 2 and not undone:  # a slip, taken back
                time.sleep(0.3)
                b.key("Backspace")
                if answered(b) != 2:
                    fail("Backspace did not take back the third answer")
                undone = True
                continue
            i += 1
        b.wait_for("document.body.getAttribute('data-state') === 'done'", "the end screen")
        if shots:
            b.screenshot(os.path.join(out, "done.png"))
        before = set(os.listdir(downloads))
        b.click("export")
        ann = wait_download(b, downloads, before, "Ann's answers")
        if "Ann" not in os.path.basename(ann):
            fail("the file name does not name the participant: " + os.path.basename(ann))
        shutil.copy(ann, os.path.join(out, "ann.json"))

        # --- Ben: next person, three answers, reload, resume, the rest --------
        b.click("next")
        b.wait_for("document.body.getAttribute('data-state') === 'intro'", "the start screen for the next person")
        b.click("participant")
        b.call("Input.insertText", {"text": "Ben"})
        b.click("start")
        b.wait_for("document.body.getAttribute('data-state') === 'trial'", "Ben's first pair")
        for i in range(3):
            time.sleep(0.3)
            b.key("1" if pairs[i]["real_side"] == "left" else "2")
        b.call("Page.reload")
        b.wait_for("document.body && document.body.getAttribute('data-state') === 'intro' && "
                   "!document.getElementById('resume').hidden", "the resume button after a reload")
        label = b.eval("document.getElementById('resume').textContent")
        if "Ben" not in label or "3 of %d" % n not in label:
            fail("the resume button reads '%s'" % label)
        b.click("resume")
        b.wait_for("document.body.getAttribute('data-state') === 'trial'", "Ben's pairs after resuming")
        for i in range(3, n):
            time.sleep(0.3)
            b.click("left" if pairs[i]["real_side"] == "left" else "right")
        b.wait_for("document.body.getAttribute('data-state') === 'done'", "Ben's end screen")
        before = set(os.listdir(downloads))
        b.click("export")
        ben = wait_download(b, downloads, before, "Ben's answers")
        shutil.copy(ben, os.path.join(out, "ben.json"))

        per_model = {}
        for p in pairs:
            per_model.setdefault(p["model"], 0)
            per_model[p["model"]] += 1
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump({"pairs": n, "fool_model": FOOL_MODEL, "pairs_per_model": per_model}, f)
        print("drive_human_page: %d pairs answered by Ann and Ben, both files downloaded" % n)
        return 0
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        fail(str(e))
