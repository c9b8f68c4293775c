#!/usr/bin/env python3
"""Side-by-side benchmark: the engine, libvips, the libjpeg-turbo floor and
nginx's image_filter, on the same files, in one run. Called by
scripts/bench.sh, which builds everything first; see bench/README.md.

Every number is CPU milliseconds per image on one core (user + system),
the median over ROUNDS rounds of the median over ITERATIONS iterations, the
programs run one after the other within a round so that drift on a shared
machine hits all of them alike.
"""

import argparse
import datetime
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# The results file is merged, not rewritten (results_file.py); importing it
# must not leave bytecode behind.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_file  # noqa: E402

# label, file, engine options, vips width, vips height, output format,
# whether the floor applies (JPEG in, JPEG out).
CASES = [
    ("13 MP baseline JPEG → 400 px JPEG", "photo-13mp.jpg", 400, None, "jpeg", True),
    ("20 MP baseline JPEG → 400 px JPEG", "photo-20mp.jpg", 400, None, "jpeg", True),
    ("13 MP progressive JPEG → 400 px JPEG", "photo-13mp-progressive.jpg", 400, None, "jpeg", True),
    ("20 MP progressive JPEG → 400 px JPEG", "photo-20mp-progressive.jpg", 400, None, "jpeg", True),
    ("13 MP mozjpeg-style progressive JPEG → 400 px JPEG", "photo-13mp-mozjpeg.jpg", 400, None, "jpeg", True),
    ("2.5 MP JPEG → 400 px JPEG", "photo-2mp.jpg", 400, None, "jpeg", True),
    ("0.27 MP JPEG → 400 px box JPEG", "photo-small.jpg", 400, 400, "jpeg", True),
    # The same JPEG outputs through libjpeg-turbo (`compression=fast`), the
    # encoder libvips uses: the default encoder (jpegli) trades CPU for bytes.
    ("13 MP baseline JPEG → 400 px JPEG, compression=fast", "photo-13mp.jpg", 400, None,
     "jpeg,compression=fast", True),
    ("2.5 MP JPEG → 400 px JPEG, compression=fast", "photo-2mp.jpg", 400, None,
     "jpeg,compression=fast", True),
    ("0.27 MP JPEG → 400 px box JPEG, compression=fast", "photo-small.jpg", 400, 400,
     "jpeg,compression=fast", True),
    ("13 MP progressive JPEG → 400 px WebP", "photo-13mp-progressive.jpg", 400, None, "webp", False),
    ("2.5 MP JPEG → 400 px WebP", "photo-2mp.jpg", 400, None, "webp", False),
    ("0.27 MP JPEG → 400 px box WebP", "photo-small.jpg", 400, 400, "webp", False),
    ("PNG with alpha → 400 px WebP", "alpha.png", 400, None, "webp", False),
    ("PNG with alpha → 400 px WebP", "transparent.png", 400, None, "webp", False),
    ("13 MP baseline JPEG → 400 px AVIF", "photo-13mp.jpg", 400, None, "avif", False),
]

QUALITY = 80


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_line(text):
    """key=value pairs of the last line that has them."""
    for line in reversed(text.strip().splitlines()):
        pairs = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "cpu_ms_median" in pairs:
            return pairs
    raise RuntimeError(f"no result in output: {text!r}")


def run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return parse_line(result.stdout)


def options(width, height, fmt):
    text = f"width={width}"
    if height:
        text += f",height={height}"
    return text + f",quality={QUALITY},format={fmt}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Programs:
    def __init__(self, args):
        self.args = args
        self.vips_env = dict(os.environ, VIPS_CONCURRENCY="1")
        self.has_vips = self._check_vips()
        self.has_floor = os.access(args.floor, os.X_OK) if args.floor else False

    def _check_vips(self):
        probe = subprocess.run(
            [sys.executable, "-c", "import pyvips"], capture_output=True, env=self.vips_env
        )
        if probe.returncode != 0:
            log("pyvips is not importable: the libvips column is skipped "
                "(apt-get install libvips-dev && pip install pyvips)")
            return False
        return True

    def engine(self, path, width, height, fmt):
        return run([
            self.args.engine, path, options(width, height, fmt),
            "--iterations", str(self.args.iterations), "--warmup", "2",
        ])

    def vips(self, path, width, height, fmt):
        command = [
            sys.executable, self.args.vips_script, path, str(width),
            # libvips encodes with libjpeg-turbo: it always writes what
            # `compression=fast` does.
            "--format", fmt.split(",")[0], "--quality", str(QUALITY),
            "--iterations", str(self.args.iterations), "--warmup", "2",
        ]
        if height:
            command += ["--height", str(height)]
        return run(command, env=self.vips_env)

    def floor(self, path, width, height):
        return run([
            self.args.floor, path, str(width), str(height or 0), str(QUALITY),
            str(self.args.iterations), "2",
        ])


