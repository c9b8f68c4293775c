#!/usr/bin/env python3
"""Worker CPU of a revalidation (`If-None-Match` answered 304) of a large
original, against a tiny static file as the baseline.

One nginx worker; N keep-alive requests of each kind; the worker's
utime+stime from /proc/<pid>/stat before and after each batch. The 304 is
decided from the response header, so its cost must not grow with the
original: the difference to the static baseline is what the module adds.

    scripts/bench/revalidate_cpu.py NGINX MODULE IMAGE [N]
"""

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time


def worker_pid(master):
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout.split()
    return int(out[0])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 (1-based) of the whole line.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batch(port, path, headers, n):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    status = None
    for _ in range(n):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    conn.close()
    return status


def main():
    nginx, module, image = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
    port = 18000 + os.getpid() % 1000
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(image, os.path.join(d, "big.jpg"))
        with open(os.path.join(d, "tiny.txt"), "w") as f:
            f.write("x")
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"""load_module {module};
worker_processes 1;
error_log error.log warn;
pid nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        location /img/ {{ alias {d}/; image_transform "width=$arg_w"; }}
        location /raw/ {{ alias {d}/; }}
    }}
}}
""")
        master = subprocess.Popen(
            [nginx, "-p", d + "/", "-c", "nginx.conf", "-e", "error.log", "-g", "daemon off;"]
        )
        try:
            time.sleep(1)
            pid = worker_pid(master.pid)
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", "/img/big.jpg?w=320")
            resp = conn.getresponse()
            resp.read()
            etag = resp.getheader("ETag")
            assert resp.status == 200 and etag, (resp.status, etag)
            conn.close()

            results = {}
            for name, path, headers in [
                ("static", "/raw/tiny.txt", {}),
                ("revalidate", "/img/big.jpg?w=320", {"If-None-Match": etag}),
                ("static", "/raw/tiny.txt", {}),
                ("revalidate", "/img/big.jpg?w=320", {"If-None-Match": etag}),
            ]:
                before = cpu_seconds(pid)
                status = batch(port, path, headers, n)
                spent = cpu_seconds(pid) - before
                results.setdefault(name, []).append(spent)
                print(f"{name:10} status {status}  {n} requests  worker CPU {spent:.2f} s"
                      f"  = {spent / n * 1e6:.0f} us/request")
            static = min(results["static"]) / n
            reval = min(results["revalidate"]) / n
            print(f"\nrevalidation of {os.path.basename(image)}: {reval * 1e6:.0f} us of worker CPU"
                  f" per request; tiny static file: {static * 1e6:.0f} us;"
                  f" difference {(reval - static) * 1e6:.0f} us")
        finally:
            master.terminate()
            master.wait()


if __name__ == "__main__":
    main()