def find_input(args, corpus, name):
    """A corpus file, or one scripts/bench.sh derived from the corpus
    (progressive versions made losslessly with jpegtran)."""
    path = os.path.join(corpus, name)
    if not os.path.exists(path) and args.derived:
        path = os.path.join(args.derived, name)
    return path


def in_process(args, programs, corpus):
    """CPU ms per image for every case and program, medians over rounds."""
    cases = []
    seen = set()
    for label, name, width, height, fmt, floor in CASES:
        path = find_input(args, corpus, name)
        if not os.path.exists(path) or (label, fmt) in seen:
            continue
        if fmt == "avif" and not args.avif:
            continue
        seen.add((label, fmt))
        cases.append((label, name, path, width, height, fmt, floor))

    results = {case[0]: {"engine": [], "vips": [], "floor": [], "detail": {}} for case in cases}
    for round_number in range(1, args.rounds + 1):
        log(f"in-process round {round_number}/{args.rounds}")
        for label, name, path, width, height, fmt, floor in cases:
            entry = results[label]
            line = programs.engine(path, width, height, fmt)
            entry["engine"].append(float(line["cpu_ms_median"]))
            entry["detail"].update(file=name, out=line["out"], engine_bytes=line["bytes"])
            if programs.has_vips and fmt != "avif":
                line = programs.vips(path, width, height, fmt)
                entry["vips"].append(float(line["cpu_ms_median"]))
                entry["detail"]["vips_bytes"] = line["bytes"]
            if programs.has_floor and floor:
                line = programs.floor(path, width, height)
                entry["floor"].append(float(line["cpu_ms_median"]))
                entry["detail"]["floor_scale"] = line.get("scale", "")
    return cases, results


def memory(args, corpus):
    """Peak RSS growth per in-flight transform (VmHWM), 1 and 4 at once."""
    rows = []
    for name in ("photo-20mp.jpg", "photo-13mp-progressive.jpg", "photo-20mp-progressive.jpg",
                 "photo-13mp-mozjpeg.jpg", "photo-2mp.jpg"):
        path = find_input(args, corpus, name)
        if not os.path.exists(path):
            continue
        for parallel in (1, 4):
            line = run([
                args.engine, path, options(400, None, "jpeg"),
                "--iterations", "1", "--warmup", "1", "--parallel", str(parallel),
            ])
            rows.append((name, parallel, int(line["rss_growth_per_transform_kb"]) / 1024))
    return rows


# ---------------------------------------------------------------- nginx --

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """One nginx in a temporary prefix, stopped on exit."""

    def __init__(self, binary, conf_body, name, workers):
        self.binary = binary
        self.prefix = tempfile.mkdtemp(prefix=f"bench-{name}-")
        os.makedirs(os.path.join(self.prefix, "logs"))
        self.port = free_port()
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = (
            f"{user}worker_processes {workers};\n"
            "error_log logs/error.log warn;\npid logs/nginx.pid;\n"
            + conf_body.replace("PORT", str(self.port))
        )
        with open(os.path.join(self.prefix, "nginx.conf"), "w") as f:
            f.write(conf)
        self.process = subprocess.Popen(
            [binary, "-p", self.prefix + "/", "-c", "nginx.conf",
             "-e", "logs/error.log", "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{name} nginx exited: {self.process.stderr.read()!r}")
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{name} nginx did not start listening")

    def workers(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def worker_cpu_ms(self):
        """CPU time of all workers (all their threads), in milliseconds."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.workers():
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total * 1000 / ticks

    def errors(self):
        with open(os.path.join(self.prefix, "logs", "error.log")) as f:
            return [l for l in f if "[alert]" in l or "[emerg]" in l or "signal" in l]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)


def get(port, path, connection=None):
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
    return body


def cpu_per_request(server, path, count):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    get(server.port, path, connection)  # warm up
    get(server.port, path, connection)
    before = server.worker_cpu_ms()
    for _ in range(count):
        get(server.port, path, connection)
    return (server.worker_cpu_ms() - before) / count


def probe(port, seconds, interval=0.02):
    """Latency of a tiny static file, one request every `interval` seconds
    on a keep-alive connection; returns the p50 and p99 in ms."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    samples = []
    end = time.time() + seconds
    while time.time() < end:
        start = time.perf_counter()
        get(port, "/static/tiny.txt", connection)
        samples.append((time.perf_counter() - start) * 1e3)
        time.sleep(max(0.0, interval - (time.perf_counter() - start)))
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def wrk_rate(output):
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return float(match.group(1)) if match else None


def event_loop(server, path, seconds, connections):
    idle = probe(server.port, 4)
    load = subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s",
         f"http://127.0.0.1:{server.port}{path}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    time.sleep(1.5)
    loaded = probe(server.port, max(2, seconds - 3))
    output, _ = load.communicate()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return idle, loaded, wrk_rate(output), int(errors.group(1)) if errors else 0


OURS = """
load_module MODULE;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    server {
        listen 127.0.0.1:PORT;
        location /static/ { alias TINYDIR/; }
        location /jpeg/ { alias CORPUS/; image_buffer 30m;
            image_transform "width=400,quality=80,format=jpeg"; }
        location /box/ { alias CORPUS/; image_buffer 30m;
            image_transform "width=400,height=400,quality=80,format=jpeg"; }
    }
}
"""

GD = """
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    server {
        listen 127.0.0.1:PORT;
        location /static/ { alias TINYDIR/; }
        location /jpeg/ { alias CORPUS/; image_filter_buffer 30M;
            image_filter resize 400 -; image_filter_jpeg_quality 80; }
        location /box/ { alias CORPUS/; image_filter_buffer 30M;
            image_filter resize 400 400; image_filter_jpeg_quality 80; }
    }
}
"""

NGINX_CASES = [
    ("13 MP baseline JPEG → 400 px JPEG", "/jpeg/photo-13mp.jpg"),
    ("20 MP baseline JPEG → 400 px JPEG", "/jpeg/photo-20mp.jpg"),
    ("13 MP progressive JPEG → 400 px JPEG", "/jpeg/photo-13mp-progressive.jpg"),
    ("2.5 MP JPEG → 400 px JPEG", "/jpeg/photo-2mp.jpg"),
    ("0.27 MP JPEG → 400 px box JPEG", "/box/photo-small.jpg"),
]


def nginx_tests(args, corpus, tinydir):
    servers = []
    if args.nginx and args.module:
        servers.append(("ours", args.nginx, OURS.replace("MODULE", args.module)))
    if args.nginx_gd:
        servers.append(("image_filter", args.nginx_gd, GD))
    cpu, loop = {}, {}
    cases = [(label, path) for label, path in NGINX_CASES
             if os.path.exists(os.path.join(corpus, os.path.basename(path)))]
    load_path = next((p for _, p in cases if "13mp.jpg" in p), cases[0][1] if cases else None)
    for name, binary, template in servers:
        conf = template.replace("CORPUS", corpus).replace("TINYDIR", tinydir)
        log(f"nginx: {name}")
        server = Nginx(binary, conf, name, args.workers)
        try:
            for label, path in cases:
                values = [cpu_per_request(server, path, args.nginx_requests)
                          for _ in range(args.rounds)]
                cpu[(name, label)] = median(values)
            if load_path and shutil.which("wrk"):
                loop[name] = event_loop(server, load_path, args.load_seconds, args.connections)
            bad = server.errors()
            if bad:
                log(f"{name}: error.log has: {bad[:3]}")
        finally:
            server.stop()
    return cases, cpu, loop, load_path


# --------------------------------------------------------------- report --

def fmt_ms(value):
    return "—" if value is None else f"{value:.1f}"


def fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}×"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(args, corpus, cases, results, memory_result, nginx_result, vips_version):
    lines = []
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines.append("# Benchmark results\n")
    lines.append(f"- date: {now}")
    lines.append(f"- machine: {os.cpu_count()} cores (`nproc`: {args.nproc}), {cpu_model()}")
    shown = os.path.relpath(corpus, os.getcwd())
    lines.append(f"- corpus: `{shown}` (relative to the repository)")
    if args.derived:
        lines.append("- derived by `scripts/bench.sh` (lossless, coefficients unchanged): "
                     "`photo-20mp-progressive.jpg` = `jpegtran -progressive photo-20mp.jpg` "
                     "(libjpeg's default scan script), `photo-13mp-mozjpeg.jpg` = "
                     "`jpegtran -scans scripts/bench/mozjpeg-scans.txt photo-13mp.jpg`")
    lines.append(f"- method: CPU ms per image on one thread (getrusage user + system), "
                 f"median of {args.rounds} rounds × median of {args.iterations} iterations; "
                 f"programs interleaved within each round; quality {QUALITY}")
    lines.append(f"- libvips: {vips_version or 'not available'} in process (pyvips, "
                 "VIPS_CONCURRENCY=1, cache off, `thumbnail_buffer` + `write_to_buffer` with `strip`)")
    lines.append("- floor: libjpeg-turbo (system `libturbojpeg`), DCT-scaled decode at the "
                 "largest scale still ≥ the output + JPEG encode of an output-sized region, no resampling")
    lines.append("")
    lines.append("## In process\n")
    lines.append("| case | output | engine ms | libvips ms | floor ms | libvips / engine | engine / floor |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    for label, name, *_ in cases:
        entry = results[label]
        engine = median(entry["engine"])
        vips = median(entry["vips"])
        floor = median(entry["floor"])
        vips_ratio = vips / engine if vips and engine else None
        floor_ratio = engine / floor if floor and engine else None
        lines.append(
            f"| {label} (`{name}`) | {entry['detail'].get('out', '')} | {fmt_ms(engine)} | "
            f"{fmt_ms(vips)} | {fmt_ms(floor)} | {fmt_ratio(vips_ratio)} | {fmt_ratio(floor_ratio)} |"
        )
    lines.append("")
    lines.append("`libvips / engine` above 1 means the engine needs less CPU per image "
                 "(more throughput per core); `engine / floor` is how far the engine is "
                 "from libjpeg-turbo's own decode + encode.")
    lines.append("")

    if memory_result:
        lines.append("## Memory\n")
        lines.append("Peak RSS growth (VmHWM) per transform in flight, → 400 px JPEG, "
                     "`bench_engine --parallel P` in a fresh process; it includes each "
                     "transform's copy of the input file and its thread's stack.\n")
        lines.append("| file | in flight | MB per transform |")
        lines.append("|---|---:|---:|")
        for name, parallel, mb in memory_result:
            lines.append(f"| `{name}` | {parallel} | {mb:.1f} |")
        lines.append("")

    nginx_cases, cpu, loop, load_path = nginx_result
    if cpu:
        lines.append("## nginx\n")
        lines.append(f"CPU ms of the worker process (all its threads, from /proc) per request, "
                     f"median of {args.rounds} runs of {args.nginx_requests} sequential requests; "
                     f"worker_processes {args.workers}. `ours` is this module on nginx's default "
                     "thread pool; `image_filter` is nginx's libgd module, built from the same "
                     "nginx source.\n")
        lines.append("| case | ours ms | image_filter ms | image_filter / ours |")
        lines.append("|---|---:|---:|---:|")
        for label, _ in nginx_cases:
            ours = cpu.get(("ours", label))
            gd = cpu.get(("image_filter", label))
            lines.append(f"| {label} | {fmt_ms(ours)} | {fmt_ms(gd)} | "
                         f"{fmt_ratio(gd / ours if gd and ours else None)} |")
        lines.append("")
    if loop:
        lines.append("### Event loop under load\n")
        lines.append(f"Latency of a tiny static file (one request every 20 ms on a keep-alive "
                     f"connection) while wrk keeps {args.connections} connections busy resizing "
                     f"`{load_path}` for {args.load_seconds} s; idle is the same probe with no load.\n")
        lines.append("| server | idle p50 ms | idle p99 ms | loaded p50 ms | loaded p99 ms | resizes/s | non-2xx |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, (idle, loaded, rate, errors) in loop.items():
            lines.append(f"| {name} | {idle[0]:.2f} | {idle[1]:.2f} | {loaded[0]:.2f} | "
                         f"{loaded[1]:.2f} | {fmt_ms(rate)} | {errors} |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--vips-script", required=True)
    parser.add_argument("--floor")
    parser.add_argument("--nginx")
    parser.add_argument("--module")
    parser.add_argument("--nginx-gd")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--derived", help="directory of files derived from the corpus")
    parser.add_argument("--out", required=True)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nginx-requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--load-seconds", type=int, default=12)
    parser.add_argument("--no-avif", dest="avif", action="store_false")
    parser.add_argument("--nproc", default=str(os.cpu_count()))
    args = parser.parse_args()
    corpus = os.path.abspath(args.corpus)

    programs = Programs(args)
    vips_version = None
    if programs.has_vips:
        vips_version = subprocess.run(
            [sys.executable, "-c", "import pyvips; print(f'{pyvips.version(0)}.{pyvips.version(1)}')"],
            capture_output=True, text=True).stdout.strip()
    cases, results = in_process(args, programs, corpus)
    memory_result = memory(args, corpus)

    tinydir = tempfile.mkdtemp(prefix="bench-static-")
    with open(os.path.join(tinydir, "tiny.txt"), "w") as f:
        f.write("a tiny static file for the latency probe\n")
    try:
        nginx_result = nginx_tests(args, corpus, tinydir)
    finally:
        shutil.rmtree(tinydir, ignore_errors=True)

    text = report(args, corpus, cases, results, memory_result, nginx_result, vips_version)
    # Only this run's sections are replaced: the rest of the file (other
    # scripts' sections, comparisons recorded by hand) stays.
    results_file.merge(args.out, text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
